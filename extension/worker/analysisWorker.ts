// Runs analyses off the extension host's main thread: the editor stays responsive while the
// simulation explores. One message in, one message out, plain data both ways. A kernel tree
// stays open between requests, so an edit re-parses one file and re-runs what it affects, and a
// series checked against the tree uses the same session (put back as it was afterwards).
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { readRegularFileSync } from '../core/io/boundedRead';
import { MAX_FILE_BYTES } from '../core/tree/kernelTree';
import { TreeSession } from '../core/analysis/analyzeTree';
import { checkSeriesInSession, unusableTree } from '../core/analysis/seriesInSession';
import { LoweredFileCache } from '../core/cache/loweredFileCache';
import { analyzeDocument, optionsFromSettings, seriesOfRequest, type DocumentAnalysis, type DocumentRequest } from '../translate/documentAnalysis';
import type { TreeAnalysis, TreeRequest } from '../translate/treeAnalysis';
import { treeSeriesAnalysis, type TreeSeriesRequest } from '../translate/treeSeriesAnalysis';
import { simulateSequence, type SequenceRequest } from '../translate/sequenceSimulation';
import type { PatchRef, WhatIfValues } from '../translate/simulationWhatIf';
import { whatIf } from '../translate/whatIf';

export type WorkerRequest =
  | { kind: 'series'; request: DocumentRequest }
  | { kind: 'tree'; request: TreeRequest }
  | { kind: 'treeSeries'; request: TreeSeriesRequest }
  | { kind: 'sequence'; request: SequenceRequest }
  | { kind: 'whatIf'; request: DocumentRequest & { through?: PatchRef }; values: WhatIfValues };

/** The open tree, and the files whose text came from an editor buffer (they go back to disk when the buffer is gone). */
let tree: { root: string; session: TreeSession; fromBuffers: Set<string> } | undefined;

/**
 * The session of `root` with the editor's open buffers in it: the one already open, else the
 * tree parsed (or read from the lowered-file cache). A file a buffer set before and no buffer
 * holds now (closed) is the text on disk again.
 */
async function sessionWith(root: string, buffers: Record<string, string>): Promise<TreeSession> {
  if (!tree || tree.root !== root) {
    tree?.session.dispose();
    tree = undefined;
    tree = { root, session: await TreeSession.open(root, LoweredFileCache.open([root])), fromBuffers: new Set() };
  }
  const texts = tree.session.texts();
  for (const [path, text] of Object.entries(buffers)) if (texts.get(path) !== text) await tree.session.setText(path, text);
  for (const path of tree.fromBuffers) {
    if (path in buffers) continue;
    const disk = diskText(root, path);
    if (disk !== texts.get(path)) await tree.session.setText(path, disk);
  }
  tree.fromBuffers = new Set(Object.keys(buffers));
  return tree.session;
}

/** A tree file's text on disk; undefined when it is not there (a buffer that was never saved). */
function diskText(root: string, path: string): string | undefined {
  const read = readRegularFileSync(join(root, ...path.split('/')), MAX_FILE_BYTES);
  return read.ok ? read.bytes.toString('utf8') : undefined;
}

async function analyzeTreeRequest(req: TreeRequest): Promise<TreeAnalysis> {
  const started = performance.now();
  const session = await sessionWith(req.root, req.buffers);
  const report = await session.analyze({ patches: [], problems: [] }, optionsFromSettings(req.settings).options);
  return { report, functions: session.describe(req.describe ?? []), ms: performance.now() - started };
}

async function analyzeTreeSeriesRequest(req: TreeSeriesRequest): Promise<DocumentAnalysis> {
  const session = await sessionWith(req.root, req.buffers);
  const unusable = unusableTree(session);
  if (unusable) {
    // not a tree with x86 KVM (a wrong kvmLens.kernelTree): the built-in model, and why, rather than nothing
    const model = await analyzeDocument(req);
    return { ...model, settingsProblems: [...model.settingsProblems, `kernel tree ${req.root}: ${unusable}; the series was checked against the built-in model`] };
  }
  const series = seriesOfRequest(req);
  const { options, problems } = optionsFromSettings(req.settings);
  const check = await checkSeriesInSession(session, series, options, { git: req.git });
  return treeSeriesAnalysis(check, series, req.root, problems);
}

parentPort?.on('message', async (msg: { id: number; work: WorkerRequest }) => {
  try {
    const w = msg.work;
    const result = w.kind === 'series' ? await analyzeDocument(w.request)
      : w.kind === 'tree' ? await analyzeTreeRequest(w.request)
        : w.kind === 'treeSeries' ? await analyzeTreeSeriesRequest(w.request)
          : w.kind === 'sequence' ? await simulateSequence(w.request)
            : await whatIf(w.request, w.values);
    parentPort?.postMessage({ id: msg.id, result });
  } catch (e) {
    parentPort?.postMessage({ id: msg.id, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
  }
});
