// In a KVM C file of the kernel workspace: hover on a function shows its summary and the ioctls
// that reach it; CodeLens above each handler names the ioctl it serves and its findings.
import * as vscode from 'vscode';
import type { FunctionInfo } from '../core/findings';
import type { KernelWorkspace } from './kernelWorkspace';

export class KernelSourceFeatures implements vscode.HoverProvider, vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly kernel: KernelWorkspace) {
    this.subscription = kernel.onDidAnalyse(() => this.changed.fire());
  }

  provideHover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const line = position.line + 1;
    const fn = this.kernel.functionsOf(doc).find((f) => f.line <= line && line <= f.endLine);
    return fn ? new vscode.Hover(summaryMarkdown(fn)) : undefined;
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const findings = this.kernel.findingsIn(doc);
    const lenses: vscode.CodeLens[] = [];
    for (const fn of this.kernel.functionsOf(doc)) {
      if (!fn.handles?.length) continue;
      const inFn = findings.filter((f) => f.location.line >= fn.line && f.location.line <= fn.endLine && f.rule !== 'analysis-incomplete').length;
      const range = new vscode.Range(fn.line - 1, 0, fn.line - 1, 0);
      lenses.push(new vscode.CodeLens(range, {
        title: `KVM Lens: handles ${fn.handles.join(', ')} · ${inFn} finding${inFn === 1 ? '' : 's'}`,
        command: 'workbench.actions.view.problems', tooltip: 'Show the findings in the Problems panel',
      }));
    }
    return lenses;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

export function summaryMarkdown(fn: FunctionInfo): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  const origin = fn.origin === 'tree' ? 'from this tree' : fn.origin === 'series' ? 'defined whole by the series' : 'the built-in model with this series\' changes merged in';
  md.appendMarkdown(`**${fn.name}()** — ${origin}${fn.handles?.length ? `; handler of ${fn.handles.map((h) => `\`${h}\``).join(', ')}` : ''}\n\n`);
  md.appendCodeblock(fn.summary.join('\n'), 'text');
  md.appendMarkdown(fn.reachedBy.length ? `\nReached by: ${fn.reachedBy.map((o) => `\`${o}\``).join(', ')}` : '\nNo simulated ioctl reaches it.');
  return md;
}
