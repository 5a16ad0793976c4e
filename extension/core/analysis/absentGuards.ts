// What-if "treat this guard as absent" (--assume guard-absent=fn:cond): in the named function,
// every `if` whose condition mentions the given text or flag stops deciding anything: a
// refusing branch is dropped, a protecting branch always runs.
import type { FunctionIr, Stmt } from '../summary/ir';
import { childBlocks, exprKey } from '../summary/irKeys';
import type { IncompleteNote } from './codeBase';

const stripped = new Map<string, WeakMap<FunctionIr, { copy: FunctionIr; removed: number }>>();

export function removeGuards(functions: Map<string, FunctionIr>, specs: string[], notes: IncompleteNote[]): Map<string, FunctionIr> {
  const out = new Map(functions);
  for (const spec of specs) {
    const colon = spec.indexOf(':');
    const name = colon > 0 ? spec.slice(0, colon) : spec;
    const needle = (colon > 0 ? spec.slice(colon + 1) : '').replace(/\s+/g, '');
    const fn = out.get(name);
    if (!fn) {
      notes.push({ file: '<assumption>', line: 1, message: `guard-absent=${spec}: no function ${name}() in the series or the model` });
      continue;
    }
    // one copy per function object and spec, so unchanged code keeps its identity (and its cache)
    const bySpec = stripped.get(spec) ?? new WeakMap<FunctionIr, { copy: FunctionIr; removed: number }>();
    stripped.set(spec, bySpec);
    let entry = bySpec.get(fn);
    if (!entry) {
      const copy = structuredClone(fn);
      entry = { copy, removed: strip(copy.body, needle) };
      bySpec.set(fn, entry);
    }
    if (entry.removed === 0) notes.push({ file: '<assumption>', line: 1, message: `guard-absent=${spec}: no guard in ${name}() mentions "${needle}"` });
    out.set(name, entry.copy);
  }
  return out;
}

function strip(s: Stmt, needle: string): number {
  let count = 0;
  for (const list of childBlocks(s)) {
    for (let i = 0; i < list.length; i++) {
      const x = list[i];
      if (x.k === 'if' && matches(x, needle)) {
        const replacement = endsPath(x.then) ? (x.else ? [x.else] : []) : [x.then];
        list.splice(i, 1, ...replacement);
        count++;
        i += replacement.length - 1;
        continue;
      }
      count += strip(x, needle);
    }
  }
  return count;
}

function matches(s: Stmt & { k: 'if' }, needle: string): boolean {
  return needle === '' || s.text.replace(/\s+/g, '').includes(needle) || exprKey(s.cond).includes(needle);
}

function endsPath(s: Stmt): boolean {
  if (s.k === 'return' || s.k === 'goto') return true;
  return s.k === 'block' && s.body.length > 0 && endsPath(s.body[s.body.length - 1]);
}
