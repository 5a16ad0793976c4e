#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI itself is bundled into dist/cli.js by `npm run build`. runAsProcess
// sets the exit status and turns any escaping exception into one line and exit status 3.
let cli;
try {
  cli = require('../dist/cli.js');
} catch (e) {
  process.stderr.write(`kvm-lens: cannot load dist/cli.js (${e && e.message}); run \`npm run build\` first\n`);
  process.exit(3);
}
cli.runAsProcess(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`kvm-lens: internal error: ${String(e && e.message).replace(/[\x00-\x1f\x7f-\x9f]/g, ' ')}; this is a bug in kvm-lens, please report it\n`);
  process.exitCode = 3;
});
