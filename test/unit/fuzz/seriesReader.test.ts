// Fuzz: the series reader on damaged real series (see readerProps.ts for the properties).
import { describe, it } from 'node:test';
import { assertFuzz } from './harness';
import { parseTextProperty, readSeriesProperty } from './readerProps';

describe('fuzz: series reader', () => {
  for (const p of [parseTextProperty, readSeriesProperty]) {
    it(p.name, { timeout: 120_000 }, (t) => assertFuzz(p, t));
  }
});
