// `kvm-lens reply <series...> --annotations FILE --out DIR`: writes the reviewer's replies, one
// .eml per patch with comments or trailers, ready for `git send-email` or a mail client.

import { closeSync, constants as fsConstants, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MAX_INPUT_BYTES, errnoText } from '../core/io/boundedRead';
import { exportB4Review } from '../core/review/b4ReviewExport';
import { composeReplyBatch } from '../core/review/replyComposer';
import { splitAddressList } from '../core/review/mailHeaders';
import type { ReviewFile } from '../core/review/types';
import { readSeries } from '../core/series/seriesReader';
import type { Series } from '../core/series/types';
import { EXIT_BAD_INPUT, EXIT_CLEAN, exitStatusHelp } from './exitStatus';
import { inputsPhrase, problemLine, shown } from './messages';
import { makeDirectory } from './outputDir';
import { optionWords, sizeOrDate } from './optionWords';
import { readReviewInput } from './reviewFileInput';

export interface ReplyIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface ReplyOptions {
  inputs: string[];
  annotations?: string;
  out?: string;
  /** Write b4 review's import files (identity.txt, series.txt, NNNN.txt) here instead of .eml files. */
  b4Review?: string;
  to: string[];
  cc: string[];
  force: boolean;
  date?: Date;
  /** The series files and the sidecar larger than this are refused (--max-input-size). */
  maxInputBytes?: number;
  help: boolean;
}

export function replyUsage(): string {
  return `Usage: kvm-lens reply <inputs...> --annotations FILE --out DIR [options]
       kvm-lens reply <inputs...> --annotations FILE --b4-review DIR [options]

Writes one mailing-list reply (.eml) per patch that has comments or trailers in the
review sidecar FILE, plus one to the cover letter for series-wide trailers.

Options:
  --annotations FILE  the review sidecar (JSON) holding the annotations
  --out DIR           directory for the .eml files (created when missing)
  --b4-review DIR     instead, write the review as \`b4 review\` imports it: identity.txt,
                      series.txt, 0001.txt... (quoted diff, comments unquoted, trailers
                      first in the note, as text); b4 reads DIR = .git/b4-review/<tip>,
                      <tip> from \`git rev-parse b4/review/<change-id>\`. To hand b4 the
                      trailers too, use \`kvm-lens b4-review export\`
  --to ADDR           another To: address; may be repeated
  --cc ADDR           a Cc: address; may be repeated
  --date ISO-DATE     Date of the replies (default: now)
  --force             overwrite existing files in DIR
  --max-input-size SIZE  refuse a patch file or sidecar larger than SIZE bytes;
                      k, M, G suffixes (default: ${DEFAULT_MAX_INPUT_BYTES / (1024 * 1024)}M)
  --debug             show the stack trace of an internal error
  -h, --help          show this help and exit

${exitStatusHelp('the replies were written, or there was nothing to reply to')}`;
}

/** argv after "reply". Returns the options or a message for a usage error. */
export function parseReplyArgs(argv: string[]): { ok: true; options: ReplyOptions } | { ok: false; message: string } {
  const o: ReplyOptions = { inputs: [], to: [], cc: [], force: false, help: false };
  const fail = (m: string): { ok: false; message: string } => ({ ok: false, message: `kvm-lens reply: ${m} (see kvm-lens reply --help)` });
  const words = optionWords(argv, ['--force'], ['--annotations', '--out', '--b4-review', '--to', '--cc', '--date', '--max-input-size']);
  if (typeof words === 'string') return fail(words);
  for (const w of words) {
    if (w.kind === 'positional') { o.inputs.push(w.value); continue; }
    if (w.kind === 'flag') {
      if (w.name === '--force') o.force = true;
      else if (w.name !== '--debug') o.help = true;
      continue;
    }
    const { name, value } = w;
    if (name === '--annotations') o.annotations = value;
    else if (name === '--out') o.out = value;
    else if (name === '--b4-review') o.b4Review = value;
    // "a@x, b@y" is two recipients, as a mail client reads it
    else if (name === '--to') for (const a of splitAddressList(value)) o.to.push(a);
    else if (name === '--cc') for (const a of splitAddressList(value)) o.cc.push(a);
    else {
      const bad = sizeOrDate(o, name, value);
      if (bad !== undefined) return fail(bad);
    }
  }
  if (o.help) return { ok: true, options: o };
  if (o.inputs.length === 0) return fail('needs at least one patch, mbox or directory');
  if (o.annotations === undefined) return fail('needs --annotations FILE');
  if (o.out !== undefined && o.b4Review !== undefined) return fail('takes --out DIR or --b4-review DIR, not both');
  if (o.out === undefined && o.b4Review === undefined) return fail('needs --out DIR (or --b4-review DIR)');
  return { ok: true, options: o };
}

export async function replyCommand(argv: string[], io: ReplyIo): Promise<number> {
  const parsed = parseReplyArgs(argv);
  if (!parsed.ok) { io.err(shown(parsed.message) + '\n'); return EXIT_BAD_INPUT; }
  const o = parsed.options;
  if (o.help) { io.out(replyUsage()); return EXIT_CLEAN; }
  const maxBytes = o.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;

  const review = await readReviewInput(o.annotations!, maxBytes, io.err, 'kvm-lens reply');
  if (!review) return EXIT_BAD_INPUT;
  const series = await readSeries(o.inputs, { maxInputBytes: maxBytes });
  let failed = false;
  for (const p of series.problems) {
    io.err(problemLine(p) + '\n');
    if (p.severity === 'error') failed = true;
  }
  if (series.patches.length === 0 && !series.coverLetter) {
    io.err(`kvm-lens reply: no patch in ${inputsPhrase(o.inputs)}\n`);
    return EXIT_BAD_INPUT;
  }

  if (o.b4Review !== undefined) return writeB4Review(series, review, o, io, failed);

  const composed = composeReplyBatch(series, review, { ...(o.date ? { date: o.date } : {}), to: o.to, cc: o.cc });
  for (const w of composed.warnings) io.err(`kvm-lens reply: warning: ${shown(w)}\n`);
  if (composed.replies.length === 0) {
    io.err('kvm-lens reply: nothing to reply: no open annotation or trailer matches this series\n');
    return failed ? EXIT_BAD_INPUT : EXIT_CLEAN;
  }

  const dir = o.out!;
  const notMade = makeDirectory(dir);
  if (notMade !== undefined) {
    io.err(`kvm-lens reply: --out ${shown(dir)}: cannot create the directory (${shown(notMade)})\n`);
    return EXIT_BAD_INPUT;
  }
  if (!o.force) {
    const existing = composed.replies.map((r) => join(dir, r.fileName)).filter((f) => existsSync(f));
    if (existing.length > 0) {
      io.err(`kvm-lens reply: not overwriting ${inputsPhrase(existing)} (use --force)\n`);
      return EXIT_BAD_INPUT;
    }
  }
  for (const r of composed.replies) {
    for (const w of r.warnings) io.err(`kvm-lens reply: warning: ${shown(w)}\n`);
    if (!writeOne(join(dir, r.fileName), r.text, o.force, io)) return EXIT_BAD_INPUT;
  }
  return failed ? EXIT_BAD_INPUT : EXIT_CLEAN;
}

/** Writes one file and names it on stdout; false (reported) when it cannot. */
function writeOne(file: string, text: string, force: boolean, io: ReplyIo): boolean {
  try {
    // --force replaces a regular file; it never writes through a symbolic link planted in DIR
    const fd = openSync(file, force ? OVERWRITE_NO_FOLLOW : 'wx');
    try { writeFileSync(fd, text); } finally { closeSync(fd); }
  } catch (e) {
    io.err(`kvm-lens reply: ${shown(file)}: cannot write (${errnoText(e)})\n`);
    return false;
  }
  io.out(`${shown(file)}\n`);
  return true;
}

/** --b4-review DIR: the files b4 review imports (core/review/b4ReviewExport.ts). */
function writeB4Review(series: Series, review: ReviewFile, o: ReplyOptions, io: ReplyIo, failed: boolean): number {
  const exported = exportB4Review(series, review, o.date ? { date: o.date } : {});
  if (exported.error !== undefined) { io.err(`kvm-lens reply: ${shown(exported.error)}\n`); return EXIT_BAD_INPUT; }
  for (const w of exported.warnings) io.err(`kvm-lens reply: warning: ${shown(w)}\n`);
  if (exported.files.size <= 1) {
    io.err('kvm-lens reply: nothing to export: no open annotation or trailer matches this series\n');
    return failed ? EXIT_BAD_INPUT : EXIT_CLEAN;
  }
  const dir = o.b4Review!;
  const notMade = makeDirectory(dir);
  if (notMade !== undefined) {
    io.err(`kvm-lens reply: --b4-review ${shown(dir)}: cannot create the directory (${shown(notMade)})\n`);
    return EXIT_BAD_INPUT;
  }
  if (!o.force) {
    const existing = [...exported.files.keys()].map((n) => join(dir, n)).filter((f) => existsSync(f));
    if (existing.length > 0) {
      io.err(`kvm-lens reply: not overwriting ${inputsPhrase(existing)} (use --force)\n`);
      return EXIT_BAD_INPUT;
    }
  }
  for (const [name, text] of exported.files) if (!writeOne(join(dir, name), text, o.force, io)) return EXIT_BAD_INPUT;
  return failed ? EXIT_BAD_INPUT : EXIT_CLEAN;
}

const OVERWRITE_NO_FOLLOW = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW;
