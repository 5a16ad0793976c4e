// Bundled by workerMemory.ts and run in a new process: the editor's AnalysisClient audits one
// kernel tree through the analysis worker (a worker thread of this process), as the extension
// does on opening a kernel workspace. argv: ROOT WORKER_SCRIPT. Prints one JSON line.
import { AnalysisClient } from '../../extension/worker/analysisClient';

async function main(): Promise<void> {
  const [root, workerScript] = process.argv.slice(2);
  if (!root || !workerScript) throw new Error('usage: workerMemoryChild ROOT WORKER_SCRIPT');
  // Before any analysis: what the process costs with the client loaded and no worker yet.
  const baselineRss = process.memoryUsage().rss;
  const client = new AnalysisClient(workerScript);
  const t0 = performance.now();
  try {
    const result = await client.analyzeTree({ root, buffers: {}, settings: { depth: 12, vcpus: 2, assumptions: {} } });
    if (!result) throw new Error('the analysis was superseded');
    process.stdout.write(JSON.stringify({
      baselineRssKiB: Math.round(baselineRss / 1024),
      ms: performance.now() - t0,
      states: result.report.stats.statesExplored,
      findings: result.report.findings.filter((f) => f.severity !== 'info').length,
    }) + '\n');
  } finally {
    client.dispose();
  }
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`worker memory: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
