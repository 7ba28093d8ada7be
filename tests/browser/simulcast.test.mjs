// Simulcast and bandwidth adaptation in headless Chromium (issue 13): a publisher sends its
// camera in three layers (the SDK's q/h/f); the SFU gives each subscriber the best layer
// its downlink (the SFU's TWCC estimate) and its hint allow.
//
// The server runs in the test's namespace, bound to the host end of a veth pair; one
// subscriber's Chromium runs inside a namespace this test creates, whose only way to the
// server is that veth pair, with the server → subscriber direction shaped by `tc tbf` to
// 400 kbit/s. Everyone else reaches the same address locally, unshaped. Traffic stays on the
// veth pair and loopback.
//
// Skipped, saying why, only when namespaces cannot be made (not root, no ip/tc).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, TOKEN, api, launchBrowser, newPage, openDemo, until } from './lib.mjs';

const run = (cmd, ...args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const LIMIT = '400kbit';
/** Long enough for the estimator to probe up two layers on a loaded machine. */
const ADAPT_MS = 90_000;

function cannotNamespace() {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const tool of ['ip', 'tc']) {
    try { run('sh', '-c', `command -v ${tool}`); } catch { return `${tool} is not installed`; }
  }
  return null;
}

/** A namespace joined to ours by a veth pair whose host end sends at most `LIMIT`. */
function shapedNamespace(t) {
  const id = `${process.pid % 100000}`;
  const ns = `ocs${id}`;
  const host = `ocsh${id}`;
  const net = `10.${120 + (process.pid % 8)}.${(process.pid % 250) + 1}`;
  run('ip', 'netns', 'add', ns);
  t.after(() => {
    try { run('ip', 'netns', 'del', ns); } catch { /* already gone */ }
    try { run('ip', 'link', 'del', host); } catch { /* went with the namespace */ }
  });
  const inNs = (...args) => run('ip', 'netns', 'exec', ns, ...args);
  run('ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', `${host}s`);
  run('ip', 'link', 'set', `${host}s`, 'netns', ns);
  run('ip', 'addr', 'add', `${net}.1/24`, 'dev', host);
  run('ip', 'link', 'set', host, 'up');
  inNs('ip', 'addr', 'add', `${net}.2/24`, 'dev', `${host}s`);
  inNs('ip', 'link', 'set', `${host}s`, 'up');
  inNs('ip', 'link', 'set', 'lo', 'up');
  // The subscriber's downlink: what leaves the host end towards the namespace.
  run('tc', 'qdisc', 'add', 'dev', host, 'root', 'tbf', 'rate', LIMIT, 'burst', '8kb', 'latency', '200ms');
  return { ns, server: `${net}.1` };
}

/** The server bound to `ip` (HTTP on a free port, media on one derived from our pid). */
async function startServerOn(t, ip) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'opencalls-simulcast-'));
  const mediaPort = 42000 + (process.pid % 8000);
  const child = spawn(BIN, ['serve'], {
    env: {
      ...process.env,
      OPENCALLS_HTTP_ADDR: `${ip}:0`,
      OPENCALLS_MEDIA_ADDR: `${ip}:${mediaPort}`,
      OPENCALLS_MEDIA_ADVERTISED_ADDRS: '',
      OPENCALLS_API_TOKEN: TOKEN,
      OPENCALLS_DATA_DIR: dataDir,
      OPENCALLS_LOG: process.env.SERVER_LOG || 'error',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  return until('the server to listen', () => {
    if (child.exitCode !== null) assert.fail(`the server exited: ${out}`);
    return out.match(/listening on (http:\/\/[\d.]+:\d+)/)?.[1];
  });
}

/** Chromium started inside namespace `ns` (`ip netns exec`, through a wrapper script). */
async function launchBrowserIn(t, ns, args) {
  const dir = mkdtempSync(path.join(tmpdir(), 'opencalls-nschromium-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const wrapper = path.join(dir, 'chromium');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${process.env.CHROMIUM || '/usr/bin/chromium'} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return launchBrowserWith(t, wrapper, args);
}

async function launchBrowserWith(t, executable, args) {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(path.join(tmpdir(), 'opencalls-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: executable,
    headless: true,
    args: [
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--disable-features=WebRtcHideLocalIpsWithMdns', '--autoplay-policy=no-user-gesture-required',
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args,
    ],
  });
  t.after(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  });
  return browser;
}

/** The received video of the page's peer connection (the slot carrying the publisher). */
async function video(page) {
  const v = await videoNow(page);
  if (process.env.SIMULCAST_DEBUG) console.log(new Date().toISOString(), await page.evaluate(() => window.demo.client?.user?.userId), JSON.stringify(v));
  return v;
}

function videoNow(page) {
  return page.evaluate(async () => {
    const pc = window.demo.room?.peerConnection;
    const best = { frames: 0, width: 0, height: 0, freezes: 0, bytes: 0 };
    if (!pc) return best;
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.kind !== 'video' || !(s.framesDecoded > best.frames)) return;
      Object.assign(best, { frames: s.framesDecoded, width: s.frameWidth || 0, height: s.frameHeight || 0, freezes: s.freezeCount || 0, bytes: s.bytesReceived });
    });
    return best;
  });
}

/** What the publisher sends, per rid (the layers are up once each has sent frames). */
function published(page) {
  return page.evaluate(async () => {
    const layers = {};
    (await window.demo.room.peerConnection.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) layers[s.rid] = { frames: s.framesEncoded || 0, height: s.frameHeight || 0 };
    });
    return layers;
  });
}

async function join(browser, base, room, userId, withVideo) {
  const { access_token } = await api(base, 'POST', '/v1/users', { user_id: userId, issue_access_token: true });
  const page = await newPage(browser, userId);
  const query = { user_id: userId, access_token, room_id: room.room_id, autojoin: '1' };
  if (!withVideo) query.video = '0';
  await openDemo(page, base, query);
  await until(`${userId} enters`, async () => {
    const error = await page.evaluate(() => window.demo.error);
    if (error) assert.fail(`${userId}: ${error}`);
    return page.evaluate(() => !!window.demo.room?.peerConnection);
  });
  return page;
}

const skip = cannotNamespace() || false;

test('simulcast: a 400 kbit/s subscriber gets the low layer and keeps decoding, an unconstrained one the high layer, a small tile the low layer', { skip, timeout: 240_000 }, async (t) => {
  const shaped = shapedNamespace(t);
  const base = await startServerOn(t, shaped.server);
  const secure = `--unsafely-treat-insecure-origin-as-secure=${base}`;
  const { room } = await api(base, 'POST', '/v1/rooms', { type: 'small_room_for_video' });

  const local = await launchBrowser(t, [secure]);
  const publisher = await join(local, base, room, 'pub', true);
  // 720p at 15 fps: layers of 180, 360 and 720 lines, at most ~150k / 500k / 1.5M bit/s.
  await publisher.evaluate(async () => {
    const sender = window.demo.room.peerConnection.getSenders().find((s) => s.track?.kind === 'video');
    await sender.track.applyConstraints({ width: 1280, height: 720, frameRate: 15 });
  });
  await until('the publisher sends three layers', async () => {
    const layers = await published(publisher);
    return ['q', 'h', 'f'].every((rid) => layers[rid]?.frames > 0) && layers;
  }, ADAPT_MS);

  const free = await join(local, base, room, 'free', false);
  const small = await join(local, base, room, 'small', false);
  const weak = await join(await launchBrowserIn(t, shaped.ns, [secure]), base, room, 'weak', false);
  // The small tile: 180 device pixels tall for the publisher's video.
  await until('the small tile hints', () => small.evaluate(async () => {
    const room = window.demo.room;
    const pub = [...room.participants.values()].find((p) => p.userId === 'pub');
    if (!pub) return false;
    await room.setVideoHint(pub.participantId, 180);
    return true;
  }));

  // Chromium may drop or shrink its top layer while its own uplink estimate or the CPU is
  // short: "high" is the tallest layer the publisher sends at that moment, above the low one.
  let before = await published(publisher);
  let last = null;
  const high = await until('the unconstrained subscriber receives the high layer', async () => {
    const [v, layers] = [await video(free), await published(publisher)];
    // Layers that encoded frames since the last poll (a paused one keeps its frameHeight).
    const sending = Object.entries(layers).filter(([rid, l]) => l.frames > (before[rid]?.frames ?? 0));
    before = layers;
    const tallest = Math.max(0, ...sending.map(([, l]) => l.height));
    last = { received: v, sending: Object.fromEntries(sending) };
    return v.height >= 360 && v.height >= tallest && { ...v, layers };
  }, ADAPT_MS).catch((err) => {
    // On a starved machine Chromium's encoder drops its upper layers: say so.
    assert.fail(`${err.message}; last seen ${JSON.stringify(last)}`);
  });

  // The shaped subscriber: the lowest layer, decoding steadily for 10 s with few freezes.
  const low = await until('the 400 kbit/s subscriber decodes the low layer', async () => {
    const v = await video(weak);
    return v.frames > 0 && v.height > 0 && v.height <= 180 && v;
  }, ADAPT_MS);
  const later = await until('it keeps decoding for 10 s', async () => {
    const v = await video(weak);
    return v.frames >= low.frames + 10 * 10 && v;
  }, 30_000);
  assert.ok(later.height <= 180, `still the low layer: ${JSON.stringify(later)}`);
  assert.ok(later.freezes - low.freezes <= 2, `few freezes while steady: ${JSON.stringify({ low, later })}`);

  const hinted = await until('the small tile receives the low layer', async () => {
    const v = await video(small);
    return v.frames > 0 && v.height > 0 && v.height <= 180 && v;
  }, ADAPT_MS);
  assert.ok(hinted.height < high.height, JSON.stringify({ hinted, high }));
});

test('media.set_layer_hint refuses bad input and names what is wrong', { skip: false }, async (t) => {
  const { startServer, users } = await import('./lib.mjs');
  const { base } = await startServer(t);
  const tokens = await users(base, 'hinter');
  const { room } = await api(base, 'POST', '/v1/rooms', { type: 'small_room_for_video' });
  const browser = await launchBrowser(t);
  const page = await newPage(browser, 'hinter');
  await openDemo(page, base, { user_id: 'hinter', access_token: tokens.hinter, room_id: room.room_id, autojoin: '1', video: '0' });
  await until('hinter enters', () => page.evaluate(() => !!window.demo.room?.peerConnection));
  const errors = await page.evaluate(async (roomId) => {
    const client = window.demo.client;
    const codes = {};
    for (const [name, params] of Object.entries({
      noMid: { room_id: roomId, max_height: 180 },
      badSlot: { room_id: roomId, mid: 'nope', max_height: 180 },
      zero: { room_id: roomId, mid: '0', max_height: 0 },
      twoSessions: { room_id: roomId, call_id: 'x', mid: '0', max_height: 180 },
    })) {
      try {
        await client.request('media.set_layer_hint', params);
        codes[name] = 'accepted';
      } catch (err) {
        codes[name] = err.code;
      }
    }
    return codes;
  }, room.room_id);
  assert.deepEqual(errors, { noMid: 400111, badSlot: 400100, zero: 400100, twoSessions: 400100 });
});
