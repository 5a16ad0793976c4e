// The simulation panel's what-if values: every assumption `kvm-lens check --assume` takes, as
// one plain object the panel's controls show and the worker runs with. The values come from the
// settings (kvmLens.vcpus, kvmLens.assumptions) until the user changes one in the panel.
import { applyAssumption } from '../core/analysis/assumptions';
import type { AnalysisOptions } from '../core/analysis/analyzeSeries';
import type { Series } from '../core/series/types';
import { type AnalysisSettings, optionsFromSettings } from './documentAnalysis';

export interface WhatIfValues {
  vmType: 'legacy' | 'protected' | 'snp';
  vcpus: number;
  protectedAtCreate: boolean;
  launchRefusesDebug: boolean;
  /** FUNCTION:CONDITION specs, as `--assume guard-absent=` takes them (repeatable). */
  guardAbsent: string[];
}

/** A patch of the series, by the file it is in and the line its mail starts on. */
export interface PatchRef { file: string; startLine: number }

/** The values the settings give: what the Problems panel's findings were computed with. */
export function whatIfFromSettings(settings: AnalysisSettings): WhatIfValues {
  const { options } = optionsFromSettings(settings);
  const a = options.assumptions;
  return { vmType: a.vmType, vcpus: a.vcpus, protectedAtCreate: a.protectedAtCreate, launchRefusesDebug: a.launchRefusesDebug, guardAbsent: [...options.absentGuards] };
}

/** The values as `--assume KEY=VALUE` arguments, in the CLI's order: what a user would type to get the same run. */
export function assumeArguments(v: WhatIfValues): string[] {
  return [
    `vm-type=${v.vmType}`, `vcpus=${v.vcpus}`, `protected-at-create=${v.protectedAtCreate}`, `launch-refuses-debug=${v.launchRefusesDebug}`,
    ...v.guardAbsent.map((g) => `guard-absent=${g}`),
  ];
}

/** Analysis options for the settings with the what-if values in place of their assumptions; problems as one line each. */
export function optionsWithWhatIf(settings: AnalysisSettings, v: WhatIfValues): { options: AnalysisOptions; problems: string[] } {
  // the settings' own assumptions are replaced whole: the values already hold what they said
  const { options, problems } = optionsFromSettings({ ...settings, vcpus: v.vcpus, assumptions: {} });
  for (const arg of assumeArguments(v)) {
    const eq = arg.indexOf('=');
    const msg = applyAssumption(options, arg.slice(0, eq), arg.slice(eq + 1));
    if (msg) problems.push(msg);
  }
  return { options, problems };
}

/** Equal values (the guards in any order). */
export function sameWhatIf(a: WhatIfValues, b: WhatIfValues): boolean {
  const key = (v: WhatIfValues) => [...assumeArguments({ ...v, guardAbsent: [] }), ...[...new Set(v.guardAbsent)].sort()].join('\n');
  return key(a) === key(b);
}

/**
 * The series up to and including one patch (the CodeLens "Simulate" of that patch), and how
 * many of its patches that is. A patch the series does not hold leaves the whole series, said in `note`.
 */
export function seriesThrough(series: Series, through: PatchRef | undefined): { series: Series; applied: number; note?: string } {
  if (!through) return { series, applied: series.patches.length };
  const i = series.patches.findIndex((p) => p.file === through.file && p.startLine === through.startLine);
  if (i < 0) {
    const isCover = series.coverLetter?.file === through.file && series.coverLetter.startLine === through.startLine;
    return { series, applied: series.patches.length, ...(isCover ? {} : { note: `no patch starts at ${through.file}:${through.startLine}; the whole series is simulated` }) };
  }
  return { series: { ...series, patches: series.patches.slice(0, i + 1) }, applied: i + 1 };
}
