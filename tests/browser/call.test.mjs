// Direct calls (issue 10) through the demo app and the SDK in headless Chromium, against the
// real server: bob waits, alice dials him by user id, bob's page rings and he accepts; each
// side decodes the other's video; alice hangs up and both pages, and the Platform API's
// GET /v1/direct_calls/{id}, agree the call ended `completed` with the same duration. A
// second call is declined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, decodesVideo, launchBrowser, newPage, openDemo, startServer, until, users } from './lib.mjs';

const text = (page, sel) => page.evaluate((s) => document.querySelector(s).textContent, sel);

test('direct call: dial by user id, ring, accept, both decode video, hang up: completed with the API\'s duration', async (t) => {
  const { base } = await startServer(t);
  const tokens = await users(base, 'alice', 'bob');
  const browser = await launchBrowser(t);
  const bob = await newPage(browser, 'bob');
  await openDemo(bob, base, { user_id: 'bob', access_token: tokens.bob, tab: 'call', autojoin: '1' });
  await until('bob waits for calls', () => bob.evaluate(() => window.demo.client?.connectionState === 'connected'));

  const alice = await newPage(browser, 'alice');
  await openDemo(alice, base, { user_id: 'alice', access_token: tokens.alice, tab: 'call', callee: 'bob', autojoin: '1' });
  await until('bob\'s page rings', () => bob.isVisible('#ringing'));
  assert.match(await text(bob, '#ringing-text'), /alice is calling \(video\)/);
  await until('alice\'s page shows her call ringing', () => alice.evaluate(() => window.demo.call?.state === 'ringing'));

  await bob.click('#call-accept');
  await until('both sides connected', async () =>
    (await text(alice, '#call-state')) === 'connected' && (await text(bob, '#call-state')) === 'connected');
  await decodesVideo('alice decodes bob\'s video', alice, 'demo.call.peerConnection', 10);
  await decodesVideo('bob decodes alice\'s video', bob, 'demo.call.peerConnection', 10);
  for (const page of [alice, bob]) {
    await until('the remote video plays', () => page.evaluate(() => document.querySelector('#call-remote').videoWidth > 0));
  }
  const callId = await alice.evaluate(() => window.demo.call.callId);

  await alice.click('#call-end');
  await until('both pages show the end', async () =>
    (await text(alice, '#call-result')).includes('completed') && (await text(bob, '#call-result')).includes('completed'));
  const endings = await Promise.all([alice, bob].map((p) => p.evaluate(() => window.demo.call.ending)));
  const body = await api(base, 'GET', `/v1/direct_calls/${callId}`);
  const call = body.call ?? body;
  assert.equal(call.end_result, 'completed');
  assert.equal(call.ended_by, 'alice');
  assert.ok(call.duration > 0, `a connected call has a duration: ${call.duration}`);
  for (const ending of endings) {
    assert.deepEqual(ending, { endResult: 'completed', endedBy: 'alice', durationMs: call.duration });
  }
  for (const page of [alice, bob]) {
    const live = await page.evaluate(() => ({
      pc: window.demo.call.peerConnection,
      tracks: window.demo.call.localParticipant.stream.getTracks().length,
    }));
    assert.deepEqual(live, { pc: null, tracks: 0 }, 'the call left no peer connection and no local track');
  }

  // A second call, declined.
  await alice.click('#dial-form button[type=submit]');
  await until('bob\'s page rings again', () => bob.isVisible('#ringing'));
  await bob.click('#call-decline');
  await until('alice learns it was declined', async () => (await text(alice, '#call-result')).includes('declined'));
});
