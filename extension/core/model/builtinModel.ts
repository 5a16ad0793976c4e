// The built-in model: our own behavioural C of the upstream handlers (builtin/*.c), parsed and
// lowered by the same code as a patch, so model and series functions have one shape.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseC } from '../parse/cParser';
import type { FunctionIr, FunctionTable } from '../summary/ir';
import { lowerTranslationUnit } from '../summary/lowerToIr';

export const MODEL_PREFIX = 'builtin-model/';

export interface BuiltinModel {
  functions: Map<string, FunctionIr>;
  ops: Map<string, string>;
  tables: Map<string, FunctionTable['entries']>;
  /** Each function's source lines, signature to closing brace: what a hunk's context is compared with. */
  texts: Map<string, string[]>;
}

let cached: Promise<BuiltinModel> | undefined;

/** Next to this file in the sources, or dist/model/builtin in the bundle. */
function modelDir(): string {
  for (const dir of [join(__dirname, 'builtin'), join(__dirname, 'model', 'builtin')]) {
    if (existsSync(dir)) return dir;
  }
  throw new Error(`kvm-lens: built-in model not found next to ${__dirname}; run "npm run build"`);
}

export function loadBuiltinModel(): Promise<BuiltinModel> {
  cached ??= (async () => {
    const dir = modelDir();
    const functions = new Map<string, FunctionIr>();
    const ops = new Map<string, string>();
    const tables = new Map<string, FunctionTable['entries']>();
    const texts = new Map<string, string[]>();
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.c')).sort()) {
      const text = readFileSync(join(dir, name), 'utf8');
      const tree = await parseC(text);
      try {
        const unit = lowerTranslationUnit(tree.rootNode, { file: MODEL_PREFIX + name, mapRow: (row) => ({ line: row + 1 }), origin: 'model' });
        if (unit.errorLines.length) throw new Error(`built-in model ${name} does not parse at lines ${unit.errorLines.join(', ')}`);
        const lines = text.split('\n');
        for (const fn of unit.functions) { functions.set(fn.name, fn); texts.set(fn.name, lines.slice(fn.loc.line - 1, fn.endLine)); }
        for (const t of unit.opsTables) for (const [op, fn] of t.entries) ops.set(op, fn);
        for (const t of unit.functionTables) tables.set(t.name, t.entries);
      } finally {
        tree.delete();
      }
    }
    return { functions, ops, tables, texts };
  })();
  return cached;
}

export function isModelFile(file: string): boolean {
  return file.startsWith(MODEL_PREFIX);
}
