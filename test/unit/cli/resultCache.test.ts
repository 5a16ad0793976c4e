// The cache of whole results between runs: a second identical run gives the same report from
// the cache (byte for byte, but for the timings and the mark that says so), any change to the
// input is a miss, --no-cache and a budget-cut run are never served, two processes writing at
// once leave a whole entry, the size stays bounded, and nothing is written inside a tree.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ReportCache } from '../../../extension/core/cache/reportCache';
import { type LoweredFile, LoweredFileCache } from '../../../extension/core/cache/loweredFileCache';
import type { JsonReport } from '../../../extension/core/report/jsonReport';
import { EXAMPLE_DIR, PATCH_2, ROOT, TEST_TIMEOUT_MS, runJson, withTempDir } from './cliHarness';

const T = { timeout: TEST_TIMEOUT_MS };

/** The report without what differs between a computed and a cached run. */
function verdictOf(j: JsonReport): unknown {
  return { ...j, stats: { ...j.stats, ms: undefined, cached: undefined } };
}

function withCacheHome<R>(fn: (home: string) => Promise<R>): Promise<R> {
  return withTempDir('kvm-lens-cache-home-', async (home) => {
    const before = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = home;
    try { return await fn(home); } finally { process.env.XDG_CACHE_HOME = before; }
  });
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('results kept between runs', () => {
  it('a second identical check is served from the cache: same findings, traces and fixes, marked cached', T, async () => {
    await withCacheHome(async (home) => {
      const first = await runJson(['check', EXAMPLE_DIR]);
      assert.equal(first.json.stats.cached, undefined);
      assert.equal(filesUnder(join(home, 'kvm-lens')).length, 1, 'one entry written');
      const second = await runJson(['check', EXAMPLE_DIR]);
      assert.equal(second.json.stats.cached, true);
      assert.equal(second.code, first.code);
      assert.deepEqual(verdictOf(second.json), verdictOf(first.json));
      assert.ok(second.json.stats.ms.simulate === 0 && second.json.stats.ms.parse === 0);
      const fresh = await runJson(['check', EXAMPLE_DIR, '--no-cache']);
      assert.equal(fresh.json.stats.cached, undefined, '--no-cache analyses again');
      assert.deepEqual(verdictOf(fresh.json), verdictOf(first.json));
    });
  });

  it('any change to the series or the options is a miss', T, async () => {
    await withCacheHome(async () => {
      await withTempDir('kvm-lens-cache-series-', async (dir) => {
        const copy = join(dir, '0002.patch');
        copyFileSync(PATCH_2, copy);
        await runJson(['check', copy]);
        assert.equal((await runJson(['check', copy])).json.stats.cached, true);
        assert.equal((await runJson(['check', copy, '--depth', '6'])).json.stats.cached, undefined, 'other options');
        writeFileSync(copy, readFileSync(copy, 'utf8').replace('write it unconditionally', 'write it always'));
        assert.equal((await runJson(['check', copy])).json.stats.cached, undefined, 'other text');
      });
    });
  });

  it('a run the budget cut short is not kept', T, async () => {
    await withCacheHome(async (home) => {
      const cut = await runJson(['check', EXAMPLE_DIR, '--budget-work', '2000']);
      assert.ok(cut.json.findings.some((f) => /analysis budget/.test(f.message)));
      assert.deepEqual(filesUnder(join(home, 'kvm-lens')), []);
    });
  });

  it('an entry cut short, damaged or replaced is never trusted: the check analyses again and rewrites it', T, async () => {
    await withCacheHome(async (home) => {
      const first = await runJson(['check', EXAMPLE_DIR]);
      const [entry] = filesUnder(join(home, 'kvm-lens'));
      const whole = readFileSync(entry, 'utf8');
      const damaged: [string, string][] = [
        ['cut short', whole.slice(0, Math.floor(whole.length / 2))],
        ['one finding dropped, still valid JSON', whole.replace(/"findings":\[\{/, '"findings":[{"dropped":true},{')],
        ['another report in its place', whole.replace(/^(\S+) \S+\n/, '$1 0000\n')],
        ['empty', ''],
      ];
      for (const [how, text] of damaged) {
        assert.notEqual(text, whole, how);
        writeFileSync(entry, text);
        const again = await runJson(['check', EXAMPLE_DIR]);
        assert.equal(again.json.stats.cached, undefined, `${how}: not served`);
        assert.deepEqual(verdictOf(again.json), verdictOf(first.json), how);
        assert.equal((await runJson(['check', EXAMPLE_DIR])).json.stats.cached, true, `${how}: rewritten whole, then served`);
      }
    });
  });

  it('a new version of the tool never reads the entries of another: they live apart and are dropped', () => {
    const root = mkdtempSync(join(tmpdir(), 'kvm-lens-cache-version-'));
    try {
      const key = ReportCache.key(['same input']);
      new ReportCache(root, undefined, 'release-1').put(key, { verdict: 'old' });
      const next = new ReportCache(root, undefined, 'release-2');
      assert.equal(next.get(key), undefined);
      next.put(key, { verdict: 'new' });
      assert.deepEqual(next.get(key), { verdict: 'new' });
      assert.deepEqual(readdirSync(root), ['reports-release-2'], 'the old version\'s entries are gone');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('bounded: the oldest entries go once the directory is over its size', () => {
    const root = mkdtempSync(join(tmpdir(), 'kvm-lens-cache-bound-'));
    try {
      const cache = new ReportCache(root, 10_000);
      for (let i = 0; i < 20; i++) cache.put(ReportCache.key([`entry ${i}`]), { pad: 'x'.repeat(2_000), i });
      const files = filesUnder(root);
      const total = files.reduce((n, f) => n + statSync(f).size, 0);
      assert.ok(total <= 10_000, `${total} bytes in ${files.length} entries`);
      assert.deepEqual(cache.get(ReportCache.key(['entry 19'])), { pad: 'x'.repeat(2_000), i: 19 }, 'the newest stays');
      assert.equal(cache.get(ReportCache.key(['entry 0'])), undefined, 'the oldest went');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('never inside the tree: a cache home under the kernel tree is not used', () => {
    const tree = mkdtempSync(join(tmpdir(), 'kvm-lens-cache-tree-'));
    try {
      assert.equal(ReportCache.open([tree], join(tree, '.cache', 'kvm-lens')), undefined);
      assert.equal(ReportCache.open([tree], tree), undefined);
      assert.ok(ReportCache.open([tree], join(tmpdir(), 'elsewhere', 'kvm-lens')));
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it('two processes writing the same entry at once leave one whole entry, and both succeed', T, async () => {
    const root = mkdtempSync(join(tmpdir(), 'kvm-lens-cache-race-'));
    try {
      const script = `const { ReportCache } = require(${JSON.stringify(join(ROOT, 'extension/core/cache/reportCache.ts'))});
        const c = new ReportCache(process.argv[1]);
        for (let i = 0; i < 200; i++) c.put(ReportCache.key(['same']), { big: 'y'.repeat(200000), who: process.pid });`;
      const run = () => new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, root], { cwd: ROOT, stdio: 'ignore' });
        child.on('close', resolve);
      });
      const codes = await Promise.all([run(), run()]);
      assert.deepEqual(codes, [0, 0]);
      const files = filesUnder(root);
      assert.equal(files.length, 1, files.join(', '));
      const entry = new ReportCache(root).get<{ big: string }>(ReportCache.key(['same']));
      assert.equal(entry?.big.length, 200000, 'the entry is whole: its checksum holds');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('a tree audit from the cache', () => {
  it('the same tree twice: served from the cache, nothing written in the tree; an edited file is a miss', T, async () => {
    await withCacheHome(async () => {
      await withTempDir('kvm-lens-cache-ktree-', async (tree) => {
        const kvm = join(tree, 'arch/x86/kvm');
        mkdirSync(kvm, { recursive: true });
        const x86 = 'long kvm_arch_vcpu_ioctl(struct file *filp, unsigned int ioctl, unsigned long arg)\n{\n\tswitch (ioctl) {\n\tcase KVM_RUN:\n\t\treturn 0;\n\t}\n\treturn -EINVAL;\n}\n';
        writeFileSync(join(kvm, 'x86.c'), x86);
        const before = filesUnder(tree).sort();
        const first = await runJson(['check', '--tree', tree]);
        const second = await runJson(['check', '--tree', tree]);
        assert.equal(second.json.stats.cached, true, second.err);
        assert.deepEqual(verdictOf(second.json), verdictOf(first.json));
        assert.deepEqual(filesUnder(tree).sort(), before, 'the tree is untouched');
        writeFileSync(join(kvm, 'x86.c'), x86.replace('return 0;', 'return 1;'));
        assert.equal((await runJson(['check', '--tree', tree])).json.stats.cached, undefined);
      });
    });
  });
});

describe('lowered tree files kept between runs', () => {
  const lowered = (name: string): LoweredFile => ({
    functions: [{ name, params: ['vcpu'], returnsVoid: false, body: { k: 'block', body: [], loc: { file: 'arch/x86/kvm/x86.c', line: 1, column: 1 } }, loc: { file: 'arch/x86/kvm/x86.c', line: 1, column: 1 }, endLine: 3, origin: 'tree', errorLines: [] }],
    ops: [['set_dr7', 'svm_set_dr7']], tables: [], errorLines: [],
  });

  it('a file is stored the second time its text is seen, read the third, and any change of text or tool version is a miss', () => {
    const root = mkdtempSync(join(tmpdir(), 'kvm-lens-lowered-'));
    try {
      const cache = LoweredFileCache.at(root, 'release-1');
      const text = 'int f(void) { return 0; }\n';
      cache.offer('x86.c', text, () => lowered('f'));
      assert.equal(cache.get('x86.c', text), undefined, 'seen once: only marked, nothing lowered was written');
      cache.offer('x86.c', text, () => lowered('f'));
      assert.deepEqual(cache.get('x86.c', text), lowered('f'));
      assert.equal(cache.get('x86.c', text + ' '), undefined, 'one more byte');
      assert.equal(cache.get('svm.c', text), undefined, 'another path');
      assert.equal(LoweredFileCache.at(root, 'release-2').get('x86.c', text), undefined, 'another version of the tool');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a damaged or cut entry is ignored, and the next offer writes it whole again', () => {
    const root = mkdtempSync(join(tmpdir(), 'kvm-lens-lowered-bad-'));
    try {
      const cache = LoweredFileCache.at(root, 'v');
      const text = 'int g(void) { return 1; }\n';
      cache.offer('x86.c', text, () => lowered('g'));
      cache.offer('x86.c', text, () => lowered('g'));
      const entry = filesUnder(root).find((f) => f.endsWith('.json'))!;
      const whole = readFileSync(entry, 'utf8');
      writeFileSync(entry, whole.slice(0, whole.length - 10));
      assert.equal(cache.get('x86.c', text), undefined, 'cut short');
      writeFileSync(entry, whole.replace('"g"', '"h"'));
      assert.equal(cache.get('x86.c', text), undefined, 'changed inside');
      cache.offer('x86.c', text, () => lowered('g'));
      assert.deepEqual(cache.get('x86.c', text), lowered('g'), 'rewritten');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('never inside the tree', () => {
    const tree = mkdtempSync(join(tmpdir(), 'kvm-lens-lowered-tree-'));
    try {
      assert.equal(LoweredFileCache.open([tree], join(tree, '.cache', 'kvm-lens')), undefined);
      assert.ok(LoweredFileCache.open([tree], join(tmpdir(), 'elsewhere', 'kvm-lens')));
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});
