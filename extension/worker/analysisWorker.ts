// Runs analyses off the extension host's main thread: the editor stays responsive while the
// simulation explores. One message in, one message out, plain data both ways. A kernel tree
// stays open between requests, so an edit re-parses one file and re-runs what it affects.
import { parentPort } from 'node:worker_threads';
import { TreeSession } from '../core/analysis/analyzeTree';
import { analyzeDocument, optionsFromSettings, type DocumentRequest } from '../translate/documentAnalysis';
import type { TreeAnalysis, TreeRequest } from '../translate/treeAnalysis';

export type WorkerRequest = { kind: 'series'; request: DocumentRequest } | { kind: 'tree'; request: TreeRequest };

let tree: { root: string; session: TreeSession } | undefined;

async function analyzeTreeRequest(req: TreeRequest): Promise<TreeAnalysis> {
  const started = performance.now();
  if (!tree || tree.root !== req.root) {
    tree?.session.dispose();
    tree = { root: req.root, session: await TreeSession.open(req.root) };
  }
  const texts = tree.session.texts();
  for (const [path, text] of Object.entries(req.buffers)) if (texts.get(path) !== text) await tree.session.setText(path, text);
  const report = await tree.session.analyze({ patches: [], problems: [] }, optionsFromSettings(req.settings).options);
  return { report, ms: performance.now() - started };
}

parentPort?.on('message', async (msg: { id: number; work: WorkerRequest }) => {
  try {
    const result = msg.work.kind === 'series' ? await analyzeDocument(msg.work.request) : await analyzeTreeRequest(msg.work.request);
    parentPort?.postMessage({ id: msg.id, result });
  } catch (e) {
    parentPort?.postMessage({ id: msg.id, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
  }
});
