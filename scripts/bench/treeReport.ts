// Text rendering of one tree's figures: a table of min / median / max and the targets.
import { fmtBytes, fmtMs, indent, spreadCells, passMiss, table, type Spread, type Target } from './stats';
import type { TreeFigures } from './treeSuite';

const mb = (x: number): string => x.toFixed(0);

export function renderTargets(targets: Target[]): string {
  return table(['target', 'measured', ''], targets.map((t) => [t.name, t.measured, passMiss(t.pass)]));
}

export function renderTreeFigures(f: TreeFigures): string {
  const out: string[] = [];
  out.push(`${f.label}: ${f.root}`);
  const session = f.warm ? `; ${f.warm.functions} functions; ${f.warm.operations.reduce((n, d) => n + d.operations, 0)} operations from the dispatchers (${f.warm.operations.map((d) => `${d.dispatcher} ${d.operations}`).join(', ')})` : '';
  out.push(`   scope: ${f.scope.files} files, ${fmtBytes(f.scope.bytes)}${f.scope.problems ? `, ${f.scope.problems} problems reading it` : ''}${session}`);
  out.push(`   runs: ${f.runs}${f.runs === 1 ? ' (one run: median column only)' : ''}; the in-process first audit is measured once; MB = 10^6 bytes`);
  const row = (name: string, s: Spread, fmt: (x: number) => string = fmtMs): string[] => [name, ...spreadCells(s, fmt)];
  const rows: string[][] = [
    row('raw parse, new process (start-up included), wall ms', f.rawParse.wallMs),
    row('  of which web-tree-sitter + grammar load, ms', f.rawParse.initMs),
    row('  of which parse (all files), ms', f.rawParse.parseMs),
    row('  peak RSS, MB', f.rawParse.peakMb, mb),
    row('cold audit: kvm-lens check --tree, empty cache, wall ms', f.cold.wallMs),
    row('  report stats: read ms', f.cold.readMs),
    row('  report stats: parse + lower ms', f.cold.parseMs),
    row('  report stats: simulate ms', f.cold.simulateMs),
    row('  peak RSS, MB', f.cold.peakMb, mb),
    row('second run: same command, same cache, wall ms', f.cached.wallMs),
    row('  peak RSS, MB', f.cached.peakMb, mb),
    row('seen tree, other options: report not cached, lowered files cached, wall ms', f.seenTree.wallMs),
    row('  report stats: parse (read lowered files) ms', f.seenTree.parseMs),
    row('  report stats: simulate ms', f.seenTree.simulateMs),
    row('analysis worker (AnalysisClient.analyzeTree), first audit ms', f.worker.firstAuditMs),
    row('  process peak RSS (client + worker thread), MB', f.worker.peakMb, mb),
    row('  process RSS before the first request, MB', f.worker.baselineMb, mb),
  ];
  if (f.warm) {
    rows.push(['warm, in-process TreeSession: first audit ms', '', fmtMs(f.warm.open.total), '']);
    f.warm.edits.forEach((e, i) => rows.push(row(`warm edit ms: ${e.label}`, f.warm!.editSpreads[i]!)));
  }
  out.push(indent(table(['measure', 'min', 'median', 'max'], rows)));
  out.push(`   cold: ${f.cold.states} states, ${f.cold.findings} findings (not notes); cold / raw parse = ${Number.isFinite(f.coldOverRaw) ? f.coldOverRaw.toFixed(1) : '-'}x (medians); ${f.rawParse.filesWithErrorNodes} files parse with ERROR nodes (macros; the parse completes)`);
  if (f.warm) for (const e of f.warm.edits) out.push(`   after "${e.label}": ${e.findings.length ? e.findings.join('; ') : 'no hazard'}`);
  for (const n of f.notes) out.push(`   note: ${n}`);
  out.push('', indent(renderTargets(f.targets)));
  return out.join('\n') + '\n';
}
