// A file that ends with a brace still open was cut short (a partial download, a copy stopped
// half way): the function it ends in is incomplete, and its missing tail could hold a guard.
// Comments, string and character literals are skipped so their braces do not count.

/** The 1-based line of the outermost `{` still open at the end of `text`, if any. */
export function unclosedBraceLine(text: string): number | undefined {
  const open: number[] = [];
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') { line++; continue; }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      i--;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      for (let j = i; j < stop; j++) if (text[j] === '\n') line++;
      i = stop - 1;
      continue;
    }
    if (c === '"' || c === "'") {
      // a literal ends at its closing quote or, unterminated, at the end of the line
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      if (text[j] === '\n') j--;
      i = j;
      continue;
    }
    if (c === '{') open.push(line);
    else if (c === '}') open.pop();
  }
  return open.length ? open[0] : undefined;
}
