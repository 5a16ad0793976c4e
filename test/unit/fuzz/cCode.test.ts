// Fuzz: the hunk wrapper, tree-sitter and lowering (see cProps.ts for the properties).
import { describe, it } from 'node:test';
import { deepLoweringProperty, hunkProperty, loweringProperty } from './cProps';
import { assertFuzz } from './harness';

describe('fuzz: C parsing and lowering', () => {
  for (const p of [hunkProperty, loweringProperty, deepLoweringProperty]) {
    it(p.name, { timeout: 120_000 }, (t) => assertFuzz(p, t));
  }
});
