// The simulation panel's question: "what happens if userspace issues exactly these ioctls?"
// One chosen sequence is run over the series' code (up to one patch, when the panel was opened
// on it) under the what-if values, and each step reports the state after it (ground truth
// beside the kernel's flags), what it did, the hazards the rules find in it, and the C lines it
// ran in each file. The guards of the functions the steps went through are the choices of
// the "guard absent" what-if.
import { removeGuards } from '../core/analysis/absentGuards';
import { codeBaseAfter, type IncompleteNote } from '../core/analysis/codeBase';
import { loadBuiltinModel } from '../core/model/builtinModel';
import { noteOf, Simulator } from '../core/simulate/explore';
import type { SimState } from '../core/simulate/state';
import { worldOf } from '../core/simulate/world';
import { type AnalysisSettings, seriesOfRequest } from './documentAnalysis';
import { functionsOfStep, type GuardChoice, guardChoices, hazardsOfStep, placesOfStep, type StepHazard, type StepPlace } from './simulationTrace';
import { optionsWithWhatIf, type PatchRef, seriesThrough, whatIfFromSettings, type WhatIfValues } from './simulationWhatIf';

export interface SequenceRequest {
  file: string;
  text: string;
  siblings?: { file: string; text: string }[];
  settings: AnalysisSettings;
  steps: { operation: string; vcpu: number | null }[];
  /** The what-if values to run under; the settings' when absent. */
  whatIf?: WhatIfValues;
  /** Only the series up to and including this patch (the CodeLens "Simulate" of a patch). */
  through?: PatchRef;
}

export interface StateView {
  vm: { type: string; sevInitialised: boolean; firmware: string; flags: Record<string, string> };
  vcpus: { encrypted: boolean; debugArmed: boolean; flags: Record<string, string> }[];
}

export interface StepView {
  operation: string;
  vcpu: number | null;
  /** Why the step could not run (no such vCPU, the VM type lacks it), when it did not. */
  skipped?: string;
  outcome?: string;
  state: StateView;
  /** Lines of the document this step ran (1-based), for highlighting. */
  lines: number[];
  /** The lines it ran in every file, the document's first (see placesOfStep). */
  places: StepPlace[];
  hazards: StepHazard[];
  /** The functions it went through that we can name. */
  functions: string[];
}

export interface SequenceResult {
  operations: { name: string; perVcpu: boolean }[];
  initial: StateView;
  steps: StepView[];
  /** The values this result was computed with: the panel's controls show exactly these. */
  whatIf: WhatIfValues;
  /** What "guard absent" may name: the guards of the functions the steps went through, and those already chosen. */
  guards: GuardChoice[];
  /** How many of the series' patches the code has (all, or up to the chosen patch), and the last one's subject. */
  applied: { patches: number; total: number; last?: string };
  /** Assumption problems and guards that matched nothing, one line each. */
  notes: string[];
}

export async function simulateSequence(req: SequenceRequest): Promise<SequenceResult> {
  const whole = seriesOfRequest(req);
  const { series, applied, note } = seriesThrough(whole, req.through);
  const values = req.whatIf ?? whatIfFromSettings(req.settings);
  const { options, problems } = optionsWithWhatIf(req.settings, values);
  const { code } = await codeBaseAfter(series.patches, await loadBuiltinModel());
  const notes: IncompleteNote[] = [];
  const functions = options.absentGuards.length ? removeGuards(code.functions, options.absentGuards, notes) : code.functions;
  const seriesFiles = new Set(whole.patches.map((p) => p.file));
  const world = worldOf({ functions, ops: code.ops, tables: code.tables, added: code.addedOperations, removed: code.removedOperations, seriesFiles });
  const sim = new Simulator(world.program, world.operations, options.assumptions);
  const run = sim.runSequence(req.steps);
  const steps: StepView[] = run.map((r, i) => {
    const s = r.step;
    const places = s ? placesOfStep(s, req.file, seriesFiles) : [];
    return {
      operation: req.steps[i]?.operation ?? '',
      vcpu: req.steps[i]?.vcpu ?? null,
      ...(r.message ? { skipped: r.message } : {}),
      ...(s ? { outcome: noteOf(s) } : {}),
      state: view(r.state),
      lines: places.find((p) => p.file === req.file)?.lines ?? [],
      places,
      hazards: s ? hazardsOfStep(s) : [],
      functions: s ? functionsOfStep(s) : [],
    };
  });
  // the guards as the code has them, so a guard treated as absent stays a choice to take back
  const ran = run.flatMap((r) => (r.step ? [{ functions: functionsOfStep(r.step), op: r.step.op }] : []));
  const offered = guardChoices(code.functions, ran);
  const chosen = values.guardAbsent.filter((g) => !offered.some((c) => c.spec === g)).map((spec) => chosenGuard(spec));
  return {
    operations: world.operations.map((o) => ({ name: o.name, perVcpu: o.kind === 'vcpu-ioctl' })),
    initial: view(sim.createdVms()[0]?.state),
    steps,
    whatIf: { ...values, guardAbsent: [...values.guardAbsent] },
    guards: [...offered, ...chosen],
    applied: { patches: applied, total: whole.patches.length, ...(applied ? { last: series.patches[applied - 1].subject } : {}) },
    notes: [...(note ? [note] : []), ...problems, ...notes.map((n) => n.message)],
  };
}

/** A guard the user chose that no step went through (any more): still listed, with what its spec says. */
function chosenGuard(spec: string): GuardChoice {
  const colon = spec.indexOf(':');
  return { spec, fn: colon > 0 ? spec.slice(0, colon) : spec, condition: colon > 0 ? spec.slice(colon + 1) : '', file: '', line: 0 };
}

function view(s: SimState | undefined): StateView {
  const flags = (f: Record<string, number | string | null>) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== 0).map(([k, v]) => [k, v === null ? 'unknown' : typeof v === 'string' ? v : 'set']));
  if (!s) return { vm: { type: '?', sevInitialised: false, firmware: '?', flags: {} }, vcpus: [] };
  return {
    vm: { type: s.vmType, sevInitialised: s.sevInit, firmware: s.firmware, flags: flags(s.flags) },
    vcpus: s.vcpus.map((v) => ({ encrypted: v.encrypted, debugArmed: v.debugArmed, flags: flags(v.flags) })),
  };
}
