// Kernel-tree mode: the real KVM sources replace the built-in model (which fills only what the
// tree lacks), a series is applied to them in memory patch by patch (the tree on disk is never
// written), each changed file is parsed whole again, and the lifecycle is simulated after each
// patch. Findings are located in the C files. A session keeps the parse trees and the
// simulation cache, so an edit re-parses incrementally and re-runs only what it affects.
import { Edit, type Tree } from 'web-tree-sitter';
import type { AnalysisReport, Finding, FunctionInfo, ReportBase, SourceLocation } from '../findings';
import { formatSummary, summarizeFunction } from '../summary/pathSummary';
import type { Patch, Series } from '../series/types';
import { parseC } from '../parse/cParser';
import { blankKernelNoise, reblankKernelNoise } from '../parse/preprocessorBlanking';
import { depthCutMessage, type FunctionIr, type FunctionTable } from '../summary/ir';
import { lowerTranslationUnit, type LowerOptions } from '../summary/lowerToIr';
import { Simulator, type ExploreResult, type FoundHazard } from '../simulate/explore';
import { VM_CREATION } from '../simulate/operations';
import { caseHandlers, reachingOperations, worldOf, worldSignature, type World } from '../simulate/world';
import { SimulationCache } from '../simulate/simulationCache';
import { applyPatchInMemory, type PatchApplyResult } from '../tree/applyInMemory';
import { inKvmScope, locateKvmFiles, type LocatedTree } from '../tree/kernelTree';
import { findSeriesBase, type FindBaseOptions } from '../tree/seriesBase';
import { cachedReport, ReportCache } from '../cache/reportCache';
import type { LoweredFile, LoweredFileCache } from '../cache/loweredFileCache';
import type { AnalysisOptions } from './analyzeSeries';
import { timelineFindings, timelineUpToCut, type TimelinePoint } from './timeline';
import { Budget, DEFAULT_BUDGET } from './budget';
import { unclosedBraceLine } from './unclosedBrace';
import { changedSpan } from '../text/changedSpan';

export interface TreeStats {
  files: number;
  bytes: number;
  functions: number;
  functionsWithErrors: number;
  /** Always empty: in tree mode nothing comes from the built-in model (kept for report readers). */
  modelFilled: string[];
  /** Operations found in the tree's dispatchers, per dispatcher. */
  operations: { dispatcher: string; operations: number; via?: string }[];
  /** Dispatchers the tree lacks or that have no cases. */
  dispatcherProblems: string[];
}

export interface TreeProblemLine { file: string; line?: number; message: string; severity: 'error' | 'warning' }

export interface TreeReport extends AnalysisReport {
  root: string;
  tree: TreeStats;
  problems: TreeProblemLine[];
}

/** What TreeSession.analyze did with a series: each patch applied in memory, and the timeline's points. */
export interface SeriesTrail {
  applied: { patch: Patch; applied: PatchApplyResult }[];
  points: TimelinePoint[];
}

const VENDOR_OPS_TABLE = 'svm_x86_ops';
/** Explorations a session keeps (the audit, a series or two, a what-if). */
const KEPT_RESULTS = 4;

/** One source file as the session holds it: its text, its parse tree and what it defines. */
class SourceFile {
  private constructor(
    readonly path: string,
    public text: string,
    private blanked: string,
    /** Absent when the file's IR came from the cache: built the first time an edit needs it. */
    private tree: Tree | undefined,
    public functions: FunctionIr[],
    public ops: Map<string, string>,
    public errorLines: number[],
    public tables: FunctionTable[],
  ) {}

  /** The text as parsed (preprocessor noise blanked, lines kept). */
  get blankedText(): string {
    return this.blanked;
  }

  private static options(path: string): LowerOptions {
    return { file: path, origin: 'tree', mapRow: (row) => ({ line: row + 1 }) };
  }

  static async parse(path: string, text: string): Promise<SourceFile> {
    const blanked = blankKernelNoise(text);
    const tree = await parseC(blanked);
    const unit = lowerTranslationUnit(tree.rootNode, SourceFile.options(path));
    return new SourceFile(path, text, blanked, tree, unit.functions, opsOf(unit.opsTables), errorLinesOf(unit), unit.functionTables);
  }

  /** A file whose IR an earlier run lowered from this same text (see LoweredFileCache). */
  static fromLowered(path: string, text: string, lowered: LoweredFile): SourceFile {
    return new SourceFile(path, text, blankKernelNoise(text), undefined, lowered.functions, new Map(lowered.ops), lowered.errorLines, lowered.tables);
  }

  /** What the cache keeps of this file. */
  lowered(): LoweredFile {
    return { functions: this.functions, ops: [...this.ops], tables: this.tables, errorLines: this.errorLines };
  }

  /**
   * The file's new text: an incremental parse, then only the functions the edit touches are
   * lowered again when no line moved (others keep their IR, so their cached results stay valid).
   */
  async update(text: string): Promise<boolean> {
    const blanked = reblankKernelNoise(this.text, this.blanked, text);
    const edit = textEdit(this.blanked, blanked);
    if (!edit) { this.text = text; return false; }
    // the old text parses to the tree a first parse would have kept, so the incremental parse is the same
    const old = this.tree ?? await parseC(this.blanked);
    old.edit(edit);
    const next = await parseC(blanked, old);
    old.delete();
    this.tree = next;
    const sameLines = lineCount(this.blanked) === lineCount(blanked);
    this.text = text;
    this.blanked = blanked;
    if (!sameLines) {
      const unit = lowerTranslationUnit(next.rootNode, SourceFile.options(this.path));
      this.functions = unit.functions;
      this.ops = opsOf(unit.opsTables);
      this.errorLines = errorLinesOf(unit);
      this.tables = unit.functionTables;
      return true;
    }
    const rows = { from: edit.startPosition.row, to: edit.newEndPosition.row };
    const unit = lowerTranslationUnit(next.rootNode, SourceFile.options(this.path), rows);
    const touched = (fn: FunctionIr) => fn.endLine - 1 >= rows.from && fn.loc.line - 1 <= rows.to;
    // a function whose IR did not change (a comment, whitespace) keeps its object, and so its cache
    const before = new Map(this.functions.filter(touched).map((fn) => [fn.name, fn]));
    const relowered = unit.functions.map((fn) => {
      const old = before.get(fn.name);
      return old && JSON.stringify(old) === JSON.stringify(fn) ? old : fn;
    });
    const functions = [...this.functions.filter((fn) => !touched(fn)), ...relowered].sort((a, b) => a.loc.line - b.loc.line);
    const ops = new Map(this.ops);
    if (unit.opsTables.length) for (const [k, v] of opsOf(unit.opsTables)) ops.set(k, v);
    let tables = this.tables;
    for (const t of unit.functionTables) tables = [...tables.filter((x) => x.name !== t.name), t];
    // the code is the same when every function kept its object and the tables say the same
    const changed = functions.length !== this.functions.length || functions.some((fn, i) => fn !== this.functions[i])
      || JSON.stringify([...ops]) !== JSON.stringify([...this.ops]) || JSON.stringify(tables) !== JSON.stringify(this.tables);
    this.functions = functions;
    this.ops = ops;
    this.tables = tables;
    this.errorLines = [...this.errorLines.filter((l) => l - 1 < rows.from || l - 1 > rows.to), ...errorLinesOf(unit)].sort((a, b) => a - b);
    return changed;
  }

  dispose(): void {
    this.tree?.delete();
    this.tree = undefined;
  }
}

const summaries = new WeakMap<FunctionIr, string[]>();

/** A function's paths as hover lines, once per function object (an edit elsewhere keeps it). */
function summaryOf(fn: FunctionIr): string[] {
  let s = summaries.get(fn);
  if (!s) { s = formatSummary(summarizeFunction(fn)); summaries.set(fn, s); }
  return s;
}

function opsOf(tables: { name: string; entries: Map<string, string> }[]): Map<string, string> {
  const ops = new Map<string, string>();
  for (const t of tables) if (t.name === VENDOR_OPS_TABLE) for (const [k, v] of t.entries) ops.set(k, v);
  return ops;
}

function errorLinesOf(unit: { errorLines: number[]; functions: FunctionIr[] }): number[] {
  return [...new Set([...unit.errorLines, ...unit.functions.flatMap((f) => f.errorLines)])].sort((a, b) => a - b);
}

function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** The single edit that turns `a` into `b` (common prefix and suffix), in tree-sitter's terms. */
function textEdit(a: string, b: string) {
  if (a === b) return undefined;
  const { start, endA, endB } = changedSpan(a, b);
  return new Edit({
    startIndex: start, oldEndIndex: endA, newEndIndex: endB,
    startPosition: pointAt(a, start), oldEndPosition: pointAt(a, endA), newEndPosition: pointAt(b, endB),
  });
}

function pointAt(text: string, index: number): { row: number; column: number } {
  let row = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) { row++; lineStart = i + 1; }
  return { row, column: index - lineStart };
}

/** A kernel tree held in memory: parsed once, re-analysed after edits. */
export class TreeSession {
  private readonly cache = new SimulationCache();
  /** The last few explorations by what they depend on: the C files' audit and a series checked in between do not evict each other. */
  private readonly results = new Map<string, ExploreResult>();
  readonly ms = { read: 0, parse: 0, summarize: 0, simulate: 0 };

  private constructor(
    readonly root: string,
    private readonly files: Map<string, SourceFile>,
    readonly problems: TreeProblemLine[],
  ) {}

  static async open(dir: string, lowered?: LoweredFileCache): Promise<TreeSession> {
    const t0 = performance.now();
    const located = await locateKvmFiles(dir);
    return TreeSession.fromLocated(located, performance.now() - t0, lowered);
  }

  /** A session over files already read (the caller looked them up in the cache first); files lowered before come from `lowered`. */
  static async fromLocated(located: LocatedTree, readMs: number, lowered?: LoweredFileCache): Promise<TreeSession> {
    const files = new Map<string, SourceFile>();
    const t1 = performance.now();
    for (const f of located.files) {
      const hit = lowered?.get(f.path, f.text);
      const file = hit ? SourceFile.fromLowered(f.path, f.text, hit) : await SourceFile.parse(f.path, f.text);
      if (!hit) lowered?.offer(f.path, f.text, () => file.lowered());
      files.set(f.path, file);
    }
    lowered?.prune();
    const session = new TreeSession(located.root, files, located.problems.map((p) => ({ file: p.path, message: p.message, severity: p.severity })));
    session.ms.read = readMs;
    session.ms.parse = performance.now() - t1;
    return session;
  }

  /** Replaces a file's text (an editor buffer, a patch applied in memory). */
  async setText(path: string, text: string | undefined): Promise<void> {
    const t = performance.now();
    const file = this.files.get(path);
    let changed = true;
    if (text === undefined) { file?.dispose(); changed = this.files.delete(path); }
    else if (file) changed = await file.update(text);
    else if (/\.[ch]$/.test(path)) this.files.set(path, await SourceFile.parse(path, text));
    // an edit the code does not see (a comment, blank space) keeps the world already derived
    if (changed) this.version++;
    this.ms.parse += performance.now() - t;
  }

  texts(): Map<string, string> {
    return new Map([...this.files].map(([k, f]) => [k, f.text]));
  }

  /** The code now: the tree's functions, ops tables and function tables, and nothing else. */
  private code(): { functions: Map<string, FunctionIr>; ops: Map<string, string>; tables: Map<string, FunctionTable['entries']> } {
    const functions = new Map<string, FunctionIr>();
    const ops = new Map<string, string>();
    const tables = new Map<string, FunctionTable['entries']>();
    for (const file of this.files.values()) {
      for (const fn of file.functions) if (!functions.has(fn.name)) functions.set(fn.name, fn);
      for (const [k, v] of file.ops) ops.set(k, v);
      for (const t of file.tables) if (!tables.has(t.name)) tables.set(t.name, t.entries);
    }
    return { functions, ops, tables };
  }

  /** Bumped by every setText: the code the world was derived from changed. */
  private version = 0;
  private derived: { key: string; world: World } | undefined;

  /** The world of the code now, derived once per version of the code (an audit asks for it three times). */
  private world(seriesFiles: ReadonlySet<string> = new Set()): World {
    const key = `${this.version}|${[...seriesFiles].sort().join('\n')}`;
    if (this.derived?.key !== key) {
      const previous = this.derived?.world;
      this.derived = { key, world: worldOf({ ...this.code(), seriesFiles, interner: this.cache.fingerprints, options: { lifecycleFlagsOnly: true }, previous }) };
    }
    return this.derived.world;
  }

  /**
   * A tree without KVM_SEV_INIT2 (before Linux 6.10) has no protected-state VM type: its
   * SEV-ES VMs are all of the legacy type, whatever the default assumption says.
   */
  effectiveOptions(options: AnalysisOptions): { options: AnalysisOptions; note?: string } {
    const hasInit2 = [...this.files.values()].some((f) => f.functions.some((fn) => fn.name === 'sev_guest_init2'));
    if (hasInit2 || options.assumptions.vmType === 'legacy') return { options };
    return {
      options: { ...options, assumptions: { ...options.assumptions, vmType: 'legacy' } },
      note: 'this tree has no KVM_SEV_INIT2 (sev_guest_init2), so no protected-state VM type: simulated as a legacy SEV-ES VM (KVM_SEV_ES_INIT)',
    };
  }

  simulate(requested: AnalysisOptions, seriesFiles: ReadonlySet<string> = new Set(), budget = new Budget(requested.budget ?? DEFAULT_BUDGET)): ExploreResult {
    const t = performance.now();
    const { options } = this.effectiveOptions(requested);
    const world = this.world(seriesFiles);
    const signature = worldSignature(world) + `|${world.program.fingerprint(VM_CREATION)}|${JSON.stringify(options.assumptions)}|${options.depth}`;
    const result = this.results.get(signature)
      ?? new Simulator(world.program, world.operations, options.assumptions, this.cache, budget).explore({ depth: options.depth, maxStates: options.maxStates });
    // a partial result is not the answer for the next call, which has a budget of its own
    this.results.delete(signature);
    if (!result.budgetCut) {
      this.results.set(signature, result);
      for (const old of this.results.keys()) { if (this.results.size <= KEPT_RESULTS) break; this.results.delete(old); }
    }
    this.cache.trim();
    this.ms.simulate += performance.now() - t;
    return result;
  }

  /** One chosen ioctl sequence through the tree's code (the simulation panel, tests): the state after each step. */
  runSequence(steps: { operation: string; vcpu: number | null }[], requested: AnalysisOptions): ReturnType<Simulator['runSequence']> {
    const { options } = this.effectiveOptions(requested);
    const world = this.world();
    return new Simulator(world.program, world.operations, options.assumptions, this.cache, new Budget(requested.budget ?? DEFAULT_BUDGET)).runSequence(steps);
  }

  /**
   * Applies the series patch by patch in memory, simulating after each, and reports. The session
   * keeps the series' texts afterwards; `trail` receives what each patch's application did and
   * the explorations the timeline rests on (the editor maps findings back to patch lines with them).
   */
  async analyze(series: Series, options: AnalysisOptions, trail?: SeriesTrail): Promise<TreeReport> {
    const problems = [...this.problems];
    const note = this.effectiveOptions(options).note;
    if (note) problems.push({ file: this.root, severity: 'warning', message: note });
    const seriesFiles = new Set(series.patches.map((p) => p.file));
    const budget = new Budget(options.budget ?? DEFAULT_BUDGET);
    const points: TimelinePoint[] = [{ patch: null, result: this.simulate(options, seriesFiles, budget) }];
    for (const [i, patch] of series.patches.entries()) {
      if (budget.exhausted) {
        problems.push({ file: patch.file, line: patch.startLine, severity: 'warning', message: `this patch and the ${series.patches.length - i - 1} after it were not analysed: the analysis budget ran out before them` });
        break;
      }
      // files outside the KVM sources are not read, so not "missing from the tree": said once each, not applied
      const outside = patch.diffs.filter((d) => ![d.oldPath, d.newPath].some((f) => f !== null && inKvmScope(f)));
      for (const d of outside) {
        const f = d.newPath ?? d.oldPath ?? '';
        problems.push({ file: patch.file, line: d.headerPatchLine, severity: 'warning', message: `${f}: outside the KVM sources the analysis reads; its changes are not analysed` });
      }
      const applied = applyPatchInMemory(this.texts(), outside.length ? { ...patch, diffs: patch.diffs.filter((d) => !outside.includes(d)) } : patch);
      trail?.applied.push({ patch, applied });
      for (const p of applied.problems) {
        problems.push({ file: p.patchFile, line: p.patchLine, severity: 'warning', message: `${p.file}${p.hunkHeader ? ` ${p.hunkHeader}` : ''}: ${p.message}` });
      }
      for (const r of applied.results) {
        for (const h of r.hunks) if (h.applied && h.fuzz > 0) problems.push({ file: patch.file, line: h.patchLine, severity: 'warning', message: `${r.path} ${h.header}: applied with fuzz ${h.fuzz}` });
        await this.setText(r.path, applied.files.get(r.path));
        // a rename takes the file away from its old path: both would define every function twice
        if (r.oldPath !== null && r.oldPath !== r.path && !applied.files.has(r.oldPath)) await this.setText(r.oldPath, undefined);
      }
      points.push({ patch, result: this.simulate(options, seriesFiles, budget) });
    }
    const kept = timelineUpToCut(points);
    if (trail) trail.points = kept;
    return this.report(kept, series.patches.length, problems);
  }

  private report(points: TimelinePoint[], patches: number, problems: TreeProblemLine[]): TreeReport {
    const final = points[points.length - 1].result;
    const { findings, fixed } = timelineFindings(points, locate);
    const all = [...this.files.values()];
    for (const f of all) {
      const open = unclosedBraceLine(f.blankedText);
      if (open !== undefined) {
        const fn = f.functions.find((x) => x.loc.line <= open && open <= x.endLine) ?? f.functions.filter((x) => x.loc.line <= open).pop();
        problems.push({ file: f.path, line: open, severity: 'warning', message: `this file ends with the brace opened here still open${fn ? ` (in ${fn.name}())` : ''}: it looks cut short, and what is missing from it is not analysed` });
      }
      for (const fn of f.functions) if (fn.depthCut) findings.push(incomplete(fn.depthCut.at.file, fn.depthCut.at.line, depthCutMessage(fn.name, fn.depthCut)));
      if (f.errorLines.length === 0) continue;
      findings.push(incomplete(f.path, f.errorLines[0], `${f.errorLines.length} line(s) of this file did not parse (first at line ${f.errorLines[0]}); statements there are not analysed`));
    }
    if (final.budgetCut) findings.push(incomplete('<simulation>', 1, final.budgetCut));
    if (final.boundReached) findings.push(incomplete('<simulation>', 1, 'the exploration stopped at its bound before it ran out of new states; raise --depth to look further'));
    for (const c of final.cuts) findings.push(incomplete(c.loc.file, c.loc.line, `${c.what}; findings beyond that point may be missing`));
    if (final.modeDependent.length) {
      findings.push(incomplete('<simulation>', 1, `reads of protected state on paths that depend on vCPU modes the simulation does not track (${final.modeDependent.join(', ')}) were not reported: those modes may never be entered by an SEV-ES vCPU`));
    }
    const world = this.world();
    for (const p of world.discovered.problems) findings.push(incomplete('<operations>', 1, p));
    const functions = world.program.functions;
    return {
      root: this.root,
      findings, fixed,
      stats: { patches, functions: functions.size, statesExplored: points.reduce((n, p, i) => n + (i > 0 && p.result === points[i - 1].result ? 0 : p.result.statesExplored), 0), boundReached: final.boundReached, ms: { ...this.ms } },
      origins: [],
      tree: {
        files: all.length,
        bytes: all.reduce((n, f) => n + f.text.length, 0),
        functions: all.reduce((n, f) => n + f.functions.length, 0),
        functionsWithErrors: all.reduce((n, f) => n + f.functions.filter((fn) => fn.errorLines.length).length, 0),
        modelFilled: [],
        operations: world.discovered.byDispatcher,
        dispatcherProblems: world.discovered.problems,
      },
      problems,
    };
  }

  /**
   * Summaries of the functions defined in the given files (hovers on C files), with the ioctls
   * whose handlers reach each, and which operation each handler serves (CodeLens on handlers).
   */
  describe(paths: string[]): FunctionInfo[] {
    const wanted = new Set(paths);
    if (wanted.size === 0) return [];
    const world = this.world();
    const program = world.program;
    const { reach, handles } = this.operationsByFunction(world);
    const out: FunctionInfo[] = [];
    for (const path of wanted) {
      for (const fn of this.files.get(path)?.functions ?? []) {
        // describe only what the lifecycle can touch: a hover elsewhere has nothing to say
        if (!reach.has(fn.name) && !program.relevance.isRelevant(fn.name)) continue;
        out.push({
          name: fn.name, origin: 'tree', file: path, line: fn.loc.line, endLine: fn.endLine,
          summary: summaryOf(fn), reachedBy: [...(reach.get(fn.name) ?? [])].sort(),
          handles: handles.get(fn.name) ?? [],
        });
      }
    }
    return out;
  }

  private byFunction: { world: World; reach: Map<string, Set<string>>; handles: Map<string, string[]> } | undefined;

  /** Which operations reach each function and which it handles: once per world, not per request (the editor asks on every keystroke). */
  private operationsByFunction(world: World): { reach: Map<string, Set<string>>; handles: Map<string, string[]> } {
    if (this.byFunction?.world !== world) {
      const reach = new Map([...reachingOperations(world)].map(([k, v]) => [k, new Set(v)]));
      const handles = new Map<string, string[]>();
      for (const op of world.operations) {
        for (const name of new Set(caseHandlers(world.program, op))) handles.set(name, [...(handles.get(name) ?? []), op.name]);
      }
      this.byFunction = { world, reach, handles };
    }
    return this.byFunction;
  }

  dispose(): void {
    for (const f of this.files.values()) f.dispose();
    this.files.clear();
  }
}

function incomplete(file: string, line: number, message: string): Finding {
  return { rule: 'analysis-incomplete', severity: 'info', key: `analysis-incomplete|${file}|${message}`, message, location: { file, line, column: 1 }, introducedBy: null, trace: [] };
}

/** Tree findings are shown at the C line of the hazard. */
function locate(h: FoundHazard): SourceLocation {
  return { file: h.loc.file, line: h.loc.line, column: h.loc.column, function: h.fn };
}

/**
 * Audits the tree (with the series applied in memory). With a cache, the same tree, series,
 * options and analysis code give the stored report without parsing or simulating anything.
 */
export async function analyzeTree(dir: string, series: Series, options: AnalysisOptions, cache?: ReportCache, lowered?: LoweredFileCache, base: FindBaseOptions = { git: true }): Promise<TreeReport> {
  const t0 = performance.now();
  const { located, base: found } = await treeBase(await locateKvmFiles(dir), series, base);
  const readMs = performance.now() - t0;
  return cachedReport(cache, () => treeReportKey(located, series, options, found), readMs, async () => {
    const session = await TreeSession.fromLocated(located, readMs, lowered);
    try {
      return { base: found, ...await session.analyze(series, options) };
    } finally {
      session.dispose();
    }
  });
}

/**
 * The files a series is applied to: its exact base when one can be found (tree/seriesBase.ts).
 * An audit without a series, or a tree that could not be read, is its working tree.
 */
export async function treeBase(located: LocatedTree, series: Series, options: FindBaseOptions): Promise<{ located: LocatedTree; base: ReportBase }> {
  const unreadable = located.files.length === 0 || located.problems.some((p) => p.severity === 'error');
  if (series.patches.length === 0 || unreadable) {
    return { located, base: { source: 'working-tree', exact: series.patches.length === 0, line: `base: the working tree of ${located.root}` } };
  }
  const found = await findSeriesBase(located, series, options);
  const { source, exact, commit, line } = found.base;
  return { located: found.located, base: { source, exact, ...(commit ? { commit } : {}), line } };
}

/** Everything a tree report depends on besides the code: where, which files with what text, the series, the options. */
function treeReportKey(located: LocatedTree, series: Series, options: AnalysisOptions, base: ReportBase): string {
  const parts: string[] = ['tree', located.root, JSON.stringify(located.problems), JSON.stringify(options), JSON.stringify(series), JSON.stringify(base)];
  for (const f of located.files) parts.push(f.path, f.text);
  return ReportCache.key(parts);
}
