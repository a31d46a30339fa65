// sql-comments.mjs — where a script's comments are, as SQLite's tokenizer finds them:
// a -- comment runs to a line feed, a /* */ one to its end, and neither begins inside
// a string ('...') or a quoted name ("...", `...`, [...]). The shell reads statements
// with comments as blanks; a script is refused where a lone CR would hide lines in one.

/**
 * The comments of text, in order: [start, end) and their kind.
 * @param {string} text @returns {{start: number, end: number, line: boolean}[]}
 */
export function sqlComments(text) {
  /** @type {{start: number, end: number, line: boolean}[]} */
  const found = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const close = c === "'" || c === '"' || c === '`' ? c : c === '[' ? ']' : null;
    if (close !== null) {
      const end = text.indexOf(close, i + 1);
      if (end < 0) break;
      i = end; // a doubled quote is two quoted runs, read the same way
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      found.push({ start: i, end: end < 0 ? text.length : end + 2, line: false });
      if (end < 0) break;
      i = end + 1;
    } else if (c === '-' && text[i + 1] === '-') {
      const lf = text.indexOf('\n', i);
      found.push({ start: i, end: lf < 0 ? text.length : lf, line: true });
      if (lf < 0) break;
      i = lf;
    }
  }
  return found;
}

/** The text with each comment a blank, as SQLite reads one. @param {string} text */
export function withoutComments(text) {
  let out = '';
  let from = 0;
  for (const { start, end } of sqlComments(text)) {
    out += `${text.slice(from, start)} `;
    from = end;
  }
  return out + text.slice(from);
}
