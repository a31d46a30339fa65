// Prisma ORM on DoSQL through its libSQL driver adapter (@prisma/adapter-libsql, over
// @libsql/client and libSQL's protocol: docs/hrana.md), as a Node app outside
// Cloudflare would use it: the client generated from a schema, then create, findMany,
// update, interactive $transaction (committed, and rolled back by a throw) and batch
// $transaction (committed, and undone whole by a failing operation).
//
// `prisma generate` looks for its schema-engine binary before it generates anything,
// and would download it from binaries.prisma.sh, which this machine cannot reach; it
// only needs the file to exist (generating never runs it), so the test points
// PRISMA_SCHEMA_ENGINE_BINARY (Prisma's documented override) at a stand-in that fails
// if it ever is run. Migrations need the real engine: the table is made with SQL.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createClient } from '@libsql/client/http';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { REPO, TMP, startStandalone, tenant } from './harness.js';

const TOKEN = 'prisma-test-token';
/** @type {any} */
let mf;
/** @type {string} */
let origin;
/** @type {any} */
let PrismaClient;

before(async () => {
  mkdirSync(TMP, { recursive: true });
  const folder = mkdtempSync(join(TMP, 'prisma-'));
  const engine = join(folder, 'no-schema-engine.sh');
  writeFileSync(engine, '#!/bin/sh\necho "the schema engine is not available here" >&2\nexit 1\n');
  chmodSync(engine, 0o755);
  writeFileSync(join(folder, 'schema.prisma'), `
generator client {
  provider = "prisma-client-js"
  output   = "${join(folder, 'client')}"
}
datasource db {
  provider = "sqlite"
}
model Pet {
  id   Int    @id @default(autoincrement())
  name String
}
`);
  const generated = spawnSync(process.execPath, [join(REPO, 'node_modules/prisma/build/index.js'), 'generate', '--schema', join(folder, 'schema.prisma')], {
    cwd: folder,
    encoding: 'utf8',
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: engine, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
  assert.equal(generated.status, 0, `prisma generate failed:\n${generated.stdout}${generated.stderr}`);
  ({ PrismaClient } = createRequire(import.meta.url)(join(folder, 'client/index.js')));
  mf = await startStandalone({ DOSQL_TOKEN: TOKEN }, { persist: join(folder, 'objects') });
  origin = String(await mf.ready);
});
after(() => mf?.dispose());

test('Prisma with @prisma/adapter-libsql: queries, interactive and batch transactions', async () => {
  const url = `${origin}db/${tenant('prisma')}/`;
  const libsql = createClient({ url, authToken: TOKEN });
  await libsql.execute('CREATE TABLE "Pet" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "name" TEXT NOT NULL)');
  libsql.close();
  const prisma = new PrismaClient({ adapter: new PrismaLibSql({ url, authToken: TOKEN }) });
  try {
    assert.deepEqual(await prisma.pet.create({ data: { name: 'Rex' } }), { id: 1, name: 'Rex' });
    assert.equal((await prisma.pet.createMany({ data: [{ name: 'Tom' }, { name: 'Kit' }] })).count, 2);
    assert.deepEqual(await prisma.pet.update({ where: { id: 2 }, data: { name: 'Thomas' } }), { id: 2, name: 'Thomas' });

    const inside = await prisma.$transaction(async (/** @type {any} */ tx) => {
      const a = await tx.pet.create({ data: { name: 'A' } });
      await tx.pet.update({ where: { id: a.id }, data: { name: 'A2' } });
      return tx.pet.count();
    });
    assert.equal(inside, 4);
    const thrown = await prisma.$transaction(async (/** @type {any} */ tx) => {
      await tx.pet.create({ data: { name: 'Ghost' } });
      await tx.pet.deleteMany({ where: { name: 'Rex' } });
      assert.equal(await tx.pet.count({ where: { name: 'Ghost' } }), 1, 'its own writes are visible inside');
      throw new Error('boom');
    }).then(() => null, (/** @type {Error} */ e) => e);
    assert.equal(thrown?.message, 'boom');
    assert.equal(await prisma.pet.count({ where: { name: { in: ['Ghost', 'Rex'] } } }), 1, 'rolled back');

    const batch = await prisma.$transaction([
      prisma.pet.create({ data: { name: 'B1' } }),
      prisma.pet.update({ where: { id: 1 }, data: { name: 'Rexy' } }),
      prisma.pet.count(),
    ]);
    assert.deepEqual([batch[0].name, batch[1].name, batch[2]], ['B1', 'Rexy', 5]);
    const failed = await prisma.$transaction([
      prisma.pet.create({ data: { name: 'Lost' } }),
      prisma.pet.create({ data: { id: 1, name: 'Dup' } }),
    ]).then(() => null, (/** @type {Error} */ e) => e);
    assert.ok(failed, 'a batch with a duplicate id fails');
    assert.match(String(failed.message), /UNIQUE constraint failed: Pet\.id/);
    assert.equal(await prisma.pet.count({ where: { name: 'Lost' } }), 0, 'undone whole');

    const pets = await prisma.pet.findMany({ orderBy: { id: 'asc' } });
    assert.deepEqual(pets.map((/** @type {any} */ p) => p.name), ['Rexy', 'Thomas', 'Kit', 'A2', 'B1']);
  } finally {
    await prisma.$disconnect();
  }
});
