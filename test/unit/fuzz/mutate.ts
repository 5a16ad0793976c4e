// Real series text, damaged the ways mail and downloads damage it: cut anywhere, bytes flipped,
// lines doubled or lost, control characters, encoded words, base64 and quoted-printable bodies,
// CRLF mixes, absurd "[PATCH n/m]" totals. Mutations work on bytes, so a flip can make invalid
// UTF-8; each one names its place as a number taken modulo the size, so it shrinks towards 0.

import fc from 'fast-check';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = join(__dirname, '../../..');
export const EXAMPLE_DIR = join(ROOT, 'examples/sev-es-debug-rfc');

export interface SeedFile {
  /** Relative to the repository, for counterexamples that read well. */
  name: string;
  bytes: Buffer;
}

function patchFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...patchFilesUnder(p));
    else if (/\.(patch|mbox|eml)$/.test(e)) out.push(p);
  }
  return out;
}

/** The example series and the review-thread fixtures: real format-patch text to start from. */
export const SEEDS: readonly SeedFile[] = [...patchFilesUnder(EXAMPLE_DIR), ...patchFilesUnder(join(ROOT, 'test/fixtures/thread'))]
  .map((f) => ({ name: relative(ROOT, f), bytes: readFileSync(f) }));

/** The example series in file order (cover letter first). */
export const EXAMPLE_SEEDS: readonly SeedFile[] = SEEDS.filter((s) => s.name.startsWith('examples/'));

/** Lines worth inserting: each means something to a mail, mbox or diff reader. */
const TRICKY_LINES = [
  '', '---', '-- ', '+++ ', '--- ', '@@', '@@ -1 +1 @@', '@@ -1,3 +1,2147483647 @@', '@@ -0,0 +1,99999999999 @@ f(', '@@ -5,-2 +5,2 @@',
  'diff --git a/arch/x86/kvm/svm/svm.c b/arch/x86/kvm/svm/svm.c', 'diff --git a/x', 'diff --git', 'index 0000000..1111111 100644',
  '--- a/arch/x86/kvm/svm/svm.c', '+++ b/arch/x86/kvm/svm/svm.c', '--- /dev/null', '+++ /dev/null', 'new file mode 100644',
  'deleted file mode 100644', 'rename from a.c', 'rename to b.c', 'similarity index 90%', 'Binary files a/x and b/x differ', 'GIT binary patch',
  'literal 0', '\\ No newline at end of file', 'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001',
  'From someone@example.org Mon Nov  2 10:00:00 2026', '>From quoted', 'From: =?UTF-8?B?QWRhDQpCY2M6IGV2aWxAZXhhbXBsZS5vcmc=?= <a@example.org>',
  'Subject: [PATCH 0/0]', 'Subject: Re: [PATCH 1/3] x', 'Content-Type: text/plain; charset="utf-16"', 'Content-Type: multipart/mixed; boundary="b"',
  'Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: quoted-printable', '--b', '--b--', 'Message-Id: <>', 'In-Reply-To: <<<>>>',
  'References: <a@b> <a@b> <c', ' folded continuation', '\tfolded continuation', 'Signed-off-by: ', 'Reviewed-by: A <a@b>',
  '+\tif (vcpu->arch.guest_state_protected) {', '-\t}', ' \tsvm->vmcb->save.dr7 = value;', '+{{{{{{{{', '+))))))))', '+/*', '+*/', '+"',
  '+#if 0', '+#endif', '+#define X(a) \\',
];

const CONTROL = ['\0', '\x01', '\x07', '\b', '\x0b', '\f', '\r', '\x1b', '\x1b[31m', '\x1b]0;title\x07', '\x7f', '\u0085', '\u2028', '\u202e', '\ufeff', '\ud800'];

/** A "[PATCH n/m]" that shouldn't bother anyone: small, zero, doubled, out of range, or large up to 10^5. */
const TOTALS = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 100_000 }) },
);

export type Mutation =
  | { k: 'truncate'; at: number }
  | { k: 'flip'; at: number; byte: number }
  | { k: 'insertBytes'; at: number; bytes: number[] }
  | { k: 'insertText'; at: number; text: string }
  | { k: 'dupLine'; line: number; times: number }
  | { k: 'deleteLines'; line: number; count: number }
  | { k: 'insertLine'; line: number; text: string }
  | { k: 'crlf'; line: number; count: number; ending: '\r\n' | '\r' | '\n\r' }
  | { k: 'tags'; index: number; total: number; extra: string }
  | { k: 'encodeHeader'; header: 'From' | 'Subject' | 'Message-Id' | 'To'; encoding: 'B' | 'Q' | 'broken'; charset: string; inject: string }
  | { k: 'body'; encoding: 'base64' | 'quoted-printable'; charset: string; damage: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('insertBytes' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ k: fc.constant('insertText' as const), at: fc.nat(), text: fc.constantFrom(...CONTROL) }),
  fc.record({ k: fc.constant('dupLine' as const), line: fc.nat(), times: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ k: fc.constant('deleteLines' as const), line: fc.nat(), count: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ k: fc.constant('insertLine' as const), line: fc.nat(), text: fc.constantFrom(...TRICKY_LINES) }),
  fc.record({ k: fc.constant('crlf' as const), line: fc.nat(), count: fc.integer({ min: 1, max: 1000 }), ending: fc.constantFrom('\r\n' as const, '\r' as const, '\n\r' as const) }),
  fc.record({ k: fc.constant('tags' as const), index: TOTALS, total: TOTALS, extra: fc.constantFrom('', 'RFC ', 'v2 ', 'v0 ', 'v99999999999 ', 'RESEND ') }),
  fc.record({
    k: fc.constant('encodeHeader' as const), header: fc.constantFrom('From' as const, 'Subject' as const, 'Message-Id' as const, 'To' as const),
    encoding: fc.constantFrom('B' as const, 'Q' as const, 'broken' as const), charset: fc.constantFrom('UTF-8', 'iso-8859-1', 'utf-16', 'x-unknown', ''),
    inject: fc.constantFrom('', '\r\nBcc: evil@example.org', '\nX-Injected: yes', '\x1b[2J', '\0', '\n\n', ' <b@example.org>, '),
  }),
  fc.record({
    k: fc.constant('body' as const), encoding: fc.constantFrom('base64' as const, 'quoted-printable' as const),
    charset: fc.constantFrom('utf-8', 'iso-8859-1', 'utf-16le', 'bogus'), damage: fc.nat(),
  }),
);

export const mutationsArb = (maxLength = 6): fc.Arbitrary<Mutation[]> => fc.array(mutationArb, { maxLength });

function lineStarts(b: Buffer): number[] {
  const starts = [0];
  for (let i = 0; i < b.length; i++) if (b[i] === 0x0a) starts.push(i + 1);
  return starts;
}

function splitLinesKeep(b: Buffer): Buffer[] {
  const s = lineStarts(b);
  const out: Buffer[] = [];
  for (let k = 0; k < s.length; k++) {
    const end = k + 1 < s.length ? s[k + 1]! : b.length;
    if (end > s[k]! || k + 1 < s.length) out.push(b.subarray(s[k]!, end));
  }
  return out;
}

/** The header block of the first message: [start, end) byte offsets, end at its blank line. */
function headerBlock(text: string): { start: number; end: number } {
  const first = text.startsWith('From ') ? text.indexOf('\n') + 1 : 0;
  const blank = text.indexOf('\n\n', first);
  return { start: first, end: blank < 0 ? text.length : blank + 1 };
}

function encodedWord(value: string, encoding: 'B' | 'Q' | 'broken', charset: string): string {
  const bytes = Buffer.from(value, 'utf8');
  if (encoding === 'B') return `=?${charset}?B?${bytes.toString('base64')}?=`;
  if (encoding === 'Q') return `=?${charset}?Q?${[...bytes].map((c) => (c > 32 && c < 127 && c !== 0x3d && c !== 0x3f && c !== 0x5f ? String.fromCharCode(c) : '=' + c.toString(16).toUpperCase().padStart(2, '0'))).join('')}?=`;
  return `=?${charset}?B?${bytes.toString('base64').slice(0, -3)}!!?= =?${charset}?X?zz?`;
}

function qpEncode(body: string): string {
  const out: string[] = [];
  for (const line of body.split('\n')) {
    let enc = [...Buffer.from(line, 'utf8')].map((c) => (c === 0x3d || c > 126 || (c < 32 && c !== 9) ? '=' + c.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(c))).join('');
    const parts: string[] = [];
    while (enc.length > 70) { parts.push(enc.slice(0, 70) + '='); enc = enc.slice(70); }
    parts.push(enc);
    out.push(parts.join('\n'));
  }
  return out.join('\n');
}

export function applyMutation(input: Buffer, m: Mutation): Buffer {
  const n = input.length;
  switch (m.k) {
    case 'truncate':
      return input.subarray(0, n === 0 ? 0 : m.at % (n + 1));
    case 'flip': {
      if (n === 0) return input;
      const b = Buffer.from(input);
      b[m.at % n] = m.byte;
      return b;
    }
    case 'insertBytes':
    case 'insertText': {
      const at = m.at % (n + 1);
      const ins = m.k === 'insertBytes' ? Buffer.from(m.bytes) : Buffer.from(m.text, 'utf8');
      return Buffer.concat([input.subarray(0, at), ins, input.subarray(at)]);
    }
    case 'dupLine':
    case 'deleteLines':
    case 'insertLine':
    case 'crlf': {
      const lines = splitLinesKeep(input);
      if (lines.length === 0) return m.k === 'insertLine' ? Buffer.from(m.text + '\n') : input;
      const at = m.line % lines.length;
      if (m.k === 'dupLine') lines.splice(at, 0, ...Array<Buffer>(m.times).fill(lines[at]!));
      else if (m.k === 'deleteLines') lines.splice(at, m.count);
      else if (m.k === 'insertLine') lines.splice(at, 0, Buffer.from(m.text + '\n', 'utf8'));
      else {
        for (let i = at; i < Math.min(lines.length, at + m.count); i++) {
          const l = lines[i]!;
          if (l[l.length - 1] === 0x0a) lines[i] = Buffer.concat([l.subarray(0, l.length - 1), Buffer.from(m.ending)]);
        }
      }
      return Buffer.concat(lines);
    }
    case 'tags': {
      const text = input.toString('latin1');
      const tag = `[${m.extra}PATCH ${m.index}/${m.total}]`;
      const re = /^Subject:\s*(\[[^\]]*\])?/m;
      if (!re.test(text)) return Buffer.from(`Subject: ${tag} x\n` + text, 'latin1');
      return Buffer.from(text.replace(re, `Subject: ${tag}`), 'latin1');
    }
    case 'encodeHeader': {
      const text = input.toString('utf8');
      const hb = headerBlock(text);
      const head = text.slice(hb.start, hb.end);
      const re = new RegExp(`^${m.header}:[ \\t]*(.*)$`, 'mi');
      const found = re.exec(head);
      const value = (found?.[1] ?? 'x') + m.inject;
      const word = encodedWord(m.header === 'From' ? value.replace(/\s*<[^>]*>\s*$/, '') : value, m.encoding, m.charset);
      const line = m.header === 'From' ? `From: ${word} <a@example.org>` : `${m.header}: ${word}`;
      const newHead = found ? head.replace(re, () => line) : line + '\n' + head;
      return Buffer.from(text.slice(0, hb.start) + newHead + text.slice(hb.end), 'utf8');
    }
    case 'body': {
      const text = input.toString('utf8');
      const hb = headerBlock(text);
      if (hb.end >= text.length) return input;
      const body = text.slice(hb.end + 1);
      let enc = m.encoding === 'base64'
        ? Buffer.from(body, m.charset === 'utf-16le' ? 'utf16le' : 'utf8').toString('base64').replace(/.{76}/g, '$&\n')
        : qpEncode(body);
      if (enc.length > 0 && m.damage % 3 === 1) enc = enc.slice(0, m.damage % enc.length); // cut inside the encoding
      else if (enc.length > 0 && m.damage % 3 === 2) { const at = m.damage % enc.length; enc = enc.slice(0, at) + '=!\u00ff' + enc.slice(at); }
      const head = text.slice(hb.start, hb.end).replace(/^(Content-Type|Content-Transfer-Encoding|MIME-Version):.*\n/gmi, '');
      const mime = `MIME-Version: 1.0\nContent-Type: text/plain; charset=${m.charset}\nContent-Transfer-Encoding: ${m.encoding}\n`;
      return Buffer.from(text.slice(0, hb.start) + head + mime + '\n' + enc + '\n', 'utf8');
    }
  }
}

export function applyMutations(input: Buffer, ms: readonly Mutation[]): Buffer {
  let b = input;
  for (const m of ms) b = applyMutation(b, m);
  return b;
}

/** 1 + the number of LF bytes: the most lines anything may point at. */
export function lineCountOf(b: Buffer | string): number {
  let n = 1;
  if (typeof b === 'string') { for (let i = 0; i < b.length; i++) if (b.charCodeAt(i) === 10) n++; }
  else for (let i = 0; i < b.length; i++) if (b[i] === 0x0a) n++;
  return n;
}

/** One seed file, or several concatenated into an mbox (format-patch files start with their "From " line). */
export const seedTextArb: fc.Arbitrary<{ seeds: number[] }> = fc.record({
  seeds: fc.array(fc.nat({ max: SEEDS.length - 1 }), { minLength: 1, maxLength: 4 }),
});

export function seedBytes(pick: { seeds: number[] }): Buffer {
  return Buffer.concat(pick.seeds.map((k) => SEEDS[k]!.bytes));
}
