// Shared helpers for the series reader tests: where the fixtures live and how to find a
// line in them, so assertions about patchLine do not hard-code numbers.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export const FIXTURES = path.join(__dirname, '../../fixtures/series');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** 1-based line of the first physical line in `name` that equals (or starts with) `text`. */
export function lineOf(name: string, text: string, startsWith = false, encoding: BufferEncoding = 'utf8'): number {
  const lines = readFileSync(fixture(name), encoding).split(/\r?\n/);
  const i = lines.findIndex((l) => (startsWith ? l.startsWith(text) : l === text));
  if (i < 0) throw new Error(`fixture ${name} has no line ${JSON.stringify(text)}`);
  return i + 1;
}
