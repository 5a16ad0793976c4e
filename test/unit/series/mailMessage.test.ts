import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeEncodedWords, parseContentType, parseMailMessage } from '../../../extension/core/series/mailMessage';
import { fixture, lineOf } from './fixtures';

function linesOf(name: string): string[] {
  const lines = readFileSync(fixture(name), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

test('RFC 2047: B and Q words, utf-8 and iso-8859-1, adjacent words joined', () => {
  assert.equal(decodeEncodedWords('=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <j@example.org>'), 'Jörg Müller <j@example.org>');
  assert.equal(decodeEncodedWords('=?iso-8859-1?q?caf=E9?='), 'café');
  assert.equal(decodeEncodedWords('=?utf-8?b?S1ZNOiA=?= =?utf-8?b?bGVucw==?='), 'KVM: lens');
  // Whitespace between an encoded word and plain text is kept.
  assert.equal(decodeEncodedWords('Re: =?utf-8?q?caf=C3=A9?= time'), 'Re: café time');
  // A two-byte character split over two words survives.
  assert.equal(decodeEncodedWords('=?utf-8?q?J=C3?= =?utf-8?q?=B6rg?='), 'Jörg');
  assert.equal(decodeEncodedWords('no encoded words'), 'no encoded words');
});

test('headers are unfolded and decoded; ids lose their brackets', () => {
  const m = parseMailMessage(linesOf('rfc2047.eml'), 0, linesOf('rfc2047.eml').length, { file: 'rfc2047.eml' });
  assert.equal(m.headers.from, 'Jörg Müller <joerg@example.org>');
  assert.equal(m.headers.subject, "[PATCH 1/1] KVM: SVM: Handle Jörg's café case");
  assert.equal(m.headers.messageId, '2047@example.org');
  assert.equal(m.hasBody, true);
  assert.equal(m.body.lines[0], 'Handle the café case that Jörg found.');
  assert.equal(m.body.fileLines[0], lineOf('rfc2047.eml', 'Handle the café case that Jörg found.'));

  const s = linesOf('single/0001-KVM-SVM-refuse-VMSA-writes.patch');
  const p = parseMailMessage(s, 1, s.length, { file: 'x' });
  assert.equal(p.headers.subject, '[PATCH v2 1/1] KVM: SVM: Refuse register writes once the VMSA is encrypted');
  assert.deepEqual(p.headers.references, ['20250301090000.999-0-ada@example.org', '20250302090000.555-1-bob@example.org']);
  assert.equal(p.headers.inReplyTo, '20250301090000.999-0-ada@example.org');
});

test('quoted-printable: soft breaks joined, each line mapped to its first physical line', () => {
  const lines = linesOf('qp.eml');
  const m = parseMailMessage(lines, 0, lines.length, { file: 'qp.eml' });
  assert.equal(m.body.approximate, false);
  const k = m.body.lines.findIndex((l) => l.startsWith('+/* The VMSA'));
  assert.equal(
    m.body.lines[k],
    '+/* The VMSA is owned by the guest once the invented launch step is done; the host must not write it again, or the check (lens == 1) fails for the guest. */',
  );
  assert.equal(m.body.fileLines[k], lineOf('qp.eml', '+/* The VMSA', true));
  assert.equal(m.body.lines[k + 1], '+#define SEV_LENS_MAGIC 0x5345');
  assert.equal(m.body.fileLines[k + 1], lineOf('qp.eml', '+#define SEV_LENS_MAGIC 0x5345'));
  assert.equal(m.body.lines[k + 2], ' ', '=20 decodes to the blank context line');
  assert.equal(m.body.lines[0], 'Add a comment that is long enough for the mailer to wrap it with soft line breaks, and mention the café rule.');
  assert.ok(m.body.lines.includes('-- '), 'signature "--=20" decoded');
});

test('base64: decoded, every line mapped to the first line of the block, marked approximate', () => {
  const lines = linesOf('base64.eml');
  const m = parseMailMessage(lines, 0, lines.length, { file: 'base64.eml' });
  const blockStart = lines.findIndex((l, i) => i > 0 && lines[i - 1] === '') + 1;
  assert.equal(m.body.approximate, true);
  assert.equal(m.body.lines[0], 'Carry the lens flag in the VMSA save area.');
  assert.ok(m.body.lines.includes('+\tint lens_flag; /* Grüße */'));
  assert.ok(m.body.fileLines.every((n) => n === blockStart));
  assert.deepEqual(m.problems, []);
});

test('multipart/mixed: text part plus the attached diff, lines still mapped', () => {
  const lines = linesOf('multipart.eml');
  const m = parseMailMessage(lines, 0, lines.length, { file: 'multipart.eml' });
  assert.equal(m.body.lines[0], 'The diff is attached.');
  assert.equal(m.body.fileLines[0], lineOf('multipart.eml', 'The diff is attached.'));
  const k = m.body.lines.indexOf('+int mp_b = 1;');
  assert.ok(k > 0, 'QP attachment decoded');
  assert.equal(m.body.fileLines[k], lineOf('multipart.eml', '+int mp_b =3D 1;'));
  assert.ok(!m.body.lines.some((l) => l.includes('lens-boundary')));
});

test('headers with no body are flagged', () => {
  const lines = linesOf('headers-only.eml');
  const m = parseMailMessage(lines, 0, lines.length, { file: 'headers-only.eml' });
  assert.equal(m.hasBody, false);
  assert.equal(m.headers.subject, '[PATCH] KVM: SVM: Nothing follows');
  assert.deepEqual(m.body.lines, []);
});

test('content-type parameters, quoted and not', () => {
  const ct = parseContentType('multipart/mixed; boundary="a;b"; charset=UTF-8');
  assert.equal(ct.type, 'multipart/mixed');
  assert.equal(ct.params.get('boundary'), 'a;b');
  assert.equal(ct.params.get('charset'), 'UTF-8');
  assert.equal(parseContentType(undefined).type, 'text/plain');
});
