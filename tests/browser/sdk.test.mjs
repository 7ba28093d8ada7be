// The SDK's promises, in headless Chromium against the real server: a call survives the
// page going offline (reconnect with the same client id, seats resumed, nobody sees an
// exit); an ICE restart keeps the media flowing; leave()/disconnect() leave no live track
// and no open peer connection; the demo's room controls reach the other side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, decodesVideo, launchBrowser, newPage, openDemo, received, startServer, until, users } from './lib.mjs';

/** Records every track and peer connection a page creates (checked after leave()). */
function recordMedia() {
  const created = { tracks: [], pcs: [] };
  window.__created = created;
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => {
    const stream = await gum(c);
    created.tracks.push(...stream.getTracks());
    return stream;
  };
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      created.pcs.push(this);
    }
  };
}

/** What is still running of what the page created. */
const leftovers = (page) => page.evaluate(() => ({
  tracks: window.__created.tracks.length,
  liveTracks: window.__created.tracks.filter((t) => t.readyState !== 'ended').map((t) => t.kind),
  pcs: window.__created.pcs.length,
  openPcs: window.__created.pcs.filter((pc) => pc.signalingState !== 'closed').length,
}));

/** alice and bob in one new video room through the demo (extra: more query for alice). */
async function aliceAndBob(t, aliceExtra = {}, browserArgs = []) {
  const { base } = await startServer(t);
  const { room } = await api(base, 'POST', '/v1/rooms', { type: 'small_room_for_video' });
  const tokens = await users(base, 'alice', 'bob');
  const browser = await launchBrowser(t, browserArgs);
  const pages = {};
  for (const userId of ['alice', 'bob']) {
    const page = await newPage(browser, userId);
    await page.addInitScript(recordMedia);
    const extra = userId === 'alice' ? aliceExtra : {};
    await openDemo(page, base, { user_id: userId, access_token: tokens[userId], room_id: room.room_id, autojoin: '1', ...extra });
    pages[userId] = page;
  }
  for (const [userId, page] of Object.entries(pages)) {
    await until(`${userId} decodes the other's video`, async () => (await received(page, 'demo.room.peerConnection')).frames > 0);
  }
  return { base, room, pages, tokens, browser };
}

test('reconnection: 3 s offline, the call resumes without reload and nobody sees an exit', async (t) => {
  // ping_ms=1500: the SDK notices the dead socket within ~3 s, inside the 3 s outage plus its wait.
  const { base, room, pages } = await aliceAndBob(t, { ping_ms: '1500' });
  const { alice, bob } = pages;
  const before = await alice.evaluate(() => ({
    clientId: window.demo.client.clientId,
    participantId: window.demo.room.localParticipant.participantId,
    pc: window.demo.room.peerConnection === window.__created.pcs.at(-1),
  }));
  await alice.evaluate(() => { window.__loaded = 'same page'; });

  const cdp = await alice.context().newCDPSession(alice);
  await cdp.send('Network.enable');
  const offline = (on) => cdp.send('Network.emulateNetworkConditions', { offline: on, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await offline(true);
  await until('alice notices and starts reconnecting', () => alice.evaluate(() => window.demo.client.connectionState === 'reconnecting'), 5_000);
  // The outage itself: three seconds without network (this wait is the scenario, not a readiness guess).
  await new Promise((r) => setTimeout(r, 3_000));
  await offline(false);

  await until('alice is connected again', () => alice.evaluate(() => window.demo.client.connectionState === 'connected'));
  const after = await alice.evaluate(() => ({
    clientId: window.demo.client.clientId,
    participantId: window.demo.room?.localParticipant.participantId,
    loaded: window.__loaded,
    log: window.demo.log,
  }));
  assert.equal(after.loaded, 'same page', 'no reload');
  assert.equal(after.clientId, before.clientId, 'same client id');
  assert.equal(after.participantId, before.participantId, 'the seat was resumed, not re-entered');
  assert.ok(after.log.includes('connection: reconnecting') && after.log.includes('reconnected; seats resumed'), after.log.join('\n'));
  await decodesVideo('alice decodes bob again', alice, 'demo.room.peerConnection', 10);
  await decodesVideo('bob decodes alice again', bob, 'demo.room.peerConnection', 10);

  const bobLog = await bob.evaluate(() => window.demo.log);
  assert.ok(!bobLog.includes('alice left'), `bob saw alice leave:\n${bobLog.join('\n')}`);
  const { room: now } = await api(base, 'GET', `/v1/rooms/${room.room_id}`);
  assert.deepEqual(now.current_participants.map((p) => p.participant_id).sort(),
    [before.participantId, await bob.evaluate(() => window.demo.room.localParticipant.participantId)].sort());
});

test('an ICE restart (new ICE credentials, same peer connection) keeps the call going', async (t) => {
  const { pages } = await aliceAndBob(t);
  const { alice, bob } = pages;
  const ufrag = () => alice.evaluate(() => window.demo.room.peerConnection.localDescription.sdp.match(/a=ice-ufrag:(\S+)/)[1]);
  const pcsBefore = (await leftovers(alice)).pcs;
  const old = await ufrag();
  await alice.evaluate(() => window.demo.room.restartIce());
  assert.notEqual(await ufrag(), old, 'the offer carried new ICE credentials');
  const stats = await alice.evaluate(() => window.demo.room.mediaStats);
  assert.equal(stats.iceRestarts, 1);
  assert.equal(stats.renegotiations, 1, 'no fallback to a fresh peer connection was needed');
  assert.equal((await leftovers(alice)).pcs, pcsBefore);
  await decodesVideo('alice still decodes bob', alice, 'demo.room.peerConnection', 10);
  await decodesVideo('bob still decodes alice', bob, 'demo.room.peerConnection', 10);
});

test('room controls: mute and camera reach the other side; leave() stops every track and peer connection', async (t) => {
  const { base, room, pages } = await aliceAndBob(t);
  const { alice, bob } = pages;
  const bobSeesAlice = () => bob.evaluate(() => {
    const p = [...window.demo.room.participants.values()][0];
    return { audio: p.isAudioOn, video: p.isVideoOn, caption: document.querySelector(`#p-${p.participantId} figcaption`).textContent };
  });

  await alice.click('#room-mic');
  await until('bob sees alice muted', async () => !(await bobSeesAlice()).audio);
  assert.match((await bobSeesAlice()).caption, /🔇/);
  await alice.click('#room-cam');
  await until('bob sees alice\'s camera off', async () => !(await bobSeesAlice()).video);
  assert.equal((await leftovers(alice)).liveTracks.includes('video'), false, 'camera off stops the camera');
  await alice.click('#room-cam');
  await until('bob sees alice\'s camera on', async () => (await bobSeesAlice()).video);
  await decodesVideo('bob decodes alice\'s camera again', bob, 'demo.room.peerConnection', 10);
  await alice.click('#room-mic');
  await until('bob sees alice unmuted', async () => (await bobSeesAlice()).audio);

  await alice.click('#room-leave');
  await until('alice left', () => alice.evaluate(() => window.demo.room === null));
  const rest = await leftovers(alice);
  assert.ok(rest.tracks >= 3 && rest.pcs >= 1, JSON.stringify(rest));
  assert.deepEqual(rest.liveTracks, [], 'no live track after leave()');
  assert.equal(rest.openPcs, 0, 'no open peer connection after leave()');
  await until('bob sees alice leave', () => bob.evaluate(() => window.demo.room.participants.size === 0));
  const { room: now } = await api(base, 'GET', `/v1/rooms/${room.room_id}`);
  assert.equal(now.current_participants.length, 1);
});

test('disconnect() of a live host stops its camera, microphone and peer connection', async (t) => {
  const { base } = await startServer(t);
  const { live_event: event } = await api(base, 'POST', '/v1/live-events', { host_type: 'single_host', user_ids_for_host: ['host'] });
  const tokens = await users(base, 'host');
  const browser = await launchBrowser(t);
  const page = await newPage(browser, 'host');
  await page.addInitScript(recordMedia);
  await openDemo(page, base, { user_id: 'host', access_token: tokens.host, live_event_id: event.live_event_id, role: 'host', autojoin: '1' });
  await until('the host is connected', async () => (await api(base, 'GET', `/v1/live-events/${event.live_event_id}`)).live_event.host?.state === 'connected');
  assert.deepEqual((await leftovers(page)).liveTracks.sort(), ['audio', 'video']);
  await page.evaluate(() => window.demo.client.disconnect());
  const rest = await leftovers(page);
  assert.deepEqual(rest.liveTracks, []);
  assert.equal(rest.openPcs, 0);
  assert.equal(await page.evaluate(() => window.demo.client.connectionState), 'disconnected');
  await until('the server saw the host exit', async () => (await api(base, 'GET', `/v1/live-events/${event.live_event_id}`)).live_event.host === null);
});

test('the ICE servers the server announces in hello reach every RTCPeerConnection', async (t) => {
  const { base } = await startServer(t);
  const { room } = await api(base, 'POST', '/v1/rooms', { type: 'small_room_for_video' });
  const tokens = await users(base, 'alice');
  const browser = await launchBrowser(t);
  const page = await newPage(browser, 'alice');
  // The test plays a server with TURN configured: it adds ice_servers to the real hello.
  const announced = [{ urls: ['turn:127.0.0.1:3478?transport=udp'], username: '1999999999:alice', credential: 'c2VjcmV0' }];
  await page.routeWebSocket(/\/v1\/ws/, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((message) => {
      const frame = JSON.parse(message);
      if (frame.type === 'hello') frame.ice_servers = announced;
      ws.send(JSON.stringify(frame));
    });
    ws.onMessage((message) => server.send(message));
  });
  await openDemo(page, base, { user_id: 'alice', access_token: tokens.alice, room_id: room.room_id, autojoin: '1' });
  await until('alice is connected to the SFU', async () => (await received(page, 'demo.room.peerConnection')).state === 'connected');
  const config = await page.evaluate(() => window.demo.room.peerConnection.getConfiguration().iceServers);
  assert.deepEqual(config, announced);
  // A fresh peer connection (after media.disconnected) gets them too.
  await page.evaluate(() => window.demo.room.renegotiate());
  assert.deepEqual(await page.evaluate(() => window.demo.room.peerConnection.getConfiguration().iceServers), announced);
});

test('devices: the demo switches camera and microphone mid-call and chooses the audio output; the speaker is highlighted', async (t) => {
  // Three fake cameras, microphones and outputs (Chromium's fake_device_1 is a Y16 depth
  // camera no encoder takes, so the switch goes to fake_device_2); the fake microphone
  // beeps, so alice "speaks".
  const { pages } = await aliceAndBob(t, {}, ['--use-fake-device-for-media-stream=device-count=3']);
  const { alice, bob } = pages;
  await until('bob highlights alice as the active speaker', () => bob.evaluate(() => {
    const alice = [...window.demo.room.participants.values()][0];
    return document.querySelector(`#p-${alice.participantId}`).classList.contains('speaking');
  }));

  const local = () => alice.evaluate(() => {
    const me = window.demo.room.localParticipant;
    return { video: me.videoTrack.mediaStreamTrack.getSettings().deviceId, audio: me.audioTrack.mediaStreamTrack.getSettings().deviceId };
  });
  const before = await local();
  for (const [select, kind] of [['#room-cam-device', 'video'], ['#room-mic-device', 'audio']]) {
    const options = await alice.$$eval(`${select} option`, (os) => os.map((o) => o.value));
    const target = options.filter((id) => id !== before[kind] && id !== 'default').at(-1);
    assert.ok(target, `a second ${kind} device to switch to: ${options}`);
    await alice.selectOption(select, target);
    await until(`alice's ${kind} comes from the chosen device`, async () => (await local())[kind] === target);
  }
  const ended = await alice.evaluate(() => window.__created.tracks.filter((t) => t.readyState === 'ended').map((t) => t.kind).sort());
  assert.deepEqual(ended, ['audio', 'video'], 'the replaced devices were released');
  await decodesVideo('bob decodes alice\'s new camera', bob, 'demo.room.peerConnection', 10);
  assert.equal(await alice.evaluate(() => window.demo.room.peerConnection === window.__created.pcs.at(-1) && window.__created.pcs.length), 1, 'switched without a new peer connection');

  const outputs = await bob.$$eval('#room-out-device option', (os) => os.map((o) => o.value));
  const speaker = outputs.find((id) => id !== 'default');
  assert.ok(speaker, `an output device: ${outputs}`);
  await bob.selectOption('#room-out-device', speaker);
  await until('bob plays alice on the chosen output', () => bob.evaluate((id) => [...document.querySelectorAll('#grid figure video')].filter((v) => !v.muted).every((v) => v.sinkId === id), speaker));
});

test('a request the server cannot answer in time rejects with a typed timeout error', async (t) => {
  const { base } = await startServer(t);
  const tokens = await users(base, 'alice');
  const browser = await launchBrowser(t);
  const page = await newPage(browser, 'alice');
  await openDemo(page, base, { user_id: 'alice', access_token: tokens.alice, tab: 'call', autojoin: '1' });
  await until('alice is connected', () => page.evaluate(() => window.demo.client?.connectionState === 'connected'));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  // Offline: WebSocket frames stop flowing but the socket stays open, so only the timeout can answer.
  await cdp.send('Network.emulateNetworkConditions', { offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const failure = await page.evaluate(async () => {
    const { OpenCallsError } = await import('/sdk/opencalls.js');
    try {
      await window.demo.client.request('ping', {}, 500);
      return null;
    } catch (err) {
      return { typed: err instanceof OpenCallsError, code: err.code, message: err.message };
    }
  });
  assert.deepEqual(failure, { typed: true, code: 1001, message: 'ping: no answer within 500 ms' });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
});
