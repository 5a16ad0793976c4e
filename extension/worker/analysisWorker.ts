// Runs document analyses off the extension host's main thread: the editor stays responsive
// while the simulation explores. One message in, one message out, plain data both ways.
import { parentPort } from 'node:worker_threads';
import { analyzeDocument, type DocumentRequest } from '../translate/documentAnalysis';

parentPort?.on('message', async (msg: { id: number; request: DocumentRequest }) => {
  try {
    const result = await analyzeDocument(msg.request);
    parentPort?.postMessage({ id: msg.id, result });
  } catch (e) {
    parentPort?.postMessage({ id: msg.id, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
  }
});
