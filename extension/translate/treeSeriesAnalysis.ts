// A series document checked against a kernel tree, as the editor shows it. The tree analysis
// locates findings in the C files with the series applied; here each one goes back onto the
// patch line that shows it (the hunk that added it, or showed it as context), preferring the
// patch that introduced the finding. One the series introduced whose line no hunk shows sits on
// that patch's first hunk and says where it is. Trace steps open the tree's C files at the line
// the reviewer has on disk where that is known (the series applied there, or the file as the
// base had it), else the patch line that added the line. Plain data, no VS Code.
import { join } from 'node:path';
import type { SessionSeriesCheck } from '../core/analysis/seriesInSession';
import type { Finding, FunctionInfo, ReportBase, TraceStep } from '../core/findings';
import { sectionFunctionName } from '../core/parse/hunkFragments';
import type { InputProblem, Patch, Series } from '../core/series/types';
import { outlineSeries, type DocumentAnalysis, type DocumentRequest } from './documentAnalysis';

export interface TreeSeriesRequest extends DocumentRequest {
  /** The kernel tree as the editor names it (kvmLens.kernelTree, or the workspace folder). */
  root: string;
  /** Open KVM C buffers that differ from disk, tree-relative path to text (as TreeRequest). */
  buffers: Record<string, string>;
  /** Whether git may run to find the series' base: only in a trusted workspace. */
  git: boolean;
}

/** The tree analysis of `series` (checkSeriesInSession) as the analysis of the document it came from. */
export function treeSeriesAnalysis(check: SessionSeriesCheck, series: Series, root: string, settingsProblems: string[]): DocumentAnalysis {
  const places = new TreePlaces(check, series, root);
  const { report } = check;
  const patchFiles = new Set(series.patches.map((p) => p.file));
  if (series.coverLetter) patchFiles.add(series.coverLetter.file);
  const problems: InputProblem[] = [...series.problems];
  const notes: string[] = [];
  // a file outside the KVM sources is not "missing from the tree": the analysis does not read it
  const outside = (message: string) => check.outside.some((f) => message.startsWith(`${f}: `) || message.startsWith(`${f} @@ `));
  if (check.outside.length) {
    const n = check.outside.length;
    notes.push(`${n} file${n === 1 ? '' : 's'} the series changes ${n === 1 ? 'is' : 'are'} outside the KVM sources the analysis reads, so not applied: ${check.outside.join(', ')}`);
  }
  for (const p of report.problems) {
    if (patchFiles.has(p.file) && outside(p.message)) continue;
    if (patchFiles.has(p.file)) problems.push({ file: p.file, ...(p.line !== undefined ? { line: p.line } : {}), message: p.message, severity: p.severity });
    else notes.push(`${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.severity}: ${p.message}`);
  }
  const ops = report.tree.operations.reduce((n, d) => n + d.operations, 0);
  return {
    report: {
      ...(report.base ? { base: report.base } : {}),
      findings: report.findings.map((f) => places.finding(f)),
      fixed: report.fixed.map((f) => places.fixed(f)),
      functions: functionsOnPatches(series, check.functions),
      stats: report.stats,
      origins: report.origins,
    },
    problems,
    patches: outlineSeries(series),
    settingsProblems,
    tree: {
      root,
      baseLine: report.base?.line ?? `base: the working tree of ${root}`,
      scope: `kernel tree ${root}: ${report.tree.files} files, ${report.tree.functions} functions; ${ops} operations from the dispatchers`,
      notes,
    },
  };
}

/**
 * The tree's description of each function the series changes, placed on the patch lines that
 * show it (for hovers): from the hunk's @@ line when the hunk starts inside the function, from
 * its definition when the hunk shows one, to the closing brace at the line start or the hunk's end.
 */
export function functionsOnPatches(series: Series, described: readonly FunctionInfo[]): FunctionInfo[] {
  const byFile = new Map<string, Map<string, FunctionInfo>>();
  for (const f of described) {
    let m = byFile.get(f.file);
    if (!m) byFile.set(f.file, (m = new Map()));
    m.set(f.name, f);
  }
  const out: FunctionInfo[] = [];
  for (const p of series.patches) {
    for (const d of p.diffs) {
      const known = d.newPath === null ? undefined : byFile.get(d.newPath);
      if (!known) continue;
      for (const h of d.hunks) {
        const spans = new Map<string, { from: number; to: number }>();
        const enclosing = sectionFunctionName(h.section);
        let current = enclosing !== undefined && known.has(enclosing) ? enclosing : undefined;
        let from = h.headerPatchLine;
        const close = (to: number): void => {
          if (current === undefined) return;
          const had = spans.get(current);
          spans.set(current, had ? { from: Math.min(had.from, from), to: Math.max(had.to, to) } : { from, to });
        };
        for (const l of h.lines) {
          if (l.kind !== 'removed') {
            // `static int foo(`, or `foo(` alone when the return type is on the line above
            const def = /^(?:[A-Za-z_][^;]*?\b)?([A-Za-z_]\w*)\s*\(/.exec(l.text);
            if (def && known.has(def[1]!) && def[1] !== current) { close(l.patchLine - 1); current = def[1]; from = l.patchLine; }
          }
          if (current !== undefined && l.kind !== 'removed' && l.text.startsWith('}')) { close(l.patchLine); current = undefined; }
        }
        close(h.lines[h.lines.length - 1]?.patchLine ?? h.headerPatchLine);
        for (const [name, span] of spans) out.push({ ...known.get(name)!, file: p.file, line: span.from, endLine: span.to });
      }
    }
  }
  return out;
}

/** The base in a few words, for a view's description: "base-commit 1a2b3c4d5e6f", "blobs", "working tree", and "not exact" when it is not. */
export function baseLabel(base: ReportBase | undefined): string | undefined {
  if (!base) return undefined;
  const what = base.source === 'base-commit' ? `base-commit ${base.commit?.slice(0, 12) ?? ''}`.trimEnd()
    : base.source === 'blobs' ? 'pre-image blobs' : base.source === 'working-tree' ? 'working tree' : 'built-in model';
  return base.exact || base.source === 'model' ? what : `${what}, not exact`;
}

/** Where a tree location is shown: a patch line, or a C file of the tree by its absolute path. */
class TreePlaces {
  constructor(private readonly check: SessionSeriesCheck, private readonly series: Series, private readonly root: string) {}

  private inTree(path: string): boolean {
    return this.check.final.has(path) || this.check.working.has(path) || this.check.base.has(path);
  }

  private abs(path: string): string {
    return join(this.root, ...path.split('/'));
  }

  /** A line of the series' post-image as the reviewer can open it. */
  place(path: string, line: number): { file: string; line: number } {
    const { working, base, final, origins } = this.check;
    if (!this.inTree(path)) return { file: path, line };
    // the checkout has the series applied (b4 shazam), or the series does not change this file
    if (working.has(path) && working.get(path) === final.get(path)) return { file: this.abs(path), line };
    const origin = origins.of(path, line);
    if (origin?.base && working.has(origin.base.path) && working.get(origin.base.path) === base.get(origin.base.path)) {
      return { file: this.abs(origin.base.path), line: origin.base.line };
    }
    const added = origin?.appearances.find((a) => a.kind === 'added');
    if (added) return { file: this.patch(added.patch).file, line: added.patchLine };
    return { file: this.abs(path), line }; // the post-image's line: the file on disk differs from it
  }

  private patch(index: number): Patch {
    return this.series.patches[index]!;
  }

  private trace(steps: TraceStep[]): TraceStep[] {
    return steps.map((s) => ({ ...s, location: this.place(s.location.file, s.location.line) }));
  }

  finding(f: Finding): Finding {
    const { file, line } = f.location;
    const trace = this.trace(f.trace);
    if (!this.inTree(file)) return { ...f, trace };
    const intro = this.check.introducedAt.get(f.key) ?? null;
    const appearances = this.check.origins.of(file, line)?.appearances ?? [];
    const shown = appearances.find((a) => a.patch === intro) ?? appearances[appearances.length - 1];
    const at = (p: Patch, patchLine: number, column: number) => ({
      file: p.file, line: patchLine, column, ...(f.location.function ? { function: f.location.function } : {}), patch: p.subject,
    });
    // the patch line carries the C line's text after its '+' or ' '
    if (shown) return { ...f, location: at(this.patch(shown.patch), shown.patchLine, f.location.column + 1), trace };
    if (intro !== null) {
      const p = this.patch(intro);
      const firstHunk = p.diffs.flatMap((d) => d.hunks)[0];
      return { ...f, message: `${f.message} (at ${file}:${line} once the series is applied)`, location: at(p, firstHunk?.headerPatchLine ?? p.startLine, 1), trace };
    }
    const where = this.place(file, line);
    return { ...f, location: { ...f.location, file: where.file, line: where.line }, trace };
  }

  /** A hazard a later patch fixed: its lines are those of the patch it vanished after, so only the files are made openable. */
  fixed(f: Finding): Finding {
    const open = (file: string) => (this.inTree(file) ? this.abs(file) : file);
    return { ...f, location: { ...f.location, file: open(f.location.file) }, trace: f.trace.map((s) => ({ ...s, location: { ...s.location, file: open(s.location.file) } })) };
  }
}
