// The extension host's side of the analysis worker: one worker, one analysis at a time, and
// per document only the newest request waits (typing supersedes what was queued before).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DocumentAnalysis, DocumentRequest } from '../translate/documentAnalysis';
import type { TreeAnalysis, TreeRequest } from '../translate/treeAnalysis';
import type { TreeSeriesRequest } from '../translate/treeSeriesAnalysis';
import type { WorkerRequest } from './analysisWorker';
import type { SequenceRequest, SequenceResult } from '../translate/sequenceSimulation';
import type { PatchRef, WhatIfValues } from '../translate/simulationWhatIf';
import type { WhatIfResult } from '../translate/whatIf';

interface Pending { key: string; work: WorkerRequest; resolve: (r: unknown) => void; reject: (e: Error) => void }

export class AnalysisClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private running: { id: number; pending: Pending } | undefined;
  private readonly queue: Pending[] = [];

  constructor(private readonly workerScript: string = defaultWorkerScript()) {}

  /**
   * Analyses a document; resolves undefined when a newer request for the same key replaced this
   * one before it started (the caller then simply waits for the newer result).
   */
  analyze(key: string, request: DocumentRequest): Promise<DocumentAnalysis | undefined> {
    return this.enqueue(key, { kind: 'series', request }) as Promise<DocumentAnalysis | undefined>;
  }

  /**
   * Checks a document's series against a kernel tree, in the session the tree's audit uses; the
   * same key as analyze(), so a newer request for the document replaces an older one of either kind.
   */
  analyzeOnTree(key: string, request: TreeSeriesRequest): Promise<DocumentAnalysis | undefined> {
    return this.enqueue(key, { kind: 'treeSeries', request }) as Promise<DocumentAnalysis | undefined>;
  }

  /** Audits a kernel tree with the given open buffers (the worker keeps the tree between calls). */
  analyzeTree(request: TreeRequest): Promise<TreeAnalysis | undefined> {
    return this.enqueue(`tree:${request.root}`, { kind: 'tree', request }) as Promise<TreeAnalysis | undefined>;
  }

  /** Runs one chosen ioctl sequence over a series (the simulation panel). */
  simulateSequence(request: SequenceRequest): Promise<SequenceResult | undefined> {
    return this.enqueue(`sequence:${request.file}`, { kind: 'sequence', request }) as Promise<SequenceResult | undefined>;
  }

  /** The findings that appear or vanish under other what-if values (the series up to `through`, when given). */
  whatIf(request: DocumentRequest & { through?: PatchRef }, values: WhatIfValues): Promise<WhatIfResult | undefined> {
    return this.enqueue(`whatif:${request.file}`, { kind: 'whatIf', request, values }) as Promise<WhatIfResult | undefined>;
  }

  private enqueue(key: string, work: WorkerRequest): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const stale = this.queue.findIndex((p) => p.key === key);
      if (stale >= 0) this.queue.splice(stale, 1)[0].resolve(undefined);
      this.queue.push({ key, work, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const pending = this.queue.shift()!;
    const id = this.nextId++;
    this.running = { id, pending };
    this.ensureWorker().postMessage({ id, work: pending.work });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.workerScript);
    w.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
      const run = this.running;
      if (!run || run.id !== msg.id) return;
      this.running = undefined;
      if (msg.error !== undefined) run.pending.reject(new Error(msg.error));
      else run.pending.resolve(msg.result);
      this.pump();
    });
    w.on('error', (e) => this.fail(e));
    w.on('exit', (code) => { if (code !== 0) this.fail(new Error(`analysis worker exited with code ${code}`)); });
    this.worker = w;
    return w;
  }

  private fail(e: Error): void {
    this.worker = undefined;
    const run = this.running;
    this.running = undefined;
    run?.pending.reject(e);
    this.pump();
  }

  dispose(): void {
    for (const p of this.queue.splice(0)) p.resolve(undefined);
    void this.worker?.terminate();
    this.worker = undefined;
  }
}

/** dist/analysisWorker.js next to the bundle that uses it. */
function defaultWorkerScript(): string {
  for (const candidate of [join(__dirname, 'analysisWorker.js'), join(__dirname, '..', '..', 'dist', 'analysisWorker.js')]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`kvm-lens: analysisWorker.js not found next to ${__dirname}; run "npm run build"`);
}
