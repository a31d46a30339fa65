// posts.test.js — /posts (10 per page, title search) and the guide's /posts/<id> with
// its named actions (update, publish, unpublish, delete: comments and post in one
// interactive transaction), with and without JavaScript; /posts/<id>/edit serves the
// same page and actions. Each test has a tenant of its own: the edits must not move
// the pages.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, open, hydrated, markDocument, documentKept, screenshot, submit, texts, textOf, eventually } from './harness.js';

/** @type {Awaited<ReturnType<typeof startApp>>} */
let app;
before(async () => { app = await startApp('posts'); });
after(() => app?.stop());

/** "Post A".."Post B" */
const titles = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => `Post ${a + i}`);

/**
 * What /posts shows: the row titles, the page info, and which of Previous/Next exist.
 * @param {import('playwright-core').Page} page
 */
async function listing(page) {
  return {
    rows: await texts(page.getByTestId('post-row')),
    info: await textOf(page.getByTestId('page-info')),
    previous: await page.getByRole('link', { name: 'Previous' }).count(),
    next: await page.getByRole('link', { name: 'Next' }).count(),
  };
}

/** The row texts start with the titles (a row may add a "(draft)" mark). */
function assertTitles(rows, expected) {
  assert.deepEqual(rows.map((r) => r.match(/^Post \d+/)?.[0]), expected, `rows: ${rows.join(' | ')}`);
}

for (const js of [true, false]) {
  const how = js ? 'with JavaScript' : 'without JavaScript';

  test(`posts pagination ${how}: 10 per page, Previous and Next only where they lead somewhere`, async (t) => {
    const page = await app.newPage(t, { js, tenant: `posts-pages-${js ? 'js' : 'nojs'}` });
    await open(page, '/posts');
    let l = await listing(page);
    assertTitles(l.rows, titles(1, 10));
    assert.deepEqual([l.info, l.previous, l.next], ['Page 1 of 3', 0, 1]);
    for (const row of await page.getByTestId('post-row').all()) {
      const href = await row.getByRole('link').first().getAttribute('href');
      assert.match(href ?? '', /^\/posts\/\d+$/);
    }
    if (js) await screenshot(page, 'posts');

    await page.getByRole('link', { name: 'Next' }).click();
    await page.waitForURL(/[?&]page=2\b/);
    l = await eventually(async () => { const x = await listing(page); assertTitles(x.rows, titles(11, 20)); return x; });
    assert.deepEqual([l.info, l.previous, l.next], ['Page 2 of 3', 1, 1]);

    await page.getByRole('link', { name: 'Next' }).click();
    await page.waitForURL(/[?&]page=3\b/);
    l = await eventually(async () => { const x = await listing(page); assertTitles(x.rows, titles(21, 25)); return x; });
    assert.deepEqual([l.info, l.previous, l.next], ['Page 3 of 3', 1, 0]);

    await page.getByRole('link', { name: 'Previous' }).click();
    await page.waitForURL(/[?&]page=2\b/);
    await eventually(async () => assertTitles((await listing(page)).rows, titles(11, 20)));
  });

  test(`posts search ${how}: LIKE on titles, pages of the results keep the query`, async (t) => {
    const page = await app.newPage(t, { js, tenant: `posts-search-${js ? 'js' : 'nojs'}` });
    await open(page, '/posts');
    await page.locator('input[name="q"]').fill('Post 2');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/[?&]q=Post(\+|%20)2\b/);
    let l = await eventually(async () => { const x = await listing(page); assertTitles(x.rows, ['Post 2', ...titles(20, 25)]); return x; });
    assert.deepEqual([l.info, l.previous, l.next], ['Page 1 of 1', 0, 0]);

    // 11 matches: two pages, and Next stays within the search.
    await page.locator('input[name="q"]').fill('Post 1');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/[?&]q=Post(\+|%20)1\b/);
    l = await eventually(async () => { const x = await listing(page); assertTitles(x.rows, ['Post 1', ...titles(10, 18)]); return x; });
    assert.deepEqual([l.info, l.next], ['Page 1 of 2', 1]);
    await page.getByRole('link', { name: 'Next' }).click();
    await page.waitForURL(/[?&]page=2\b/);
    l = await eventually(async () => { const x = await listing(page); assertTitles(x.rows, ['Post 19']); return x; });
    assert.equal(l.info, 'Page 2 of 2');
    assert.match(page.url(), /[?&]q=Post(\+|%20)1\b/);

    await page.goto('/posts?q=no+such+title');
    assert.equal(await page.getByTestId('post-row').count(), 0);
  });

  test(`named actions at /posts/[id] ${how}: update, publish, unpublish, delete`, async (t) => {
    const page = await app.newPage(t, { js, tenant: `posts-edit-${js ? 'js' : 'nojs'}` });
    page.on('dialog', (d) => d.accept()); // "Are you sure you want to delete this post?"
    await open(page, '/posts?page=3');
    if (js) await markDocument(page);
    await page.getByRole('link', { name: 'Post 21', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/posts/21');
    const title = page.locator('[name="title"]');
    const content = page.locator('[name="content"]');
    const published = page.locator('[name="published"]');
    const status = page.getByTestId('post-status');
    const success = page.getByTestId('form-success');
    await eventually(async () => assert.equal(await title.inputValue(), 'Post 21'));
    assert.equal(await content.inputValue(), 'Content of post 21');
    assert.equal(await textOf(status), 'draft');
    assert.equal(await published.isChecked(), false);
    // Only the action that applies: a draft can be published.
    assert.equal(await page.getByRole('button', { name: 'Unpublish' }).count(), 0);

    // ?/update
    await title.fill('Post 21, edited');
    await content.fill('New content\non two lines');
    let res = await submit(page, 'Save Changes');
    if (!js) assert.equal(res.status(), 200);
    await eventually(async () => assert.equal(await textOf(success), 'Changes saved'));
    assert.equal(await textOf(status), 'draft');

    // ?/publish, ?/unpublish
    res = await submit(page, 'Publish');
    if (!js) assert.equal(res.status(), 200);
    await eventually(async () => assert.equal(await textOf(status), 'published'));
    assert.equal(await textOf(success), 'Post published');
    assert.equal(await published.isChecked(), true);
    assert.equal(await page.getByRole('button', { name: 'Publish', exact: true }).count(), 0);
    if (js) await screenshot(page, 'post-edit');
    res = await submit(page, 'Unpublish');
    if (!js) assert.equal(res.status(), 200);
    await eventually(async () => assert.equal(await textOf(status), 'draft'));
    assert.equal(await textOf(success), 'Post unpublished');

    // ?/update with the Published box: the guide's form publishes through it too.
    await published.check();
    await submit(page, 'Save Changes');
    await eventually(async () => assert.equal(await textOf(status), 'published'));
    if (js) assert.equal(await documentKept(page), true, 'the actions ran without a page load');

    // A refused update keeps what was typed.
    await title.fill('');
    await content.fill('Kept after the error');
    res = await submit(page, 'Save Changes');
    if (!js) assert.equal(res.status(), 400);
    await eventually(async () => assert.equal(await textOf(page.getByTestId('form-error')), 'Title is required'));
    assert.equal(await content.inputValue(), 'Kept after the error');

    // Saved for real: a fresh load shows the saved values (a GET: reload() would repost
    // the last action without JavaScript).
    await page.goto('/posts/21');
    assert.equal(await title.inputValue(), 'Post 21, edited');
    assert.equal(await content.inputValue(), 'New content\non two lines');
    assert.equal(await textOf(status), 'published');

    // ?/delete: the post and its comments, then back to /posts.
    if (js) await hydrated(page);
    res = await submit(page, 'Delete Post');
    if (!js) assert.equal(res.status(), 303);
    await page.waitForURL((url) => url.pathname === '/posts');
    await page.goto('/posts?page=3');
    assertTitles(await texts(page.getByTestId('post-row')), titles(22, 25));
    assert.equal(await textOf(page.getByTestId('page-info')), 'Page 3 of 3');
    await page.goto('/posts?q=edited');
    assert.equal(await page.getByTestId('post-row').count(), 0, 'the deleted post is not found');
    assert.equal((await page.goto('/posts/21'))?.status(), 404);
    assert.equal((await page.goto('/posts/21/edit'))?.status(), 404);
  });
}

test('deleting a post asks first: Cancel in the confirm() sends nothing, OK deletes it', async (t) => {
  const page = await app.newPage(t, { tenant: 'posts-delete' });
  await open(page, '/posts/1');
  assert.equal(await textOf(page.getByTestId('post-comments')), '2 comment(s)');

  // Cancel: no request at all (the guide's callback let the POST through).
  let posts = 0;
  page.on('request', (r) => { if (r.method() === 'POST') posts++; });
  page.once('dialog', (d) => d.dismiss());
  await page.getByRole('button', { name: 'Delete Post' }).click();
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(posts, 0, 'no POST after Cancel');
  assert.equal(new URL(page.url()).pathname, '/posts/1');
  assert.equal((await open(page, '/posts/1'))?.status(), 200, 'still there');

  page.once('dialog', (d) => d.accept());
  await submit(page, 'Delete Post');
  await page.waitForURL((url) => url.pathname === '/posts');
  assert.equal(posts, 1);
  assert.equal((await page.goto('/posts/1'))?.status(), 404);
  assert.equal((await page.goto('/comments?post=1'))?.status(), 404);
  // Another post's comments are untouched.
  await page.goto('/comments?post=2');
  assert.deepEqual(await texts(page.getByTestId('comment-content')), ['Thanks for writing this.']);
});

test('/posts/[id]/edit serves the same page and named actions as /posts/[id]', async (t) => {
  const page = await app.newPage(t, { tenant: 'posts-edit-path' });
  await open(page, '/posts/22/edit');
  assert.equal(await textOf(page.locator('h1')), 'Edit Post');
  await page.locator('[name="title"]').fill('Edited at /edit');
  await submit(page, 'Save Changes');
  await eventually(async () => assert.equal(await textOf(page.getByTestId('form-success')), 'Changes saved'));
  await submit(page, 'Publish');
  await eventually(async () => assert.equal(await textOf(page.getByTestId('post-status')), 'published'));
  assert.equal(new URL(page.url()).pathname, '/posts/22/edit');

  await page.goto('/posts/22');
  assert.equal(await page.locator('[name="title"]').inputValue(), 'Edited at /edit');
  assert.equal(await textOf(page.getByTestId('post-status')), 'published');
});

test('a post that does not exist is a 404, at both paths', async (t) => {
  const page = await app.newPage(t, { tenant: 'posts-404' });
  for (const path of ['/posts/999', '/posts/999/edit', '/posts/abc', '/posts/abc/edit']) {
    assert.equal((await page.goto(path))?.status(), 404, path);
  }
});
