// A series checked inside a long-lived tree session (the editor's worker): the same base as
// `kvm-lens check SERIES --tree DIR` finds (treeBase), the same in-memory application and
// timeline (TreeSession.analyze), on the session's parsed files instead of a second parse of the
// tree. The session is put back afterwards, file by file, to the texts it had before (the
// working tree with the editor's buffers), so the C files' own audit is the same as before.
import { join } from 'node:path';
import type { FunctionInfo } from '../findings';
import type { Series } from '../series/types';
import { blocksX86Kvm, inKvmScope, type LocatedTree } from '../tree/kernelTree';
import type { FindBaseOptions } from '../tree/seriesBase';
import { LineOrigins } from '../tree/lineOrigins';
import { isPatchAt } from '../report/patchName';
import type { AnalysisOptions } from './analyzeSeries';
import { treeBase, type SeriesTrail, type TreeReport, type TreeSession } from './analyzeTree';

export interface SessionSeriesCheck {
  /** The report, with `base` saying what the series was applied to. */
  report: TreeReport;
  /** The session's texts before the check: the working tree as the editor has it (tree-relative path to text). */
  working: ReadonlyMap<string, string>;
  /** The texts the series was applied to (the working tree, or the base git found). */
  base: ReadonlyMap<string, string>;
  /** The texts with the whole series applied: where the findings' lines are. */
  final: ReadonlyMap<string, string>;
  /** Where each line of `final` came from. */
  origins: LineOrigins;
  /** Finding key to the index of the patch that introduced it (null: there before the series). */
  introducedAt: ReadonlyMap<string, number | null>;
  /** Files the series changes outside the KVM sources a tree analysis reads (never in the session, so never applied). */
  outside: readonly string[];
  /** The functions of the files the series changes, described with the whole series applied (tree paths, lines of `final`). */
  functions: FunctionInfo[];
}

/** Why the session holds no x86 KVM to check a series against (not a kernel tree, another architecture), or undefined when it does. */
export function unusableTree(session: TreeSession): string | undefined {
  // one unreadable file is a problem the report names, not a reason to drop the tree
  const blocking = session.problems.find((p) => blocksX86Kvm(p.file));
  if (blocking) return blocking.message;
  return session.texts().size === 0 ? 'no KVM x86 source files found' : undefined;
}

export async function checkSeriesInSession(session: TreeSession, series: Series, options: AnalysisOptions, find: FindBaseOptions): Promise<SessionSeriesCheck> {
  const working = session.texts();
  const located: LocatedTree = {
    root: session.root,
    files: [...working].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([path, text]) => ({ path, absPath: join(session.root, ...path.split('/')), text, bytes: Buffer.byteLength(text) })),
    problems: session.problems.map((p) => ({ path: p.file, message: p.message, severity: p.severity })),
  };
  const { located: based, base: found } = await treeBase(located, series, find);
  const base = new Map(based.files.map((f) => [f.path, f.text]));
  const trail: SeriesTrail = { applied: [], points: [] };
  let report: TreeReport;
  let final: Map<string, string>;
  let functions: FunctionInfo[];
  const changed = [...new Set(series.patches.flatMap((p) => p.diffs.map((d) => d.newPath)).filter((f): f is string => f !== null && inKvmScope(f)))];
  try {
    await moveTo(session, base);
    report = await session.analyze(series, options, trail);
    final = session.texts();
    // hovers on the patch: what each function it changes does once the series is in
    functions = session.describe(changed.filter((f) => final.has(f)));
  } finally {
    await moveTo(session, working);
  }
  const introducedAt = new Map<string, number | null>();
  // the timeline already named the patch; here it is its index in the series
  for (const f of report.findings) {
    const at = series.patches.findIndex((p) => isPatchAt(f.introducedByPatch, p.file, p.startLine));
    introducedAt.set(f.key, at < 0 ? null : at);
  }
  const outside = [...new Set(series.patches.flatMap((p) => p.diffs.flatMap((d) => [d.oldPath, d.newPath])).filter((f): f is string => f !== null && !inKvmScope(f)))].sort();
  return { report: { ...report, base: found }, working, base, final, origins: LineOrigins.follow(base, trail.applied), introducedAt, outside, functions };
}

/** Sets every file whose text differs from `texts` (removing those `texts` lacks): an incremental re-parse of each. */
async function moveTo(session: TreeSession, texts: ReadonlyMap<string, string>): Promise<void> {
  const now = session.texts();
  for (const [path, text] of texts) if (now.get(path) !== text) await session.setText(path, text);
  for (const path of now.keys()) if (!texts.has(path)) await session.setText(path, undefined);
}
