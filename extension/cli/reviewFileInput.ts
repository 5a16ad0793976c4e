// The review sidecar as a command reads it: with the size limit, never from a FIFO or a device,
// each problem one line on stderr under the command's name.

import { isUtf8 } from 'node:buffer';
import { readRegularFile } from '../core/io/boundedRead';
import { parseReviewText } from '../core/review/annotations';
import type { ReviewFile } from '../core/review/types';
import { shown } from './messages';

export async function readReviewInput(file: string, maxBytes: number, err: (text: string) => void, command: string): Promise<ReviewFile | undefined> {
  const read = await readRegularFile(file, maxBytes);
  if (!read.ok) {
    err(`${command}: ${shown(file)}: cannot read the review file: ${shown(read.reason)}\n`);
    return undefined;
  }
  if (!isUtf8(read.bytes)) err(`${command}: ${shown(file)}: warning: the review file is not valid UTF-8; bad bytes read as U+FFFD\n`);
  const loaded = parseReviewText(read.bytes.toString('utf8'), file);
  for (const p of loaded.problems) err(`${command}: ${shown(p)}\n`);
  return loaded.review;
}
