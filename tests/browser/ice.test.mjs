// ICE recovery on a real network fault: the media port (UDP and ICE-TCP) is dropped on
// loopback with an nftables rule (a table of this test's own, removed afterwards), so Chromium's ICE goes
// `disconnected`; the SDK restarts ICE by itself (no reload, no leaving the room) and the
// call carries media again once packets flow. Needs root and `nft` (scripts/test installs
// nftables).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { api, decodesVideo, launchBrowser, newPage, openDemo, received, startServer, until, users } from './lib.mjs';

/** Drops UDP and TCP to `ports` on this machine until the returned function is called. */
function dropMedia(t, ports) {
  const table = `opencalls_test_${process.pid}`;
  const nft = (...args) => execFileSync('nft', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  nft('add', 'table', 'inet', table);
  nft('add', 'chain', 'inet', table, 'input', '{ type filter hook input priority -10 ; }');
  // Both transports: the server offers ICE-TCP beside UDP (another port when bound to :0).
  nft('add', 'rule', 'inet', table, 'input', 'meta', 'l4proto', '{ tcp, udp }', 'th', 'dport', `{ ${ports.join(', ')} }`, 'drop');
  let removed = false;
  const restore = () => {
    if (!removed) nft('delete', 'table', 'inet', table);
    removed = true;
  };
  t.after(restore);
  return restore;
}

/** alice and bob in a new video room through the demo, media flowing both ways. */
async function aliceAndBob(t, env = {}) {
  const { base } = await startServer(t, env);
  const { room } = await api(base, 'POST', '/v1/rooms', { type: 'small_room_for_video' });
  const tokens = await users(base, 'alice', 'bob');
  const browser = await launchBrowser(t);
  const pages = {};
  for (const userId of ['alice', 'bob']) {
    pages[userId] = await newPage(browser, userId);
    await openDemo(pages[userId], base, { user_id: userId, access_token: tokens[userId], room_id: room.room_id, autojoin: '1' });
  }
  for (const page of Object.values(pages)) {
    await until('media flows', async () => (await received(page, 'demo.room.peerConnection')).frames > 0);
  }
  return pages;
}

/** The SFU's media ports (UDP and ICE-TCP), from the answer's host candidates. */
const sfuPorts = (page) => page.evaluate(() => [...new Set([...window.demo.room.peerConnection.remoteDescription.sdp
  .matchAll(/a=candidate:\S+ \d+ (?:udp|tcp) \d+ 127\.0\.0\.1 (\d+) typ host/gi)].map((m) => Number(m[1])))]);

/** Both sides decode each other again, alice kept her seat and bob never saw her leave. */
async function callIsBack(alice, bob, participantId) {
  try {
    await decodesVideo('alice decodes bob again', alice, 'demo.room.peerConnection', 10);
    await decodesVideo('bob decodes alice again', bob, 'demo.room.peerConnection', 10);
  } catch (err) {
    // What each side's SDK did to recover, for a failure that does not reproduce at will.
    for (const [name, page] of [['alice', alice], ['bob', bob]]) {
      const seen = await page.evaluate(() => ({ stats: window.demo.room?.mediaStats, log: window.demo.log.slice(-20) }));
      err.message += `\n${name}: ${JSON.stringify(seen)}`;
    }
    throw err;
  }
  const seat = await alice.evaluate(() => window.demo.room?.localParticipant.participantId);
  assert.equal(seat, participantId, 'still the same seat: the room was never left');
  const bobLog = await bob.evaluate(() => window.demo.log);
  assert.ok(!bobLog.includes('alice left'), bobLog.join('\n'));
}

test('media port dropped: ICE goes disconnected, the SDK restarts ICE, the call comes back', async (t) => {
  const { alice, bob } = await aliceAndBob(t);
  const ports = await sfuPorts(alice);
  assert.ok(ports.length >= 1, 'the answer names the media ports');
  const participantId = await alice.evaluate(() => window.demo.room.localParticipant.participantId);

  const restore = dropMedia(t, ports);
  await until('both sides restart ICE by themselves', async () => {
    const restarts = await Promise.all([alice, bob].map((p) => p.evaluate(() => window.demo.room.mediaStats.iceRestarts)));
    return restarts.every((n) => n >= 1);
  });
  restore();
  await callIsBack(alice, bob, participantId);
});

test('the server drops the lost transport (media.disconnected): the SDK offers a fresh peer connection', async (t) => {
  // The server gives up on a silent transport after 1.5 s and tells the device.
  const { alice, bob } = await aliceAndBob(t, { OPENCALLS_MEDIA_TRANSPORT_TIMEOUT_MS: '1500' });
  const participantId = await alice.evaluate(() => window.demo.room.localParticipant.participantId);
  const first = await alice.evaluateHandle(() => window.demo.room.peerConnection);
  const restore = dropMedia(t, await sfuPorts(alice));
  await until('both sides built a fresh peer connection', async () => {
    const counts = await Promise.all([alice, bob].map((p) => p.evaluate(() => window.demo.room.mediaStats.renegotiations)));
    return counts.every((n) => n >= 2);
  });
  restore();
  await callIsBack(alice, bob, participantId);
  assert.equal(await alice.evaluate((old) => window.demo.room.peerConnection !== old, first), true);
});
