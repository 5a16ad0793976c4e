// Entry point of the restricted-mode run (scripts/run-restricted-tests.mjs): the same mocha
// runner as the main suite, over the *.test.js compiled next to this file.
export { run } from '../index';
