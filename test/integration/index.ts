// Entry point VS Code calls inside the extension host (extensionTestsPath): runs every
// *.test.js compiled next to this file with mocha and rejects when any test fails, which the
// runner sees as codeAutomationExit(1).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  // no colours: the output is relayed line by line through the workbench, not to a terminal
  const mocha = new Mocha({ ui: 'tdd', color: false, reporter: 'spec', timeout: 60_000 });
  const files = readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort();
  for (const f of files) mocha.addFile(join(__dirname, f));
  return new Promise((resolve, reject) => {
    if (files.length === 0) { reject(new Error(`no *.test.js next to ${__dirname}; run npm run build`)); return; }
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed`)) : resolve()));
  });
}
