// The code the simulation runs after some prefix of the series: the built-in model with each
// patch's C applied to it. A whole function in a patch replaces its entry; a partial one is
// merged as a delta; ops-table lines rewire indirect calls.
import type { FileDiff, Hunk, Patch } from '../series/types';
import { buildFragment, FRAGMENT_FUNCTION, type Fragment } from '../parse/hunkFragments';
import { parseC } from '../parse/cParser';
import { depthCutMessage, type FunctionIr, type FunctionTable, type Loc, type Stmt } from '../summary/ir';
import { lowerTranslationUnit } from '../summary/lowerToIr';
import { mergeDelta } from '../summary/mergeDelta';
import { applyHunkText, hunkAgrees, partialFunction, textAgrees } from '../summary/partialFunction';
import { forEachStmt } from '../summary/irKeys';
import type { Operation } from '../simulate/operations';
import type { BuiltinModel } from '../model/builtinModel';
import { entryPointsOfHunk, type RemovedEntryPoint } from './newEntryPoints';
import { Budget } from './budget';
import { spanInHunk, untakenChange } from './hunkCoverage';

export interface IncompleteNote {
  file: string;
  line: number;
  function?: string;
  patch?: string;
  message: string;
}

export class CodeBase {
  constructor(
    readonly functions: Map<string, FunctionIr>,
    readonly ops: Map<string, string>,
    /** Cases the series added to a dispatcher, each run as its own case body. */
    readonly addedOperations: Operation[],
    /** Cases the series removed from a dispatcher. */
    readonly removedOperations: RemovedEntryPoint[],
    /** Which functions some patch replaced or changed so far. */
    readonly changed: Set<string>,
    readonly tables: Map<string, FunctionTable['entries']> = new Map(),
    /** Each function's source lines as they stand after the patches so far, where known: what a hunk's context must agree with. */
    readonly texts: Map<string, string[]> = new Map(),
    /** Where each function shows in the patches: per patch file, its first and last line (a hunk's @@ line naming it included). */
    readonly spans: Map<string, Map<string, { from: number; to: number }>> = new Map(),
  ) {}

  static fromModel(model: BuiltinModel): CodeBase {
    return new CodeBase(new Map(model.functions), new Map(model.ops), [], [], new Set(), new Map(model.tables), new Map(model.texts));
  }

  clone(): CodeBase {
    const spans = new Map([...this.spans].map(([k, v]) => [k, new Map(v)]));
    return new CodeBase(new Map(this.functions), new Map(this.ops), [...this.addedOperations], [...this.removedOperations], new Set(this.changed), new Map(this.tables), new Map(this.texts), spans);
  }
}

export interface PatchApplication {
  next: CodeBase;
  notes: IncompleteNote[];
  /** Functions the patch touched, whole or partial. */
  functions: string[];
  parseMs: number;
  summarizeMs: number;
}

const C_FILE = /\.(c|h)$/;
const OPS_LINE = /^\s*\.([a-z_][a-z0-9_]*)\s*=\s*([A-Za-z_]\w*)\s*,?\s*$/;

/** Throws BudgetExhausted when the analysis budget runs out; the caller keeps what it has. */
export async function applyPatch(base: CodeBase, patch: Patch, budget: Budget = Budget.unlimited()): Promise<PatchApplication> {
  const next = base.clone();
  const notes: IncompleteNote[] = [];
  const touched = new Set<string>();
  let parseMs = 0;
  let summarizeMs = 0;
  const label = patch.subject || patch.file;

  for (const diff of patch.diffs) {
    const path = diff.newPath ?? diff.oldPath ?? '';
    if (diff.binary || !C_FILE.test(path)) continue;
    for (const hunk of diff.hunks) {
      // parsing, lowering and merging are each linear in the hunk: a unit per line per stage
      budget.spend(3 * hunk.lines.length, 'merge', () => `${path} in ${patch.file}:${hunk.headerPatchLine}`);
      const table = applyOpsTableLines(next, hunk);
      const notesBefore = notes.length;
      const entries = await entryPointsOfHunk(hunk, patch);
      for (const r of entries.removed) {
        next.removedOperations.push(r);
        const at = next.addedOperations.findIndex((o) => o.name === r.name);
        if (at >= 0) next.addedOperations.splice(at, 1);
      }
      for (const e of entries.added) {
        const at = next.addedOperations.findIndex((o) => o.name === e.operation.name);
        if (at >= 0) next.addedOperations.splice(at, 1);
        next.addedOperations.push(e.operation);
        next.functions.set(e.handler.name, e.handler);
        touched.add(e.handler.name);
      }
      const t0 = performance.now();
      const post = await lowerFragment(buildFragment(hunk, 'post'), patch, label);
      const pre = await lowerFragment(buildFragment(hunk, 'pre'), patch, label);
      const t1 = performance.now();
      parseMs += t1 - t0;
      for (const line of [...post.errorLines, ...pre.errorLines]) {
        notes.push({ file: patch.file, line, patch: label, message: `${path}: this hunk has C that tree-sitter could not parse at this line; statements around it are not analysed` });
      }
      mergeHunk(next, diff, hunk, pre.functions, post.functions, patch, label, notes, touched);
      summarizeMs += performance.now() - t1;
      const noted = new Set(notes.slice(notesBefore).map((n) => n.line));
      const untaken = untakenChange(hunk, path, { pre: pre.functions, post: post.functions, table, noted });
      if (untaken) notes.push({ ...untaken, file: patch.file, patch: label });
    }
  }
  return { next, notes, functions: [...touched], parseMs, summarizeMs };
}

async function lowerFragment(fragment: Fragment, patch: Patch, label: string): Promise<{ functions: (FunctionIr & { fragmentOf?: string })[]; errorLines: number[] }> {
  const tree = await parseC(fragment.text);
  try {
    const unit = lowerTranslationUnit(tree.rootNode, {
      file: patch.file, origin: 'series', patch: label,
      mapRow: (row) => fragment.rows[row],
    });
    const functions = unit.functions.map((fn) => fn.name === FRAGMENT_FUNCTION && fragment.enclosing
      ? { ...fn, name: fragment.enclosing, truncated: true, fragmentOf: fragment.enclosing } : fn);
    const errorLines = [...unit.errorLines, ...unit.functions.flatMap((f) => f.errorLines)];
    return { functions, errorLines: [...new Set(errorLines)].sort((a, b) => a - b) };
  } finally {
    tree.delete();
  }
}

function mergeHunk(
  next: CodeBase, diff: FileDiff, hunk: Hunk, pre: FunctionIr[], post: FunctionIr[], patch: Patch, label: string,
  notes: IncompleteNote[], touched: Set<string>,
): void {
  const firstChange = (fn: FunctionIr): Loc | undefined => firstChangedLoc(fn.body);
  for (const fn of post) {
    touched.add(fn.name);
    noteSpan(next, fn, post, hunk, patch.file);
    const change = firstChange(fn);
    if (!fn.truncated) {
      // the patch holds the function from signature to closing brace: it replaces the entry
      next.functions.set(fn.name, { ...fn, ...(change ? { touched: change } : {}) });
      next.texts.set(fn.name, linesBetween(hunk, fn.loc.line, fn.endLine).filter((l) => l.kind !== 'removed').map((l) => l.text));
      noteDepthCut(fn.name, fn, patch, label, notes);
      next.changed.add(fn.name);
      continue;
    }
    if (!change && !pre.some((p) => p.name === fn.name && firstChange(p))) continue; // context only
    const base = next.functions.get(fn.name);
    const preFn = pre.find((p) => p.name === fn.name);
    if (!base) {
      notes.push({
        file: patch.file, line: change?.line ?? hunk.headerPatchLine, function: fn.name, patch: label,
        message: `${fn.name}() is changed here, but neither the series nor the built-in model holds the whole function, so this change is not simulated`,
      });
      continue;
    }
    const touchedLoc = change ?? (preFn ? firstChange(preFn) : undefined);
    const text = next.texts.get(fn.name);
    const lineText = new Map(hunk.lines.map((l) => [l.patchLine, l.text]));
    const agrees = text ? textAgrees(text, blockBody(preFn?.body), (line) => lineText.get(line)) : hunkAgrees(base, blockBody(preFn?.body));
    if (!agrees.ok || !anchored(blockBody(preFn?.body), blockBody(fn.body))) {
      // merging would guess: the function is the hunk's own post-image, the rest of it unknown
      const why = `the ${base.origin === 'model' ? "model's" : "earlier patches'"} ${fn.name}() does not match this hunk's context`;
      const partial = partialFunction(fn, base, blockBody(preFn?.body), why);
      next.functions.set(fn.name, { ...partial, origin: 'series', patch: label, ...(touchedLoc ? { touched: touchedLoc } : {}) });
      next.changed.add(fn.name);
      next.texts.delete(fn.name);
      notes.push({
        file: patch.file, line: agrees.ok ? hunk.headerPatchLine : agrees.line, function: fn.name, patch: label,
        message: `partial: ${why}${agrees.ok ? ' (no statement of the hunk is one the function has)' : ` ("${agrees.text}" is not there)`}, so ${fn.name}() is analysed from this hunk alone, the code it does not show taken as unknown; findings through it say so`,
      });
      continue;
    }
    const merged = mergeDelta(base, blockBody(preFn?.body), blockBody(fn.body), label);
    next.functions.set(fn.name, { ...merged.fn, ...(touchedLoc ? { touched: touchedLoc } : {}) });
    if (text) next.texts.set(fn.name, applyHunkText(text, hunkLinesOf(hunk, [...blockBody(preFn?.body), ...blockBody(fn.body)])));
    noteDepthCut(fn.name, merged.fn, patch, label, notes);
    next.changed.add(fn.name);
    for (const u of merged.unplaced) {
      notes.push({ file: patch.file, line: u.line, function: fn.name, patch: label, message: `${diff.newPath ?? diff.oldPath}: ${u.what}` });
    }
  }
  // a function the pre-image holds whole and the post-image lacks was deleted
  for (const fn of pre) {
    if (!fn.truncated && !post.some((p) => p.name === fn.name) && fn.name !== FRAGMENT_FUNCTION) {
      next.functions.delete(fn.name);
      next.texts.delete(fn.name);
      next.changed.add(fn.name);
      touched.add(fn.name);
    }
  }
}

/** `.op = fn,` lines inside a kvm_x86_ops initializer rewire indirect calls. */
function applyOpsTableLines(next: CodeBase, hunk: Hunk): boolean {
  const inTable = /\bkvm_x86_ops\b/.test(hunk.section) || hunk.lines.some((l) => /\bstruct kvm_x86_ops\b.*=\s*\{/.test(l.text));
  if (!inTable) return false;
  for (const l of hunk.lines) {
    const m = OPS_LINE.exec(l.text);
    if (!m) continue;
    if (l.kind === 'added') next.ops.set(m[1], m[2]);
    else if (l.kind === 'removed' && next.ops.get(m[1]) === m[2]) next.ops.delete(m[1]);
  }
  return true;
}

/**
 * The lines of the patch that show `fn`: a whole function from its signature to its brace; a
 * fragment from the @@ line that names it (the hunk starts inside it) to its last line in the hunk.
 */
function noteSpan(next: CodeBase, fn: FunctionIr, post: readonly FunctionIr[], hunk: Hunk, file: string): void {
  const { from, to } = spanInHunk(fn, post, hunk);
  const spans = next.spans.get(fn.name) ?? new Map<string, { from: number; to: number }>();
  const had = spans.get(file);
  spans.set(file, had ? { from: Math.min(had.from, from), to: Math.max(had.to, to) } : { from, to });
  next.spans.set(fn.name, spans);
}

/** The hunk's lines on patch lines `from`..`to` (a hunk's lines are in patch-line order: found by bisection, so a hunk of many functions stays linear). */
function linesBetween(hunk: Hunk, from: number, to: number): Hunk['lines'] {
  const lines = hunk.lines;
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (lines[mid]!.patchLine < from) lo = mid + 1; else hi = mid; }
  const out: Hunk['lines'] = [];
  for (let i = lo; i < lines.length && lines[i]!.patchLine <= to; i++) out.push(lines[i]!);
  return out;
}

/** The hunk's lines from the first to the last line any of these statements starts on: the part of the hunk inside the function. */
function hunkLinesOf(hunk: Hunk, stmts: Stmt[]): Hunk['lines'] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const top of stmts) forEachStmt(top, (x) => { if (x.loc.change) { lo = Math.min(lo, x.loc.line); hi = Math.max(hi, x.loc.line); } });
  return linesBetween(hunk, lo, hi);
}

/** Whether added statements have a neighbour to go next to: the hunk shows some statement of the function besides its own. */
function anchored(pre: Stmt[], post: Stmt[]): boolean {
  let added = false;
  let shared = false;
  for (const list of [pre, post]) for (const top of list) forEachStmt(top, (x) => {
    if (x.k === 'block' || x.k === 'label') return;
    if (x.loc.change === 'added') added = true;
    else if (x.loc.change === 'context' || x.loc.change === 'removed') shared = true;
  });
  return shared || !added;
}

function blockBody(s: Stmt | undefined): Stmt[] {
  if (!s) return [];
  return s.k === 'block' ? s.body : [s];
}

function firstChangedLoc(s: Stmt): Loc | undefined {
  let best: Loc | undefined;
  forEachStmt(s, (x) => {
    if ((x.loc.change === 'added' || x.loc.change === 'removed') && (!best || x.loc.line < best.line)) best = x.loc;
  });
  return best;
}

/** The code after the whole series, for one-off simulations (what-if sequences, tests). */
export async function codeBaseAfter(patches: Patch[], model: BuiltinModel): Promise<{ code: CodeBase; notes: IncompleteNote[] }> {
  let code = CodeBase.fromModel(model);
  const notes: IncompleteNote[] = [];
  for (const p of patches) {
    const applied = await applyPatch(code, p);
    code = applied.next;
    for (const n of applied.notes) notes.push(n);
  }
  return { code, notes };
}

/** Code of this patch nested deeper than the analysis follows: said where, once per function. */
function noteDepthCut(name: string, fn: FunctionIr, patch: Patch, label: string, notes: IncompleteNote[]): void {
  if (fn.depthCut?.at.file !== patch.file) return;
  notes.push({ file: patch.file, line: fn.depthCut.at.line, function: name, patch: label, message: depthCutMessage(name, fn.depthCut) });
}
