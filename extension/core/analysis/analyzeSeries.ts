// The whole pipeline for a series: apply each patch in order to the built-in model, simulate
// after each one, and compare: a finding is introduced by the patch after which it appears
// (and stays), and fixed by the patch after which it is gone.
import type { AnalysisReport, Finding, FunctionInfo, SourceLocation, TraceStep } from '../findings';
import type { Stmt } from '../summary/ir';
import { forEachStmt } from '../summary/irKeys';
import { formatSummary, summarizeFunction } from '../summary/pathSummary';
import type { Patch, Series } from '../series/types';
import { loadBuiltinModel, isModelFile } from '../model/builtinModel';
import { SimulationCache } from '../simulate/simulationCache';
import { DEFAULT_ASSUMPTIONS, Simulator, type Assumptions, type ExploreResult, type FoundHazard } from '../simulate/explore';
import { reachingOperations, worldOf, worldSignature, type World } from '../simulate/world';
import { VM_CREATION } from '../simulate/operations';
import { diffIdentity } from '../series/diffIdentity';
import { removeGuards } from './absentGuards';
import { applyPatch, CodeBase, type IncompleteNote } from './codeBase';
import { timelineFindings, timelineUpToCut } from './timeline';
import { Budget, BudgetExhausted, DEFAULT_BUDGET, type BudgetLimits } from './budget';
import { cachedReport, ReportCache } from '../cache/reportCache';

export interface AnalysisOptions {
  depth: number;
  maxStates: number;
  assumptions: Assumptions;
  /** Guards to treat as absent: "function:condition text or flag". */
  absentGuards: string[];
  /** Time and work for the whole analysis (default DEFAULT_BUDGET); when spent, the result is partial and says so. */
  budget?: BudgetLimits;
}

/** More patches than this and the timeline is sampled (each snapshot is a full exploration). */
export const MAX_TIMELINE_SNAPSHOTS = 150;

export const DEFAULT_OPTIONS: AnalysisOptions = { depth: 12, maxStates: 20000, assumptions: DEFAULT_ASSUMPTIONS, absentGuards: [] };

interface Snapshot {
  /** Patch after which this snapshot was taken; null for the model alone. */
  patch: Patch | null;
  result: ExploreResult;
  ops: Map<string, string>;
}

/**
 * The series analysed on the built-in model. With a cache, the same series, options and
 * analysis code give the stored report without simulating anything.
 */
export async function analyzeSeries(series: Series, options: AnalysisOptions = DEFAULT_OPTIONS, readMs = 0, cache?: ReportCache): Promise<AnalysisReport> {
  return cachedReport(cache, () => ReportCache.key(['series', JSON.stringify(options), JSON.stringify(series)]), readMs, () => simulateSeries(series, options, readMs));
}

async function simulateSeries(series: Series, options: AnalysisOptions, readMs: number): Promise<AnalysisReport> {
  const model = await loadBuiltinModel();
  let code = CodeBase.fromModel(model);
  const seriesFiles = new Set(series.patches.map((p) => p.file));
  const ms = { read: readMs, parse: 0, summarize: 0, simulate: 0 };
  const notes: IncompleteNote[] = [];

  const cache = new SimulationCache();
  const budget = new Budget(options.budget ?? DEFAULT_BUDGET);
  // The behaviour of every operation, as one string: equal signatures explore alike.
  let last: { signature: string; result: ExploreResult } | undefined;
  // each patch's world takes over from the one before it what the patch did not change
  let previous: World | undefined;
  const simulate = (cb: CodeBase): ExploreResult => {
    const t = performance.now();
    const functions = options.absentGuards.length ? removeGuards(cb.functions, options.absentGuards, notes) : cb.functions;
    const world = worldOf({ functions, ops: cb.ops, tables: cb.tables, added: cb.addedOperations, removed: cb.removedOperations, seriesFiles, interner: cache.fingerprints, previous });
    previous = world;
    const signature = worldSignature(world) + `|${world.program.fingerprint(VM_CREATION)}`;
    const result = last && last.signature === signature ? last.result
      : new Simulator(world.program, world.operations, options.assumptions, cache, budget).explore({ depth: options.depth, maxStates: options.maxStates });
    last = { signature, result };
    ms.simulate += performance.now() - t;
    return result;
  };

  const snapshots: Snapshot[] = [{ patch: null, result: simulate(code), ops: new Map(code.ops) }];
  // A long series is simulated after every k-th patch (and the last): the timeline then names
  // the last patch of the range a finding appeared in, and says so.
  const step = Math.max(1, Math.ceil(series.patches.length / MAX_TIMELINE_SNAPSHOTS));
  if (step > 1) {
    notes.push({ file: series.patches[0].file, line: series.patches[0].startLine, message: `${series.patches.length} patches: the timeline simulates after every ${step}th patch, so "introduced by" and "fixed by" name the last patch of a range of ${step}` });
  }
  const applied = new Map<string, Patch>();
  for (const [i, patch] of series.patches.entries()) {
    const prev = snapshots[snapshots.length - 1];
    const id = diffIdentity(patch);
    const earlier = id ? applied.get(id) : undefined;
    if (earlier) {
      // the same change again (a resend, a duplicate in the mbox): applying it twice means nothing
      notes.push({ file: patch.file, line: patch.startLine, patch: patch.subject, message: `this patch repeats the diff of "${earlier.subject}" (${earlier.file}:${earlier.startLine}); it is applied once` });
      snapshots.push({ patch, result: prev.result, ops: prev.ops });
      continue;
    }
    if (id) applied.set(id, patch);
    let application;
    try {
      application = await applyPatch(code, patch, budget);
    } catch (e) {
      if (!(e instanceof BudgetExhausted)) throw e;
      notes.push({ file: patch.file, line: patch.startLine, patch: patch.subject, message: `this patch and the ${series.patches.length - i - 1} after it were not analysed: the analysis budget ran out before them` });
      break;
    }
    ms.parse += application.parseMs;
    ms.summarize += application.summarizeMs;
    for (const n of application.notes) notes.push(n);
    code = application.next;
    // a patch that changed no C we simulate cannot change the verdict
    const unchanged = application.functions.length === 0 && mapsEqual(prev.ops, code.ops);
    const sampled = (i + 1) % step === 0 || i === series.patches.length - 1;
    snapshots.push({ patch, result: unchanged || !sampled ? prev.result : simulate(code), ops: new Map(code.ops) });
    cache.trim();
  }

  // The verdict is always on the code after the last patch, whatever the timeline skipped.
  if (series.patches.length > 0 && !budget.exhausted) snapshots[snapshots.length - 1].result = simulate(code);
  const points = timelineUpToCut(snapshots);
  const final = points[points.length - 1].result;
  const { findings, fixed } = timelineFindings(points, (h) => preferSeries(h, seriesFiles));
  const cut = budget.describeCut();
  if (cut) notes.push({ file: '<simulation>', line: 1, message: cut });

  for (const f of incompleteFindings(notes, final, seriesFiles)) findings.push(f);
  findings.sort(byLocation);
  return {
    findings,
    fixed,
    functions: describeSeriesFunctions(code, seriesFiles),
    stats: {
      patches: series.patches.length,
      functions: code.functions.size,
      statesExplored: snapshots.reduce((n, s, i) => n + (i > 0 && s.result === snapshots[i - 1].result ? 0 : s.result.statesExplored), 0),
      boundReached: final.boundReached,
      ms,
    },
    origins: [...code.functions.values()].map((fn) => ({
      function: fn.name,
      origin: fn.origin === 'model' ? 'model' : code.changed.has(fn.name) && !isModelFile(fn.loc.file) ? 'series' : 'series+model',
      file: fn.loc.file,
    })),
  };
}

/** The functions a patch touched: where, what they do, which ioctls reach them. */
function describeSeriesFunctions(code: CodeBase, seriesFiles: Set<string>): FunctionInfo[] {
  const reach = reachingOperations(worldOf({ functions: code.functions, ops: code.ops, tables: code.tables, added: code.addedOperations, removed: code.removedOperations, seriesFiles }));
  const out: FunctionInfo[] = [];
  for (const name of code.changed) {
    const fn = code.functions.get(name);
    if (!fn) continue;
    const summary = formatSummary(summarizeFunction(fn));
    const reachedBy = [...new Set(reach.get(name) ?? [])].sort();
    const origin = isModelFile(fn.loc.file) ? 'series+model' : 'series';
    // every patch that shows the function, over all the lines it shows it on (its @@ line included)
    const spans = [...(code.spans.get(name) ?? [])].filter(([file]) => seriesFiles.has(file));
    if (spans.length) {
      for (const [file, { from, to }] of spans) out.push({ name, origin, file, line: from, endLine: to, summary, reachedBy });
      continue;
    }
    const lines = seriesLines(fn.body, seriesFiles);
    if (fn.touched && seriesFiles.has(fn.touched.file)) lines.push({ file: fn.touched.file, line: fn.touched.line });
    if (fn.loc.change === undefined && seriesFiles.has(fn.loc.file)) lines.push({ file: fn.loc.file, line: fn.loc.line }, { file: fn.loc.file, line: fn.endLine });
    if (lines.length === 0) continue;
    const file = lines[0].file;
    const inFile = lines.filter((l) => l.file === file).map((l) => l.line);
    out.push({ name, origin, file, line: inFile.reduce((a, b) => Math.min(a, b)), endLine: inFile.reduce((a, b) => Math.max(a, b)), summary, reachedBy });
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

function seriesLines(body: Stmt, seriesFiles: Set<string>): { file: string; line: number }[] {
  const out: { file: string; line: number }[] = [];
  forEachStmt(body, (s) => { if (seriesFiles.has(s.loc.file)) out.push({ file: s.loc.file, line: s.loc.line }); });
  return out;
}

function mapsEqual(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** A finding is shown where the user can act: the hazard line if a patch holds it, else the last patch line on its trace. */
function preferSeries(h: FoundHazard, seriesFiles: Set<string>): SourceLocation {
  const at = (file: string, line: number, column: number, fn?: string): SourceLocation => ({ file, line, column, ...(fn ? { function: fn } : {}) });
  if (seriesFiles.has(h.loc.file)) return at(h.loc.file, h.loc.line, h.loc.column, h.fn);
  if (h.seriesLoc && seriesFiles.has(h.seriesLoc.file)) return at(h.seriesLoc.file, h.seriesLoc.line, h.seriesLoc.column, h.fn);
  const steps: TraceStep[] = [...h.trace].reverse();
  const s = steps.find((x) => seriesFiles.has(x.location.file));
  if (s) return at(s.location.file, s.location.line, 1, h.fn);
  return at(h.loc.file, h.loc.line, h.loc.column, h.fn);
}

function incompleteFindings(notes: IncompleteNote[], final: ExploreResult, seriesFiles: Set<string>): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  const keys = new Map<string, number>();
  const add = (file: string, line: number, message: string, fn?: string, patch?: string): void => {
    const place = `${file}|${line}|${message}`;
    if (seen.has(place)) return;
    seen.add(place);
    // the key leaves the line out, so an edit above the note does not make it a new one in CI
    // (SARIF partialFingerprints); the same note twice in a file is told apart by its order
    const stable = `analysis-incomplete|${file}|${fn ?? ''}|${message}`;
    const n = keys.get(stable) ?? 0;
    keys.set(stable, n + 1);
    const key = n === 0 ? stable : `${stable}|${n + 1}`;
    out.push({
      rule: 'analysis-incomplete', severity: 'info', message,
      location: { file, line, column: 1, ...(fn ? { function: fn } : {}), ...(patch ? { patch } : {}) },
      introducedBy: null, trace: [], key,
    });
  };
  for (const n of notes) add(n.file, n.line, n.message, n.function, n.patch);
  for (const u of final.unresolved) {
    if (seriesFiles.has(u.loc.file) || isModelFile(u.loc.file)) add(u.loc.file, u.loc.line, `${u.fn}() calls ${u.what}, which no kvm_x86_ops initializer in the series or the model resolves; the call is treated as doing nothing`, u.fn);
  }
  if (final.boundReached) add('<simulation>', 1, `the exploration stopped at its bound (depth or state limit) before it ran out of new states; raise --depth to look further`);
  for (const c of final.cuts) add(c.loc.file, c.loc.line, `${c.what}; findings beyond that point may be missing`, c.fn);
  if (final.truncated && final.cuts.length === 0) add('<simulation>', 1, 'some paths were cut (too many outcomes or calls nested too deep); findings on them may be missing');
  return out;
}

function byLocation(a: Finding, b: Finding): number {
  return a.location.file.localeCompare(b.location.file) || a.location.line - b.location.line || a.rule.localeCompare(b.rule);
}
