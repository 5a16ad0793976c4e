// The simulation panel's question: "what happens if userspace issues exactly these ioctls?"
// One chosen sequence is run over the series' code, and each step reports the state after it
// (ground truth beside the kernel's flags), what it did, and the patch lines it ran.
import { codeBaseAfter } from '../core/analysis/codeBase';
import { loadBuiltinModel } from '../core/model/builtinModel';
import { noteOf, Simulator } from '../core/simulate/explore';
import { worldOf } from '../core/simulate/world';
import { assembleSeries, parseSeriesText } from '../core/series/seriesReader';
import type { AnalysisSettings } from './documentAnalysis';
import { optionsFromSettings } from './documentAnalysis';

export interface SequenceRequest {
  file: string;
  text: string;
  siblings?: { file: string; text: string }[];
  settings: AnalysisSettings;
  steps: { operation: string; vcpu: number | null }[];
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
}

export interface SequenceResult {
  operations: { name: string; perVcpu: boolean }[];
  initial: StateView;
  steps: StepView[];
}

export async function simulateSequence(req: SequenceRequest): Promise<SequenceResult> {
  const parsed = [parseSeriesText(req.file, req.text), ...(req.siblings ?? []).map((s) => parseSeriesText(s.file, s.text))];
  const series = assembleSeries(parsed.flatMap((p) => p.patches), parsed.flatMap((p) => p.problems));
  const { code } = await codeBaseAfter(series.patches, await loadBuiltinModel());
  const { options } = optionsFromSettings(req.settings);
  const world = worldOf({ functions: code.functions, ops: code.ops, tables: code.tables, added: code.addedOperations, removed: code.removedOperations, seriesFiles: new Set(series.patches.map((p) => p.file)) });
  const sim = new Simulator(world.program, world.operations, options.assumptions);
  const run = sim.runSequence(req.steps);
  return {
    operations: world.operations.map((o) => ({ name: o.name, perVcpu: o.kind === 'vcpu-ioctl' })),
    initial: view(sim.createdVms()[0]?.state),
    steps: run.map((r, i) => ({
      operation: req.steps[i].operation,
      vcpu: req.steps[i].vcpu,
      ...(r.message ? { skipped: r.message } : {}),
      ...(r.step ? { outcome: noteOf(r.step) } : {}),
      state: view(r.state),
      lines: r.step ? linesIn([...r.step.events.map((e) => e.at ?? e.loc), ...(r.step.seriesLoc ? [r.step.seriesLoc.loc] : [])], req.file) : [],
    })),
  };
}

function linesIn(locs: { file: string; line: number }[], file: string): number[] {
  return [...new Set(locs.filter((l) => l.file === file).map((l) => l.line))].sort((a, b) => a - b);
}

function view(s: import('../core/simulate/state').SimState | undefined): StateView {
  const flags = (f: Record<string, number | string | null>) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== 0).map(([k, v]) => [k, v === null ? 'unknown' : typeof v === 'string' ? v : 'set']));
  if (!s) return { vm: { type: '?', sevInitialised: false, firmware: '?', flags: {} }, vcpus: [] };
  return {
    vm: { type: s.vmType, sevInitialised: s.sevInit, firmware: s.firmware, flags: flags(s.flags) },
    vcpus: s.vcpus.map((v) => ({ encrypted: v.encrypted, debugArmed: v.debugArmed, flags: flags(v.flags) })),
  };
}
