// The "Insert a guest_state_protected guard" quick fix as plain text editing: two added lines
// in the patch that refuse the path once the VMSA is encrypted, and the hunk headers fixed so
// the patch still applies. Undefined whenever the edit cannot be made safely.

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$/;

export interface GuardPlan {
  /** 0-based line before which the added lines go. */
  insertAt: number;
  /** The added patch lines, each with its leading '+'. */
  inserted: string[];
  /** Hunk header lines rewritten (0-based line, new text): the edited hunk's new count, later hunks' new start. */
  headers: { line: number; text: string }[];
}

/**
 * Plans the guard for the finding on 1-based `findingLine` of the patch text. `functionName`
 * (the finding's function), when given, must be the function the hunk shows.
 */
export function planGuard(text: string, findingLine: number, functionName?: string): GuardPlan | undefined {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const at = findingLine - 1;
  const target = lines[at];
  // a context, added or removed line (a finding can sit on the guard the patch removes)
  if (target === undefined || !/^[ +-]/.test(target) || target.slice(1).trim() === '') return undefined;

  // the hunk holding the line: its header above, and the line within the header's counts
  const hunk = findHunk(lines, at);
  if (!hunk) return undefined;
  // new-side lines of the hunk up to (not including) the finding's line: context and added
  const before: { index: number; text: string }[] = [];
  for (const b of hunk.body) {
    if (b.index >= at) break;
    if (b.kind !== 'removed') before.push({ index: b.index, text: b.text });
  }

  // the function's signature: a line of the hunk above the finding, else the header's section
  let signature = hunk.section;
  let signatureAt = -1;
  for (let k = before.length - 1; k >= 0; k--) {
    if (looksLikeSignature(before[k]!.text)) { signature = before[k]!.text; signatureAt = k; break; }
  }
  if (!looksLikeSignature(signature)) return undefined;
  if (functionName && !new RegExp(`\\b${escapeRe(functionName)}\\s*\\(`).test(signature)) return undefined;

  const ret = returnStatement(signature);
  if (!ret) return undefined;
  const vcpu = vcpuName(signature, before.map((b) => b.text).concat(target.slice(1)));
  if (!vcpu) return undefined;

  // the opening brace: the signature line itself ("... ) {"), or the line right after it
  let brace: number | undefined;
  if (signatureAt >= 0) {
    const sig = before[signatureAt]!;
    if (sig.text.trimEnd().endsWith('{')) brace = signatureAt;
    else if (before[signatureAt + 1] && isOpeningBrace(before[signatureAt + 1]!.text)) brace = signatureAt + 1;
  } else if (before.length > 0 && before[0]!.index === hunk.body[0]?.index && before[0]!.text.trim() === '{') {
    brace = 0; // the hunk starts at the body's brace, right under the signature in the header
  }

  let insertAt: number;
  let indent: string;
  if (brace !== undefined) {
    // after the body's leading declarations and the blank line under them (kernel style: no
    // statement before a declaration), never below the finding's line
    let k = brace + 1;
    while (k < before.length && isDeclaration(before[k]!.text)) k++;
    if (k > brace + 1 && k < before.length && before[k]!.text.trim() === '') k++;
    insertAt = k < before.length ? before[k]!.index : Math.min(at, (before[before.length - 1]?.index ?? at - 1) + 1);
    if (insertAt > at) insertAt = at;
    const first = before.slice(brace + 1).find((b) => b.text.trim() !== '') ?? { text: target.slice(1) };
    indent = leadingSpace(first.text) || '\t';
  } else {
    // just above the finding: only where a statement starts, not under an unbraced if or mid-expression
    const prev = [...before].reverse().find((b) => b.text.trim() !== '');
    if (!prev || !endsStatement(prev.text)) return undefined;
    insertAt = at;
    indent = leadingSpace(target.slice(1));
    if (indent === '') return undefined;
  }
  const step = indent.includes('\t') || indent.length < 4 ? '\t' : ' '.repeat(Math.min(indent.length, 8));
  const inserted = [`+${indent}if (${vcpu}->arch.guest_state_protected)`, `+${indent}${step}${ret}`];

  const headers = [{ line: hunk.headerIndex, text: header(hunk.oldStart, hunk.oldCount, hunk.newStart, hunk.newCount + 2, hunk.section, hunk.countsExplicit) }];
  // later hunks of the same file diff start two lines further down in the new file
  let j = hunk.end;
  while (j < lines.length) {
    const l = lines[j]!;
    if (l.startsWith('diff ') || (l.startsWith('--- ') && (lines[j + 1] ?? '').startsWith('+++ ')) || /^From \S/.test(l) || l === '-- ') break;
    const later = HUNK_HEADER.test(l) ? findHunk(lines, j + 1, j) : undefined;
    if (later) {
      headers.push({ line: j, text: header(later.oldStart, later.oldCount, later.newStart + 2, later.newCount, later.section, later.countsExplicit) });
      j = later.end;
    } else j++;
  }
  return { insertAt, inserted, headers };
}

/** Turning a patch's removed guard back into context: the lines to rewrite and the hunk headers fixed. */
export interface RestorePlan {
  /** 0-based lines and their new text (a removed line as a context line). */
  lines: { line: number; text: string }[];
  headers: { line: number; text: string }[];
}

/**
 * When the finding sits on a line the patch removes, the guard it removed is what protected the
 * path: keep it, by turning the run of removed lines around the finding (up to the next kept
 * line, a blank removed line after it included) back into context. Undefined when the line is
 * not removed or the hunk does not read cleanly.
 */
export function planRestore(text: string, findingLine: number): RestorePlan | undefined {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const at = findingLine - 1;
  if (!lines[at]?.startsWith('-')) return undefined;
  const hunk = findHunk(lines, at);
  if (!hunk) return undefined;
  const k = hunk.body.findIndex((b) => b.index === at);
  let from = k;
  let to = k;
  while (from > 0 && hunk.body[from - 1]!.kind === 'removed') from--;
  while (to + 1 < hunk.body.length && hunk.body[to + 1]!.kind === 'removed') to++;
  const run = hunk.body.slice(from, to + 1);
  const restored = run.map((b) => ({ line: b.index, text: ` ${b.text}` }));
  const n = run.length;
  const headers = [{ line: hunk.headerIndex, text: header(hunk.oldStart, hunk.oldCount, hunk.newStart, hunk.newCount + n, hunk.section, hunk.countsExplicit) }];
  for (const later of laterHunks(lines, hunk.end)) headers.push({ line: later.headerIndex, text: header(later.oldStart, later.oldCount, later.newStart + n, later.newCount, later.section, later.countsExplicit) });
  return { lines: restored, headers };
}

/** The hunks after `from` in the same file diff. */
function laterHunks(lines: string[], from: number): FoundHunk[] {
  const out: FoundHunk[] = [];
  let j = from;
  while (j < lines.length) {
    const l = lines[j]!;
    if (l.startsWith('diff ') || (l.startsWith('--- ') && (lines[j + 1] ?? '').startsWith('+++ ')) || /^From \S/.test(l) || l === '-- ') break;
    const later = HUNK_HEADER.test(l) ? findHunk(lines, j + 1, j) : undefined;
    if (later) { out.push(later); j = later.end; } else j++;
  }
  return out;
}

/** The patch text with a restore plan applied. */
export function applyRestorePlan(text: string, plan: RestorePlan): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  for (const e of [...plan.headers, ...plan.lines]) lines[e.line] = e.text;
  return lines.join(eol);
}

/** The patch text with the guard inserted and the hunk headers fixed, or undefined. */
export function guardQuickFix(text: string, findingLine: number, functionName?: string): string | undefined {
  const plan = planGuard(text, findingLine, functionName);
  return plan ? applyGuardPlan(text, plan) : undefined;
}

export function applyGuardPlan(text: string, plan: GuardPlan): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  for (const h of plan.headers) lines[h.line] = h.text;
  lines.splice(plan.insertAt, 0, ...plan.inserted);
  return lines.join(eol);
}

interface FoundHunk {
  headerIndex: number;
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
  countsExplicit: boolean;
  section: string;
  body: { index: number; kind: 'context' | 'added' | 'removed'; text: string }[];
  /** First line after the hunk. */
  end: number;
}

/** The hunk that holds line `at` (its header is the nearest above); with `headerAt`, the hunk headed there. */
function findHunk(lines: string[], at: number, headerAt?: number): FoundHunk | undefined {
  let h = headerAt ?? at - 1;
  if (headerAt === undefined) {
    while (h >= 0 && !HUNK_HEADER.test(lines[h]!)) {
      if (!/^[ +\-\\]/.test(lines[h]!) && lines[h] !== '') return undefined;
      h--;
    }
  }
  const m = h >= 0 ? HUNK_HEADER.exec(lines[h]!) : null;
  if (!m) return undefined;
  const found: FoundHunk = {
    headerIndex: h, oldStart: Number(m[1]), oldCount: m[2] === undefined ? 1 : Number(m[2]), newStart: Number(m[3]), newCount: m[4] === undefined ? 1 : Number(m[4]),
    countsExplicit: m[2] !== undefined || m[4] !== undefined, section: m[5] ?? '', body: [], end: h + 1,
  };
  let oldLeft = found.oldCount;
  let newLeft = found.newCount;
  let i = h + 1;
  while ((oldLeft > 0 || newLeft > 0) && i < lines.length) {
    const l = lines[i]!;
    if ((l[0] === ' ' || l === '') && oldLeft > 0 && newLeft > 0) { found.body.push({ index: i, kind: 'context', text: l.slice(1) }); oldLeft--; newLeft--; }
    else if (l[0] === '+' && newLeft > 0) { found.body.push({ index: i, kind: 'added', text: l.slice(1) }); newLeft--; }
    else if (l[0] === '-' && oldLeft > 0) { found.body.push({ index: i, kind: 'removed', text: l.slice(1) }); oldLeft--; }
    else if (l[0] !== '\\') return undefined; // the hunk contradicts its header: not edited
    i++;
  }
  if (oldLeft > 0 || newLeft > 0) return undefined;
  if (i < lines.length && lines[i]!.startsWith('\\')) i++;
  found.end = i;
  if (headerAt === undefined && !found.body.some((b) => b.index === at)) return undefined;
  return found;
}

function header(oldStart: number, oldCount: number, newStart: number, newCount: number, section: string, explicit: boolean): string {
  const side = (start: number, count: number) => (explicit || count !== 1 ? `${start},${count}` : `${start}`);
  return `@@ -${side(oldStart, oldCount)} +${side(newStart, newCount)} @@${section ? ' ' + section : ''}`;
}

/** A C function definition's first line: a type, a name and "(" at the start of the line, no ";". */
function looksLikeSignature(text: string): boolean {
  return /^[A-Za-z_][\w\s*]*\b[A-Za-z_]\w*\s*\(/.test(text) && !/;\s*$/.test(text) && !/^(if|for|while|switch|return|else|do)\b/.test(text);
}

/** "return;" for a void function, "return -EINVAL;" for an integer one; undefined for a pointer or bool. */
function returnStatement(signature: string): string | undefined {
  const type = signature.slice(0, signature.indexOf('(')).replace(/\b[A-Za-z_]\w*\s*$/, '').trim();
  if (type.includes('*')) return undefined;
  const words = type.split(/\s+/).filter((w) => !['static', 'inline', '__always_inline', 'noinline', 'extern', '__init', '__exit'].includes(w));
  if (words.length === 1 && words[0] === 'void') return 'return;';
  if (words.some((w) => /^(bool|void)$/.test(w)) || words.length === 0) return undefined;
  return 'return -EINVAL;';
}

/** The struct kvm_vcpu pointer the guard can test: a parameter, else a vcpu the hunk already uses. */
function vcpuName(signature: string, body: string[]): string | undefined {
  const param = /struct\s+kvm_vcpu\s*\*\s*(\w+)/.exec(signature);
  if (param) return param[1];
  if (body.some((l) => /\bvcpu\s*->/.test(l) || /struct\s+kvm_vcpu\s*\*\s*vcpu\b/.test(l))) return 'vcpu';
  return undefined;
}

/** A one-line local declaration: "struct vcpu_svm *svm = to_svm(vcpu);", "u64 v;". */
function isDeclaration(text: string): boolean {
  return /^\s*(?:(?:const|static|struct|union|enum|unsigned|signed|volatile|register)\s+)*[A-Za-z_]\w*(?:\s+|\s*\*+\s*)[A-Za-z_]\w*\s*(?:\[[^\]]*\])?\s*(?:=.*)?[;,]\s*$/.test(text)
    && !/^\s*(return|goto|break|continue|case|else)\b/.test(text);
}

function isOpeningBrace(text: string): boolean {
  return text.trim() === '{';
}

function endsStatement(text: string): boolean {
  const t = text.replace(/\s*(\/\*.*\*\/|\/\/.*)\s*$/, '').trimEnd();
  return t.endsWith(';') || t.endsWith('{') || t.endsWith('}');
}

function leadingSpace(text: string): string {
  return /^\s*/.exec(text)![0];
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
