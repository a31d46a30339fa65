// comments.test.js — the guide's /comments?post=<id>: the post's comments, and the
// `addComment` action behind a use:enhance form that shows its loading state
// ("Posting...", button and textarea disabled) until the action answers, then lists
// the new comment and clears the textarea. Seed: Post 1 has "First!" and "Nice post.",
// Post 2 has "Thanks for writing this.".

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startApp, open, markDocument, documentKept, noValidate, screenshot, submit, texts, textOf, eventually,
} from './harness.js';

/** @type {Awaited<ReturnType<typeof startApp>>} */
let app;
before(async () => { app = await startApp('comments'); });
after(() => app?.stop());

/** @param {import('playwright-core').Page} page */
async function comments(page) {
  return {
    count: await textOf(page.getByTestId('comment-count')),
    contents: await texts(page.getByTestId('comment-content')),
    authors: await texts(page.getByTestId('comment-author')),
  };
}

test('comments with JavaScript: the loading state while the action runs, then the new comment', async (t) => {
  const page = await app.newPage(t, { tenant: 'comments-js' });
  await open(page, '/comments?post=1');
  await markDocument(page);
  assert.equal(await textOf(page.locator('h1')), 'Comments on Post 1');
  assert.deepEqual(await comments(page), {
    count: '2', contents: ['First!', 'Nice post.'], authors: ['Anonymous', 'Anonymous'],
  });

  // Hold the action's request until the loading state has been seen.
  /** @type {() => void} */
  let release = () => {};
  const held = new Promise((resolve) => { release = () => resolve(undefined); });
  let posted = 0;
  await page.route((url) => url.searchParams.has('/addComment'), async (route) => {
    posted++;
    await held;
    await route.continue();
  });

  const button = page.locator('form button[type="submit"]');
  const textarea = page.locator('textarea[name="content"]');
  assert.equal(await textOf(button), 'Post Comment');
  await textarea.fill('Held until the test lets go');
  const response = page.waitForResponse((r) => r.request().method() === 'POST');
  await button.click();

  await eventually(async () => {
    assert.equal(await textOf(button), 'Posting...');
    assert.equal(await button.isDisabled(), true, 'the button is disabled while posting');
    assert.equal(await textarea.isDisabled(), true, 'the textarea is disabled while posting');
  });
  assert.equal(posted, 1, 'the POST is on its way');
  await screenshot(page, 'comments-posting');
  // Still held: nothing new listed yet.
  assert.equal((await comments(page)).count, '2');

  release();
  assert.equal((await response).status(), 200);
  await eventually(async () => {
    assert.deepEqual(await comments(page), {
      count: '3',
      contents: ['First!', 'Nice post.', 'Held until the test lets go'],
      authors: ['Anonymous', 'Anonymous', 'Anonymous'],
    });
    assert.equal(await textOf(button), 'Post Comment');
    assert.equal(await button.isDisabled(), false);
    assert.equal(await textarea.isDisabled(), false);
    assert.equal(await textarea.inputValue(), '', 'the form is cleared after success');
  });
  assert.equal(await documentKept(page), true, 'no page load');
  await page.unroute(() => true);
  await screenshot(page, 'comments');

  // A second one, not held; the URL still names the post.
  await textarea.fill('Second from the test');
  await submit(page, 'Post Comment');
  await eventually(async () => assert.equal((await comments(page)).count, '4'));
  assert.equal(new URL(page.url()).searchParams.get('post'), '1');

  // Stored: a fresh load has them; other posts do not; the post page counts them.
  await page.goto('/comments?post=1');
  assert.deepEqual((await comments(page)).contents, ['First!', 'Nice post.', 'Held until the test lets go', 'Second from the test']);
  await page.goto('/comments?post=2');
  assert.deepEqual((await comments(page)).contents, ['Thanks for writing this.']);
  await page.goto('/posts/1');
  assert.equal(await textOf(page.getByTestId('post-comments')), '4 comment(s)');
});

test('comments without JavaScript: add, refuse an empty one, per post', async (t) => {
  const page = await app.newPage(t, { js: false, tenant: 'comments-nojs' });
  await page.goto('/comments?post=2');
  assert.deepEqual((await comments(page)).contents, ['Thanks for writing this.']);

  await page.locator('textarea[name="content"]').fill('Without JavaScript');
  const res = await submit(page, 'Post Comment');
  assert.equal(res.status(), 200);
  // The page the action renders is still post 2's (the action URL keeps ?post=).
  assert.equal(new URL(page.url()).searchParams.get('post'), '2');
  assert.deepEqual(await comments(page), {
    count: '2', contents: ['Thanks for writing this.', 'Without JavaScript'], authors: ['Anonymous', 'Anonymous'],
  });
  assert.equal(await page.locator('textarea[name="content"]').inputValue(), '');

  await noValidate(page);
  await page.locator('textarea[name="content"]').fill('   ');
  const refused = await submit(page, 'Post Comment');
  assert.equal(refused.status(), 400);
  assert.equal(await textOf(page.getByTestId('form-error')), 'Write a comment first');
  assert.equal((await comments(page)).count, '2');

  await page.goto('/comments?post=1');
  assert.deepEqual((await comments(page)).contents, ['First!', 'Nice post.']);
});

test('comments: the author is the signed-in account; unknown posts are 404', async (t) => {
  const page = await app.newPage(t, { tenant: 'comments-author' });
  await open(page, '/signup');
  await page.locator('input[name="email"]').fill('writer@example.com');
  await page.locator('input[name="password"]').fill('correct horse battery');
  await submit(page, 'Sign up');
  await page.waitForURL((url) => url.pathname === '/dashboard');

  await open(page, '/comments?post=3');
  assert.equal((await comments(page)).count, '0');
  await page.locator('textarea[name="content"]').fill('Signed in');
  await submit(page, 'Post Comment');
  await eventually(async () => assert.deepEqual(await comments(page), {
    count: '1', contents: ['Signed in'], authors: ['writer@example.com'],
  }));

  assert.equal((await page.goto('/comments?post=999'))?.status(), 404);
  assert.equal((await page.goto('/comments?post=x'))?.status(), 404);
  // The action refuses a post that is not there (the foreign key), as a 404.
  const res = await page.request.post('/comments?/addComment', {
    form: { post_id: '999', content: 'Nowhere' },
    headers: { Origin: app.baseURL, Accept: 'text/html' },
  });
  assert.equal(res.status(), 404);
});
