// "Explain this finding" as plain markdown: the finding, its rule's paragraph, where the series
// introduced it, and the trace as a numbered list of clickable file:line links.
import type { Finding } from '../core/findings';
import { ruleMeta } from '../core/rules/ruleCatalog';

export interface ExplainOptions {
  /** Link target for a place (a file: URI with a #L line, say); undefined: plain text. */
  link?: (file: string, line: number) => string | undefined;
  /** Severity the user's settings show, when it differs from the rule's. */
  shownSeverity?: string;
}

export function explainTitle(f: Finding): string {
  return `${f.rule}${f.location.function ? ` in ${f.location.function}()` : ''}`;
}

export function explainMarkdown(f: Finding, options: ExplainOptions = {}): string {
  const meta = ruleMeta(f.rule);
  const out: string[] = [];
  out.push(`# ${escapeMd(explainTitle(f))}`, '');
  out.push(`**${options.shownSeverity ?? f.severity}** · \`${f.rule}\` · ${place(f.location.file, f.location.line, options, f.location.column)}`, '');
  out.push(escapeMd(f.message), '');
  if (f.introducedBy) out.push(`Introduced by ${place(f.introducedBy, 1, options, undefined, baseName(f.introducedBy))}.`, '');
  if (f.fixedBy) out.push(`Fixed by ${place(f.fixedBy, 1, options, undefined, baseName(f.fixedBy))}.`, '');
  out.push('## The rule', '');
  out.push(`*${escapeMd(meta.shortDescription)}*`, '');
  out.push(escapeMd(meta.fullDescription), '');
  out.push('## Trace', '');
  if (f.trace.length === 0) out.push('No trace: the finding does not depend on an ioctl sequence.');
  f.trace.forEach((s, i) => {
    const vcpu = s.vcpu === null ? '' : ` (vcpu ${s.vcpu})`;
    out.push(`${i + 1}. \`${s.operation}\`${vcpu}: ${escapeMd(s.note)} — ${place(s.location.file, s.location.line, options)}`);
  });
  out.push('');
  return out.join('\n');
}

function place(file: string, line: number, options: ExplainOptions, column?: number, label?: string): string {
  const text = label ?? `${baseName(file)}:${line}${column ? `:${column}` : ''}`;
  const target = options.link?.(file, line);
  return target ? `[${escapeMd(text)}](${target.replace(/[ ()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)})` : `\`${text}\``;
}

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}

/** Markdown's active characters in running text (not in code spans). */
function escapeMd(text: string): string {
  return text.replace(/([\\`*_[\]<>#|])/g, '\\$1');
}
