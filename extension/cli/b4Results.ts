// What `kvm-lens b4-check` tells b4 about one patch mail, before either protocol writes it: each
// finding the patch brings, each part of it that was not analysed, each problem with the mail,
// and the context (base, findings the tree already had, findings the patch fixes, notes). Every
// location names the C file and its post-image line, never a line of the piped mail: in
// kernel-tree mode the analysis already reports tree paths; in patch-only mode a mail line is
// mapped through the hunk that holds it.

import type { AnalysisReport, Finding, TraceStep } from '../core/findings';
import { isBudgetNote } from '../core/analysis/budget';
import { isCodeLine } from '../core/analysis/hunkCoverage';
import { sectionFunctionName } from '../core/parse/hunkFragments';
import type { FileDiff, Hunk, Patch } from '../core/series/types';
import { inKvmScope } from '../core/tree/kernelTree';

/** The name the piped mail is known by inside the analysis. */
export const STDIN_NAME = '<stdin>';

export interface B4Place {
  /** A C file: tree-relative in kernel-tree mode, the diff's path in patch-only mode (or a built-in model file in a trace). */
  file: string;
  /** 1-based line of the post-image. */
  line: number;
}

/** One thing b4 is told. 'fail' and 'warn' decide the verdict; 'pass' is context only. */
export interface B4Item {
  status: 'fail' | 'warn' | 'pass';
  /** Where it is; absent when it is about the whole mail. */
  place?: B4Place;
  message: string;
  rule?: string;
  /** The ioctl sequence, one step a line, for the JSON details. */
  trace: string[];
  /** What the item is about, for the summary. */
  kind: 'finding' | 'not-analysed' | 'apply' | 'input' | 'base' | 'pre-existing' | 'fixed' | 'note';
  /** The finding's function, for the summary. */
  function?: string;
}

const C_SOURCE = /\.[ch]$/;

/** C files of the mail's diffs, split by whether the analysis reads them at all. */
export function cDiffs(patch: Patch): { inScope: FileDiff[]; outside: FileDiff[] } {
  const inScope: FileDiff[] = [];
  const outside: FileDiff[] = [];
  for (const d of patch.diffs) {
    const path = d.newPath ?? d.oldPath ?? '';
    if (d.binary || !C_SOURCE.test(path) || d.hunks.length === 0) continue;
    ([d.oldPath, d.newPath].some((p) => p !== null && inKvmScope(p)) ? inScope : outside).push(d);
  }
  return { inScope, outside };
}

/** Maps lines of the piped mail to C files and post-image lines, through the mail's hunks. */
export class MailLines {
  private readonly byLine = new Map<number, B4Place>();

  constructor(patch: Patch | undefined) {
    for (const d of patch?.diffs ?? []) {
      const file = d.newPath ?? d.oldPath;
      if (file === null || d.hunks.length === 0) continue;
      // the diff's own header lines stand for its first hunk
      for (let l = d.headerPatchLine; l < d.hunks[0]!.headerPatchLine; l++) this.byLine.set(l, { file, line: d.hunks[0]!.newStart || 1 });
      for (const h of d.hunks) {
        this.byLine.set(h.headerPatchLine, { file, line: h.newStart || 1 });
        let next = h.newStart || 1;
        // a removed line sits where the post-image goes on: the line after the last one kept
        for (const l of h.lines) {
          if (l.newLine !== undefined) { next = l.newLine + 1; this.byLine.set(l.patchLine, { file, line: l.newLine }); }
          else this.byLine.set(l.patchLine, { file, line: next });
        }
      }
    }
  }

  /** The C place of a mail line; undefined for lines outside every diff (headers, the commit message). */
  place(line: number): B4Place | undefined {
    return this.byLine.get(line);
  }
}

/** The first changed code line of a hunk, or undefined when it changes only blanks and comments. */
function firstChangedCode(h: Hunk): Hunk['lines'][number] | undefined {
  return h.lines.find((l) => l.kind !== 'context' && isCodeLine(l.text));
}

/** A C file the analysis does not read (outside arch/x86/kvm without vmx/, the kvm*.h headers, virt/kvm). */
export function outsideItem(d: FileDiff, lines: MailLines): B4Item {
  const first = d.hunks.map(firstChangedCode).find((l) => l !== undefined) ?? d.hunks[0]!.lines[0];
  const place = first ? lines.place(first.patchLine) : lines.place(d.headerPatchLine);
  return { status: 'warn', kind: 'not-analysed', ...(place ? { place } : {}), message: 'not analysed: this C file is outside the KVM sources kvm-lens simulates (arch/x86/kvm without vmx/, arch/x86/include/asm/kvm*.h, virt/kvm)', rule: 'analysis-incomplete', trace: [] };
}

/** The post-image lines each changed file of the mail shows, for notes that fall on them (kernel-tree mode). */
function changedRanges(patch: Patch): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const d of patch.diffs) {
    if (d.newPath === null) continue;
    const ranges = out.get(d.newPath) ?? [];
    for (const h of d.hunks) ranges.push([h.newStart, h.newStart + Math.max(h.newCount, 1) - 1]);
    out.set(d.newPath, ranges);
  }
  return out;
}

export interface ReportItemsInput {
  report: AnalysisReport;
  /** The one patch of the mail. */
  patch: Patch;
  mode: 'tree' | 'model';
  lines: MailLines;
}

/**
 * The report's findings as items: the patch's own errors and warnings decide; a note on the
 * patch's code (or a budget or bound that cut the analysis) is a 'warn' saying what was not
 * analysed; the rest is context.
 */
export function reportItems({ report, patch, mode, lines }: ReportItemsInput): B4Item[] {
  const items: B4Item[] = [];
  const ranges = changedRanges(patch);
  const onChangedLines = (f: Finding): boolean => (ranges.get(f.location.file) ?? []).some(([a, b]) => a <= f.location.line && f.location.line <= b);
  const traceOf = (f: Finding): string[] => f.trace.map((s, i) => traceLine(s, i + 1, lines));
  for (const f of report.findings) {
    const place = placeOf(f, patch, lines);
    const fn = f.location.function ? { function: f.location.function } : {};
    if (f.rule === 'analysis-incomplete') {
      const mine = f.location.file === STDIN_NAME || (mode === 'tree' && onChangedLines(f)) || isBudgetNote(f.message);
      // the place names the file: a note's own "path: " prefix would say it twice
      const text = place && f.message.startsWith(`${place.file}: `) ? f.message.slice(place.file.length + 2) : f.message;
      const message = mine && !text.startsWith('not analysed') ? `analysis incomplete: ${text}` : text;
      items.push({ status: mine ? 'warn' : 'pass', kind: mine ? 'not-analysed' : 'note', ...(place ? { place } : {}), message, rule: f.rule, trace: [], ...fn });
      continue;
    }
    if (f.introducedBy !== STDIN_NAME) {
      items.push({ status: 'pass', kind: 'pre-existing', ...(place ? { place } : {}), message: `(pre-existing, not this patch's) ${f.severity}: ${f.message}`, rule: f.rule, trace: traceOf(f), ...fn });
      continue;
    }
    const status = f.severity === 'error' ? 'fail' : f.severity === 'warning' ? 'warn' : 'pass';
    items.push({ status, kind: status === 'pass' ? 'note' : 'finding', ...(place ? { place } : {}), message: f.message + modelNote(f, place), rule: f.rule, trace: traceOf(f), ...fn });
  }
  if (report.stats.boundReached && !items.some((i) => i.kind === 'not-analysed' && /bound/.test(i.message))) {
    items.push({ status: 'warn', kind: 'not-analysed', message: 'not analysed in full: the exploration stopped at its depth or state bound before it ran out of new states', rule: 'analysis-incomplete', trace: [] });
  }
  for (const f of report.fixed) {
    if (f.fixedBy !== STDIN_NAME) continue;
    items.push({ status: 'pass', kind: 'fixed', message: `fixed by this patch: ${f.message}`, rule: f.rule, trace: [], ...(f.location.function ? { function: f.location.function } : {}) });
  }
  return items;
}

/** Where a finding is shown: its C line; a patch-only finding in the built-in model's code at the patch's hunk for that function. */
function placeOf(f: Finding, patch: Patch, lines: MailLines): B4Place | undefined {
  const { file, line } = f.location;
  if (file === STDIN_NAME) return lines.place(line);
  if (file.startsWith('<')) return undefined;
  if (!file.startsWith('builtin-model/')) return { file, line };
  // code of the built-in model: the hunk of this patch that shows the function, else its first changed hunk
  const hunks = patch.diffs.flatMap((d) => d.hunks);
  const named = f.location.function ? hunks.find((h) => sectionFunctionName(h.section) === f.location.function || h.lines.some((l) => l.text.includes(`${f.location.function}(`))) : undefined;
  const h = named ?? hunks.find((x) => firstChangedCode(x) !== undefined);
  const at = h ? (firstChangedCode(h) ?? h.lines[0]) : undefined;
  return at ? lines.place(at.patchLine) : undefined;
}

function modelNote(f: Finding, place: B4Place | undefined): string {
  return f.location.file.startsWith('builtin-model/') && place ? ` (the code is the built-in model's, ${f.location.file}:${f.location.line})` : '';
}

function traceLine(step: TraceStep, n: number, lines: MailLines): string {
  const at = step.location.file === STDIN_NAME ? lines.place(step.location.line) : step.location;
  const where = at ? `${at.file}:${at.line}` : `line ${step.location.line} of the mail`;
  const vcpu = step.vcpu === null ? '' : ` (vcpu ${step.vcpu})`;
  return `${n}. ${step.operation}${vcpu} at ${where}${step.note ? `: ${step.note}` : ''}`;
}

export interface TreeProblem { file: string; line?: number; message: string; severity: 'error' | 'warning' }

/**
 * Kernel-tree mode: what applying the mail to the tree said about it (a hunk that does not apply,
 * one applied with fuzz) decides as a 'warn'; the tree's own problems are context. The tree's
 * line for a C file outside the KVM sources is left out: those files are the coverage's
 * (only C files are worth a warning; a documentation change has nothing to simulate).
 */
export function treeProblemItems(problems: readonly TreeProblem[], patch: Patch, lines: MailLines): B4Item[] {
  const outsideHeaders = new Set(patch.diffs.filter((d) => ![d.oldPath, d.newPath].some((f) => f !== null && inKvmScope(f))).map((d) => d.headerPatchLine));
  const items: B4Item[] = [];
  for (const p of problems) {
    if (p.file === STDIN_NAME) {
      if (p.line !== undefined && outsideHeaders.has(p.line)) continue;
      const place = p.line !== undefined ? lines.place(p.line) : undefined;
      items.push({ status: 'warn', kind: 'apply', ...(place ? { place } : {}), message: p.message, trace: [] });
    } else {
      items.push({ status: 'pass', kind: 'note', ...(p.line !== undefined ? { place: { file: p.file, line: p.line } } : {}), message: `the tree: ${p.message}`, trace: [] });
    }
  }
  return items;
}
