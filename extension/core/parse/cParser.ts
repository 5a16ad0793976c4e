// Loads web-tree-sitter and the C grammar once, from the extension's own grammars/ folder
// (found from this file's location, never from the working directory).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Language, Parser, type Tree } from 'web-tree-sitter';

let ready: Promise<Parser> | undefined;

/** grammars/ sits at the package root; walk up from wherever this code was bundled to. */
export function findGrammarsDir(start: string = __dirname): string {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'grammars', 'tree-sitter-c.wasm'))) return join(dir, 'grammars');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error(`kvm-lens: grammars/tree-sitter-c.wasm not found above ${start}; run "npm run build" to copy it from the tree-sitter-c package`);
}

export function cParser(): Promise<Parser> {
  ready ??= (async () => {
    const grammars = findGrammarsDir();
    await Parser.init({ locateFile: (name: string) => join(grammars, name) });
    const language = await Language.load(join(grammars, 'tree-sitter-c.wasm'));
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return ready;
}

/** Parses C text; the caller owns the tree and must call tree.delete(). */
export async function parseC(text: string, old?: Tree): Promise<Tree> {
  const parser = await cParser();
  const tree = parser.parse(text, old ?? null);
  if (!tree) throw new Error('tree-sitter returned no tree');
  return tree;
}
