// `npm run fuzz`: the properties of test/unit/fuzz, run longer than `npm test` runs them and with
// random seeds. Each property runs in a child process of its own (a crash or a runaway
// allocation costs that child, not the session); a failure is shrunk and written, with its seed,
// path and the commands that replay it, to a file under --out (default: the system temp dir).
//
//   npm run fuzz                          every property, 10x its npm-test runs, one random seed
//   npm run fuzz -- --runs 100000         every property, 100000 runs
//   npm run fuzz -- --minutes 60          rounds with fresh seeds until an hour is up
//   npm run fuzz -- --property reader --seed 123 --path 4:0:2     replay one counterexample

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ALL_PROPERTIES } from '../test/unit/fuzz/allProperties';
import { runFuzz, type FuzzOutcome, type FuzzProperty } from '../test/unit/fuzz/harness';

interface Options {
  runs?: number;
  minutes?: number;
  seed?: number;
  path?: string;
  property?: string;
  out: string;
  list: boolean;
  /** Internal: run one property in this process and print its outcome as JSON. */
  child?: string;
  guardMs?: number;
}

const USAGE = `Usage: npm run fuzz -- [--runs N] [--minutes M] [--seed S] [--path P] [--property TEXT] [--out DIR] [--list]
  --runs N         runs per property per round (default: 10x its npm-test runs)
  --minutes M      repeat rounds with fresh seeds until M minutes have passed
  --seed S         seed of the first round (default: random, printed)
  --path P         with --seed and --property: replay this counterexample path
  --property TEXT  only the properties whose name contains TEXT
  --out DIR        where failures are written (default: ${join(tmpdir(), 'kvm-lens-fuzz')})
  --list           list the properties and exit`;

function parseArgs(argv: string[]): Options {
  const o: Options = { out: join(tmpdir(), 'kvm-lens-fuzz'), list: false };
  const num = (flag: string, v: string | undefined, integer = true): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < 0) usage(`${flag} needs a ${integer ? 'whole ' : ''}number, not "${v ?? ''}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--runs': o.runs = num(a, v); if (o.runs === 0) usage('--runs needs at least 1'); i++; break;
      case '--minutes': o.minutes = num(a, v, false); i++; break;
      case '--seed': o.seed = num(a, v); i++; break;
      case '--path': if (v === undefined) usage('--path needs a value'); o.path = v; i++; break;
      case '--property': if (v === undefined) usage('--property needs a value'); o.property = v; i++; break;
      case '--out': if (v === undefined) usage('--out needs a directory'); o.out = resolve(v); i++; break;
      case '--list': o.list = true; break;
      case '--child': o.child = v; i++; break;
      case '--guard-ms': o.guardMs = num(a, v); i++; break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0);
      default: usage(`unknown argument "${a}"`);
    }
  }
  if (o.child === undefined && o.path !== undefined && (o.seed === undefined || o.property === undefined)) usage('--path replays one counterexample: give --seed and --property too');
  return o;
}

function usage(message: string): never {
  process.stderr.write(`fuzz: ${message}\n${USAGE}\n`);
  process.exit(2);
}

/** Child mode: one property, one seed, the outcome as the last line of stdout. */
async function child(o: Options): Promise<void> {
  const p = ALL_PROPERTIES.find((x) => x.name === o.child);
  if (!p) usage(`no property named "${o.child}"`);
  const outcome = await runFuzz(p, {
    seed: o.seed!, runs: o.runs ?? p.runs,
    ...(o.path !== undefined ? { path: o.path } : {}),
    ...(o.guardMs !== undefined ? { guardMs: o.guardMs, shrinkMs: 600_000 } : {}),
  });
  process.stdout.write('\n' + JSON.stringify(outcome) + '\n');
}

interface ChildResult {
  outcome?: FuzzOutcome;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  killed: boolean;
}

function runChild(p: FuzzProperty, seed: number, runs: number, path: string | undefined, guardMs: number | undefined, killAfterMs: number | undefined): Promise<ChildResult> {
  const args = ['--import', 'tsx', __filename, '--child', p.name, '--seed', String(seed), '--runs', String(runs)];
  if (path !== undefined) args.push('--path', path);
  if (guardMs !== undefined) args.push('--guard-ms', String(Math.max(1, Math.round(guardMs))));
  return new Promise((done, fail) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    c.stdout.setEncoding('utf8').on('data', (d: string) => { stdout = (stdout + d).slice(-10_000_000); });
    c.stderr.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-20_000); });
    const timer = killAfterMs !== undefined ? setTimeout(() => { killed = true; c.kill('SIGKILL'); }, killAfterMs) : undefined;
    c.on('error', fail);
    c.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const last = stdout.trimEnd().split('\n').pop() ?? '';
      let outcome: FuzzOutcome | undefined;
      try { outcome = last.startsWith('{') ? (JSON.parse(last) as FuzzOutcome) : undefined; } catch { outcome = undefined; }
      done({ ...(outcome ? { outcome } : {}), code, signal, stderr, killed });
    });
  });
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function replayLines(p: FuzzProperty, seed: number, path: string | null): string {
  const file = { reader: 'seriesReader', 'reader: absurd': 'seriesTotals', parse: 'cCode', lower: 'cCode', review: 'replyHeaders', cli: 'cliCheck' };
  const test = p.name.startsWith('reader: absurd') ? file['reader: absurd'] : file[p.name.split(':')[0] as keyof typeof file];
  return [
    `npm run fuzz -- --property '${p.name}' --seed ${seed}${path ? ` --path ${path}` : ` --runs <the same --runs>`}`,
    ...(path ? [`FUZZ_SEED=${seed} FUZZ_PATH=${path} node --import tsx --test --test-reporter=spec --test-name-pattern='${p.name.replace(/[[\]]/g, '.')}' test/unit/fuzz/${test}.test.ts`] : []),
  ].join('\n');
}

function writeFailure(dir: string, p: FuzzProperty, seed: number, r: ChildResult): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${slug(p.name)}-${seed}.txt`);
  const o = r.outcome;
  const text = o
    ? [
      `property: ${p.name}`, `seed: ${o.seed}`, `path: ${o.path}`, `runs until the failure: ${o.runs}, shrinks: ${o.shrinks}`, '',
      'counterexample:', o.counterexample ?? '(none)', '', 'error:', o.error ?? '', '', 'fast-check:', o.report ?? '', '',
      'replay:', replayLines(p, o.seed, o.path), '',
    ].join('\n')
    : [
      `property: ${p.name}`, `seed: ${seed}`,
      `the child process ${r.killed ? 'outlived the session and was killed' : `died (exit ${r.code}${r.signal ? `, signal ${r.signal}` : ''})`} before reporting: a crash (out of memory, a fatal V8 error) or a hang on some input of this seed`,
      '', 'stderr (end):', r.stderr, '', 'replay (the same seed generates the same inputs in the same order):', replayLines(p, seed, null), '',
    ].join('\n');
  writeFileSync(file, text);
  return file;
}

async function session(o: Options): Promise<number> {
  const exact = ALL_PROPERTIES.filter((p) => p.name === o.property);
  const props = exact.length > 0 ? exact : ALL_PROPERTIES.filter((p) => o.property === undefined || p.name.includes(o.property));
  if (props.length === 0) usage(`no property name contains "${o.property}" (see --list)`);
  if (o.path !== undefined && props.length > 1) usage(`--path replays one property; "${o.property}" names ${props.length} (see --list)`);
  if (o.list) { for (const p of ALL_PROPERTIES) process.stdout.write(`${p.name}  (npm test: ${p.runs} runs)\n`); return 0; }
  const started = Date.now();
  const deadline = o.minutes !== undefined ? started + o.minutes * 60_000 : undefined;
  let seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  process.stdout.write(`fuzz: seed ${seed}${deadline ? `, rounds until ${new Date(deadline).toISOString()}` : ''}; failures go to ${o.out}\n`);
  let failures = 0;
  let round = 0;
  do {
    round++;
    for (const p of props) {
      const runs = o.runs ?? p.runs * 10;
      const left = deadline !== undefined ? deadline - Date.now() : undefined;
      if (left !== undefined && left <= 0) break;
      const t0 = Date.now();
      // the guard stops new runs at the deadline; the kill is for a child stuck in one run
      const r = await runChild(p, seed, runs, o.path, left, left !== undefined ? left + 600_000 : undefined);
      const s = ((Date.now() - t0) / 1000).toFixed(1);
      if (r.outcome && !r.outcome.failed) {
        process.stdout.write(`  ok    ${p.name}: seed ${seed}, ${r.outcome.runs} runs, ${s} s\n`);
        continue;
      }
      failures++;
      const file = writeFailure(o.out, p, seed, r);
      const what = r.outcome ? `counterexample ${(r.outcome.counterexample ?? '').slice(0, 300)}` : `the child died (exit ${r.code}, signal ${r.signal})`;
      process.stdout.write(`  FAIL  ${p.name}: seed ${seed}${r.outcome ? `, path ${r.outcome.path}` : ''}, ${s} s\n        ${what}\n        written to ${file}\n`);
    }
    seed = (seed + 1) % 2 ** 31;
  } while (deadline !== undefined && Date.now() < deadline && o.path === undefined);
  process.stdout.write(`fuzz: ${round} round(s) in ${((Date.now() - started) / 60_000).toFixed(1)} min, ${failures} failure(s)${failures ? `; see ${o.out}` : ''}\n`);
  return failures > 0 ? 1 : 0;
}

const options = parseArgs(process.argv.slice(2));
(options.child !== undefined ? child(options).then(() => 0) : session(options)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`fuzz: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 3;
});
