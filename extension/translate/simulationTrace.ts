// What one step of a chosen ioctl sequence ran, as the simulation panel shows it: the C lines
// it ran in each file (the patch first, then other patches, then the model or tree), the
// functions it went through, the hazards the rules find in it, and the guards of those
// functions a what-if may treat as absent. Plain data, no editor.
import { patchName } from '../core/report/patchName';
import type { Finding, RuleId, Severity } from '../core/findings';
import { SIMULATION_RULES } from '../core/rules/allRules';
import { ruleMeta } from '../core/rules/ruleCatalog';
import type { StepResult } from '../core/rules/rule';
import type { Operation } from '../core/simulate/operations';
import type { Expr, FunctionIr, Stmt } from '../core/summary/ir';
import { forEachExpr } from '../core/summary/irKeys';

/** Lines one step ran in one file, 1-based and ascending. */
export interface StepPlace { file: string; lines: number[] }

/** A hazard the rules find in one step: the rule, its identity, its message, where it happened. */
export interface StepHazard { rule: RuleId; key: string; message: string; file: string; line: number }

/** A guard `--assume guard-absent=` can name: `spec` is FUNCTION:CONDITION. */
export interface GuardChoice { spec: string; fn: string; condition: string; file: string; line: number }

/**
 * The lines a step ran, by file: where its ioctl's case is, the guard that refused it, each
 * event (and the patch line its function ran last before it), the last patch line it ran. The
 * document's own file comes first, then the series' other files, then the rest (model, tree),
 * each in the order the step reached it.
 */
export function placesOfStep(step: StepResult, documentFile: string, seriesFiles: ReadonlySet<string>): StepPlace[] {
  const locs: { file: string; line: number }[] = [step.handlerLoc];
  if (step.ret.cause) locs.push(step.ret.cause.loc);
  for (const e of step.events) {
    if (e.k === 'unresolved') continue;
    locs.push(e.loc);
    if (e.at) locs.push(e.at);
  }
  if (step.seriesLoc) locs.push(step.seriesLoc.loc);
  const byFile = new Map<string, Set<number>>();
  for (const l of locs) {
    if (!(l.line >= 1)) continue;
    let lines = byFile.get(l.file);
    if (!lines) byFile.set(l.file, (lines = new Set()));
    lines.add(l.line);
  }
  const rank = (file: string) => (file === documentFile ? 0 : seriesFiles.has(file) ? 1 : 2);
  return [...byFile.entries()]
    .map(([file, lines], order) => ({ file, lines: [...lines].sort((a, b) => a - b), order }))
    .sort((a, b) => rank(a.file) - rank(b.file) || a.order - b.order)
    .map(({ file, lines }) => ({ file, lines }));
}

/** The functions a step went through that we can name: its handler, the calls down to each event, the refusing guard's function, the last patch function. */
export function functionsOfStep(step: StepResult): string[] {
  const out = new Set<string>([step.op.handler]);
  for (const e of step.events) {
    for (const f of e.via ?? []) out.add(f);
    out.add(e.fn);
  }
  if (step.ret.cause) out.add(step.ret.cause.fn);
  if (step.seriesLoc) out.add(step.seriesLoc.fn);
  return [...out];
}

/** The hazards the simulation's rules find in one step, one per identity (as one finding is). */
export function hazardsOfStep(step: StepResult): StepHazard[] {
  const seen = new Set<string>();
  const out: StepHazard[] = [];
  for (const rule of SIMULATION_RULES) {
    for (const h of rule.check(step)) {
      if (seen.has(h.key)) continue;
      seen.add(h.key);
      out.push({ rule: h.rule, key: h.key, message: h.message, file: h.loc.file, line: h.loc.line });
    }
  }
  return out;
}

/**
 * The guards of the functions a sequence went through: each `if` whose condition reads kernel
 * state (a flag, VMSA-backed or VMCB state, or a predicate that stands for one), in function
 * order then line order. In a dispatcher only the case of the step's ioctl counts. The
 * condition is the `if`'s own text, so the spec names that guard and not its neighbours.
 */
export function guardChoices(functions: ReadonlyMap<string, FunctionIr>, steps: { functions: string[]; op: Pick<Operation, 'name' | 'via'> }[]): GuardChoice[] {
  const out = new Map<string, GuardChoice>();
  for (const step of steps) {
    const labels = new Set([step.op.name, ...(step.op.via ? [step.op.via] : [])]);
    for (const name of step.functions) {
      const fn = functions.get(name);
      if (!fn) continue;
      for (const s of ifsOf(fn.body, labels)) {
        if (!readsState(s.cond)) continue;
        const condition = conditionText(s.text);
        if (!condition) continue;
        const spec = `${fn.name}:${condition.replace(/\s+/g, '')}`;
        if (!out.has(spec)) out.set(spec, { spec, fn: fn.name, condition, file: s.loc.file, line: s.loc.line });
      }
    }
  }
  return [...out.values()];
}

/** The `if`s of a body in source order; in a switch with a case for one of `labels`, only that case. */
function ifsOf(body: Stmt, labels: ReadonlySet<string>): (Stmt & { k: 'if' })[] {
  const out: (Stmt & { k: 'if' })[] = [];
  const walk = (s: Stmt): void => {
    switch (s.k) {
      case 'block': s.body.forEach(walk); break;
      case 'if': out.push(s); walk(s.then); if (s.else) walk(s.else); break;
      case 'loop': walk(s.body); break;
      case 'switch': {
        const chosen = s.cases.filter((c) => c.labels.some((l) => labels.has(l)));
        for (const c of chosen.length ? chosen : s.cases) c.body.forEach(walk);
        break;
      }
      default: break;
    }
  };
  walk(body);
  return out;
}

function readsState(cond: Expr): boolean {
  let found = false;
  forEachExpr({ k: 'expr', expr: cond, loc: cond.loc }, (e) => {
    if (e.k === 'read' && (e.ref.k === 'flag' || e.ref.k === 'vmsa' || e.ref.k === 'control')) found = true;
  });
  return found;
}

/** `(x && y)` as `x && y`, on one line. */
function conditionText(text: string): string {
  let t = text.replace(/\s+/g, ' ').trim();
  while (t.startsWith('(') && t.endsWith(')') && balanced(t.slice(1, -1))) t = t.slice(1, -1).trim();
  return t;
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const c of s) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/** A hazard row as the Problems panel shows it: the severity the settings give, the finding's message when Problems has it. */
export interface HazardMark { step: number; rule: RuleId; severity: Severity; message: string; file: string; line: number }

/**
 * The marks of a sequence's hazard rows. A hazard whose identity is a finding of the document's
 * analysis reads as that finding does in Problems (its message, "introduced by"); others keep
 * the rule's message. A rule the settings turn off is not marked, as Problems does not show it.
 */
export function hazardMarks(steps: { hazards: StepHazard[] }[], findings: readonly Finding[], severities: Partial<Record<string, Severity | 'off'>>): HazardMark[] {
  const byKey = new Map(findings.map((f) => [f.key, f]));
  const out: HazardMark[] = [];
  steps.forEach((s, i) => {
    for (const h of s.hazards) {
      const severity = severities[h.rule] ?? ruleMeta(h.rule).defaultSeverity;
      if (severity === 'off') continue;
      const f = byKey.get(h.key);
      const intro = f?.introducedBy ? ` (introduced by ${patchName(f.introducedBy, f.introducedByPatch, true)})` : '';
      out.push({ step: i + 1, rule: h.rule, severity, message: f ? f.message + intro : h.message, file: h.file, line: h.line });
    }
  });
  return out;
}

/**
 * The sequence the panel opens with on one patch: the trace of a finding located in that patch
 * (errors first, then the first in line order), without the VM's creation, which every run
 * starts with; undefined when the patch has none.
 */
export function sequenceForPatch(findings: readonly Finding[], file: string, startLine: number, endLine: number): { operation: string; vcpu: number | null }[] | undefined {
  const order: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
  const inPatch = findings
    .filter((f) => f.rule !== 'analysis-incomplete' && f.trace.length > 0 && f.location.file === file && f.location.line >= startLine && f.location.line < endLine)
    .sort((a, b) => order[a.severity] - order[b.severity] || a.location.line - b.location.line);
  const steps = inPatch[0]?.trace.filter((s) => s.operation !== 'KVM_CREATE_VM');
  return steps?.length ? steps.map((s) => ({ operation: s.operation, vcpu: s.vcpu })) : undefined;
}
