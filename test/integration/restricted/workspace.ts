// The folder the restricted-mode run opens, made by scripts/run-restricted-tests.mjs before the
// host starts (a workspace must exist to be opened) and read back by the suite from its place:
//
//   TMP/linux/                  the workspace: a kernel-like git repository of the built-in model's
//                               C (our own) with a Makefile and Kconfig, checked out at the
//                               series' base, with series.mbox in it
//                               and .vscode/settings.json pointing kvmLens.kernelTree at TMP/outside
//   TMP/outside/linux/          another kernel-like tree, outside the workspace
//   TMP/bin/git                 a fake git the host finds first on its PATH: it only leaves TMP/git-ran
//   TMP/workspace-files.json    the workspace's files as made, to compare with after the suite acted
import { chmodSync, lstatSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { git, makeKernelSeriesRepo } from '../../unit/support/kernelSeriesRepo';

export interface RestrictedLayout {
  workspace: string;
  series: string;
  outside: string;
  bin: string;
  marker: string;
  filesAtStart: string;
}

export function restrictedLayout(tmp: string): RestrictedLayout {
  return {
    workspace: join(tmp, 'linux'),
    series: join(tmp, 'linux/series.mbox'),
    outside: join(tmp, 'outside/linux'),
    bin: join(tmp, 'bin'),
    marker: join(tmp, 'git-ran'),
    filesAtStart: join(tmp, 'workspace-files.json'),
  };
}

/** Every file and directory under `dir` with its size and mtime: a write, a new file or a removal changes it. */
export function fileList(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      out.push(`${relative(dir, p)}${st.isDirectory() ? '/' : ` ${st.size} ${st.mtimeMs}`}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

// with the Makefile, what makes the folder a kernel tree's top
const KCONFIG = '# a kernel-like tree for the tests\nmainmenu "kvm-lens test tree"\n';

/** Makes the layout under `tmp` (an empty directory) from the model C in `modelDir`; git runs here, before the host starts. */
export function makeRestrictedWorkspace(tmp: string, modelDir: string): RestrictedLayout {
  const at = restrictedLayout(tmp);
  const made = makeKernelSeriesRepo(tmp, modelDir);
  // the series is what the checkout lacks: opened on its base, patch 2 brings the DR7 finding
  git(made.repo, 'checkout', '-q', '--detach', made.base);
  renameSync(made.mbox, at.series);
  const outside = makeKernelSeriesRepo(join(tmp, 'outside'), modelDir);
  for (const tree of [made.repo, outside.repo]) writeFileSync(join(tree, 'Kconfig'), KCONFIG);
  mkdirSync(join(at.workspace, '.vscode'));
  writeFileSync(join(at.workspace, '.vscode/settings.json'), JSON.stringify({ 'kvmLens.kernelTree': at.outside }, null, 2) + '\n');
  mkdirSync(at.bin);
  // who ran it goes into the marker, so a failure names the process
  writeFileSync(join(at.bin, 'git'), `#!/bin/sh\nprintf 'git %s (parent: %s)\\n' "$*" "$(tr '\\0' ' ' < /proc/$PPID/cmdline 2>/dev/null)" >> '${at.marker}'\nexit 1\n`);
  chmodSync(join(at.bin, 'git'), 0o755);
  writeFileSync(at.filesAtStart, JSON.stringify(fileList(at.workspace), null, 1) + '\n');
  return at;
}
