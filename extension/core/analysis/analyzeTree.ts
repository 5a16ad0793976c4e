// Kernel-tree mode: the real KVM sources replace the built-in model (which fills only what the
// tree lacks), a series is applied to them in memory patch by patch (the tree on disk is never
// written), each changed file is parsed whole again, and the lifecycle is simulated after each
// patch. Findings are located in the C files.
import type { AnalysisReport, SourceLocation } from '../findings';
import type { Patch, Series } from '../series/types';
import { parseC } from '../parse/cParser';
import { blankKernelNoise } from '../parse/preprocessorBlanking';
import type { FunctionIr } from '../summary/ir';
import { lowerTranslationUnit } from '../summary/lowerToIr';
import { loadBuiltinModel } from '../model/builtinModel';
import { Simulator, type ExploreResult, type FoundHazard } from '../simulate/explore';
import { BUILTIN_OPERATIONS } from '../simulate/operations';
import { Program } from '../simulate/program';
import { SimulationCache } from '../simulate/simulationCache';
import { applyPatchInMemory } from '../tree/applyInMemory';
import { locateKvmFiles } from '../tree/kernelTree';
import type { AnalysisOptions } from './analyzeSeries';
import { timelineFindings } from './timeline';

/** One parsed source file: what it defines. */
interface ParsedFile {
  text: string;
  functions: FunctionIr[];
  ops: Map<string, string>;
  errorLines: number[];
}

export interface TreeStats {
  files: number;
  bytes: number;
  functions: number;
  functionsWithErrors: number;
  /** Functions the built-in model supplied because the tree lacks them. */
  modelFilled: string[];
}

export interface TreeReport extends AnalysisReport {
  root: string;
  tree: TreeStats;
  problems: { file: string; line?: number; message: string; severity: 'error' | 'warning' }[];
}

const VENDOR_OPS_TABLE = 'svm_x86_ops';

async function parseFile(path: string, text: string): Promise<ParsedFile> {
  const tree = await parseC(blankKernelNoise(text));
  try {
    const unit = lowerTranslationUnit(tree.rootNode, { file: path, origin: 'tree', mapRow: (row) => ({ line: row + 1 }) });
    const ops = new Map<string, string>();
    for (const t of unit.opsTables) if (t.name === VENDOR_OPS_TABLE) for (const [k, v] of t.entries) ops.set(k, v);
    const errorLines = [...unit.errorLines, ...unit.functions.flatMap((f) => f.errorLines)];
    return { text, functions: unit.functions, ops, errorLines };
  } finally {
    tree.delete();
  }
}

export async function analyzeTree(dir: string, series: Series, options: AnalysisOptions): Promise<TreeReport> {
  const ms = { read: 0, parse: 0, summarize: 0, simulate: 0 };
  const t0 = performance.now();
  const located = await locateKvmFiles(dir);
  ms.read = performance.now() - t0;
  const problems: TreeReport['problems'] = located.problems.map((p) => ({ file: p.path, message: p.message, severity: p.severity }));
  const model = await loadBuiltinModel();

  const parsed = new Map<string, ParsedFile>();
  const t1 = performance.now();
  for (const f of located.files) parsed.set(f.path, await parseFile(f.path, f.text));
  ms.parse += performance.now() - t1;

  const cache = new SimulationCache();
  const seriesFiles = new Set(series.patches.map((p) => p.file));
  let modelFilled: string[] = [];

  // The code after some prefix of the series: tree functions over the model's.
  const build = (): { functions: Map<string, FunctionIr>; ops: Map<string, string> } => {
    const functions = new Map<string, FunctionIr>();
    const ops = new Map(model.ops);
    for (const file of parsed.values()) {
      for (const fn of file.functions) if (!functions.has(fn.name)) functions.set(fn.name, fn);
      for (const [k, v] of file.ops) ops.set(k, v);
    }
    modelFilled = [];
    for (const [name, fn] of model.functions) {
      if (!functions.has(name)) { functions.set(name, fn); modelFilled.push(name); }
    }
    return { functions, ops };
  };

  let last: { signature: string; result: ExploreResult } | undefined;
  const simulate = (): ExploreResult => {
    const t = performance.now();
    const { functions, ops } = build();
    const program = new Program(functions, ops, seriesFiles, cache.fingerprints, { lifecycleFlagsOnly: true });
    const signature = BUILTIN_OPERATIONS.map((op) => `${op.name}:${program.fingerprint(op.handler)}`).join(',');
    const result = last?.signature === signature ? last.result
      : new Simulator(program, BUILTIN_OPERATIONS, options.assumptions, cache).explore({ depth: options.depth, maxStates: options.maxStates });
    last = { signature, result };
    ms.simulate += performance.now() - t;
    return result;
  };

  const snapshots: { patch: Patch | null; result: ExploreResult }[] = [{ patch: null, result: simulate() }];
  let files = new Map([...parsed].map(([k, v]) => [k, v.text]));
  for (const patch of series.patches) {
    const applied = applyPatchInMemory(files, patch);
    for (const p of applied.problems) {
      problems.push({ file: p.patchFile, line: p.patchLine, severity: 'warning', message: `${p.file}${p.hunkHeader ? ` ${p.hunkHeader}` : ''}: ${p.message}` });
    }
    for (const r of applied.results) {
      for (const h of r.hunks) {
        if (h.applied && h.fuzz > 0) problems.push({ file: patch.file, line: h.patchLine, severity: 'warning', message: `${r.path} ${h.header}: applied with fuzz ${h.fuzz}` });
      }
    }
    const t = performance.now();
    for (const r of applied.results) {
      if (!/\.[ch]$/.test(r.path)) continue;
      const text = applied.files.get(r.path);
      if (text === undefined) parsed.delete(r.path);
      else if (text !== files.get(r.path)) parsed.set(r.path, await parseFile(r.path, text));
    }
    ms.parse += performance.now() - t;
    files = applied.files;
    snapshots.push({ patch, result: simulate() });
  }

  const final = snapshots[snapshots.length - 1].result;
  const { findings, fixed } = timelineFindings(snapshots, locate);
  const all = [...parsed.values()];
  for (const f of all) {
    if (f.errorLines.length) {
      const first = f.errorLines[0];
      findings.push({
        rule: 'analysis-incomplete', severity: 'info', key: `analysis-incomplete|${f.functions[0]?.loc.file}|parse`,
        message: `${f.errorLines.length} line(s) of this file did not parse (first at line ${first}); statements there are not analysed`,
        location: { file: f.functions[0]?.loc.file ?? '', line: first, column: 1 }, introducedBy: null, trace: [],
      });
    }
  }
  if (final.boundReached) {
    findings.push({ rule: 'analysis-incomplete', severity: 'info', key: 'analysis-incomplete|bound', message: 'the exploration stopped at its bound before it ran out of new states; raise --depth to look further', location: { file: '<simulation>', line: 1, column: 1 }, introducedBy: null, trace: [] });
  }
  const { functions } = build();
  return {
    root: located.root,
    findings, fixed,
    stats: { patches: series.patches.length, functions: functions.size, statesExplored: snapshots.reduce((n, s) => n + s.result.statesExplored, 0), boundReached: final.boundReached, ms },
    origins: [...modelFilled.map((name) => ({ function: name, origin: 'model' as const, file: model.functions.get(name)!.loc.file }))],
    tree: {
      files: parsed.size,
      bytes: all.reduce((n, f) => n + f.text.length, 0),
      functions: all.reduce((n, f) => n + f.functions.length, 0),
      functionsWithErrors: all.reduce((n, f) => n + f.functions.filter((fn) => fn.errorLines.length).length, 0),
      modelFilled,
    },
    problems,
  };
}

/** Tree findings are shown at the C line; the hunk header of a series change is in the trace. */
function locate(h: FoundHazard): SourceLocation {
  return { file: h.loc.file, line: h.loc.line, column: h.loc.column, function: h.fn };
}
