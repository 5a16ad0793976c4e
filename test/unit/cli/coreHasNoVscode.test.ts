// The core is shared by the CLI and the editor extension, so it must run in plain Node: no file
// under extension/core may import or require the 'vscode' module. The detector is tested on
// strings first, so a broken regex cannot make the real check pass vacuously.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './cliHarness';

const CORE = join(ROOT, 'extension/core');

/**
 * `from 'vscode'` (import and export forms, multi-line included), `import 'vscode'`,
 * `import('vscode')`, `require('vscode')` and `import x = require('vscode')`; subpaths such as
 * 'vscode/x' count too, other packages whose name merely starts with "vscode" do not.
 */
const VSCODE_MODULE = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(['"`])vscode(?:\/[^'"`\n]*)?\1/g;

/** Each use of the vscode module in `source`, as "line N: text". */
function vscodeImports(source: string): string[] {
  const hits: string[] = [];
  for (const m of source.matchAll(VSCODE_MODULE)) {
    const line = source.slice(0, m.index).split('\n').length;
    hits.push(`line ${line}: ${m[0]}`);
  }
  return hits;
}

function tsFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFilesUnder(full));
    else if (entry.isFile() && entry.name.endsWith('.ts')) out.push(full);
  }
  return out.sort();
}

describe('the vscode-import detector', () => {
  it('catches every way of pulling in the module', () => {
    for (const src of [
      "import * as vscode from 'vscode'",
      'import * as vscode from "vscode";',
      "import { window } from 'vscode';",
      "import type { Uri } from 'vscode';",
      "import {\n  window,\n  workspace,\n} from 'vscode';",
      "import 'vscode';",
      "export { Range } from 'vscode';",
      "export * from 'vscode';",
      "const vscode = require('vscode');",
      'const { window } = require ( "vscode" );',
      "import vscode = require('vscode');",
      "const m = await import('vscode');",
      "import { x } from 'vscode/lib/thing';",
    ]) {
      assert.equal(vscodeImports(src).length, 1, JSON.stringify(src));
    }
  });

  it('reports the line of each hit', () => {
    const src = "// header\nimport { a } from './a';\nimport * as vscode from 'vscode'\nconst w = require('vscode');\n";
    assert.deepEqual(vscodeImports(src), ["line 3: from 'vscode'", "line 4: require('vscode'"]);
  });

  it('leaves alone other modules and mere mentions', () => {
    for (const src of [
      "import { x } from 'vscode-languageserver';",
      "import { y } from './vscode';",
      "import { z } from '../vscodeShim';",
      '// the core must not depend on vscode',
      "const note = 'runs outside vscode';",
      "import { parse } from './parse'; // vscode-free",
    ]) {
      assert.deepEqual(vscodeImports(src), [], JSON.stringify(src));
    }
  });
});

describe('extension/core', () => {
  const files = tsFilesUnder(CORE);

  it('the walk finds the core\'s sources, nested directories included', () => {
    assert.ok(files.length >= 20, `only ${files.length} files under ${CORE}`);
    const rel = files.map((f) => relative(CORE, f).split('\\').join('/'));
    for (const known of ['findings.ts', 'series/seriesReader.ts', 'analysis/analyzeSeries.ts', 'report/jsonReport.ts']) {
      assert.ok(rel.includes(known), `${known} not found by the walk`);
    }
  });

  it('no file imports or requires vscode', () => {
    const offenders = files.flatMap((f) => vscodeImports(readFileSync(f, 'utf8')).map((hit) => `${relative(ROOT, f)}: ${hit}`));
    assert.deepEqual(offenders, []);
  });

  it('the check does see the import where there is one: the extension entry point outside the core', () => {
    const entry = join(ROOT, 'extension/extension.ts');
    assert.ok(!entry.startsWith(CORE + '/'));
    assert.ok(vscodeImports(readFileSync(entry, 'utf8')).length >= 1, 'extension/extension.ts imports vscode and the detector sees it');
  });
});
