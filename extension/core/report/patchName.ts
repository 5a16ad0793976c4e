// How a report names the patch that introduced or fixed a finding: its file, and when the patch
// does not start the file (a later message of an mbox, as `b4 am` writes a series), the line its
// message starts on and its subject (`series.mbx:61 "[PATCH 2/3] ..."`), so "introduced by
// series.mbx" never stands for all of them.

import type { PatchRef } from '../findings';

/** `short`: the file's last component only, as the editor shows it beside the patch. */
export function patchName(file: string, ref: PatchRef | null | undefined, short = false): string {
  const shown = short ? file.split(/[\\/]/).pop() ?? file : file;
  if (!ref || ref.file !== file || ref.line <= 1) return shown;
  return `${shown}:${ref.line} "${ref.subject}"`;
}

/** Whether a finding's patch is the one starting at `line` of `file` (an mbox holds several). */
export function isPatchAt(ref: PatchRef | null | undefined, file: string, line: number): boolean {
  return ref !== null && ref !== undefined && ref.file === file && ref.line === line;
}
