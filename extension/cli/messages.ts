// Lines the CLI writes about the input: whatever the input holds (a file name, a subject, a
// problem message quoting a line) is shown with its control characters escaped, so a patch
// cannot move the cursor, recolour the terminal or forge a line of our output.

import { escapeControl } from '../core/text/controlChars';

export interface ProblemLike {
  file: string;
  line?: number;
  severity: string;
  message: string;
}

/** Input text made safe for one line of a terminal. */
export function shown(text: string): string {
  return escapeControl(text);
}

/** `file:line: severity: message`, compiler style, on one line. */
export function problemLine(p: ProblemLike): string {
  return `${shown(p.file)}${p.line ? ':' + p.line : ''}: ${p.severity}: ${shown(p.message)}`;
}

/** Inputs named in a message: the first few, then how many more. */
export function inputsPhrase(inputs: readonly string[], most = 3): string {
  const named = inputs.slice(0, most).map(shown).join(', ');
  return inputs.length > most ? `${named} and ${inputs.length - most} more` : named;
}
