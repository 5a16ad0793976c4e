// Review annotations as VS Code comment threads on a series: on any line of a patch (changed
// and context lines, the commit message, the cover letter), kept in the sidecar file next to the
// series on every change, placed again when the series is reopened or revised; findings can be
// added to the review, trailers given per patch or for the whole series, and the replies
// composed in the kernel's trimmed interleaved style, previewed before they are written.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { errnoText } from '../core/io/boundedRead';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { Finding } from '../core/findings';
import {
  SIDECAR_SUFFIX, anchorAt, authorText, findingToAnnotation, formatReviewFile, loadReviewFile, newReview, patchKeyOf, placeAnnotations, reviewerIdentity, saveReviewFile, sidecarPath,
} from '../core/review/annotations';
import { readTextFileSync } from '../core/review/sidecarFile';
import { composeReplyBatch, previewText } from '../core/review/replyComposer';
import type { Annotation, ReviewFile, ReviewTrailer } from '../core/review/types';
import { assembleSeries, parseSeriesText } from '../core/series/seriesReader';
import type { Patch, Series } from '../core/series/types';
import type { SeriesDocuments } from './seriesDocuments';
import { siblingTexts } from './seriesDocuments';

class Note implements vscode.Comment {
  mode = vscode.CommentMode.Preview;
  /** While editing, the text being edited (VS Code writes the edit into `body`). */
  private draft: string | vscode.MarkdownString | undefined;
  constructor(readonly annotation: Annotation) {}
  get body(): string | vscode.MarkdownString {
    if (this.mode === vscode.CommentMode.Editing) return this.draft ?? this.annotation.body;
    const md = new vscode.MarkdownString();
    md.appendText(this.annotation.body);
    return md;
  }
  set body(value: string | vscode.MarkdownString) { this.draft = value; }
  get editedText(): string { return typeof this.draft === 'string' ? this.draft : this.draft?.value ?? this.annotation.body; }
  get author(): vscode.CommentAuthorInformation { return { name: this.annotation.author }; }
  get label(): string | undefined { return this.unconfirmed ? 'draft from a finding: confirm or edit it to send' : this.annotation.state === 'draft' ? 'draft' : undefined; }
  /** A draft "Add to review" made: no reply carries it until the reviewer confirms it. */
  get unconfirmed(): boolean { return this.annotation.fromFinding !== undefined && this.annotation.state === 'draft'; }
  get contextValue(): string { return this.unconfirmed ? 'kvmLens.note.unconfirmed' : 'kvmLens.note'; }
}

/** A series as the review sees it: where its sidecar lives and what its patches are now. */
export interface ReviewScope {
  sidecar: string;
  series: Series;
  texts: Map<string, string>;
}

export class ReviewComments implements vscode.Disposable {
  private readonly controller = vscode.comments.createCommentController('kvmLens.review', 'KVM Lens review');
  private readonly threads = new Map<string, vscode.CommentThread[]>();
  private readonly subscriptions: vscode.Disposable[] = [];
  /** One watcher per directory that holds an open series' review file. */
  private readonly watchers = new Map<string, FSWatcher>();
  /** The text this editor last wrote to each review file: its own saves need no redraw. */
  private readonly written = new Map<string, string>();
  private readonly changedOnDisk = new Set<string>();
  private changeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly documents: SeriesDocuments, private readonly output: vscode.OutputChannel) {
    this.controller.options = { prompt: 'Comment on this line for the reply', placeHolder: 'Your review comment (plain text, it is quoted under this line)' };
    this.controller.commentingRangeProvider = {
      provideCommentingRanges: (doc) => (documents.isSeries(doc) && doc.uri.scheme === 'file' ? [new vscode.Range(0, 0, Math.max(0, doc.lineCount - 1), 0)] : []),
    };
    this.subscriptions.push(
      this.controller,
      vscode.workspace.onDidOpenTextDocument((d) => this.show(d)),
      vscode.commands.registerCommand('kvmLens.review.createNote', (reply: vscode.CommentReply) => this.createNote(reply)),
      vscode.commands.registerCommand('kvmLens.review.deleteNote', (note: Note) => this.deleteNote(note)),
      vscode.commands.registerCommand('kvmLens.review.editNote', (note: Note) => this.setMode(note, vscode.CommentMode.Editing)),
      vscode.commands.registerCommand('kvmLens.review.cancelEdit', (note: Note) => this.setMode(note, vscode.CommentMode.Preview)),
      vscode.commands.registerCommand('kvmLens.review.saveNote', (note: Note) => this.saveNote(note)),
      vscode.commands.registerCommand('kvmLens.review.confirmNote', (note: Note | string) => this.confirmNote(note)),
      vscode.commands.registerCommand('kvmLens.review.resolveThread', (thread: vscode.CommentThread) => this.resolve(thread, true)),
      vscode.commands.registerCommand('kvmLens.review.unresolveThread', (thread: vscode.CommentThread) => this.resolve(thread, false)),
      vscode.commands.registerCommand('kvmLens.review.addNote', (uri: vscode.Uri, line: number, body: string) => this.addNote(uri, line, body)),
      vscode.commands.registerCommand('kvmLens.review.addFinding', (uri: vscode.Uri, key: string) => this.addFinding(uri, key)),
      vscode.commands.registerCommand('kvmLens.review.addTrailer', (key?: ReviewTrailer['key'], wholeSeries?: boolean) => this.addTrailer(key, wholeSeries)),
      vscode.commands.registerCommand('kvmLens.review.composeReplies', (outDir?: string) => this.compose(outDir)),
    );
    for (const d of vscode.workspace.textDocuments) this.show(d);
  }

  /** The series a document belongs to (with its sibling patch files) and its sidecar. */
  scope(doc: vscode.TextDocument): ReviewScope {
    const file = doc.uri.fsPath;
    const siblings = siblingTexts(doc, file);
    const texts = new Map<string, string>([[file, doc.getText()], ...siblings.map((s) => [s.file, s.text] as [string, string])]);
    const parsed = [...texts].map(([f, t]) => parseSeriesText(f, t));
    const series = assembleSeries(parsed.flatMap((p) => p.patches), parsed.flatMap((p) => p.problems));
    return { sidecar: sidecarPath(siblings.length ? dirname(file) : file), series, texts };
  }

  private load(scope: ReviewScope): ReviewFile {
    const loaded = loadReviewFile(scope.sidecar);
    for (const p of loaded.problems) this.output.appendLine(`review: ${p}`);
    if (loaded.problems.length) {
      // a file that could not be read at all (a directory, a FIFO, a dangling link) is not replaced by a save
      const unreadable = loaded.problems[0].includes('cannot read the review file:');
      void vscode.window.showWarningMessage(`KVM Lens: ${loaded.problems[0]}${unreadable ? '' : '. Your next comment saves a new review; the broken file is kept as a backup.'}`);
    }
    return loaded.review ?? newReview(scope.series, this.reviewer(scope));
  }

  private save(scope: ReviewScope, review: ReviewFile): void {
    try {
      this.written.set(scope.sidecar, formatReviewFile(review));
      const result = saveReviewFile(scope.sidecar, review);
      for (const m of result.messages) { this.output.appendLine(`review: ${m}`); void vscode.window.showWarningMessage(`KVM Lens: ${m}`); }
    } catch (e) {
      void vscode.window.showErrorMessage(`KVM Lens: ${(e as Error).message}`);
    }
  }

  /** The reviewer for a new review file: kvmLens.reviewer.*, else git config (trusted workspace only). */
  reviewer(scope: ReviewScope): { name: string; email: string } {
    const c = vscode.workspace.getConfiguration('kvmLens.reviewer');
    // restricted mode runs no process: git config only in a trusted workspace
    const id = reviewerIdentity({ name: c.get<string>('name', ''), email: c.get<string>('email', '') }, { cwd: dirname(scope.sidecar), git: vscode.workspace.isTrusted });
    if (id.problem) this.output.appendLine(`review: ${id.problem}`);
    return { name: id.name, email: id.email };
  }

  /** Shows the sidecars as they are now in every open series document (after something else wrote one). */
  refresh(): void {
    for (const d of vscode.workspace.textDocuments) this.show(d);
  }

  /** The threads shown on a document now: each one's 1-based line and its comments' text (tests). */
  shownThreads(uri: vscode.Uri): { line: number; bodies: string[] }[] {
    return (this.threads.get(uri.toString()) ?? []).map((t) => ({
      line: (t.range?.start.line ?? 0) + 1,
      bodies: t.comments.map((c) => (c instanceof Note ? c.annotation.body : typeof c.body === 'string' ? c.body : c.body.value)),
    }));
  }

  /**
   * Watches the directory of a review file, so one another program writes (\`kvm-lens b4-review
   * import\`, a hand edit, a checkout) is shown at once. fs.watch on the directory, as the
   * editor's own watcher sees only the workspace's folders and a series often lies elsewhere.
   */
  private watch(sidecar: string): void {
    const dir = dirname(sidecar);
    if (this.watchers.has(dir)) return;
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false }, (_event, name) => {
        const file = name === null ? undefined : join(dir, name.toString());
        if (file !== undefined && file.endsWith(SIDECAR_SUFFIX)) this.sidecarChanged(file);
      });
    } catch {
      return; // a directory that cannot be watched: the threads follow this editor's own changes only
    }
    w.on('error', () => { w.close(); this.watchers.delete(dir); });
    this.watchers.set(dir, w);
  }

  private sidecarChanged(file: string): void {
    const ours = this.written.get(file);
    if (ours !== undefined) {
      const now = readTextFileSync(file);
      if (now.ok && now.text === ours) return;
    }
    this.changedOnDisk.add(file);
    // a writer's rename and a save in quick succession are one change
    clearTimeout(this.changeTimer);
    this.changeTimer = setTimeout(() => {
      const files = new Set(this.changedOnDisk);
      this.changedOnDisk.clear();
      for (const d of vscode.workspace.textDocuments) {
        if (!this.documents.isSeries(d) || d.uri.scheme !== 'file' || !files.has(this.scope(d).sidecar)) continue;
        const editing = (this.threads.get(d.uri.toString()) ?? []).some((t) => t.comments.some((c) => c.mode === vscode.CommentMode.Editing));
        if (editing) {
          // redrawing would drop the comment being written
          this.output.appendLine(`review: ${basename(d.uri.fsPath)}'s review file changed on disk while a comment is being edited; it is shown once the edit is saved`);
          continue;
        }
        this.show(d);
      }
    }, 150);
  }

  /** Shows the document's annotations as threads, where their lines are now. */
  private show(doc: vscode.TextDocument): void {
    if (!this.documents.isSeries(doc) || doc.uri.scheme !== 'file') return;
    const scope = this.scope(doc);
    this.watch(scope.sidecar);
    const loaded = loadReviewFile(scope.sidecar);
    const key = doc.uri.toString();
    for (const t of this.threads.get(key) ?? []) t.dispose();
    this.threads.set(key, []);
    if (!loaded.review) return;
    const placement = placeAnnotations(loaded.review, scope.series, { texts: scope.texts });
    const byLine = new Map<number, Annotation[]>();
    for (const p of placement.placed) {
      if (p.patch.file !== doc.uri.fsPath) continue;
      byLine.set(p.patchLine, [...(byLine.get(p.patchLine) ?? []), p.annotation]);
    }
    for (const [line, annotations] of byLine) {
      const thread = this.controller.createCommentThread(doc.uri, new vscode.Range(line - 1, 0, line - 1, 0), annotations.map((a) => new Note(a)));
      thread.canReply = true;
      thread.state = annotations.every((a) => a.resolved) ? vscode.CommentThreadState.Resolved : vscode.CommentThreadState.Unresolved;
      thread.contextValue = 'kvmLens.thread';
      this.threads.get(key)!.push(thread);
    }
    if (placement.orphans.length) this.output.appendLine(`review: ${placement.orphans.length} comment(s) no longer fit ${basename(scope.sidecar)}'s series; kept in the review file under "orphans"`);
  }

  private patchAt(scope: ReviewScope, file: string, line: number): Patch | undefined {
    const all = [...(scope.series.coverLetter ? [scope.series.coverLetter] : []), ...scope.series.patches].filter((p) => p.file === file).sort((a, b) => a.startLine - b.startLine);
    return all.filter((p) => p.startLine <= line).pop();
  }

  /** Adds an annotation at a line of a series document; returns its id, or undefined with a message. */
  private async addNote(uri: vscode.Uri, line: number, body: string, state: Annotation['state'] = 'final'): Promise<string | undefined> {
    const doc = await vscode.workspace.openTextDocument(uri);
    const scope = this.scope(doc);
    const patch = this.patchAt(scope, uri.fsPath, line);
    const anchor = patch && anchorAt(patch, line, doc.getText());
    if (!patch || !anchor) {
      void vscode.window.showInformationMessage('KVM Lens: comments go on the commit message, the cover letter or the lines of a hunk (not on mail headers, the diffstat or hunk headers).');
      return undefined;
    }
    const review = this.load(scope);
    const annotation: Annotation = {
      id: randomUUID(), patch: patchKeyOf(patch), anchor, body, author: authorText(review.reviewer),
      created: new Date().toISOString(), state, resolved: false,
    };
    review.annotations.push(annotation);
    this.save(scope, review);
    this.show(doc);
    return annotation.id;
  }

  private async createNote(reply: vscode.CommentReply): Promise<void> {
    const line = reply.thread.range ? reply.thread.range.start.line + 1 : 1;
    const id = await this.addNote(reply.thread.uri, line, reply.text);
    if (id) reply.thread.dispose(); // show() recreated the line's thread from the sidecar
  }

  private editReview(uri: vscode.Uri, change: (review: ReviewFile) => void): void {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (!doc) return;
    const scope = this.scope(doc);
    const review = this.load(scope);
    change(review);
    this.save(scope, review);
    this.show(doc);
  }

  private threadOf(note: Note): [string, vscode.CommentThread] | undefined {
    for (const [key, threads] of this.threads) {
      const t = threads.find((x) => x.comments.includes(note));
      if (t) return [key, t];
    }
    return undefined;
  }

  private setMode(note: Note, mode: vscode.CommentMode): void {
    const found = this.threadOf(note);
    if (!found) return;
    note.mode = mode;
    found[1].comments = [...found[1].comments]; // VS Code re-reads the comments when the array changes
  }

  /** Saves an edited comment's text (a draft becomes final once edited and saved). */
  private saveNote(note: Note): void {
    const found = this.threadOf(note);
    if (!found) return;
    const text = note.editedText;
    this.editReview(vscode.Uri.parse(found[0]), (r) => {
      for (const a of r.annotations) if (a.id === note.annotation.id) { a.body = text; a.state = 'final'; }
    });
  }

  /** A draft made from a finding, confirmed as it stands (the comment's button, or its annotation id): it goes into the reply. */
  private confirmNote(note: Note | string): void {
    const id = typeof note === 'string' ? note : note.annotation.id;
    for (const [key, threads] of this.threads) {
      if (threads.some((t) => t.comments.some((c) => (c as Note).annotation?.id === id))) {
        this.editReview(vscode.Uri.parse(key), (r) => { for (const a of r.annotations) if (a.id === id) a.state = 'final'; });
      }
    }
  }

  private deleteNote(note: Note): void {
    for (const [key, threads] of this.threads) {
      if (threads.some((t) => t.comments.includes(note))) {
        this.editReview(vscode.Uri.parse(key), (r) => { r.annotations = r.annotations.filter((a) => a.id !== note.annotation.id); });
      }
    }
  }

  private resolve(thread: vscode.CommentThread, resolved: boolean): void {
    const ids = new Set(thread.comments.map((c) => (c as Note).annotation?.id));
    this.editReview(thread.uri, (r) => { for (const a of r.annotations) if (ids.has(a.id)) a.resolved = resolved; });
  }

  /** "Add to review": a finding of the analysis as a draft comment with its trace. */
  private async addFinding(uri: vscode.Uri, key: string): Promise<string | undefined> {
    const doc = await vscode.workspace.openTextDocument(uri);
    const finding: Finding | undefined = this.documents.get(uri)?.analysis.report.findings.find((f) => f.key === key);
    if (!finding) return undefined;
    const scope = this.scope(doc);
    const patch = this.patchAt(scope, uri.fsPath, finding.location.line);
    if (!patch) return undefined;
    const review = this.load(scope);
    const annotation = findingToAnnotation(finding, patch, review.reviewer, doc.getText());
    review.annotations.push(annotation);
    this.save(scope, review);
    this.show(doc);
    return annotation.id;
  }

  private async addTrailer(key?: ReviewTrailer['key'], wholeSeries?: boolean): Promise<void> {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || !this.documents.isSeries(doc)) return;
    const which = key ?? (await vscode.window.showQuickPick(['Reviewed-by', 'Acked-by', 'Tested-by'], { placeHolder: 'Trailer to give' })) as ReviewTrailer['key'] | undefined;
    if (!which) return;
    const scope = this.scope(doc);
    const line = (vscode.window.activeTextEditor?.selection.active.line ?? 0) + 1;
    const patch = this.patchAt(scope, doc.uri.fsPath, line);
    const all = wholeSeries ?? (await vscode.window.showQuickPick([`this patch${patch ? `: ${patch.title}` : ''}`, 'the whole series'], { placeHolder: `${which} for` })) === 'the whole series';
    const review = this.load(scope);
    review.trailers.push(all || !patch ? { key: which } : { key: which, patch: patchKeyOf(patch) });
    this.save(scope, review);
    // say where it will be sent: a series-wide trailer answers the cover letter (or patch 1)
    const target = all || !patch ? (scope.series.coverLetter ?? scope.series.patches[0]) : patch;
    const where = target ? `the reply to "${target.subject}"` : 'no reply: the series has no patch';
    void vscode.window.showInformationMessage(`KVM Lens: ${which} for ${all || !patch ? 'the whole series' : `"${patch.title}"`} goes at the end of ${where}.`);
  }

  /** Composes the replies, previews the first, and writes them all as .eml files. */
  private async compose(outDir?: string): Promise<string[]> {
    const doc = vscode.window.activeTextEditor?.document ?? vscode.workspace.textDocuments.find((d) => this.documents.isSeries(d));
    if (!doc) return [];
    const scope = this.scope(doc);
    const loaded = loadReviewFile(scope.sidecar);
    if (!loaded.review) {
      void vscode.window.showInformationMessage('KVM Lens: no review comments for this series yet.');
      return [];
    }
    const batch = composeReplyBatch(scope.series, loaded.review);
    for (const w of [...batch.warnings, ...batch.replies.flatMap((r) => r.warnings)]) this.output.appendLine(`reply: ${w}`);
    if (batch.replies.length === 0) return [];
    const dir = outDir ?? join(dirname(scope.sidecar), 'review-replies');
    if (!outDir) {
      const preview = await vscode.workspace.openTextDocument({ content: previewText(batch, dir), language: 'plaintext' });
      await vscode.window.showTextDocument(preview, { preview: true });
      const go = await vscode.window.showInformationMessage(`KVM Lens: write ${batch.replies.length} repl${batch.replies.length === 1 ? 'y' : 'ies'} to ${dir}?`, 'Write', 'Cancel');
      if (go !== 'Write') return [];
    }
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      void vscode.window.showErrorMessage(`KVM Lens: ${dir}: cannot create the directory for replies (${errnoText(e)})`);
      return [];
    }
    const written: string[] = [];
    for (const r of batch.replies) {
      const target = join(dir, r.fileName);
      if (existsSync(target) && !outDir) {
        const over = await vscode.window.showWarningMessage(`KVM Lens: ${target} exists.`, 'Overwrite', 'Skip');
        if (over !== 'Overwrite') continue;
      }
      try {
        writeFileSync(target, r.text);
      } catch (e) {
        void vscode.window.showErrorMessage(`KVM Lens: ${target}: cannot write (${errnoText(e)})`);
        continue;
      }
      written.push(target);
    }
    this.output.appendLine(`reply: wrote ${written.join(', ')}`);
    if (written.length > 0) void vscode.window.showInformationMessage(`KVM Lens: wrote ${written.length} repl${written.length === 1 ? 'y' : 'ies'} to ${dir} (${written.map((w) => basename(w)).join(', ')}); send them with your mail client or git send-email.`);
    return written;
  }

  dispose(): void {
    clearTimeout(this.changeTimer);
    for (const w of this.watchers.values()) w.close();
    for (const threads of this.threads.values()) for (const t of threads) t.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}

