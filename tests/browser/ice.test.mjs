// ICE recovery on a real network fault: the media port's UDP is dropped on loopback with an
// nftables rule (a table of this test's own, removed afterwards), so Chromium's ICE goes
// `disconnected`; the SDK restarts ICE by itself (no reload, no leaving the room) and the
// call carries media again once packets flow. Needs root and `nft` (scripts/test installs
// nftables).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { api, decodesVideo, launchBrowser, newPage, openDemo, received, startServer, until, users } from './lib.mjs';

/** Drops UDP to `port` on this machine until the returned function is called. */
function dropUdp(t, port) {
  const table = `opencalls_test_${process.pid}`;
  const nft = (...args) => execFileSync('nft', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  nft('add', 'table', 'inet', table);
  nft('add', 'chain', 'inet', table, 'input', '{ type filter hook input priority -10 ; }');
  nft('add', 'rule', 'inet', table, 'input', 'udp', 'dport', String(port), 'drop');
  let removed = false;
  const restore = () => {
    if (!removed) nft('delete', 'table', 'inet', table);
    removed = true;
  };
  t.after(restore);
  return restore;
}

test('UDP to the SFU dropped: ICE goes disconnected, the SDK restarts ICE, the call comes back', async (t) => {
  const { base } = await startServer(t);
  const { room } = await api(base, 'POST', '/v1/rooms', { type: 'small_room_for_video' });
  const tokens = await users(base, 'alice', 'bob');
  const browser = await launchBrowser(t);
  const pages = {};
  for (const userId of ['alice', 'bob']) {
    pages[userId] = await newPage(browser, userId);
    await openDemo(pages[userId], base, { user_id: userId, access_token: tokens[userId], room_id: room.room_id, autojoin: '1' });
  }
  const { alice, bob } = pages;
  for (const page of [alice, bob]) {
    await until('media flows', async () => (await received(page, 'demo.room.peerConnection')).frames > 0);
  }
  const port = await alice.evaluate(() => Number(window.demo.room.peerConnection.remoteDescription.sdp.match(/a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 (\d+) typ host/i)[1]));
  const participantId = await alice.evaluate(() => window.demo.room.localParticipant.participantId);

  const restore = dropUdp(t, port);
  await until('both sides restart ICE by themselves', async () => {
    const restarts = await Promise.all([alice, bob].map((p) => p.evaluate(() => window.demo.room.mediaStats.iceRestarts)));
    return restarts.every((n) => n >= 1);
  });
  restore();

  await decodesVideo('alice decodes bob again', alice, 'demo.room.peerConnection', 10);
  await decodesVideo('bob decodes alice again', bob, 'demo.room.peerConnection', 10);
  const state = await alice.evaluate(() => ({
    participantId: window.demo.room?.localParticipant.participantId,
    log: window.demo.log,
  }));
  assert.equal(state.participantId, participantId, 'still the same seat: the room was never left');
  const bobLog = await bob.evaluate(() => window.demo.log);
  assert.ok(!bobLog.includes('alice left'), bobLog.join('\n'));
});
