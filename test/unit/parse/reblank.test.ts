// An editor's edit re-blanks only the lines it changed: the result must be exactly what
// blanking the whole new text gives, for any edit, including ones that add or remove a
// conditional inside braces or change the bracket nesting of everything after them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { seededRandom } from '../support/seededRandom';
import { blankKernelNoise, reblankKernelNoise } from '../../../extension/core/parse/preprocessorBlanking';

const MODEL = join(__dirname, '../../../extension/core/model/builtin');

// our own C with a conditional inside an initializer and inside a function body
const NESTED = `static const struct table t = {
#ifdef CONFIG_A
	.a = 1,
#else
	.a = 2,
#endif
};

static int f(void __user *argp)
{
	int r = 0;
#if IS_ENABLED(CONFIG_B)
	r = g(argp);
#endif
	return r;
}
`;

const PIECES = ['{', '}', '(', ')', '\n', ' ', 'x', '#if A\n', '#endif\n', '__user ', '"{"', "'('", '// }\n', ';', '__must_check', 'user', '\n#else\n'];

describe('re-blanking after an edit', () => {
  const texts = [NESTED, ...readdirSync(MODEL).filter((f) => f.endsWith('.c')).sort().map((f) => readFileSync(join(MODEL, f), 'utf8'))];

  it('equals blanking the whole new text, over 3,000 random edits of our C', () => {
    const rand = seededRandom(20261129);
    let incremental = 0;
    for (let n = 0; n < 3000; n++) {
      const prev = texts[n % texts.length];
      const at = Math.floor(rand() * prev.length);
      const cut = Math.floor(rand() * 12);
      let insert = '';
      for (let k = Math.floor(rand() * 4); k > 0; k--) insert += PIECES[Math.floor(rand() * PIECES.length)];
      const next = prev.slice(0, at) + insert + prev.slice(at + cut);
      const prevBlanked = blankKernelNoise(prev);
      const got = reblankKernelNoise(prev, prevBlanked, next);
      assert.equal(got, blankKernelNoise(next), `edit ${n}: at ${at}, cut ${cut}, inserted ${JSON.stringify(insert)}`);
      if (!insert.includes('#') && !prev.slice(at, at + cut).includes('#')) incremental++;
    }
    assert.ok(incremental > 1000, 'most edits took the incremental path');
  });

  it('keeps a conditional blanked when an edit above it changes nothing about the nesting', () => {
    const next = NESTED.replace('int r = 0;', 'int r = 1; /* (edited) */');
    const out = reblankKernelNoise(NESTED, blankKernelNoise(NESTED), next);
    assert.ok(!out.includes('#if IS_ENABLED'), 'the #if inside the function stays blanked');
    assert.ok(!out.includes('__user'));
    assert.equal(out, blankKernelNoise(next));
  });

  it('tells apart edits with the same net nesting whose stray closing bracket is dropped at the top level', () => {
    // at depth 0, ")" then "(" leaves the #if nested; "(" then ")" does not
    const prev = 'int a;\n)\n(\n#if A\nint b;\n#endif\n)\n';
    const next = 'int a;\n(\n)\n#if A\nint b;\n#endif\n)\n';
    const out = reblankKernelNoise(prev, blankKernelNoise(prev), next);
    assert.ok(out.includes('#if A'));
    assert.equal(out, blankKernelNoise(next));
  });

  it('blanks again from the top when an edit closes a brace early', () => {
    const next = NESTED.replace('int r = 0;', 'int r = 0; }');
    const out = reblankKernelNoise(NESTED, blankKernelNoise(NESTED), next);
    assert.ok(out.includes('#if IS_ENABLED'), 'outside the braces now, the #if is left for the parser');
    assert.equal(out, blankKernelNoise(next));
  });
});
