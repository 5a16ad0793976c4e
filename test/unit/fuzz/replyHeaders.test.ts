// Fuzz: the headers of composed review replies (see replyProps.ts for the property).
import { describe, it } from 'node:test';
import { assertFuzz } from './harness';
import { replyProperty } from './replyProps';

describe('fuzz: review reply headers', () => {
  it(replyProperty.name, { timeout: 60_000 }, (t) => assertFuzz(replyProperty, t));
});
