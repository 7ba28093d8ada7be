// Browser interop: headless Chromium pages use the demo app (and so the SDK module served
// at /sdk/opencalls.js) against the real server binary; each proves with getStats() that
// it decoded the others' video and received their audio. Everything stays on 127.0.0.1.
//
// Run by scripts/test after `cargo build`; OPENCALLS_BIN overrides the binary's path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, launchBrowser, newPage, openDemo, received, startServer, until, users } from './lib.mjs';

/** Two demo pages (alice, bob) enter one new room of `roomType` (`extra`: more query). */
async function twoPagesInARoom(t, roomType, extra = {}) {
  const { base } = await startServer(t);
  const { room } = await api(base, 'POST', '/v1/rooms', { type: roomType });
  const tokens = await users(base, 'alice', 'bob');
  const browser = await launchBrowser(t);
  const pages = [];
  for (const [userId, token] of Object.entries(tokens)) {
    const page = await newPage(browser, userId);
    await openDemo(page, base, { user_id: userId, access_token: token, room_id: room.room_id, autojoin: '1', ...extra });
    pages.push({ userId, page });
  }
  for (const { userId, page } of pages) {
    await until(`${userId} in the room`, async () => {
      const error = await page.evaluate(() => window.demo.error);
      if (error) assert.fail(`${userId}: ${error}`);
      return page.evaluate(() => !!window.demo.room?.peerConnection);
    });
  }
  return { base, room, pages };
}

test('two Chromium pages see and hear each other through the SFU', async (t) => {
  const { base, room, pages } = await twoPagesInARoom(t, 'small_room_for_video');
  for (const { userId, page } of pages) {
    await until(`${userId} decodes video and receives audio`, async () => {
      const s = await received(page, 'demo.room.peerConnection');
      return s.frames > 0 && s.audioPackets > 0 && s.audioSamples > 0;
    });
    // The SFU advertised only loopback, and that is where the media went.
    const { candidates, remote } = await page.evaluate(async () => {
      const pc = window.demo.room.peerConnection;
      const report = await pc.getStats();
      const remote = [];
      report.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated) remote.push(report.get(s.remoteCandidateId)?.address);
      });
      return { candidates: pc.remoteDescription.sdp.match(/^a=candidate:.*$/gm) || [], remote };
    });
    assert.ok(candidates.length > 0 && candidates.every((c) => c.includes(' 127.0.0.1 ')), candidates.join('\n'));
    assert.ok(remote.length > 0 && remote.every((a) => a === '127.0.0.1'), String(remote));
    // The other participant's tile shows the video the SFU labelled as theirs.
    const other = await page.evaluate(() => {
      const room = window.demo.room;
      const [p] = [...room.participants.values()];
      const video = document.querySelector(`#p-${p.participantId} video`);
      return {
        count: room.participants.size,
        userId: p.userId,
        tracks: video.srcObject.getTracks().map((x) => x.kind).sort(),
        playing: video.videoWidth > 0,
      };
    });
    assert.equal(other.count, 1, `${userId} sees exactly one remote participant`);
    assert.notEqual(other.userId, userId);
    assert.deepEqual(other.tracks, ['audio', 'video']);
  }
  const participants = await until('both participants connected', async () => {
    const { room: now } = await api(base, 'GET', `/v1/rooms/${room.room_id}`);
    const list = now.current_participants;
    return list.length === 2 && list.every((p) => p.state === 'connected') && list;
  });
  assert.ok(participants.every((p) => p.connected_at > 0));
});

test('in an audio-only room the SDK offers no video and the pages hear each other', async (t) => {
  const { pages } = await twoPagesInARoom(t, 'large_room_for_audio_only', { video: '0' });
  for (const { userId, page } of pages) {
    await until(`${userId} receives audio`, async () => {
      const s = await received(page, 'demo.room.peerConnection');
      return s.audioPackets > 0 && s.audioSamples > 0;
    });
    const offer = await page.evaluate(() => window.demo.room.peerConnection.localDescription.sdp);
    assert.ok(!/^m=video/m.test(offer), `${userId} offered video in an audio-only room`);
    assert.equal((offer.match(/^m=audio/gm) || []).length, 4, 'one send + 3 receive slots');
  }
});
