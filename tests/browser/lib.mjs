// Shared helpers of the browser tests: the real server binary on 127.0.0.1, the Platform
// API, headless Debian Chromium (playwright-core, never a browser download) and polling
// with a deadline (no sleeps to wait for readiness).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.OPENCALLS_BIN || path.join(here, '../../target/debug/opencalls');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const TOKEN = 'browser-test-token-0123456789abcdef';
const DEADLINE_MS = 30_000;

/** Polls `check` until it returns a truthy value; fails with `what` at the deadline. */
export async function until(what, check, deadlineMs = DEADLINE_MS) {
  const deadline = Date.now() + deadlineMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the server on 127.0.0.1 ports chosen by the OS; resolves with its base URL. */
export async function startServer(t, env = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'opencalls-browser-'));
  const child = spawn(BIN, ['serve'], {
    env: {
      ...process.env,
      OPENCALLS_HTTP_ADDR: '127.0.0.1:0',
      OPENCALLS_MEDIA_ADDR: '127.0.0.1:0',
      OPENCALLS_MEDIA_ADVERTISED_ADDRS: '',
      OPENCALLS_API_TOKEN: TOKEN,
      OPENCALLS_DATA_DIR: dataDir,
      OPENCALLS_LOG: 'error',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const base = await until('the server to listen', () => {
    if (child.exitCode !== null) assert.fail(`the server exited: ${out}`);
    return out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
  });
  return { child, base };
}

/** Calls the Platform API; asserts a 200 and returns the JSON body. */
export async function api(base, method, route, body) {
  const resp = await fetch(base + route, {
    method,
    headers: { 'Api-Token': TOKEN, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const json = await resp.json();
  assert.equal(resp.status, 200, `${method} ${route}: ${JSON.stringify(json)}`);
  return json;
}

/** Creates users with access tokens; returns `{userId: token}`. */
export async function users(base, ...ids) {
  const tokens = {};
  for (const userId of ids) {
    tokens[userId] = (await api(base, 'POST', '/v1/users', { user_id: userId, issue_access_token: true })).access_token;
  }
  return tokens;
}

/** Launches headless Chromium with fake camera and microphone; closed after test `t`. */
export async function launchBrowser(t, extraArgs = []) {
  const profile = mkdtempSync(path.join(tmpdir(), 'opencalls-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      // Chromium honours one --disable-features: merge the caller's into it.
      ['--disable-features=WebRtcHideLocalIpsWithMdns', ...extraArgs.filter((a) => a.startsWith('--disable-features='))
        .map((a) => a.slice('--disable-features='.length))].join(','),
      '--autoplay-policy=no-user-gesture-required',
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...extraArgs.filter((a) => !a.startsWith('--disable-features=')),
    ],
  });
  t.after(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  });
  return browser;
}

/** Opens a page that reports its errors (and fails the test on an uncaught one). */
export async function newPage(browser, name) {
  const page = await browser.newPage();
  page.on('pageerror', (err) => console.error(`[${name}] ${err}`));
  return page;
}

/** Opens the demo with `query`, waits until it has run its start-up; returns the page's response. */
export async function openDemo(page, base, query) {
  const response = await page.goto(`${base}/demo/?${new URLSearchParams(query)}`);
  await until('the demo to start', () => page.evaluate(() => window.demo?.ready === true));
  return response;
}

/** Sums what the peer connection `pcExpr` (evaluated in the page) received. `pc` tells
 *  peer connections apart (the SDK replaces one after `media.disconnected`), and `video`
 *  keeps each inbound video stream's counters for failure messages. */
export function received(page, pcExpr) {
  return page.evaluate(async (expr) => {
    const pc = expr.split('.').reduce((o, k) => o?.[k], window);
    const sum = { pc: 0, state: pc?.connectionState ?? 'none', frames: 0, audioPackets: 0, audioSamples: 0, video: [] };
    if (!pc) return sum;
    window.__pcIds ??= new WeakMap();
    if (!window.__pcIds.has(pc)) window.__pcIds.set(pc, (window.__pcNext = (window.__pcNext ?? 0) + 1));
    sum.pc = window.__pcIds.get(pc);
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') {
        sum.frames += s.framesDecoded || 0;
        const { id, mid, ssrc, packetsReceived, framesReceived, framesDecoded, keyFramesDecoded, pliCount, firCount, frameHeight } = s;
        sum.video.push({ id, mid, ssrc, packetsReceived, framesReceived, framesDecoded, keyFramesDecoded, pliCount, firCount, frameHeight });
      }
      if (s.kind === 'audio') {
        sum.audioPackets += s.packetsReceived || 0;
        sum.audioSamples += s.totalSamplesReceived || 0;
      }
    });
    return sum;
  }, pcExpr);
}

/** Waits until the page has decoded `minFrames` more video frames than it had when called.
 *  Counted per inbound stream, so frames of a stream that appeared since (new SSRCs after
 *  an ICE restart, whose counters start at 0 while the old stream's may vanish from the
 *  stats, or a fresh peer connection) count in full. The failure names what the page's
 *  video receivers counted. */
export async function decodesVideo(what, page, pcExpr, minFrames = 1) {
  const before = await received(page, pcExpr);
  const had = new Map(before.video.map((v) => [`${before.pc}/${v.id}`, v.framesDecoded ?? 0]));
  const decodedSince = (now) => now.video
    .map((v) => {
      const [frames, base] = [v.framesDecoded ?? 0, had.get(`${now.pc}/${v.id}`) ?? 0];
      return frames >= base ? frames - base : frames; // a counter that restarted: all new
    })
    .reduce((a, b) => a + b, 0);
  let last = before;
  try {
    return await until(what, async () => {
      last = await received(page, pcExpr);
      return decodedSince(last) >= minFrames && last;
    });
  } catch (err) {
    err.message += `\nbefore: ${JSON.stringify(before)}\nlast: ${JSON.stringify(last)}`;
    throw err;
  }
}

/** Records the page's Content-Security-Policy violations (the server sends the policy). */
export async function watchCsp(page) {
  const violations = [];
  await page.exposeFunction('__cspViolation', (v) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolation(`${e.violatedDirective}: ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
  });
  return violations;
}

/** Asserts `response` carries a policy that forbids inline code and other origins. */
export function assertStrictCsp(response) {
  const csp = response.headers()['content-security-policy'] || '';
  assert.match(csp, /default-src 'self'/, `CSP of ${response.url()}: ${csp}`);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
}
