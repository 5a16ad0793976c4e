// Runs analyses off the extension host's main thread: the editor stays responsive while the
// simulation explores. One message in, one message out, plain data both ways. A kernel tree
// stays open between requests, so an edit re-parses one file and re-runs what it affects.
import { parentPort } from 'node:worker_threads';
import { TreeSession } from '../core/analysis/analyzeTree';
import { LoweredFileCache } from '../core/cache/loweredFileCache';
import { analyzeDocument, optionsFromSettings, type DocumentRequest } from '../translate/documentAnalysis';
import type { TreeAnalysis, TreeRequest } from '../translate/treeAnalysis';
import { simulateSequence, type SequenceRequest } from '../translate/sequenceSimulation';
import { whatIf } from '../translate/whatIf';

export type WorkerRequest =
  | { kind: 'series'; request: DocumentRequest }
  | { kind: 'tree'; request: TreeRequest }
  | { kind: 'sequence'; request: SequenceRequest }
  | { kind: 'whatIf'; request: DocumentRequest; assumptions: Record<string, string> };

let tree: { root: string; session: TreeSession } | undefined;

async function analyzeTreeRequest(req: TreeRequest): Promise<TreeAnalysis> {
  const started = performance.now();
  if (!tree || tree.root !== req.root) {
    tree?.session.dispose();
    tree = { root: req.root, session: await TreeSession.open(req.root, LoweredFileCache.open([req.root])) };
  }
  const texts = tree.session.texts();
  for (const [path, text] of Object.entries(req.buffers)) if (texts.get(path) !== text) await tree.session.setText(path, text);
  const report = await tree.session.analyze({ patches: [], problems: [] }, optionsFromSettings(req.settings).options);
  return { report, functions: tree.session.describe(req.describe ?? []), ms: performance.now() - started };
}

parentPort?.on('message', async (msg: { id: number; work: WorkerRequest }) => {
  try {
    const w = msg.work;
    const result = w.kind === 'series' ? await analyzeDocument(w.request)
      : w.kind === 'tree' ? await analyzeTreeRequest(w.request)
        : w.kind === 'sequence' ? await simulateSequence(w.request)
          : await whatIf(w.request, w.assumptions);
    parentPort?.postMessage({ id: msg.id, result });
  } catch (e) {
    parentPort?.postMessage({ id: msg.id, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
  }
});
