// Live events in the demo app: a host page and a viewer page (headless Chromium, real
// server). The viewer gets the host's media only while the event is ongoing; the host's
// counters follow the viewer; chat goes both ways; the end reaches everyone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, launchBrowser, newPage, openDemo, received, startServer, until, users } from './lib.mjs';

const text = (page, sel) => page.evaluate((s) => document.querySelector(s).textContent, sel);

test('live event: host and viewer pages (media only while ongoing, counters, chat, end)', async (t) => {
  const { base } = await startServer(t);
  const { live_event: event } = await api(base, 'POST', '/v1/live-events', {
    host_type: 'single_host', user_ids_for_host: ['host'],
  });
  const id = event.live_event_id;
  const tokens = await users(base, 'host', 'viewer');
  const browser = await launchBrowser(t);

  // The host enters through the form and drives the life cycle with the demo's buttons.
  const host = await newPage(browser, 'host');
  await openDemo(host, base, { user_id: 'host', access_token: tokens.host, live_event_id: id, role: 'host', autojoin: '1' });
  await until('the host is in', () => host.evaluate(() => !!window.demo.live?.peerConnection));
  assert.equal(await host.isVisible('#live-host-controls'), true);
  await host.click('#live-ready');
  await until('the host sees ready', async () => (await text(host, '#live-state')) === 'ready');
  await until('the host is connected', async () => (await api(base, 'GET', `/v1/live-events/${id}`)).live_event.host?.state === 'connected');

  const viewer = await newPage(browser, 'viewer');
  await openDemo(viewer, base, { user_id: 'viewer', access_token: tokens.viewer, live_event_id: id, autojoin: '1' });
  await until('the viewer is connected', async () => (await received(viewer, 'demo.live.peerConnection')).state === 'connected');
  assert.equal(await viewer.isVisible('#live-host-controls'), false, 'a viewer has no host controls');
  await until('the host counts one viewer', async () => (await text(host, '#live-count')) === '1');
  assert.equal(await text(host, '#live-total'), '1');
  const ready = await received(viewer, 'demo.live.peerConnection');
  assert.equal(ready.frames + ready.audioPackets, 0, 'nothing is forwarded while ready');

  await host.click('#live-start');
  await until('the viewer decodes the host\'s video and gets its audio', async () => {
    const s = await received(viewer, 'demo.live.peerConnection');
    return s.frames > 0 && s.audioPackets > 0;
  });
  await until('the viewer page shows the host playing', () => viewer.evaluate(() => {
    const v = document.querySelector('#live-video');
    return v.videoWidth > 0 && !v.paused && v.srcObject.getVideoTracks().length === 1;
  }));
  await until('the viewer sees ongoing and streaming', async () =>
    (await text(viewer, '#live-state')) === 'ongoing' && (await text(viewer, '#live-streaming')) === 'yes');

  // Chat both ways through the form.
  await viewer.fill('#chat-form input[name=message]', 'hello from the viewer');
  await viewer.click('#chat-form button');
  await until('the host sees the viewer\'s message', async () => (await text(host, '#chat-log')).includes('viewerhello from the viewer'));
  await host.fill('#chat-form input[name=message]', 'welcome');
  await host.click('#chat-form button');
  await until('the viewer sees the host\'s message', async () => (await text(viewer, '#chat-log')).includes('host (host)welcome'));

  // The host ends it: the viewer is told and its media is gone.
  await host.click('#live-end');
  await until('the viewer left with the end', async () => (await text(viewer, '#status')).includes('(ended)'));
  assert.equal((await api(base, 'GET', `/v1/live-events/${id}`)).live_event.state, 'ended');
  // The host learns it from its own request's answer, which may come after the viewer's event.
  for (const [name, page] of [['host', host], ['viewer', viewer]]) {
    await until(`the ${name} page let go of the live event`, () => page.evaluate(() => window.demo.live === null));
  }
});
