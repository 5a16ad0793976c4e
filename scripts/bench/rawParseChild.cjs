// The floor the issue compares a cold audit with: a new node process that loads web-tree-sitter
// and the C grammar and parses the given files, nothing else. Plain JS, so no TypeScript loader
// adds to its start-up. argv[2]: a JSON file holding the absolute paths to parse.
// Prints one JSON line: { files, bytes, initMs, readMs, parseMs, errors }.
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { Parser, Language } = require('web-tree-sitter');

async function main() {
  const grammars = join(__dirname, '..', '..', 'grammars');
  const paths = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const t0 = performance.now();
  await Parser.init({ locateFile: (name) => join(grammars, name) });
  const parser = new Parser();
  parser.setLanguage(await Language.load(join(grammars, 'tree-sitter-c.wasm')));
  const t1 = performance.now();
  // Read as text, as the analysis does (tree-sitter is handed a JS string).
  const texts = paths.map((p) => readFileSync(p, 'utf8'));
  const t2 = performance.now();
  let bytes = 0;
  let errors = 0;
  for (const text of texts) {
    bytes += Buffer.byteLength(text);
    const tree = parser.parse(text);
    if (tree.rootNode.hasError) errors++;
    tree.delete(); // WASM memory is not garbage collected
  }
  const t3 = performance.now();
  process.stdout.write(JSON.stringify({ files: texts.length, bytes, initMs: t1 - t0, readMs: t2 - t1, parseMs: t3 - t2, errors }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`raw parse: ${e && e.stack ? e.stack : String(e)}\n`);
  process.exit(1);
});
