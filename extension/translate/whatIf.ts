// What-if: the same series under other assumptions, and the findings that appear or vanish
// compared with the settings' own (what the Problems panel shows).
import { analyzeSeries } from '../core/analysis/analyzeSeries';
import type { Finding } from '../core/findings';
import { type DocumentRequest, optionsFromSettings, seriesOfRequest } from './documentAnalysis';
import { optionsWithWhatIf, type PatchRef, seriesThrough, type WhatIfValues } from './simulationWhatIf';

export interface WhatIfResult {
  /** The values compared with the settings. */
  whatIf: WhatIfValues;
  appeared: Finding[];
  vanished: Finding[];
  unchanged: number;
}

export async function whatIf(req: DocumentRequest & { through?: PatchRef }, values: WhatIfValues): Promise<WhatIfResult> {
  const { series } = seriesThrough(seriesOfRequest(req), req.through);
  const base = await analyzeSeries(series, optionsFromSettings(req.settings).options);
  const changed = await analyzeSeries(series, optionsWithWhatIf(req.settings, values).options);
  const keys = (fs: Finding[]) => new Set(fs.filter((f) => f.rule !== 'analysis-incomplete').map((f) => f.key));
  const before = keys(base.findings);
  const after = keys(changed.findings);
  return {
    whatIf: values,
    appeared: changed.findings.filter((f) => f.rule !== 'analysis-incomplete' && !before.has(f.key)),
    vanished: base.findings.filter((f) => f.rule !== 'analysis-incomplete' && !after.has(f.key)),
    unchanged: [...after].filter((k) => before.has(k)).length,
  };
}
