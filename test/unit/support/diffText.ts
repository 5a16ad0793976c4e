// Diff text for tests, written the way git writes it: a hunk whose header counts are computed
// from its body ("\ No newline" lines not counted), and a file diff of a modified file.

export function hunk(oldStart: number, newStart: number, body: string[], section = ''): string {
  const oldCount = body.filter((l) => l[0] === ' ' || l[0] === '-').length;
  const newCount = body.filter((l) => l[0] === ' ' || l[0] === '+').length;
  return `@@ -${oldStart},${oldCount} +${newStart},${newCount} @@${section ? ` ${section}` : ''}\n${body.join('\n')}\n`;
}

export function modify(path: string, ...hunks: string[]): string {
  return `diff --git a/${path} b/${path}\nindex 1111111..2222222 100644\n--- a/${path}\n+++ b/${path}\n${hunks.join('')}`;
}
