// Fuzz: absurd series totals, apart from the other reader properties because the failure they
// look for can cost gigabytes and end the process.
import { describe, it } from 'node:test';
import { assertFuzz } from './harness';
import { absurdTotalsProperty } from './readerProps';

describe('fuzz: series totals', () => {
  it(absurdTotalsProperty.name, { timeout: 120_000 }, (t) => assertFuzz(absurdTotalsProperty, t));
});
