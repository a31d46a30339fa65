// The wire protocol of the Durable Object, as the guide's client speaks it:
// /query, /run, /transaction happy paths and every value type, on both backends
// (SQLite-backed and legacy key-value backed) in a real workerd.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWorld, BACKENDS, tenant } from './harness.js';

const world = createWorld('protocol');
before(() => world.start());
after(() => world.destroy());

for (const backend of BACKENDS) {
  describe(`protocol (${backend})`, () => {
    test('create users and posts, join and count them (the guide\'s flows)', async () => {
      const db = world.client(backend, tenant('flows'));
      const ann = await db.run('INSERT INTO users (name, email) VALUES (?, ?)', ['Ann', 'ann@example.com']);
      assert.deepEqual(ann, { rowsAffected: 1, lastInsertRowId: 1 });
      const bo = await db.run('INSERT INTO users (name, email) VALUES (?, ?)', ['Bo', 'bo@example.com']);
      assert.equal(bo.lastInsertRowId, 2);
      for (const [userId, title, published] of [[1, 'Hello', 1], [1, 'Draft', 0], [2, 'Bo writes', 1]]) {
        const r = await db.run('INSERT INTO posts (user_id, title, content, published) VALUES (?, ?, ?, ?)', [userId, title, `${title} body`, published]);
        assert.equal(r.rowsAffected, 1);
      }
      const posts = await db.query(
        `SELECT p.id, p.title, u.name AS author
           FROM posts p JOIN users u ON p.user_id = u.id
          WHERE p.published = 1 ORDER BY p.id`,
      );
      assert.deepEqual(posts, [
        { id: 1, title: 'Hello', author: 'Ann' },
        { id: 3, title: 'Bo writes', author: 'Bo' },
      ]);
      const stats = await db.queryOne(
        'SELECT (SELECT COUNT(*) FROM users) AS totalUsers, (SELECT COUNT(*) FROM posts) AS totalPosts',
      );
      assert.deepEqual(stats, { totalUsers: 2, totalPosts: 3 });
      const none = await db.queryOne('SELECT * FROM users WHERE id = ?', [99]);
      assert.equal(none, null);
      const upd = await db.run('UPDATE posts SET published = 1, published_at = CURRENT_TIMESTAMP WHERE user_id = ?', [1]);
      assert.equal(upd.rowsAffected, 2);
      // ON DELETE CASCADE works: foreign keys are on.
      await db.run('DELETE FROM users WHERE id = ?', [1]);
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM posts'), [{ n: 1 }]);
    });

    test('responses are JSON with a JSON content type', async () => {
      const db = world.client(backend, tenant('ctype'));
      const a = await db.post('/query', { sql: 'SELECT 1 AS one' });
      assert.equal(a.status, 200);
      assert.match(a.contentType ?? '', /^application\/json/);
      assert.deepEqual(a.body, { rows: [{ one: 1 }] });
    });

    test('/query with INSERT ... RETURNING gives the rows; /run with SELECT gives counts', async () => {
      const db = world.client(backend, tenant('returning'));
      const rows = await db.query('INSERT INTO users (name, email) VALUES (?, ?) RETURNING id, name', ['Cy', 'cy@example.com']);
      assert.deepEqual(rows, [{ id: 1, name: 'Cy' }]);
      const run = await db.run('SELECT * FROM users');
      assert.equal(typeof run.rowsAffected, 'number');
      assert.equal(typeof run.lastInsertRowId, 'number');
      assert.deepEqual(await db.query('SELECT count(*) AS n FROM users'), [{ n: 1 }]);
    });

    test('/transaction returns the last operation\'s result: rows array or run result', async () => {
      const db = world.client(backend, tenant('tx'));
      const asRows = await db.transaction([
        { type: 'run', sql: 'INSERT INTO users (name, email) VALUES (?, ?)', params: ['Di', 'di@example.com'] },
        { type: 'run', sql: 'INSERT INTO posts (user_id, title) VALUES (?, ?)', params: [1, 'first'] },
        { type: 'query', sql: 'SELECT title FROM posts WHERE user_id = ?', params: [1] },
      ]);
      assert.deepEqual(asRows, [{ title: 'first' }]);
      const asRun = await db.transaction([
        { type: 'query', sql: 'SELECT 1' },
        { type: 'run', sql: 'INSERT INTO posts (user_id, title) VALUES (?, ?)', params: [1, 'second'] },
      ]);
      assert.deepEqual(asRun, { rowsAffected: 1, lastInsertRowId: 2 });
    });

    test('a failing operation in a transaction leaves nothing, and names its index', async () => {
      const db = world.client(backend, tenant('atomic'));
      await db.run('INSERT INTO users (name, email) VALUES (?, ?)', ['Ed', 'ed@example.com']);
      const a = await db.post('/transaction', {
        operations: [
          { type: 'run', sql: 'INSERT INTO users (name, email) VALUES (?, ?)', params: ['Fay', 'fay@example.com'] },
          { type: 'run', sql: 'UPDATE users SET name = ? WHERE id = 1', params: ['Edward'] },
          { type: 'run', sql: 'INSERT INTO users (name, email) VALUES (?, ?)', params: ['Dup', 'ed@example.com'] },
          { type: 'run', sql: 'INSERT INTO users (name, email) VALUES (?, ?)', params: ['Gus', 'gus@example.com'] },
        ],
      });
      assert.equal(a.status, 409, a.text);
      assert.equal(a.body.code, 'SQLITE_CONSTRAINT_UNIQUE');
      assert.equal(a.body.operation, 2);
      assert.match(a.body.error, /UNIQUE constraint failed: users\.email/);
      assert.deepEqual(await db.query('SELECT id, name FROM users ORDER BY id'), [{ id: 1, name: 'Ed' }]);
    });

    test('named parameters with :name, @name, $name, keys with or without the prefix', async () => {
      const db = world.client(backend, tenant('named'));
      const r = await db.query('SELECT :a AS a, @b AS b, $c AS c', { a: 1, '@b': 'two', $c: null });
      assert.deepEqual(r, [{ a: 1, b: 'two', c: null }]);
      await db.run('INSERT INTO users (name, email) VALUES (:name, :email)', { name: 'Hal', email: 'hal@example.com' });
      assert.deepEqual(await db.query('SELECT name FROM users WHERE email = $email', { email: 'hal@example.com' }), [{ name: 'Hal' }]);
    });

    describe('values', () => {
      test('null, booleans as 1/0, integers and reals keep their kind', async () => {
        const db = world.client(backend, tenant('scalars'));
        const [row] = await db.query(
          'SELECT ? AS n, ? AS t, ? AS f, ? AS i, ? AS r, typeof(?) AS ti, typeof(?) AS tr, typeof(?) AS tb',
          [null, true, false, 1, 1.5, 1, 1.5, true],
        );
        assert.deepEqual(row, { n: null, t: 1, f: 0, i: 1, r: 1.5, ti: 'integer', tr: 'real', tb: 'integer' });
        const [stored] = await db.query('SELECT 2.0 AS two_real, typeof(2.0) AS ty, 1e300 AS big_real, -0.25 AS neg');
        assert.equal(stored.two_real, 2);
        assert.equal(stored.ty, 'real');
        assert.equal(stored.big_real, 1e300);
        assert.equal(stored.neg, -0.25);
      });

      test('strings with unicode, quotes, control characters and NUL-free escapes round-trip', async () => {
        const db = world.client(backend, tenant('strings'));
        const samples = ['', 'plain', 'ünïcødé', '日本語テキスト', 'emoji 😀👍🏽', 'quote " and \\ backslash', 'line\nbreak\ttab\u0001', "it's"];
        await db.run('CREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT)');
        for (const v of samples) await db.run('INSERT INTO s (v) VALUES (?)', [v]);
        const rows = await db.query('SELECT v, length(v) AS n FROM s ORDER BY id');
        assert.deepEqual(rows.map((r) => r.v), samples);
        assert.deepEqual(rows.map((r) => r.n), samples.map((s) => [...s].length));
      });

      test('integers at and beyond 2^53 use the $bigint form both ways', async () => {
        const db = world.client(backend, tenant('bigint'));
        const max = Number.MAX_SAFE_INTEGER;
        const [row] = await db.query('SELECT ? AS safe, ? AS neg, ? AS big, ? AS min, typeof(?) AS ty', [
          max,
          -max,
          { $bigint: '9223372036854775807' },
          { $bigint: '-9223372036854775808' },
          { $bigint: '9007199254740993' },
        ]);
        assert.equal(row.safe, max);
        assert.equal(row.neg, -max);
        assert.deepEqual(row.big, { $bigint: '9223372036854775807' });
        assert.deepEqual(row.min, { $bigint: '-9223372036854775808' });
        assert.equal(row.ty, 'integer');
        const [computed] = await db.query('SELECT 9007199254740992 + 1 AS v, 9007199254740991 AS edge');
        assert.deepEqual(computed.v, { $bigint: '9007199254740993' });
        assert.equal(computed.edge, max);
        // A small value in tagged form is an integer too, and comes back plain.
        assert.deepEqual(await db.query('SELECT ? AS v', [{ $bigint: '42' }]), [{ v: 42 }]);
        // Plain JSON numbers beyond 2^53-1 are REAL, even integral ones: $bigint is the lossless form.
        assert.deepEqual(await db.query('SELECT typeof(?) AS t', [2 ** 60]), [{ t: 'real' }]);
      });

      test('blobs use the $blob (base64) form both ways', async () => {
        const db = world.client(backend, tenant('blob'));
        const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const b64 = bytes.toString('base64');
        await db.run('CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB)');
        await db.run('INSERT INTO b (v) VALUES (?)', [{ $blob: b64 }]);
        await db.run('INSERT INTO b (v) VALUES (?)', [{ $blob: '' }]);
        const rows = await db.query('SELECT v, typeof(v) AS t, length(v) AS n FROM b ORDER BY id');
        assert.deepEqual(rows, [
          { v: { $blob: b64 }, t: 'blob', n: 256 },
          { v: { $blob: '' }, t: 'blob', n: 0 },
        ]);
        assert.deepEqual(await db.query("SELECT x'00ff10' AS v"), [{ v: { $blob: 'AP8Q' } }]);
      });

      test('infinities use the $real form both ways', async () => {
        const db = world.client(backend, tenant('inf'));
        const [row] = await db.query('SELECT ? AS p, ? AS n, typeof(?) AS t, 1e999 AS lit', [
          { $real: 'Infinity' },
          { $real: '-Infinity' },
          { $real: 'Infinity' },
        ]);
        assert.deepEqual(row, { p: { $real: 'Infinity' }, n: { $real: '-Infinity' }, t: 'real', lit: { $real: 'Infinity' } });
      });

      test('every type stored in a table and read back is identical', async () => {
        const db = world.client(backend, tenant('roundtrip'));
        await db.run('CREATE TABLE v (id INTEGER PRIMARY KEY, x)');
        const values = [
          null, 0, 1, -1, 1.5, -2.25, 123456789012, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER,
          { $bigint: '9223372036854775807' }, { $bigint: '-9007199254740993' },
          { $real: 'Infinity' }, { $real: '-Infinity' },
          'text', '😀', { $blob: 'AAECAwQ=' },
        ];
        await db.transaction(values.map((x) => ({ type: 'run', sql: 'INSERT INTO v (x) VALUES (?)', params: [x] })));
        const rows = await db.query('SELECT x FROM v ORDER BY id');
        assert.deepEqual(rows.map((r) => r.x), values);
        assert.deepEqual(
          (await db.query('SELECT typeof(x) AS t FROM v ORDER BY id')).map((r) => r.t),
          ['null', 'integer', 'integer', 'integer', 'real', 'real', 'integer', 'integer', 'integer',
            'integer', 'integer', 'real', 'real', 'text', 'text', 'blob'],
        );
      });
    });
  });
}
