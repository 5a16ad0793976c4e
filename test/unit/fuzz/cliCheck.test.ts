// Fuzz: `kvm-lens check` end to end, in process (see cliProps.ts for the property).
import { describe, it } from 'node:test';
import { cliProperty } from './cliProps';
import { assertFuzz } from './harness';

describe('fuzz: kvm-lens check', () => {
  it(cliProperty.name, { timeout: 180_000 }, (t) => assertFuzz(cliProperty, t));
});
