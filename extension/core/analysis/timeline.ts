// From explorations after each patch to findings: a finding is introduced by the patch after
// which it appears (and stays), and a hazard that vanishes before the end is listed as fixed
// by the patch after which it is gone. Shared by series mode and kernel-tree mode.
import type { Finding, PatchRef, SourceLocation } from '../findings';
import type { Patch } from '../series/types';
import { ruleMeta } from '../rules/ruleCatalog';
import type { ExploreResult, FoundHazard } from '../simulate/explore';

export interface TimelinePoint {
  /** Patch after which this exploration ran; null for the code before the series. */
  patch: Patch | null;
  result: ExploreResult;
}

export function timelineFindings(points: TimelinePoint[], locate: (h: FoundHazard) => SourceLocation): { findings: Finding[]; fixed: Finding[] } {
  const final = points[points.length - 1].result;
  const findings = final.hazards.map((h) => toFinding(h, introducingPatch(h.key, points), locate(h)));
  const finalKeys = new Set(final.hazards.map((h) => h.key));
  const fixed: Finding[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < points.length - 1; i++) {
    for (const h of points[i].result.hazards) {
      if (finalKeys.has(h.key) || seen.has(h.key)) continue;
      seen.add(h.key);
      const gone = lastDisappearance(h.key, points);
      const by = points[gone].patch;
      fixed.push({ ...toFinding(h, introducingPatch(h.key, points.slice(0, gone)), locate(h)), fixedBy: by?.file ?? null, fixedByPatch: by ? patchRef(by) : null });
    }
  }
  return { findings, fixed };
}

export function patchRef(p: Patch): PatchRef {
  return { file: p.file, line: p.startLine, subject: p.subject };
}

function toFinding(h: FoundHazard, intro: Patch | null, location: SourceLocation): Finding {
  const also = h.alsoDetails.length ? ` (the same path also reaches ${h.alsoDetails.join(', ')})` : '';
  const partial = h.partial?.length ? ` (partial: ${h.partial.join('; ')})` : '';
  return {
    rule: h.rule,
    severity: ruleMeta(h.rule).defaultSeverity,
    message: h.message + also + partial,
    location,
    introducedBy: intro?.file ?? null,
    introducedByPatch: intro ? patchRef(intro) : null,
    trace: h.trace,
    key: h.key,
  };
}

/** The patch after which the finding appeared for the last time without vanishing again. */
function introducingPatch(key: string, points: TimelinePoint[]): Patch | null {
  let intro: Patch | null = null;
  let present = false;
  for (const p of points) {
    const has = p.result.hazards.some((h) => h.key === key);
    if (has && !present) intro = p.patch;
    present = has;
  }
  return intro;
}

/** Index of the point after which the finding last disappeared. */
function lastDisappearance(key: string, points: TimelinePoint[]): number {
  let gone = points.length - 1;
  for (let i = 1; i < points.length; i++) {
    const before = points[i - 1].result.hazards.some((h) => h.key === key);
    const now = points[i].result.hazards.some((h) => h.key === key);
    if (before && !now) gone = i;
  }
  return gone;
}

/**
 * The points a verdict can rest on when the budget cut an exploration: every complete one up to
 * the first cut, then the cut one with what the last complete point found added (a partial
 * exploration that did not get there again proves nothing fixed). Without a cut, all points.
 */
export function timelineUpToCut<P extends TimelinePoint>(points: P[]): P[] {
  const cutAt = points.findIndex((p) => p.result.budgetCut !== undefined);
  if (cutAt < 0) return points;
  const partial = points[cutAt];
  if (cutAt === 0) return [partial];
  const complete = points.slice(0, cutAt);
  const known = new Set(partial.result.hazards.map((h) => h.key));
  const carried = complete[complete.length - 1].result.hazards.filter((h) => !known.has(h.key));
  return [...complete, { ...partial, result: { ...partial.result, hazards: [...carried, ...partial.result.hazards] } }];
}
