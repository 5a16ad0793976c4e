// Two commands on a series: "Send Review to b4 review" (the review file's open comments and
// trailers added to the tracking commit of the series' b4/review/<change-id> branch, after a
// modal confirmation) and "Import Review from b4 review" (the comments and trailers b4 holds for
// the reviewer added to the review file, shown at once as comment threads). The moves themselves
// are translate/b4ReviewMove.ts; this file finds the series and the checkout, asks, and says how
// it ended. Both run git, so both refuse in an untrusted workspace.
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import {
  checkoutDirectory, importReviewFromB4, sendReviewToB4, type B4MoveQuestions, type BranchChoice, type MoveOutcome,
} from '../translate/b4ReviewMove';
import type { ReviewComments } from './reviewComments';
import type { SeriesDocuments } from './seriesDocuments';

export const SEND_TO_B4_COMMAND = 'kvmLens.review.sendToB4';
export const IMPORT_FROM_B4_COMMAND = 'kvmLens.review.importFromB4';

/** What a caller (a test, another extension) may give instead of the questions the user is asked. */
export interface B4CommandOptions {
  /** The branch (b4/review/<change-id> or the change-id) instead of looking for it or asking. */
  branch?: string;
  /** Send: true writes without the modal confirmation. */
  confirmed?: boolean;
}

const TITLES = { send: 'Send Review to b4 review', import: 'Import Review from b4 review' } as const;

export class B4ReviewCommands implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly documents: SeriesDocuments, private readonly review: ReviewComments, private readonly output: vscode.OutputChannel) {
    this.subscriptions = [
      vscode.commands.registerCommand(SEND_TO_B4_COMMAND, (uri?: unknown, options?: unknown) => this.run('send', uri, options)),
      vscode.commands.registerCommand(IMPORT_FROM_B4_COMMAND, (uri?: unknown, options?: unknown) => this.run('import', uri, options)),
    ];
  }

  /** The series document: the one given, else the active editor's, else the only series visible. */
  private async seriesDocument(given: unknown): Promise<vscode.TextDocument | undefined> {
    if (given instanceof vscode.Uri) {
      const doc = await vscode.workspace.openTextDocument(given);
      return this.documents.isSeries(doc) ? doc : undefined;
    }
    const active = vscode.window.activeTextEditor?.document;
    if (active && this.documents.isSeries(active)) return active;
    const visible = [...new Set(vscode.window.visibleTextEditors.map((e) => e.document).filter((d) => this.documents.isSeries(d)))];
    return visible.length === 1 ? visible[0] : undefined;
  }

  private async run(action: 'send' | 'import', given: unknown, rawOptions: unknown): Promise<MoveOutcome> {
    const title = TITLES[action];
    const options: B4CommandOptions = typeof rawOptions === 'object' && rawOptions !== null ? rawOptions as B4CommandOptions : {};
    if (!vscode.workspace.isTrusted) {
      const message = `${title} runs git in the kernel checkout, which KVM Lens does only in a trusted workspace: trust this folder (Workspaces: Manage Workspace Trust), then run it again.`;
      void vscode.window.showWarningMessage(`KVM Lens: ${message}`);
      return { kind: 'failed', message };
    }
    const doc = await this.seriesDocument(given);
    if (!doc || doc.uri.scheme !== 'file') {
      const message = `open a series saved on disk first (a .patch, .mbox, .mbx or b4 .cover file), then run ${title}.`;
      void vscode.window.showInformationMessage(`KVM Lens: ${message}`);
      return { kind: 'failed', message };
    }
    let warnings = 0;
    const questions: B4MoveQuestions = {
      pickBranch: (choices, why) => this.pickBranch(title, choices, why),
      confirm: async (question) => options.confirmed === true
        || (await vscode.window.showInformationMessage(`KVM Lens: ${question}`, { modal: true, detail: 'b4 review then shows them and sends them with the rest of your review; nothing already on the branch is changed.' }, 'Add')) === 'Add',
      warn: (line) => { warnings++; this.output.appendLine(`b4 review: ${line}`); },
    };
    let outcome: MoveOutcome;
    try {
      const scope = this.review.scope(doc);
      const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
      const checkout = checkoutDirectory(vscode.workspace.getConfiguration('kvmLens').get<string>('kernelTree', ''), folders, dirname(doc.uri.fsPath));
      const request = { series: scope.series, sidecar: scope.sidecar, checkout, ...(options.branch !== undefined ? { branch: options.branch } : {}) };
      outcome = action === 'send'
        ? await sendReviewToB4(request, questions)
        : await importReviewFromB4({ ...request, reviewer: this.review.reviewer(scope) }, questions);
    } catch (e) {
      // a bug of ours: the stack to the output channel, one line to the user
      this.output.appendLine(`b4 review: ${title} failed: ${(e as Error).stack ?? String(e)}`);
      outcome = { kind: 'failed', message: `${title} failed: ${(e as Error).message}` };
    }
    if (action === 'import' && outcome.kind === 'done') this.review.refresh();
    if (outcome.message !== '') this.output.appendLine(`b4 review: ${outcome.message}`);
    const more = warnings > 0 ? ` (${warnings} warning${warnings === 1 ? '' : 's'} in the KVM Lens output)` : '';
    if (outcome.kind === 'failed') void vscode.window.showErrorMessage(`KVM Lens: ${outcome.message}${more}`);
    else if (outcome.kind !== 'cancelled') void vscode.window.showInformationMessage(`KVM Lens: ${outcome.message}${more}`);
    return outcome;
  }

  private async pickBranch(title: string, choices: BranchChoice[], why: string): Promise<string | undefined> {
    const items = choices.map((c) => ({ label: c.name, description: c.subject, ...(c.matches ? { detail: 'matches this series' } : {}) }));
    const picked = await vscode.window.showQuickPick(items, { title: `KVM Lens: ${title}`, placeHolder: `Which b4 review branch? ${why}`, matchOnDescription: true });
    return picked?.label;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
