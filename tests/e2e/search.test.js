// search.test.js — the guide's /search?q=: one UNION ALL query over users (name,
// email) and posts (title, content), users first, at most 50 rows; queries under two
// characters search nothing, and the user's "%" and "_" are matched literally.
// Seed: users Ada Lovelace and Alan Turing (@example.com); posts "Post 1".."Post 25",
// each with the content "Content of post N".

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, open, screenshot, submit, texts, textOf, eventually } from './harness.js';

/** @type {Awaited<ReturnType<typeof startApp>>} */
let app;
before(async () => { app = await startApp('search'); });
after(() => app?.stop());

/**
 * The results on the page: "[type] title — snippet" each, and their links.
 * @param {import('playwright-core').Page} page
 */
async function results(page) {
  const rows = page.getByTestId('search-result');
  const hrefs = [];
  for (const row of await rows.all()) hrefs.push(await row.getByRole('link').getAttribute('href'));
  return { rows: await texts(rows), types: await rows.evaluateAll((els) => els.map((e) => e.dataset.type)), hrefs };
}

/**
 * Search through the page's form, as a person would.
 * @param {import('playwright-core').Page} page
 * @param {string} q
 */
async function search(page, q) {
  await page.locator('input[name="q"]').fill(q);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/search' && url.searchParams.get('q') === q);
}

for (const js of [true, false]) {
  const how = js ? 'with JavaScript' : 'without JavaScript';

  test(`search ${how}: rows from both sides of the UNION ALL`, async (t) => {
    const page = await app.newPage(t, { js, tenant: `search-${js ? 'js' : 'nojs'}` });
    page.on('dialog', (d) => d.accept());

    // Give one post a text that also names a user: edit Post 5 through its page.
    await open(page, '/posts/5');
    await page.locator('[name="content"]').fill("Notes on Ada Lovelace's first program");
    await submit(page, 'Save Changes');
    await eventually(async () => assert.equal(await textOf(page.getByTestId('form-success')), 'Changes saved'));

    await open(page, '/search');
    assert.equal(await page.getByTestId('search-hint').count(), 1, 'no query: the hint');
    assert.equal(await page.getByTestId('search-result').count(), 0);

    // A user's name (users side) and a post's content (posts side).
    await search(page, 'lovelace');
    let r = await eventually(async () => {
      const x = await results(page);
      assert.equal(x.rows.length, 2, `rows: ${x.rows.join(' | ')}`);
      return x;
    });
    assert.deepEqual(r.types, ['user', 'post']);
    assert.deepEqual(r.rows, [
      '[user] Ada Lovelace — ada@example.com',
      "[post] Post 5 — Notes on Ada Lovelace's first program",
    ]);
    assert.deepEqual(r.hrefs, ['/users/1', '/posts/5']);
    assert.equal(await textOf(page.getByTestId('search-count')), '2 result(s) for “lovelace”');
    if (js) await screenshot(page, 'search');

    // "co": both users' emails (example.com) and the content of every post but Post 5
    // ("Content of post N"; Post 5's is now the notes).
    await search(page, 'co');
    r = await eventually(async () => {
      const x = await results(page);
      assert.equal(x.rows.length, 26, `rows: ${x.rows.length}`);
      return x;
    });
    assert.deepEqual(r.types, [...Array(2).fill('user'), ...Array(24).fill('post')]);
    assert.deepEqual(r.rows.slice(0, 2), ['[user] Ada Lovelace — ada@example.com', '[user] Alan Turing — alan@example.com']);
    assert.deepEqual(r.hrefs.slice(2), Array.from({ length: 25 }, (_, i) => `/posts/${i + 1}`).filter((h) => h !== '/posts/5'));

    // Titles only, no user: "Post 1" is Post 1 and Post 10..19.
    await search(page, 'Post 1');
    r = await eventually(async () => {
      const x = await results(page);
      assert.equal(x.rows.length, 11, `rows: ${x.rows.join(' | ')}`);
      return x;
    });
    assert.deepEqual(r.types, Array(11).fill('post'));
    assert.deepEqual(r.rows.map((s) => s.match(/^\[post\] (Post \d+) —/)?.[1]).sort(),
      ['Post 1', ...Array.from({ length: 10 }, (_, i) => `Post ${10 + i}`)].sort());

    // An email: one user, no post.
    await search(page, 'alan@');
    await eventually(async () => assert.deepEqual((await results(page)).rows, ['[user] Alan Turing — alan@example.com']));

    // Wildcards are literal: "%_" would match every row of both tables.
    await search(page, '%_');
    await eventually(async () => assert.equal(await textOf(page.getByTestId('search-empty')), 'No results for “%_”.'));
    assert.equal(await page.getByTestId('search-result').count(), 0);

    // One character searches nothing.
    await search(page, 'a');
    await eventually(async () => assert.equal(await page.getByTestId('search-hint').count(), 1));
    assert.equal(await page.getByTestId('search-result').count(), 0);

    // A result leads to its page.
    await search(page, 'lovelace');
    await page.getByRole('link', { name: 'Post 5', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/posts/5');
    await eventually(async () => assert.equal(await page.locator('[name="content"]').inputValue(), "Notes on Ada Lovelace's first program"));
  });
}

test('search reads the tenant\'s own database', async (t) => {
  const mine = await app.newContext(t, { tenant: 'search-mine' });
  const other = await app.newContext(t, { tenant: 'search-other' });
  assert.equal((await mine.request.post('/api/users', { data: { name: 'Grace Hopper', email: 'grace@example.com' } })).status(), 201);
  const page = await mine.newPage();
  await page.goto('/search?q=hopper');
  assert.deepEqual((await results(page)).rows, ['[user] Grace Hopper — grace@example.com']);
  const otherPage = await other.newPage();
  await otherPage.goto('/search?q=hopper');
  assert.equal(await otherPage.getByTestId('search-result').count(), 0);
  assert.equal(await otherPage.getByTestId('search-empty').count(), 1);
});
