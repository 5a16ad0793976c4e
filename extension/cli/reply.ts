// `kvm-lens reply <series...> --annotations FILE --out DIR`: writes the reviewer's replies, one
// .eml per patch with comments or trailers, ready for `git send-email` or a mail client.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadReviewFile } from '../core/review/annotations';
import { composeReplyBatch } from '../core/review/replyComposer';
import type { ReviewFile } from '../core/review/types';
import { readSeries } from '../core/series/seriesReader';
import type { CliIo } from './main';

const EXIT_CLEAN = 0;
const EXIT_BAD_INPUT = 2;

export interface ReplyOptions {
  inputs: string[];
  annotations?: string;
  out?: string;
  to: string[];
  cc: string[];
  force: boolean;
  date?: Date;
  help: boolean;
}

export function replyUsage(): string {
  return `Usage: kvm-lens reply <inputs...> --annotations FILE --out DIR [options]

Writes one mailing-list reply (.eml) per patch that has comments or trailers in the
review sidecar FILE, plus one to the cover letter for series-wide trailers.

Options:
  --annotations FILE  the review sidecar (JSON) holding the annotations
  --out DIR           directory for the .eml files (created when missing)
  --to ADDR           another To: address; may be repeated
  --cc ADDR           a Cc: address; may be repeated
  --date ISO-DATE     Date of the replies (default: now)
  --force             overwrite existing files in DIR
  -h, --help          show this help and exit
`;
}

/** argv after "reply". Returns the options or a message for a usage error. */
export function parseReplyArgs(argv: string[]): { ok: true; options: ReplyOptions } | { ok: false; message: string } {
  const o: ReplyOptions = { inputs: [], to: [], cc: [], force: false, help: false };
  const fail = (m: string): { ok: false; message: string } => ({ ok: false, message: `kvm-lens reply: ${m} (see kvm-lens reply --help)` });
  let ended = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (ended || !arg.startsWith('-') || arg === '-') { o.inputs.push(arg); continue; }
    if (arg === '--') { ended = true; continue; }
    if (arg === '--force') { o.force = true; continue; }
    if (arg === '--help' || arg === '-h') { o.help = true; continue; }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    if (!['--annotations', '--out', '--to', '--cc', '--date'].includes(name)) return fail(`unknown option ${name}`);
    let value = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) return fail(`${name} needs a value`);
      value = next;
      i++;
    }
    if (value === '') return fail(`${name} needs a value`);
    if (name === '--annotations') o.annotations = value;
    else if (name === '--out') o.out = value;
    else if (name === '--to') o.to.push(value);
    else if (name === '--cc') o.cc.push(value);
    else {
      const d = new Date(value);
      if (Number.isNaN(d.getTime())) return fail(`--date needs a date such as 2026-11-05T12:00:00Z, got "${value}"`);
      o.date = d;
    }
  }
  if (o.help) return { ok: true, options: o };
  if (o.inputs.length === 0) return fail('needs at least one patch, mbox or directory');
  if (o.annotations === undefined) return fail('needs --annotations FILE');
  if (o.out === undefined) return fail('needs --out DIR');
  return { ok: true, options: o };
}

export async function replyCommand(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseReplyArgs(argv);
  if (!parsed.ok) { io.err(parsed.message + '\n'); return EXIT_BAD_INPUT; }
  const o = parsed.options;
  if (o.help) { io.out(replyUsage()); return EXIT_CLEAN; }

  const loaded = loadReviewFile(o.annotations!);
  for (const p of loaded.problems) io.err(`kvm-lens reply: ${p}\n`);
  if (!loaded.review) {
    if (loaded.problems.length === 0) io.err(`kvm-lens reply: ${o.annotations}: no such review file\n`);
    return EXIT_BAD_INPUT;
  }
  const review: ReviewFile = loaded.review;
  const series = await readSeries(o.inputs);
  let failed = false;
  for (const p of series.problems) {
    io.err(`${p.file}${p.line ? ':' + p.line : ''}: ${p.severity}: ${p.message}\n`);
    if (p.severity === 'error') failed = true;
  }
  if (series.patches.length === 0 && !series.coverLetter) {
    io.err(`kvm-lens reply: no patch in ${o.inputs.join(', ')}\n`);
    return EXIT_BAD_INPUT;
  }

  const composed = composeReplyBatch(series, review, { ...(o.date ? { date: o.date } : {}), to: o.to, cc: o.cc });
  for (const w of composed.warnings) io.err(`kvm-lens reply: warning: ${w}\n`);
  if (composed.replies.length === 0) {
    io.err('kvm-lens reply: nothing to reply: no open annotation or trailer matches this series\n');
    return failed ? EXIT_BAD_INPUT : EXIT_CLEAN;
  }

  const dir = o.out!;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    io.err(`kvm-lens reply: --out ${dir}: cannot create the directory (${(e as Error).message})\n`);
    return EXIT_BAD_INPUT;
  }
  if (!o.force) {
    const existing = composed.replies.map((r) => join(dir, r.fileName)).filter((f) => existsSync(f));
    if (existing.length > 0) {
      io.err(`kvm-lens reply: not overwriting ${existing.join(', ')} (use --force)\n`);
      return EXIT_BAD_INPUT;
    }
  }
  for (const r of composed.replies) {
    const file = join(dir, r.fileName);
    for (const w of r.warnings) io.err(`kvm-lens reply: warning: ${w}\n`);
    try {
      writeFileSync(file, r.text, { flag: o.force ? 'w' : 'wx' });
    } catch (e) {
      io.err(`kvm-lens reply: ${file}: cannot write (${(e as Error).message})\n`);
      return EXIT_BAD_INPUT;
    }
    io.out(`${file}\n`);
  }
  return failed ? EXIT_BAD_INPUT : EXIT_CLEAN;
}
