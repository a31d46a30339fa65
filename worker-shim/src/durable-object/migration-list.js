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
      const nul = m.sql.indexOf('\0');
      if (nul >= 0) throw new TypeError(`migration ${m.name} holds a NUL character (at character ${nul}): SQLite would end its text there; remove it`);
      seen.add(m.name);
      return Object.freeze({ name: m.name, sql: m.sql });
    }),
  );
}
