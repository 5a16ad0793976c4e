// "Explain this finding" as a page: the finding, its rule's paragraph, where the series
// introduced (and fixed) it, and the trace as a numbered list. Every place (a patch line, a C
// line of the tree or the model) is a link the page hands back by number, so the editor opens
// it, in the kernel tree when there is one: a webview, since VS Code's markdown preview shows
// file: links as text and runs no command links.
import { patchName } from '../core/report/patchName';
import type { Finding } from '../core/findings';
import { ruleMeta } from '../core/rules/ruleCatalog';

export interface ExplainOptions {
  /** Severity the user's settings show, when it differs from the rule's. */
  shownSeverity?: string;
}

/** A place the page links to: what it shows, and where the editor opens it. */
export interface ExplainPlace {
  label: string;
  file: string;
  line: number;
  column?: number;
}

export interface ExplainPage {
  title: string;
  /** The page's body as HTML (no script; links carry `data-place`, an index into `places`). */
  html: string;
  places: ExplainPlace[];
}

export function explainTitle(f: Finding): string {
  return `${f.rule}${f.location.function ? ` in ${f.location.function}()` : ''}`;
}

export function explainPage(f: Finding, options: ExplainOptions = {}): ExplainPage {
  const meta = ruleMeta(f.rule);
  const places: ExplainPlace[] = [];
  const place = (file: string, line: number, column?: number, label?: string): string => {
    const p: ExplainPlace = { label: label ?? `${baseName(file)}:${line}${column ? `:${column}` : ''}`, file, line, ...(column ? { column } : {}) };
    places.push(p);
    return `<a href="#" data-place="${places.length - 1}">${esc(p.label)}</a>`;
  };
  const out: string[] = [];
  out.push(`<h1>${esc(explainTitle(f))}</h1>`);
  out.push(`<p class="head"><strong>${esc(options.shownSeverity ?? f.severity)}</strong> · <code>${esc(f.rule)}</code> · ${place(f.location.file, f.location.line, f.location.column)}</p>`);
  out.push(`<p class="message">${esc(f.message)}</p>`);
  if (f.introducedBy) out.push(`<p>Introduced by ${place(f.introducedBy, f.introducedByPatch?.line ?? 1, undefined, patchName(f.introducedBy, f.introducedByPatch, true))}.</p>`);
  if (f.fixedBy) out.push(`<p>Fixed by ${place(f.fixedBy, f.fixedByPatch?.line ?? 1, undefined, patchName(f.fixedBy, f.fixedByPatch, true))}.</p>`);
  out.push('<h2>The rule</h2>', `<p><em>${esc(meta.shortDescription)}</em></p>`, `<p>${esc(meta.fullDescription)}</p>`);
  out.push('<h2>Trace</h2>');
  if (f.trace.length === 0) out.push('<p>No trace: the finding does not depend on an ioctl sequence.</p>');
  else {
    out.push('<ol class="trace">');
    for (const s of f.trace) {
      const vcpu = s.vcpu === null ? '' : ` (vcpu ${s.vcpu})`;
      out.push(`<li><code>${esc(s.operation)}</code>${esc(vcpu)}: ${esc(s.note)} — ${place(s.location.file, s.location.line)}</li>`);
    }
    out.push('</ol>');
  }
  return { title: explainTitle(f), html: out.join('\n'), places };
}

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}

/** Text as HTML: the five characters that mean something there. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
