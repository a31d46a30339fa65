// durable-object/migration-list.js — the one check of a list of migrations, made where
// it is given: when a class is defined (class.js, embedded.js) and when the bundler
// reads a folder (bin/bundle-migrations.mjs). No wasm here, so both can import it.

/** @typedef {import('../wasm/engine.js').Migration} Migration */

/**
 * A checked, frozen copy of a migrations list.
 * @param {unknown} migrations
 * @returns {readonly Migration[]}
 */
export function checkMigrations(migrations) {
  if (!Array.isArray(migrations)) throw new TypeError('migrations must be an array of {name, sql}');
  const seen = new Set();
  return Object.freeze(
    migrations.map((m, i) => {
      if (!m || typeof m.name !== 'string' || typeof m.sql !== 'string' || m.name === '') {
        throw new TypeError(`migration ${i} must be {name: string, sql: string}`);
      }
      if (seen.has(m.name)) throw new TypeError(`migration ${m.name} is listed twice`);
      for (const [what, text] of [['name', m.name], ['sql', m.sql]]) {
        const problem = textProblem(text);
        if (problem) throw new TypeError(`migration ${JSON.stringify(m.name)}: its ${what} ${problem}; remove it`);
      }
      seen.add(m.name);
      return Object.freeze({ name: m.name, sql: m.sql });
    }),
  );
}

/**
 * Why text cannot be a migration's name or SQL, or null: a NUL (SQLite would end the
 * text there, and the engine's JSON cannot carry it), or a lone surrogate (no UTF-8
 * holds it), either of which would fail every request of the database as the client's.
 * @param {string} text @returns {string | null}
 */
function textProblem(text) {
  const nul = text.indexOf('\0');
  if (nul >= 0) return `holds a NUL character (at character ${nul}): SQLite would end its text there`;
  if (!text.isWellFormed()) {
    const at = [...text].findIndex((c) => c.length === 1 && c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff);
    return `holds a lone surrogate (at code point ${at}), which no UTF-8 text holds`;
  }
  return null;
}
