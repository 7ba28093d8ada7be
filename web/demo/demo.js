// The OpenCalls demo app: rooms, live events and direct calls through the browser SDK.
// Plain ES module, no inline scripts or styles (works under a strict Content-Security-Policy).
// `window.demo` exposes the current objects for the console and the browser tests.
import { connect, mediaAvailable, listDevices, audioOutputSupported } from '/sdk/opencalls.js';

const $ = (sel) => document.querySelector(sel);
const demo = { client: null, room: null, live: null, call: null, error: null, log: [] };
window.demo = demo;

function log(line) {
  demo.log.push(line);
  $('#log').textContent += line + '\n';
}
function status(text) { $('#status').textContent = text; }
function fail(err) {
  demo.error = String((err && err.message) || err);
  status('Failed: ' + demo.error);
  log('error: ' + demo.error);
}

/** Camera access needs a secure context: warn on plain HTTP from another host. */
if (!mediaAvailable()) $('#insecure').hidden = false;

// --- connection ---------------------------------------------------------------------

async function client() {
  if (demo.client && demo.client.connectionState !== 'disconnected') return demo.client;
  const form = new FormData($('#login'));
  const userId = String(form.get('user_id') || '').trim();
  const accessToken = String(form.get('access_token') || '').trim();
  if (!userId || !accessToken) throw new Error('enter a user id and an access token first');
  status('Connecting…');
  // `ping_ms` in the URL tunes how fast a dead connection is noticed (diagnostics, tests).
  const pingMs = Number(new URLSearchParams(location.search).get('ping_ms')) || undefined;
  const c = await connect({ userId, accessToken, pingIntervalMs: pingMs });
  c.on('connectionStateChanged', showConnection);
  c.on('reconnected', () => log('reconnected; seats resumed'));
  demo.client = c;
  showConnection(c.connectionState);
  onClient(c);
  return c;
}

function showConnection(state) {
  const badge = $('#conn');
  badge.dataset.state = state;
  badge.textContent = state;
  log('connection: ' + state);
}

/** Hooks for features that need the client as soon as it exists (direct calls). */
const clientHooks = [];
function onClient(c) { for (const hook of clientHooks) hook(c); }

// --- tabs ---------------------------------------------------------------------------

function showTab(name) {
  for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === name);
  for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== 'tab-' + name;
}
for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));

// --- rooms --------------------------------------------------------------------------

function tile(participant, label) {
  const id = 'p-' + participant.participantId;
  let fig = document.getElementById(id);
  if (!fig) {
    fig = document.createElement('figure');
    fig.id = id;
    const video = document.createElement('video');
    const caption = document.createElement('figcaption');
    fig.append(video, caption);
    $('#grid').append(fig);
    participant.attach(video);
  }
  fig.querySelector('figcaption').textContent = label;
  return fig;
}

function caption(p) {
  const flags = (p.isAudioOn ? '' : ' 🔇') + (p.isVideoOn ? '' : ' (camera off)');
  return (p.isLocal ? 'me (' + p.userId + ')' : p.userId) + flags;
}

async function enterRoom(roomId, video) {
  const c = await client();
  status('Entering ' + roomId + '…');
  const room = await c.enterRoom(roomId, { audio: true, video });
  demo.room = room;
  tile(room.localParticipant, caption(room.localParticipant));
  for (const p of room.participants.values()) tile(p, caption(p));
  room.on('participantJoined', (p) => { tile(p, caption(p)); log(p.userId + ' joined'); });
  room.on('participantLeft', (p) => { document.getElementById('p-' + p.participantId)?.remove(); log(p.userId + ' left'); });
  room.on('participantMediaChanged', (p) => tile(p, caption(p)));
  room.on('participantConnected', (p) => log(p.userId + ' connected'));
  room.on('trackSubscribed', (t, p) => log('track ' + t.kind + ' of ' + p.userId));
  room.on('activeSpeakersChanged', (speakers) => {
    const ids = new Set(speakers.map((p) => 'p-' + p.participantId));
    for (const fig of document.querySelectorAll('#grid figure')) fig.classList.toggle('speaking', ids.has(fig.id));
  });
  room.on('mediaStateChanged', (s) => log('media: ' + s));
  room.on('left', (reason) => {
    $('#grid').replaceChildren();
    $('#room-controls').hidden = true;
    $('#room-form').hidden = false;
    demo.room = null;
    status('Left the room (' + reason + ').');
  });
  $('#room-controls').hidden = false;
  $('#room-form').hidden = true;
  $('#room-cam').disabled = !room.isVideoRoom;
  $('#room-cam').textContent = video && room.isVideoRoom ? 'Camera off' : 'Camera on';
  $('#room-mic').textContent = 'Mute';
  await fillDevices();
  status('In room ' + room.roomId + ' as ' + room.localParticipant.participantId);
}

async function fillDevices() {
  const devices = await listDevices().catch(() => []);
  const fill = (sel, kind) => {
    const select = $(sel);
    select.replaceChildren();
    for (const d of devices.filter((x) => x.kind === kind)) {
      const o = document.createElement('option');
      o.value = d.deviceId;
      o.textContent = d.label || kind + ' ' + (select.length + 1);
      select.append(o);
    }
  };
  fill('#room-mic-device', 'audioinput');
  fill('#room-cam-device', 'videoinput');
  fill('#room-out-device', 'audiooutput');
  $('#room-out-label').hidden = !audioOutputSupported();
}

$('#room-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const f = new FormData($('#room-form'));
  enterRoom(String(f.get('room_id')).trim(), !!f.get('video')).catch(fail);
});
$('#room-mic').addEventListener('click', () => {
  const room = demo.room;
  const on = !room.localParticipant.isAudioOn;
  room.setMicrophoneEnabled(on).then(() => {
    $('#room-mic').textContent = on ? 'Mute' : 'Unmute';
    tile(room.localParticipant, caption(room.localParticipant));
  }, fail);
});
$('#room-cam').addEventListener('click', () => {
  const room = demo.room;
  const on = !room.localParticipant.isVideoOn;
  room.setCameraEnabled(on).then(() => {
    $('#room-cam').textContent = on ? 'Camera off' : 'Camera on';
    tile(room.localParticipant, caption(room.localParticipant));
  }, fail);
});
$('#room-mic-device').addEventListener('change', (e) => demo.room?.switchDevice('audioinput', e.target.value).catch(fail));
$('#room-cam-device').addEventListener('change', (e) => demo.room?.switchDevice('videoinput', e.target.value).catch(fail));
$('#room-out-device').addEventListener('change', (e) => demo.room?.setAudioOutput(e.target.value).catch(fail));
$('#room-leave').addEventListener('click', () => demo.room?.leave().catch(fail));

// --- live events --------------------------------------------------------------------

function showCounters(live) {
  $('#live-state').textContent = live.liveState;
  $('#live-count').textContent = String(live.participantCount);
  $('#live-peak').textContent = String(live.peakParticipantCount);
  $('#live-total').textContent = String(live.cumulativeParticipantCount);
  $('#live-streaming').textContent = live.isHostStreaming ? 'yes' : 'no';
}

function chatLine(message) {
  const li = document.createElement('li');
  const who = document.createElement('b');
  who.textContent = message.user.userId + (message.role === 'host' ? ' (host)' : '');
  li.append(who, document.createTextNode(message.message));
  $('#chat-log').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

async function enterLive(liveEventId, role) {
  const c = await client();
  status('Entering live event ' + liveEventId + '…');
  const live = await c.enterLiveEvent(liveEventId, { role });
  demo.live = live;
  const video = $('#live-video');
  if (live.isHost) {
    video.muted = true;
    live.localHost.attach(video);
  } else {
    live.attach(video);
  }
  showCounters(live);
  live.on('updated', showCounters);
  live.on('stateChanged', (s) => log('live event ' + s));
  live.on('chatMessageReceived', chatLine);
  live.on('participantEntered', (p) => log(p.user.userId + ' is watching'));
  live.on('participantExited', (p) => log(p.user.userId + ' stopped watching'));
  live.on('hostConnected', (h) => log('host ' + h.userId + ' connected'));
  live.on('hostExited', (h) => log('host ' + h.userId + ' left'));
  live.on('left', (reason) => {
    $('#live-view').hidden = true;
    $('#live-form').hidden = false;
    $('#live-video').srcObject = null;
    demo.live = null;
    status('Left the live event (' + reason + ').');
  });
  $('#live-host-controls').hidden = !live.isHost;
  $('#live-view').hidden = false;
  $('#live-form').hidden = true;
  status('In live event ' + live.liveEventId + ' as ' + (live.isHost ? 'host' : 'viewer'));
}

$('#live-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const f = new FormData($('#live-form'));
  enterLive(String(f.get('live_event_id')).trim(), String(f.get('role'))).catch(fail);
});
$('#live-ready').addEventListener('click', () => demo.live?.setReady().catch(fail));
$('#live-start').addEventListener('click', () => demo.live?.start().catch(fail));
$('#live-end').addEventListener('click', () => demo.live?.end().catch(fail));
$('#live-leave').addEventListener('click', () => demo.live?.leave().catch(fail));
$('#live-mic').addEventListener('click', () => {
  const host = demo.live.localHost;
  const on = !host.isAudioOn;
  demo.live.setMicrophoneEnabled(on).then(() => { $('#live-mic').textContent = on ? 'Mute' : 'Unmute'; }, fail);
});
$('#live-cam').addEventListener('click', () => {
  const host = demo.live.localHost;
  const on = !host.isVideoOn;
  demo.live.setCameraEnabled(on).then(() => { $('#live-cam').textContent = on ? 'Camera off' : 'Camera on'; }, fail);
});
$('#chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('#chat-form').elements.message;
  const text = input.value;
  if (!text.trim() || !demo.live) return;
  demo.live.sendChatMessage(text).then((m) => { chatLine(m); input.value = ''; }, fail);
});

// --- direct calls -------------------------------------------------------------------

function showCall(call) {
  $('#call-state').textContent = call.state;
  $('#call-mic').textContent = call.localParticipant.isAudioOn ? 'Mute' : 'Unmute';
  $('#call-cam').textContent = call.localParticipant.isVideoOn ? 'Camera off' : 'Camera on';
  $('#call-cam').disabled = !call.isVideoCall;
}

/** Wires a call (dialed or ringing) to the page. */
function adoptCall(call) {
  demo.call = call;
  $('#call-result').textContent = '';
  call.attachRemote($('#call-remote'));
  call.attachLocal($('#call-local'));
  call.on('updated', showCall);
  call.on('accepted', () => log('call accepted'));
  call.on('connected', () => { log('call connected'); status('In a call with ' + call.remoteParticipant.userId); });
  call.on('remoteMediaChanged', (p) => log(p.userId + (p.isAudioOn ? ' unmuted' : ' muted') + ', camera ' + (p.isVideoOn ? 'on' : 'off')));
  call.on('otherDeviceAccepted', () => { endCallView('Answered on another device.'); });
  call.on('ended', (e) => endCallView(describeEnding(call, e)));
  showCall(call);
}

function describeEnding(call, ending) {
  const by = ending.endedBy ? ' by ' + ending.endedBy : '';
  return 'Call ended: ' + ending.endResult + by + ' (' + Math.round(ending.durationMs / 1000) + ' s).';
}

function endCallView(text) {
  $('#ringing').hidden = true;
  $('#call-view').hidden = true;
  $('#dial-form').hidden = false;
  $('#call-remote').srcObject = null;
  $('#call-local').srcObject = null;
  $('#call-result').textContent = text;
  status(text);
  log(text);
}

clientHooks.push((c) => {
  c.on('incomingCall', (call) => {
    showTab('call');
    adoptCall(call);
    $('#ringing-text').textContent = call.caller.userId + ' is calling' + (call.isVideoCall ? ' (video)' : '') + '…';
    $('#ringing').hidden = false;
    $('#dial-form').hidden = true;
    log('incoming call from ' + call.caller.userId);
  });
});

async function goOnline() {
  await client();
  $('#online-hint').textContent = 'Connected as ' + demo.client.userId + ': waiting for calls.';
  status('Waiting for calls.');
}

async function dial(calleeId, video) {
  const c = await client();
  status('Calling ' + calleeId + '…');
  const call = await c.dial(calleeId, { isVideoCall: video });
  adoptCall(call);
  $('#dial-form').hidden = true;
  $('#call-view').hidden = false;
  status('Ringing ' + calleeId + '…');
}

$('#go-online').addEventListener('click', () => goOnline().catch(fail));
$('#dial-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const f = new FormData($('#dial-form'));
  dial(String(f.get('callee')).trim(), !!f.get('video')).catch(fail);
});
$('#call-accept').addEventListener('click', () => {
  const call = demo.call;
  $('#ringing').hidden = true;
  $('#call-view').hidden = false;
  call.accept().then(() => showCall(call), fail);
});
$('#call-decline').addEventListener('click', () => demo.call?.decline().catch(fail));
$('#call-end').addEventListener('click', () => demo.call?.end().catch(fail));
$('#call-mic').addEventListener('click', () => {
  const call = demo.call;
  call.setMicrophoneEnabled(!call.localParticipant.isAudioOn).then(() => showCall(call), fail);
});
$('#call-cam').addEventListener('click', () => {
  const call = demo.call;
  call.setCameraEnabled(!call.localParticipant.isVideoOn).then(() => showCall(call), fail);
});

// --- start-up from the URL ----------------------------------------------------------

const query = new URLSearchParams(location.search);
for (const [form, names] of [['#login', ['user_id', 'access_token']], ['#room-form', ['room_id']], ['#live-form', ['live_event_id', 'role']], ['#dial-form', ['callee']]]) {
  for (const name of names) if (query.get(name)) $(form).elements[name].value = query.get(name);
}
if (query.get('video') === '0') {
  $('#room-form').elements.video.checked = false;
  $('#dial-form').elements.video.checked = false;
}
const tab = query.get('tab') || (query.get('live_event_id') ? 'live' : query.get('callee') ? 'call' : 'room');
showTab(tab);
if (query.get('autojoin') === '1') {
  if (tab === 'room') $('#room-form').requestSubmit();
  if (tab === 'live') $('#live-form').requestSubmit();
  if (tab === 'call' && query.get('callee')) $('#dial-form').requestSubmit();
  else if (tab === 'call') $('#go-online').click();
}
demo.ready = true;
