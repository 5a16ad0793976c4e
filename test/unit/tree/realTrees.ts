// Shared by the real-tree suites: the installed Debian trees (never copied here), one audit per
// tree and process, and patches made at test time from a tree with git format-patch.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { analyzeTree, type TreeReport } from '../../../extension/core/analysis/analyzeTree';
import { DEFAULT_OPTIONS } from '../../../extension/core/analysis/analyzeSeries';
import type { Finding } from '../../../extension/core/findings';
import { readSeries } from '../../../extension/core/series/seriesReader';
import { kernelTreeForVersion } from '../../../extension/core/tree/sourceTarball';

export function skipReason(version: string): string {
  return `no Linux ${version} tree: run scripts/install-linux-sources.sh (Debian's linux-source-${version}) or put linux-source-${version}.tar.xz in $KVM_LENS_SOURCES_DIR`;
}

const audits = new Map<string, Promise<TreeReport | undefined>>();

/** The tree of a Debian linux-source version, audited as it is (once per process). */
export function auditOf(version: string): Promise<TreeReport | undefined> {
  let a = audits.get(version);
  if (!a) {
    a = (async () => {
      const tree = await kernelTreeForVersion(version);
      return tree ? analyzeTree(tree, { patches: [], problems: [] }, DEFAULT_OPTIONS) : undefined;
    })();
    audits.set(version, a);
  }
  return a;
}

/** Errors and warnings, as "rule function". */
export function verdicts(r: TreeReport): string[] {
  return r.findings.filter((f) => f.severity !== 'info').map((f) => `${f.rule} ${f.location.function}`);
}

export function findingOf(r: TreeReport, rule: string, fn: string): Finding | undefined {
  return r.findings.find((f) => f.rule === rule && f.location.function === fn);
}

/** An edit of one function of one file: the first line matching `line` after its definition starts. */
export interface Edit {
  file: string;
  fn: string;
  line: RegExp;
  /** Remove this many lines (or the braced statement the line opens); default 1. */
  remove?: number;
  /** Replace the matched text of the line instead of removing it. */
  replace?: string;
  /** Insert these lines after the matched line instead. */
  insertAfter?: string[];
}

function applyEdit(text: string, e: Edit): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^[a-z].*\\b${e.fn}\\(`).test(l) && !l.trimEnd().endsWith(';'));
  assert.ok(start >= 0, `${e.fn} not found in ${e.file}`);
  const at = lines.findIndex((l, i) => i > start && e.line.test(l));
  assert.ok(at > start, `${e.line} not found in ${e.fn}`);
  if (e.replace !== undefined) { lines[at] = lines[at].replace(e.line, e.replace); return lines.join('\n'); }
  if (e.insertAfter) { lines.splice(at + 1, 0, ...e.insertAfter); return lines.join('\n'); }
  let count = e.remove ?? 1;
  if (lines[at].trimEnd().endsWith('{')) {
    let depth = 0;
    for (let i = at; i < lines.length; i++) {
      depth += (lines[i].match(/\{/g) ?? []).length - (lines[i].match(/\}/g) ?? []).length;
      if (depth === 0) { count = i - at + 1; break; }
    }
  }
  lines.splice(at, count);
  return lines.join('\n');
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=t@example.org', ...args], { cwd, encoding: 'utf8' });

/** One format-patch file that makes the edits, against the installed tree. */
export function makePatch(tree: string, out: string, subject: string, edits: Edit[]): string {
  const repo = mkdtempSync(join(tmpdir(), 'kvm-lens-mutation-'));
  try {
    for (const file of new Set(edits.map((e) => e.file))) {
      mkdirSync(dirname(join(repo, file)), { recursive: true });
      writeFileSync(join(repo, file), readFileSync(join(tree, file)));
    }
    git(repo, 'init', '-q');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'base');
    for (const e of edits) writeFileSync(join(repo, e.file), applyEdit(readFileSync(join(repo, e.file), 'utf8'), e));
    git(repo, 'commit', '-qam', subject);
    mkdirSync(out, { recursive: true });
    git(repo, 'format-patch', '-q', '-1', '-o', out);
    return join(out, readdirSync(out).find((f) => f.endsWith('.patch'))!);
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
}

/** The tree with the edits applied as a one-patch series, analysed in memory. */
export async function auditWith(version: string, work: string, name: string, edits: Edit[]): Promise<TreeReport> {
  const tree = await kernelTreeForVersion(version);
  assert.ok(tree, skipReason(version));
  const patch = makePatch(tree, join(work, name), `KVM: test: ${name}`, edits);
  return analyzeTree(tree, await readSeries([patch]), DEFAULT_OPTIONS);
}
