// Browser interop: two headless Chromium pages enter the same small video room through the
// demo page served by the real server binary, and each proves with getStats() that it
// decoded the other's video and received its audio. Everything stays on 127.0.0.1.
//
// Run by scripts/test after `cargo build`; OPENCALLS_BIN overrides the binary's path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.OPENCALLS_BIN || path.join(here, '../../target/debug/opencalls');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TOKEN = 'browser-test-token-0123456789abcdef';
const DEADLINE_MS = 30_000;

/** Polls `check` until it returns a truthy value; fails with `what` at the deadline. */
async function until(what, check) {
  const deadline = Date.now() + DEADLINE_MS;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the server on 127.0.0.1 ports chosen by the OS; resolves with its base URL. */
async function startServer(dataDir) {
  const child = spawn(BIN, ['serve'], {
    env: {
      ...process.env,
      OPENCALLS_HTTP_ADDR: '127.0.0.1:0',
      OPENCALLS_MEDIA_ADDR: '127.0.0.1:0',
      OPENCALLS_MEDIA_ADVERTISED_ADDRS: '',
      OPENCALLS_API_TOKEN: TOKEN,
      OPENCALLS_DATA_DIR: dataDir,
      OPENCALLS_LOG: 'error',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const base = await until('the server to listen', () => {
    if (child.exitCode !== null) assert.fail(`the server exited: ${out}`);
    return out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
  });
  return { child, base };
}

async function api(base, method, route, body) {
  const resp = await fetch(base + route, {
    method,
    headers: { 'Api-Token': TOKEN, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const json = await resp.json();
  assert.equal(resp.status, 200, JSON.stringify(json));
  return json;
}

/** What a page received from the SFU, summed over its inbound streams. */
function inbound() {
  return window.demo.call.pc.getStats().then((report) => {
    const sum = { framesDecoded: 0, audioPackets: 0, audioSamples: 0 };
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') sum.framesDecoded += s.framesDecoded || 0;
      if (s.kind === 'audio') {
        sum.audioPackets += s.packetsReceived || 0;
        sum.audioSamples += s.totalSamplesReceived || 0;
      }
    });
    return sum;
  });
}

/** Starts a server and a browser, and has two demo pages (alice, bob) enter one new room
 *  of `roomType` (`extra`: more demo-page query parameters). Everything is torn down after the test `t`. */
async function twoPagesInARoom(t, roomType, extra = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'opencalls-browser-'));
  const profile = mkdtempSync(path.join(tmpdir(), 'opencalls-chromium-'));
  const { child, base } = await startServer(dataDir);
  let browser;
  t.after(async () => {
    if (browser) await browser.close();
    child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  });

  const { room } = await api(base, 'POST', '/v1/rooms', { type: roomType });
  const users = [];
  for (const userId of ['alice', 'bob']) {
    const user = await api(base, 'POST', '/v1/users', { user_id: userId, issue_access_token: true });
    users.push({ userId, token: user.access_token });
  }

  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });

  const pages = [];
  for (const { userId, token } of users) {
    const page = await browser.newPage();
    page.on('pageerror', (err) => console.error(`[${userId}] ${err}`));
    const query = new URLSearchParams({
      user_id: userId, access_token: token, room_id: room.room_id, autojoin: '1', ...extra,
    });
    await page.goto(`${base}/demo/?${query}`);
    pages.push({ userId, page });
  }
  for (const { userId, page } of pages) {
    await until(`${userId} in the room`, async () => {
      const error = await page.evaluate(() => window.demo.error);
      if (error) assert.fail(`${userId}: ${error}`);
      return page.evaluate(() => !!window.demo.call?.pc);
    });
  }
  return { base, room, pages };
}

test('two Chromium pages see and hear each other through the SFU', async (t) => {
  const { base, room, pages } = await twoPagesInARoom(t, 'small_room_for_video');
  for (const { userId, page } of pages) {
    const got = await until(`${userId} decodes video and receives audio`, async () => {
      const s = await page.evaluate(inbound);
      return s.framesDecoded > 0 && s.audioPackets > 0 && s.audioSamples > 0 && s.framesDecoded;
    });
    assert.ok(got > 0);
    // The SFU advertised only loopback, and that is where the media went.
    const { candidates, remote } = await page.evaluate(async () => {
      const pc = window.demo.call.pc;
      const report = await pc.getStats();
      const remote = [];
      report.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated) {
          remote.push(report.get(s.remoteCandidateId)?.address);
        }
      });
      return { candidates: pc.remoteDescription.sdp.match(/^a=candidate:.*$/gm) || [], remote };
    });
    assert.ok(candidates.length > 0 && candidates.every((c) => c.includes(' 127.0.0.1 ')), candidates.join('\n'));
    assert.ok(remote.length > 0 && remote.every((a) => a === '127.0.0.1'), String(remote));
    // The other participant's tile shows the stream the SFU labelled as theirs.
    const tiles = await page.evaluate(() => window.demo.call.remote.size);
    assert.equal(tiles, 1, `${userId} sees exactly one remote participant`);
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
      const s = await page.evaluate(inbound);
      return s.audioPackets > 0 && s.audioSamples > 0;
    });
    const offer = await page.evaluate(() => window.demo.call.pc.localDescription.sdp);
    assert.ok(!/^m=video/m.test(offer), `${userId} offered video in an audio-only room`);
    assert.equal((offer.match(/^m=audio/gm) || []).length, 4, 'one send + 3 receive slots');
  }
});

test('live event: a Chromium viewer gets the host\'s media only while the event is ongoing', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'opencalls-browser-'));
  const profile = mkdtempSync(path.join(tmpdir(), 'opencalls-chromium-'));
  const { child, base } = await startServer(dataDir);
  let browser;
  t.after(async () => {
    if (browser) await browser.close();
    child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  });
  const { live_event: event } = await api(base, 'POST', '/v1/live-events', {
    host_type: 'single_host', user_ids_for_host: ['host'],
  });
  const id = event.live_event_id;
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    ],
  });
  const pages = {};
  for (const [userId, role] of [['host', 'host'], ['viewer', 'participant']]) {
    const { access_token: token } = await api(base, 'POST', '/v1/users', {
      user_id: userId, issue_access_token: true,
    });
    const page = await browser.newPage();
    page.on('pageerror', (err) => console.error(`[${userId}] ${err}`));
    await page.goto(`${base}/demo/`);
    if (role === 'participant') await api(base, 'POST', `/v1/live-events/${id}/ready`, {});
    await page.evaluate(async ({ userId, token, id, role }) => {
      const client = await OpenCalls.connect({ userId, accessToken: token });
      window.live = await client.enterLiveEvent(id, { role });
    }, { userId, token, id, role });
    pages[role] = page;
  }
  const received = () => pages.participant.evaluate(async () => {
    const sum = { connected: window.live.pc.connectionState === 'connected', frames: 0, audio: 0 };
    (await window.live.pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') sum.frames += s.framesDecoded || 0;
      if (s.kind === 'audio') sum.audio += s.packetsReceived || 0;
    });
    return sum;
  });
  const hostState = async () => (await api(base, 'GET', `/v1/live-events/${id}`)).live_event;
  await until('ready: the host is connected', async () => (await hostState()).host?.state === 'connected');
  await until('ready: the viewer is connected', async () => (await received()).connected);
  const ready = await received();
  assert.equal(ready.frames + ready.audio, 0, 'nothing is forwarded while ready');

  await api(base, 'POST', `/v1/live-events/${id}/start`, {});
  await until('ongoing: the viewer decodes the host\'s video and gets its audio', async () => {
    const s = await received();
    return s.frames > 0 && s.audio > 0;
  });
  assert.equal((await hostState()).is_host_streaming, true);
  await api(base, 'DELETE', `/v1/live-events/${id}`);
  await until('ended: the host is not streaming', async () => !(await hostState()).is_host_streaming);
});
