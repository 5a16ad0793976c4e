// The review sidecar at the edges of the file system: a directory, a symbolic link (kept, its
// target updated), a chain of links, a dangling link, a link loop, a FIFO, a device, a file over
// the size limit; each refusal is one line naming the path. The reviewer's identity is one line
// wherever it comes from, and a 200,000-line hunk is placed without overflowing the stack.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  anchorAt, authorText, formatReviewFile, loadReviewFile, newReview, patchKeyOf, placeAnnotations, reviewerIdentity, saveReviewFile,
} from '../../../extension/core/review/annotations';
import { composeReplies } from '../../../extension/core/review/replyComposer';
import type { ReviewFile } from '../../../extension/core/review/types';
import { readSeries } from '../../../extension/core/series/seriesReader';

const ROOT = join(__dirname, '../../..');
/** Hang guard for the child process that opens FIFOs and devices. */
const CHILD_TIMEOUT_MS = 30_000;
const T = { timeout: 60_000 };

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'kvm-lens-sidecar-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function review(name = 'Ada Reviewer', email = 'ada@example.org'): ReviewFile {
  return { version: 1, series: { title: 'widgets' }, reviewer: { name, email }, annotations: [], trailers: [{ key: 'Reviewed-by' }], orphans: [] };
}

/** The message of what `fn` throws; fails when it does not throw. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error);
    return e.message;
  }
  assert.fail('expected an error');
}

function assertOneLine(message: string, path: string, reason: RegExp): void {
  assert.ok(!/[\n\r]/.test(message), `one line: ${JSON.stringify(message)}`);
  assert.ok(message.startsWith(`${path}: `), `names the path first: ${message}`);
  assert.match(message, reason);
}

/** No temporary file left behind in a directory. */
function noLeftovers(dir: string): void {
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
}

describe('a sidecar path that is not a regular file', () => {
  it('a directory is refused in one line when read and when written, and left as it is', () => withDir((dir) => {
    const side = join(dir, '.kvm-lens-review.json');
    mkdirSync(side);
    const loaded = loadReviewFile(side);
    assert.equal(loaded.review, undefined);
    assert.equal(loaded.problems.length, 1);
    assertOneLine(loaded.problems[0]!, side, /cannot read the review file: it is a directory, not a regular file$/);
    assertOneLine(thrown(() => saveReviewFile(side, review())), side, /cannot write the review file: it is a directory, not a regular file$/);
    assert.ok(statSync(side).isDirectory());
    assert.deepEqual(readdirSync(side), []);
    noLeftovers(dir);
  }));

  it('a FIFO, /dev/null and /dev/zero are refused at once, neither blocking nor reading without end', T, () => withDir((dir) => {
    const fifo = join(dir, 'fifo.json');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
    // in a child process with a time limit: a blocking open would hang this test run otherwise
    const script = join(dir, 'probe.ts');
    writeFileSync(script, [
      `import { loadReviewFile, saveReviewFile } from ${JSON.stringify(join(ROOT, 'extension/core/review/annotations'))};`,
      'const out: Record<string, unknown> = {};',
      `for (const f of [${JSON.stringify(fifo)}, '/dev/null', '/dev/zero']) {`,
      '  let save = "";',
      '  try { saveReviewFile(f, { version: 1, series: { title: "t" }, reviewer: { name: "a", email: "a@b.org" }, annotations: [], trailers: [], orphans: [] }); } catch (e) { save = (e as Error).message; }',
      '  out[f] = { load: loadReviewFile(f).problems, save };',
      '}',
      'process.stdout.write(JSON.stringify(out));',
    ].join('\n'));
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
    assert.equal(run.signal, null, `the probe was killed (a read blocked or ran away); stderr: ${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as Record<string, { load: string[]; save: string }>;
    const kinds: [string, RegExp][] = [[fifo, /a FIFO \(named pipe\), not a regular file$/], ['/dev/null', /a character device, not a regular file$/], ['/dev/zero', /a character device, not a regular file$/]];
    for (const [f, kind] of kinds) {
      assert.equal(out[f]!.load.length, 1);
      assertOneLine(out[f]!.load[0]!, f, kind);
      assertOneLine(out[f]!.save, f, kind);
    }
    assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO is still a FIFO');
  }));

  it('a sidecar over the size limit is refused when read, and backed up before it is replaced', () => withDir((dir) => {
    const side = join(dir, 'big.json');
    const big = formatReviewFile({ ...review(), annotations: [] }).replace('"widgets"', JSON.stringify('w'.repeat(5000)));
    writeFileSync(side, big);
    const loaded = loadReviewFile(side, { maxBytes: 1000 });
    assert.equal(loaded.problems.length, 1);
    assertOneLine(loaded.problems[0]!, side, /cannot read the review file: it is 5 kB, larger than the 1000 bytes limit$/);
    assert.equal(loadReviewFile(side).problems.length, 0, 'within the default limit it reads');
    const saved = saveReviewFile(side, review(), { maxBytes: 1000 });
    assert.ok(saved.backup);
    assert.equal(readFileSync(saved.backup, 'utf8'), big, 'the oversized file is kept whole');
    assert.deepEqual(loadReviewFile(side).review, review());
  }));

  it('a field nested 100,000 levels deep is a problem, and the file is backed up and replaced without a stack overflow', () => withDir((dir) => {
    const side = join(dir, 'deep.json');
    const n = 100_000;
    const text = formatReviewFile(review()).replace(/\n}\n$/, `,\n  "zz": ${'['.repeat(n)}${']'.repeat(n)}\n}\n`);
    writeFileSync(side, text);
    const loaded = loadReviewFile(side);
    assert.deepEqual(loaded.problems, [`${side}: zz is nested more than 64 levels deep; a review file this deep cannot be written back`]);
    const saved = saveReviewFile(side, review());
    assert.ok(saved.backup !== undefined);
    assert.equal(readFileSync(saved.backup, 'utf8'), text);
    assert.deepEqual(loadReviewFile(side).review, review());
  }));

  it('control characters in a broken sidecar are shown escaped in the problem', () => withDir((dir) => {
    const side = join(dir, 'esc.json');
    writeFileSync(side, '{"version": \x1b[2J\x07 }'); // the parser's message quotes the text
    const loaded = loadReviewFile(side);
    assert.equal(loaded.problems.length, 1);
    assert.ok(!/[\x00-\x1f\x7f]/.test(loaded.problems[0]!), `no raw control character: ${JSON.stringify(loaded.problems[0])}`);
    assert.match(loaded.problems[0]!, /^.*esc\.json:1:\d+: not valid JSON/);
  }));
});

describe('a symbolic link to the sidecar', () => {
  it('stays a link; its target is replaced atomically with its permissions kept', () => withDir((dir) => {
    mkdirSync(join(dir, 'real'));
    const target = join(dir, 'real', 'review.json');
    writeFileSync(target, formatReviewFile(review('Old Name')));
    chmodSync(target, 0o640);
    const link = join(dir, 'series.mbox.kvm-lens-review.json');
    symlinkSync(join('real', 'review.json'), link);

    assert.deepEqual(loadReviewFile(link).review, review('Old Name'), 'read through the link');
    assert.deepEqual(saveReviewFile(link, review()), { messages: [] });
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
    assert.equal(readlinkSync(link), join('real', 'review.json'), 'pointing where it pointed');
    assert.equal(readFileSync(target, 'utf8'), formatReviewFile(review()), 'the target holds the new review');
    assert.equal(statSync(target).mode & 0o777, 0o640, 'with its permissions');
    noLeftovers(dir);
    noLeftovers(join(dir, 'real'));
  }));

  it('a chain of links is followed to the file at its end, every link kept', () => withDir((dir) => {
    const target = join(dir, 'review.json');
    writeFileSync(target, formatReviewFile(review('Old Name')));
    symlinkSync(target, join(dir, 'one'));
    symlinkSync(join(dir, 'one'), join(dir, 'two'));
    saveReviewFile(join(dir, 'two'), review());
    assert.ok(lstatSync(join(dir, 'one')).isSymbolicLink());
    assert.ok(lstatSync(join(dir, 'two')).isSymbolicLink());
    assert.deepEqual(loadReviewFile(target).review, review());
  }));

  it('a broken sidecar behind a link is copied aside, then the target is replaced and the link kept', () => withDir((dir) => {
    mkdirSync(join(dir, 'real'));
    const target = join(dir, 'real', 'review.json');
    writeFileSync(target, '{ "version": 1, hand edited');
    const link = join(dir, 'side.json');
    symlinkSync(target, link);
    const saved = saveReviewFile(link, review());
    assert.ok(saved.backup !== undefined && saved.backup.startsWith(`${link}.broken-`));
    assert.equal(readFileSync(saved.backup, 'utf8'), '{ "version": 1, hand edited');
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.deepEqual(loadReviewFile(link).review, review());
  }));

  it('a dangling link is refused, and nothing is created where it points', () => withDir((dir) => {
    const link = join(dir, 'side.json');
    const missing = join(dir, 'gone', 'review.json');
    symlinkSync(missing, link);
    assertOneLine(thrown(() => saveReviewFile(link, review())), link, new RegExp(`cannot write the review file: it is a symbolic link to ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, which does not exist$`));
    const loaded = loadReviewFile(link);
    assert.equal(loaded.problems.length, 1, 'a dangling link is not "no review yet"');
    assertOneLine(loaded.problems[0]!, link, /which does not exist$/);
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.deepEqual(readdirSync(dir), ['side.json']);
  }));

  it('a link to a directory and a link loop are refused in one line', () => withDir((dir) => {
    mkdirSync(join(dir, 'sub'));
    const toDir = join(dir, 'to-dir.json');
    symlinkSync(join(dir, 'sub'), toDir);
    assertOneLine(thrown(() => saveReviewFile(toDir, review())), toDir, /it is a symbolic link to .*sub, which is a directory, not a regular file$/);
    assertOneLine(loadReviewFile(toDir).problems[0]!, toDir, /it is a directory, not a regular file$/);
    assert.deepEqual(readdirSync(join(dir, 'sub')), []);

    const a = join(dir, 'a.json');
    symlinkSync(join(dir, 'b.json'), a);
    symlinkSync(a, join(dir, 'b.json'));
    assertOneLine(thrown(() => saveReviewFile(a, review())), a, /a loop/);
    assertOneLine(loadReviewFile(a).problems[0]!, a, /a loop/);
    assert.ok(lstatSync(a).isSymbolicLink());
  }));
});

describe('the reviewer in headers and trailers', () => {
  it('a name or email with line breaks from the settings or git config becomes one line', () => withDir((dir) => {
    const id = reviewerIdentity({ name: 'Ada\r\nBcc: victim@example.org', email: 'ada@example.org\n' });
    assert.deepEqual(id, { name: 'Ada Bcc: victim@example.org', email: 'ada@example.org' });

    const gitconfig = join(dir, 'gitconfig');
    writeFileSync(gitconfig, '[user]\n\tname = "Eve\\nBcc: victim@example.org"\n\temail = "eve@example.org\\t\\n"\n');
    const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, GIT_CONFIG_GLOBAL: gitconfig, GIT_CONFIG_NOSYSTEM: '1' };
    assert.deepEqual(reviewerIdentity(undefined, { cwd: dir, env }), { name: 'Eve Bcc: victim@example.org', email: 'eve@example.org' });

    assert.equal(authorText({ name: 'A\nB', email: 'a@b.org\r' }), 'A B <a@b.org>');
  }));

  it('a Reviewed-by from a sidecar whose name holds CR LF is one trailer line', T, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-lens-sidecar-'));
    try {
      const series = await readSeries([join(ROOT, 'examples/sev-es-debug-rfc')]);
      const fresh = newReview(series, { name: 'Ada\r\nSigned-off-by: Mallory <m@example.org>', email: 'ada@example.org' });
      assert.equal(fresh.reviewer.name, 'Ada Signed-off-by: Mallory <m@example.org>');
      // a hand-edited sidecar is not made one line on the way in: the composer defends itself
      const side = join(dir, 'side.json');
      writeFileSync(side, JSON.stringify({ ...fresh, reviewer: { name: 'Ada\r\nSigned-off-by: Mallory <m@example.org>', email: 'ada@example.org' }, trailers: [{ key: 'Reviewed-by' }] }));
      const loaded = loadReviewFile(side);
      assert.deepEqual(loaded.problems, []);
      const [reply] = composeReplies(series, loaded.review!, { date: new Date('2026-11-05T12:00:00Z') });
      const body = reply!.text.slice(reply!.text.indexOf('\n\n') + 2).split('\n');
      assert.deepEqual(body.filter((l) => /^(Reviewed-by|Signed-off-by):/.test(l)), ['Reviewed-by: Ada Signed-off-by: Mallory m@example.org <ada@example.org>']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('large patches', () => {
  it('a hunk of 200,000 lines is anchored and placed without overflowing the stack', T, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-lens-sidecar-'));
    try {
      const n = 200_000;
      const lines = ['From: Ada <ada@example.org>', 'Subject: [PATCH] KVM: x86: A long table', '', 'Adds a table.', '---',
        'diff --git a/t.c b/t.c', 'new file mode 100644', '--- /dev/null', '+++ b/t.c', `@@ -0,0 +1,${n} @@`];
      for (let i = 0; i < n; i++) lines.push(`+\t${i},`);
      const f = join(dir, 'table.patch');
      writeFileSync(f, lines.join('\n') + '\n');
      const series = await readSeries([f]);
      const patch = series.patches[0]!;
      const anchor = anchorAt(patch, lines.length);
      assert.equal(anchor?.text, `+\t${n - 1},`);
      const r: ReviewFile = {
        ...review(), trailers: [],
        annotations: [{ id: 'x', patch: patchKeyOf(patch), anchor: anchor!, body: 'last', author: 'Ada', created: '2026-11-04T00:00:00Z', state: 'final', resolved: false }],
      };
      const placed = placeAnnotations(r, series);
      assert.deepEqual(placed.placed.map((p) => p.patchLine), [lines.length]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
