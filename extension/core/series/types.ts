// The shape of a patch series once read from disk: what the reader produces and the
// analysis consumes. Every line keeps its position in the file the user has open.

/**
 * A problem with the input: names the file and, where it applies, the 1-based line. 'error':
 * an input could not be read at all (missing, not a regular file, over the size limit);
 * 'warning': it was read, but part of it is doubtful or unusable (a truncated mail, a hunk that
 * contradicts its header, a file that is not text). Whether anything was left to analyse is for
 * the caller to see from the patches (a diff with hunks), not from these.
 */
export interface InputProblem {
  file: string;
  line?: number;
  message: string;
  severity: 'error' | 'warning';
}

export interface SubjectTags {
  /** e.g. 2 for "[PATCH v2 3/5]"; 1 when absent. */
  version: number;
  /** 1-based index within the series; 0 for a cover letter; undefined when the subject has no n/m. */
  index?: number;
  total?: number;
  rfc: boolean;
  /** Everything inside the leading brackets, e.g. "RFC PATCH v2 08/35". */
  raw: string;
}

export interface Trailer {
  key: string;   // "Signed-off-by"
  value: string; // "A U Thor <a@example.org>"
}

/** One line of a hunk, with where it sits in the patch file and in the pre/post images. */
export interface HunkLine {
  kind: 'context' | 'added' | 'removed';
  text: string;           // without the leading ' ', '+' or '-' and without line terminator
  patchLine: number;      // 1-based line in the patch file (the file the user has open)
  oldLine?: number;       // 1-based line in the pre-image (context and removed)
  newLine?: number;       // 1-based line in the post-image (context and added)
}

export interface Hunk {
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
  /** Text after the second "@@", usually the enclosing function's first line. */
  section: string;
  headerPatchLine: number;
  lines: HunkLine[];
}

export interface FileDiff {
  oldPath: string | null;   // null for a new file
  newPath: string | null;   // null for a deleted file
  status: 'modified' | 'added' | 'deleted' | 'renamed' | 'copied';
  binary: boolean;
  hunks: Hunk[];
  headerPatchLine: number;
  /** The `index <old>..<new>` blob ids (abbreviated as git wrote them), when the diff has that line. */
  index?: { old: string; new: string };
}

export interface Patch {
  /** Path of the file this patch came from (the mbox path for mail in an mbox). */
  file: string;
  /** 1-based line in `file` where this message starts (mbox: the "From " line, else 1). */
  startLine: number;
  from?: string;
  date?: string;
  subject: string;          // decoded, tags kept, e.g. "[RFC PATCH 08/35] KVM: SVM: ..."
  title: string;            // decoded subject without the bracketed tags
  tags: SubjectTags;
  messageId?: string;       // without angle brackets
  inReplyTo?: string;
  references: string[];
  /** The original mail's recipients (the mailing list among them), for replies. */
  to?: string[];
  cc?: string[];
  isCoverLetter: boolean;
  commitMessage: string;    // body before the "---" separator, trailers included
  trailers: Trailer[];
  diffs: FileDiff[];
  /**
   * True when some patchLine values are only approximate: a base64 body cannot be mapped
   * line by line, so its lines all point at the first line of the encoded block.
   */
  linesApproximate?: boolean;
  /** A `base-commit: <id>` line after the message (format-patch --base writes it in the first mail). */
  baseCommit?: BaseCommit;
}

/** Where the series says it was written against (`git format-patch --base`, b4). */
export interface BaseCommit {
  /** The commit id as written (full or abbreviated hex). */
  id: string;
  file: string;
  line: number;
}

export interface Series {
  patches: Patch[];        // ordered by tags.index (then file order); cover letter excluded
  coverLetter?: Patch;
  /** The `base-commit:` line of the cover letter, else of the first patch that has one. */
  baseCommit?: BaseCommit;
  problems: InputProblem[];
}
