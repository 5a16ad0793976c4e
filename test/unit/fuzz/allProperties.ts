// Every fuzz property, for `npm run fuzz` (scripts/fuzz.ts); `npm test` runs them from the
// *.test.ts files beside this one.
import { deepLoweringProperty, hunkProperty, loweringProperty } from './cProps';
import { cliProperty } from './cliProps';
import type { FuzzProperty } from './harness';
import { absurdTotalsProperty, parseTextProperty, readSeriesProperty } from './readerProps';
import { replyProperty } from './replyProps';

export const ALL_PROPERTIES: readonly FuzzProperty[] = [
  parseTextProperty, readSeriesProperty, absurdTotalsProperty,
  hunkProperty, loweringProperty, deepLoweringProperty,
  replyProperty, cliProperty,
];
