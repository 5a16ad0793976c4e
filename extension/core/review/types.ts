// A reviewer's annotations on a series, as kept in the sidecar file next to it and as used to
// compose the mailing-list replies. Keys are stable: a patch is known by its Message-Id and by
// its own diff identity (series/diffIdentity.ts), a line by its text and the lines around it,
// so annotations survive reopening and carry over to a new revision where the lines still exist.

/** Which patch an annotation belongs to, robust to renumbering and resending. */
export interface PatchKey {
  /** Message-Id without angle brackets, when the series was sent (absent for unsent format-patch output). */
  messageId?: string;
  /** diffIdentity() of the patch; undefined for a cover letter. */
  diffId?: string;
  /** Subject without tags, the fallback identity across revisions. */
  title: string;
  /** 0 for the cover letter, else the patch index in the series (informative, not a key). */
  index?: number;
}

/** Where in a patch an annotation sits. */
export interface LineAnchor {
  part: 'commit-message' | 'diff' | 'cover-letter';
  /** The exact text of the line (for diff lines, with its leading ' ', '+' or '-'). */
  text: string;
  /** For diff lines: the file and the hunk's section text, which survive line-number changes. */
  file?: string;
  hunkSection?: string;
  /** Up to 3 lines before the anchored line, to tell repeated lines apart. */
  before: string[];
}

export interface Annotation {
  id: string;
  patch: PatchKey;
  anchor: LineAnchor;
  body: string;
  author: string;
  /** ISO 8601. */
  created: string;
  state: 'draft' | 'final';
  resolved: boolean;
  /**
   * The key of the finding "Add to review" made this draft from: such a draft goes into a reply
   * only once the reviewer has confirmed it (edited it, or marked it final).
   */
  fromFinding?: string;
}

export interface ReviewTrailer {
  key: 'Reviewed-by' | 'Acked-by' | 'Tested-by';
  /** Patch it applies to; absent for "the whole series". */
  patch?: PatchKey;
}

export interface ReviewFile {
  /** Format version of the sidecar file. */
  version: 1;
  series: { title: string; messageId?: string };
  reviewer: { name: string; email: string };
  annotations: Annotation[];
  trailers: ReviewTrailer[];
  /** Annotations that no longer fit the series (kept, listed, never dropped). */
  orphans: Annotation[];
}
