// Text from the input (a subject, a file name, a header) shown back to the user must not carry
// terminal escape sequences or line breaks of its own: they could rewrite the terminal or forge
// a line of our output. These make such characters visible instead.

// C0 controls except TAB, DEL, C1 controls, and the Unicode line/paragraph separators.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Every control character (line breaks included) written as an escape, e.g. "\x1b", "\n". */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** The same for a multi-line message: line feeds stay, every other control is escaped. */
export function escapeControlKeepLines(text: string): string {
  return text.split('\n').map(escapeControl).join('\n');
}

/** A value for a mail header or a one-line field: control characters dropped, runs of space joined. */
export function oneLine(text: string): string {
  return text.replace(CONTROL, ' ').replace(/\t/g, ' ').replace(/ {2,}/g, ' ').trim();
}
