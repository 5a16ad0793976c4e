// Preloaded into a measured node process (node --require this-file ...). child_process gives
// the parent no rusage of its child, so the child reports its own peak RSS on the way out:
// process.resourceUsage().maxRSS (KiB, whole process, worker threads included) is written to
// the file named by KVM_LENS_BENCH_RUSAGE_FILE.
'use strict';
const { isMainThread } = require('node:worker_threads');
const file = process.env.KVM_LENS_BENCH_RUSAGE_FILE;
// Worker threads load preloads too; only the main thread's exit is the process's exit.
if (file && isMainThread) {
  process.on('exit', () => {
    try {
      require('node:fs').writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      // the parent reports the figure as missing
    }
  });
}
