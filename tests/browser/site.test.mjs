// The server explains itself in a browser: the landing page (version, links), the
// interactive API reference rendered from /v1/openapi.json (nothing from another origin,
// "Try it" reaches the real API), the demo under the strict Content-Security-Policy the
// server sends (no violation), and the demo's warning when opened over plain HTTP from
// another host (no camera there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, assertStrictCsp, launchBrowser, newPage, openDemo, received, startServer, TOKEN, until, users, watchCsp } from './lib.mjs';

test('landing page: version and working links', async (t) => {
  const { base } = await startServer(t);
  const browser = await launchBrowser(t);
  const page = await newPage(browser, 'landing');
  const violations = await watchCsp(page);
  const resp = await page.goto(`${base}/`);
  assert.equal(resp.status(), 200);
  assertStrictCsp(resp);
  const { info } = await (await fetch(`${base}/v1/openapi.json`)).json();
  assert.equal(await page.textContent('#version'), info.version);
  const hrefs = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href')));
  for (const href of ['/demo/', '/api/', '/healthz', '/sdk/opencalls.js', '/sdk/opencalls.d.ts', '/v1/openapi.json']) {
    assert.ok(hrefs.includes(href), `links to ${href}`);
    assert.equal((await fetch(base + href)).status, 200, href);
  }
  assert.deepEqual(violations, []);
});

test('API reference: every operation rendered, Try it calls the real API, nothing from elsewhere', async (t) => {
  const { base } = await startServer(t);
  const browser = await launchBrowser(t);
  const page = await newPage(browser, 'api');
  const violations = await watchCsp(page);
  const foreign = [];
  page.on('request', (r) => { if (!r.url().startsWith(base)) foreign.push(r.url()); });
  assertStrictCsp(await page.goto(`${base}/api/`));
  await until('the reference rendered', () => page.evaluate(() => document.body.dataset.ready === 'true'));
  const doc = await (await fetch(`${base}/v1/openapi.json`)).json();
  const expected = Object.values(doc.paths).reduce((n, item) => n + ['get', 'post', 'put', 'patch', 'delete'].filter((m) => item[m]).length, 0);
  assert.equal(await page.locator('details.op').count(), expected);

  // Try it: create a user through the page with the token typed in.
  await page.fill('#token', TOKEN);
  const op = page.locator('details.op', { has: page.locator('.path', { hasText: /^\/v1\/users$/ }) }).filter({ has: page.locator('.method.post') });
  await op.locator('summary').click();
  const body = op.locator('textarea');
  const skeleton = JSON.parse(await body.inputValue());
  assert.ok('user_id' in skeleton, 'the body starts from the schema');
  await body.fill(JSON.stringify({ user_id: 'from-the-reference', nickname: 'Ref' }));
  await op.locator('button[type=submit]').click();
  await until('the answer is shown', async () => (await op.locator('.status').textContent()).startsWith('200'));
  assert.match(await op.locator('pre').last().textContent(), /from-the-reference/);
  assert.equal((await api(base, 'GET', '/v1/users/from-the-reference')).nickname, 'Ref');
  assert.deepEqual(foreign, [], 'nothing is fetched from another origin');
  assert.deepEqual(violations, []);
});

test('demo: works under the server\'s strict CSP; warns on plain HTTP from another host', async (t) => {
  const { base } = await startServer(t);
  const { room } = await api(base, 'POST', '/v1/rooms', { type: 'small_room_for_video' });
  const tokens = await users(base, 'alice');
  const browser = await launchBrowser(t, ['--host-resolver-rules=MAP calls.example.test 127.0.0.1']);
  const page = await newPage(browser, 'alice');
  const violations = await watchCsp(page);
  assertStrictCsp(await openDemo(page, base, { user_id: 'alice', access_token: tokens.alice, room_id: room.room_id, autojoin: '1' }));
  assert.equal(await page.isVisible('#insecure'), false, 'localhost is a secure context');
  await until('alice is connected to the SFU', async () => (await received(page, 'demo.room.peerConnection')).state === 'connected');
  assert.deepEqual(violations, [], 'no CSP violation');

  const remote = await newPage(browser, 'remote');
  await remote.goto(base.replace('127.0.0.1', 'calls.example.test') + '/demo/');
  await until('the warning is shown', () => remote.isVisible('#insecure'));
  assert.match(await remote.textContent('#insecure'), /HTTPS/);
});

test('phone-sized screen: the demo and the reference fit without sideways scrolling', async (t) => {
  const { base } = await startServer(t);
  const { room } = await api(base, 'POST', '/v1/rooms', { type: 'small_room_for_video' });
  const tokens = await users(base, 'alice');
  const browser = await launchBrowser(t);
  const page = await newPage(browser, 'phone');
  await page.setViewportSize({ width: 375, height: 740 });
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  for (const tab of ['room', 'live', 'call']) {
    await openDemo(page, base, { tab });
    assert.ok(await fits(), `the ${tab} tab fits 375 px`);
  }
  await openDemo(page, base, { user_id: 'alice', access_token: tokens.alice, room_id: room.room_id, autojoin: '1' });
  await until('alice is in the room', () => page.evaluate(() => !!window.demo.room?.peerConnection));
  assert.ok(await fits(), 'in a room with the controls shown');
  await page.goto(`${base}/api/`);
  await until('the reference rendered', () => page.evaluate(() => document.body.dataset.ready === 'true'));
  assert.ok(await fits(), 'the API reference fits');
});
