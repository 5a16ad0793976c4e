// Which files make one series, by their names: format-patch's numbered files in one directory,
// b4's `.mbx` with its `.cover` (the cover letter, where base-commit usually is), and what a
// directory picked in "Open Series…" holds. Plain names in, plain names out.

/** Extensions of the files a series is read from (the series reader's, and b4's cover letter). */
export const SERIES_DOCUMENT_EXTENSIONS: readonly string[] = ['.patch', '.diff', '.mbox', '.mbx', '.eml', '.cover'];

const NUMBERED = /^\d{4}-.*\.patch$/;
const COVER = /^0000-cover-letter\.patch$|\.cover$/;

/** Whether a file of this name can have companions (so its directory is worth listing). */
export function mayHaveCompanions(name: string): boolean {
  return NUMBERED.test(name) || /.\.(mbx|cover)$/.test(name);
}

/** The names in the directory of `name` read together with it: the other numbered patches, or b4's other half. */
export function companionNames(name: string, dirNames: readonly string[]): string[] {
  if (NUMBERED.test(name)) return dirNames.filter((n) => NUMBERED.test(n) && n !== name).sort();
  const b4 = /^(.+)\.(mbx|cover)$/.exec(name);
  if (!b4) return [];
  const other = `${b4[1]}.${b4[2] === 'mbx' ? 'cover' : 'mbx'}`;
  return dirNames.includes(other) ? [other] : [];
}

/**
 * The series files among a directory's names, sorted, and the one to open in the editor: the
 * first that is not a cover letter (the cover letter has no code to show findings on).
 */
export function seriesInDirectory(dirNames: readonly string[]): { files: string[]; open?: string } {
  const files = dirNames.filter((n) => SERIES_DOCUMENT_EXTENSIONS.some((e) => n.toLowerCase().endsWith(e))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { files, ...(files.length ? { open: firstToOpen(files) } : {}) };
}

/** Of several series files (paths or names), the one to open: the first that is not a cover letter, else the first. */
export function firstToOpen(files: readonly string[]): string {
  const name = (f: string) => f.split(/[\\/]/).pop() ?? f;
  return files.find((f) => !COVER.test(name(f))) ?? files[0]!;
}
