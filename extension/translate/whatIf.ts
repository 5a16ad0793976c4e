// What-if: the same series under other assumptions, and the findings that appear or vanish.
import type { Finding } from '../core/findings';
import { analyzeDocument, type DocumentRequest } from './documentAnalysis';

export interface WhatIfResult {
  appeared: Finding[];
  vanished: Finding[];
  unchanged: number;
}

export async function whatIf(req: DocumentRequest, assumptions: Record<string, string>): Promise<WhatIfResult> {
  const base = await analyzeDocument(req);
  const changed = await analyzeDocument({ ...req, settings: { ...req.settings, assumptions: { ...req.settings.assumptions, ...assumptions } } });
  const keys = (fs: Finding[]) => new Set(fs.filter((f) => f.rule !== 'analysis-incomplete').map((f) => f.key));
  const before = keys(base.report.findings);
  const after = keys(changed.report.findings);
  return {
    appeared: changed.report.findings.filter((f) => f.rule !== 'analysis-incomplete' && !before.has(f.key)),
    vanished: base.report.findings.filter((f) => f.rule !== 'analysis-incomplete' && !after.has(f.key)),
    unchanged: [...after].filter((k) => before.has(k)).length,
  };
}
