// The export to b4 review's import directory, read back with a small parser of our own written
// from b4's rules (misc/agent-reviewer.md and the behaviour of _integrate_agent_reviews() in
// src/b4/review/_review.py of b4's tree, see core/review/b4ReviewExport.ts): identity.txt is one
// "Name <email>"; NNNN.txt is 1-indexed by the patch's position; the text before the first
// "> diff --git " line is the note; an unquoted run after quoted hunk lines is a comment on the
// last quoted hunk line, found again by its text in the real diff when the quote was trimmed.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../../extension/cli/main';
import { exportB4Review, identityLine } from '../../../extension/core/review/b4ReviewExport';
import type { Annotation, LineAnchor, ReviewFile, ReviewTrailer } from '../../../extension/core/review/types';
import { readSeries } from '../../../extension/core/series/seriesReader';
import type { HunkLine, Patch, Series } from '../../../extension/core/series/types';

const ROOT = join(__dirname, '../../..');
const EXAMPLE_DIR = join(ROOT, 'examples/sev-es-debug-rfc');
const REVIEWER = { name: 'Zoë Révieweŕ', email: 'zoe@example.org' };
const DATE = new Date('2026-11-05T12:00:00Z');

import { parseIdentity, readB4PatchFile, realLines, resolve } from './b4Rules';

// ---------------------------------------------------------------- the review on the example series

let n = 0;
function ann(p: Patch, anchor: Partial<LineAnchor> & { text: string }, body: string, extra: Partial<Annotation> = {}): Annotation {
  return {
    id: `b${++n}`, patch: { title: p.title, ...(p.messageId ? { messageId: p.messageId } : {}) }, anchor: { part: 'diff', before: [], ...anchor }, body,
    author: 'Zoë', created: `2026-11-04T00:00:0${n % 10}Z`, state: 'final', resolved: false, ...extra,
  };
}

function lineOf(p: Patch, pick: (l: HunkLine) => boolean, nth = 0): { text: string; file: string; real: { path: string; line: number } } {
  const found: { text: string; file: string; real: { path: string; line: number } }[] = [];
  for (const d of p.diffs) for (const h of d.hunks) for (const l of h.lines) {
    if (!pick(l)) continue;
    const prefix = l.kind === 'added' ? '+' : l.kind === 'removed' ? '-' : ' ';
    found.push({ text: prefix + l.text, file: d.newPath ?? d.oldPath!, real: l.kind === 'removed' ? { path: d.oldPath!, line: l.oldLine! } : { path: d.newPath!, line: l.newLine! } });
  }
  assert.ok(found[nth], 'the example has the line the test comments on');
  return found[nth]!;
}

interface Case { series: Series; review: ReviewFile; expected: { file: string; content: string; body: string; real: { path: string; line: number } }[] }

async function exampleCase(): Promise<Case> {
  const series = await readSeries([EXAMPLE_DIR]);
  assert.deepEqual(series.problems.filter((p) => p.severity === 'error'), []);
  assert.equal(series.patches.length, 3);
  const [p1, p2, p3] = series.patches as [Patch, Patch, Patch];
  // two comments in one patch, far apart, so the quote between them is trimmed
  const r1a = lineOf(p1, (l) => l.kind === 'removed', 0);
  const r1b = lineOf(p1, (l) => l.kind === 'removed', 3);
  const r2 = lineOf(p2, (l) => l.kind === 'removed' && l.text.includes('guest_state_protected'));
  const r3 = lineOf(p3, (l) => l.kind === 'added', 0);
  const a: Annotation[] = [
    ann(p1, { text: r1a.text, file: r1a.file }, 'Is this check dead once guest_state_protected is set?'),
    ann(p1, { text: r1b.text, file: r1b.file }, 'Same question for the second copy.\n\nPlease say so in the changelog.'),
    ann(p2, { text: r2.text, file: r2.file }, 'DR7 reaches the VMSA after LAUNCH_UPDATE_VMSA; who refuses that?'),
    ann(p2, { part: 'commit-message', text: p2.commitMessage.split('\n')[0]! }, 'The changelog should name the guest-visible effect.'),
    ann(p3, { text: r3.text, file: r3.file }, 'A finding nobody confirmed.', { state: 'draft', fromFinding: 'f1' }),
    ann(p3, { text: r3.text, file: r3.file }, 'Resolved already.', { resolved: true }),
  ];
  if (series.coverLetter) a.push(ann(series.coverLetter, { part: 'cover-letter', text: series.coverLetter.commitMessage.split('\n')[0]! }, 'RFC is right for this.'));
  const trailers: ReviewTrailer[] = [{ key: 'Reviewed-by', patch: { title: p3.title } }, { key: 'Acked-by' }];
  const review: ReviewFile = { version: 1, series: { title: 'sev-es debug' }, reviewer: REVIEWER, annotations: a, trailers, orphans: [] };
  const expected = [
    { file: '0001.txt', content: r1a.text, body: a[0]!.body, real: r1a.real },
    { file: '0001.txt', content: r1b.text, body: a[1]!.body, real: r1b.real },
    { file: '0002.txt', content: r2.text, body: a[2]!.body, real: r2.real },
  ];
  return { series, review, expected };
}

describe('exportB4Review: the files b4 review imports from .git/b4-review/<tip>/', () => {
  it('writes identity.txt, series.txt and one NNNN.txt per patch with something to say, 1-indexed', async () => {
    const { series, review } = await exampleCase();
    const out = exportB4Review(series, review, { date: DATE });
    assert.equal(out.error, undefined);
    assert.deepEqual([...out.files.keys()].sort(), ['0001.txt', '0002.txt', '0003.txt', 'identity.txt', 'series.txt']);
    for (const [name, text] of out.files) {
      assert.ok(text.endsWith('\n') && !text.includes('\r'), `${name}: LF lines, ending in a newline`);
      assert.ok(/^(identity|series)\.txt$|^\d{4}\.txt$/.test(name), `${name}: a name b4 reads`);
    }
    assert.deepEqual(parseIdentity(out.files.get('identity.txt')!.trimEnd()), REVIEWER);
    assert.equal(out.files.get('identity.txt')!.split('\n').length, 2, 'one line');
    assert.match(out.warnings.join('\n'), /unconfirmed/);
  });

  it('each comment is read back on its line of the real diff, with its text; the quote holds only lines of the patch', async () => {
    const { series, review, expected } = await exampleCase();
    const out = exportB4Review(series, review, { date: DATE });
    const got: { file: string; content?: string; body: string; real: { path: string; line: number } }[] = [];
    for (const [i, p] of series.patches.entries()) {
      const name = `${String(i + 1).padStart(4, '0')}.txt`;
      const text = out.files.get(name);
      if (text === undefined) continue;
      const r = readB4PatchFile(text);
      const own = new Set(['[...]', ...realLines(p).map((l) => l.content)]);
      for (const q of r.quoted) {
        assert.ok(own.has(q) || /^(diff --git |--- |\+\+\+ |@@ )/.test(q), `${name}: quoted ${JSON.stringify(q)} is a line of ${p.title}`);
      }
      for (const c of r.comments) got.push({ file: name, content: c.content, body: c.text, real: resolve(c, p) });
    }
    assert.deepEqual(got, expected.map((e) => ({ file: e.file, content: e.content, body: e.body, real: e.real })));
    assert.ok(!/confirmed|Resolved already/.test([...out.files.values()].join('\n')), 'no unconfirmed draft, no resolved comment');
  });

  it('trailers open the note (b4 has no trailer field in these files); commit-message comments are in the note; no attribution line', async () => {
    const { series, review } = await exampleCase();
    const out = exportB4Review(series, review, { date: DATE });
    const trailerOf = (key: string): string => `${key}: ${REVIEWER.name} <${REVIEWER.email}>`;
    const p3 = readB4PatchFile(out.files.get('0003.txt')!);
    assert.equal(p3.note, trailerOf('Reviewed-by'), 'a trailer alone: the note, nothing quoted');
    assert.deepEqual(p3.comments, []);
    const cover = out.files.get('series.txt')!;
    assert.equal(cover.split('\n')[0], trailerOf('Acked-by'), 'the series-wide trailer is the summary line of the cover letter review');
    assert.match(cover, /RFC is right for this\./);
    const p2 = readB4PatchFile(out.files.get('0002.txt')!);
    assert.match(p2.note, /^> .*\n\nThe changelog should name the guest-visible effect\.$/, 'the commit-message comment is in the note, under its quoted line, no elision after it');
    for (const t of out.files.values()) assert.ok(!/ wrote:$/m.test(t), 'no mail attribution line');
    const p1 = readB4PatchFile(out.files.get('0001.txt')!);
    assert.equal(p1.note, '', 'no note when there is neither a trailer nor a message comment');
    assert.ok(out.files.get('0001.txt')!.startsWith('> diff --git a/'), 'b4 reads a file that starts with the quoted diff as all diff');
  });

  it('refuses a reviewer without a name or an address (b4 would skip the whole directory)', async () => {
    const { series, review } = await exampleCase();
    assert.match(exportB4Review(series, { ...review, reviewer: { name: '', email: 'zoe@example.org' } }).error ?? '', /identity\.txt/);
    assert.match(exportB4Review(series, { ...review, reviewer: { name: 'Zoë', email: 'not-an-address' } }).error ?? '', /identity\.txt/);
    assert.equal(identityLine({ name: 'Doe, Jane (KVM)', email: 'j@x.org' }), '"Doe, Jane (KVM)" <j@x.org>');
    assert.deepEqual(parseIdentity(identityLine({ name: 'Doe, "J" Jane', email: 'j@x.org' })!), { name: 'Doe, "J" Jane', email: 'j@x.org' });
  });
});

describe('kvm-lens reply --b4-review DIR', () => {
  it('writes the files, refuses to overwrite without --force, refuses --out with it', async () => {
    const { review } = await exampleCase();
    const tmp = mkdtempSync(join(tmpdir(), 'kvm-lens-b4rev-'));
    try {
      const sidecar = join(tmp, 'review.json');
      writeFileSync(sidecar, JSON.stringify(review));
      const dir = join(tmp, '.git/b4-review/0123456789abcdef0123456789abcdef01234567');
      const run = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
        let out = ''; let err = '';
        const code = await main(['reply', EXAMPLE_DIR, '--annotations', sidecar, ...args], { out: (t: string) => { out += t; }, err: (t: string) => { err += t; }, isTty: false });
        return { code, out, err };
      };
      const first = await run('--b4-review', dir, '--date', DATE.toISOString());
      assert.equal(first.code, 0, first.err);
      assert.deepEqual(readdirSync(dir).sort(), ['0001.txt', '0002.txt', '0003.txt', 'identity.txt', 'series.txt']);
      assert.equal(readFileSync(join(dir, '0003.txt'), 'utf8'), `Reviewed-by: ${REVIEWER.name} <${REVIEWER.email}>\n`);
      const again = await run('--b4-review', dir);
      assert.notEqual(again.code, 0);
      assert.match(again.err, /not overwriting .*--force/);
      assert.equal((await run('--b4-review', dir, '--force')).code, 0);
      const both = await run('--b4-review', dir, '--out', tmp);
      assert.notEqual(both.code, 0);
      assert.match(both.err, /not both/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
