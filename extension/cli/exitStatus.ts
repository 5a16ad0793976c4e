// The exit statuses of every kvm-lens command, and their description for the help texts, so
// a CI job can tell a verdict from unusable input and from a crash of the tool itself.

export const EXIT_CLEAN = 0;
export const EXIT_ERROR_FINDING = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

/** The "Exit status" block of `check`'s and `reply`'s help. */
export function exitStatusHelp(zero: string, one?: string): string {
  return `Exit status:
  0  ${zero}
${one ? `  1  ${one}\n` : ''}  2  bad usage, or input or output unusable (some input could not be read or
     nothing could be analysed; what could be read is still reported)
  3  kvm-lens itself failed (an internal error: please report it; --debug shows the stack)
`;
}
