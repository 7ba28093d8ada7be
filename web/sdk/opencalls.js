// OpenCalls browser SDK (ES module). GENERATED from sdk/js/src by `npm run build` in sdk/js; do not edit.
// Types: /sdk/opencalls.d.ts. Guide: docs/sdk-js.md.

// src/errors.ts
var ErrorCode = {
  /** The server did not answer a request within `requestTimeoutMs`. */
  RequestTimeout: 1001,
  /** The connection dropped while a request was in flight (it may or may not have run). */
  ConnectionLost: 1002,
  /** The client is disconnected for good (`disconnect()`, revoked session, replaced device). */
  Disconnected: 1003,
  /** The WebSocket could not be opened. */
  ConnectionFailed: 1004,
  /** The camera or microphone could not be opened (permission, device missing, insecure page). */
  MediaUnavailable: 1005,
  /** The server sent something this SDK cannot read. */
  ProtocolViolation: 1006,
  /** The object was already left / ended and cannot be used any more. */
  InvalidState: 1007,
  /** This browser cannot do it (e.g. choosing the audio output without `setSinkId`). */
  Unsupported: 1008
};
var OpenCallsError = class extends Error {
  code;
  constructor(code, message) {
    super(message);
    this.name = "OpenCallsError";
    this.code = code;
  }
};

// src/media.ts
async function listDevices(kind) {
  const all = await navigator.mediaDevices.enumerateDevices();
  return kind ? all.filter((d) => d.kind === kind) : all;
}
function mediaAvailable() {
  return globalThis.isSecureContext === true && !!globalThis.navigator?.mediaDevices?.getUserMedia;
}
async function capture(kind, deviceId) {
  if (!mediaAvailable()) {
    throw new OpenCallsError(
      ErrorCode.MediaUnavailable,
      "camera and microphone need a secure context: open the page over HTTPS (or http://localhost)"
    );
  }
  const constraint = deviceId ? { deviceId: { exact: deviceId } } : true;
  try {
    const stream = await navigator.mediaDevices.getUserMedia(kind === "audio" ? { audio: constraint } : { video: constraint });
    const track = stream.getTracks()[0];
    if (!track) throw new Error("no track");
    return track;
  } catch (err) {
    throw new OpenCallsError(ErrorCode.MediaUnavailable, `cannot open the ${kind === "audio" ? "microphone" : "camera"}: ${String(err)}`);
  }
}
var LocalMedia = class {
  audio = null;
  video = null;
  devices;
  constructor(devices = {}) {
    this.devices = { ...devices };
  }
  /** Opens the track of `kind` if it isn't open yet; returns it. */
  async open(kind) {
    const have = this.get(kind);
    if (have && have.readyState === "live") return have;
    const track = await capture(kind, kind === "audio" ? this.devices.audioDeviceId : this.devices.videoDeviceId);
    this.#set(kind, track);
    return track;
  }
  /** Opens device `deviceId` for `kind` and makes it current; returns the new track and
   *  the old one, which the caller stops once nothing sends it any more. */
  async switchTo(kind, deviceId) {
    const track = await capture(kind, deviceId);
    const old = this.get(kind);
    if (old) track.enabled = old.enabled;
    if (kind === "audio") this.devices.audioDeviceId = deviceId;
    else this.devices.videoDeviceId = deviceId;
    this.#set(kind, track);
    return { track, old };
  }
  get(kind) {
    return kind === "audio" ? this.audio : this.video;
  }
  /** Stops the track of `kind` (the camera light goes off). */
  stop(kind) {
    this.get(kind)?.stop();
    this.#set(kind, null);
  }
  /** Stops every track. */
  stopAll() {
    this.stop("audio");
    this.stop("video");
  }
  #set(kind, track) {
    if (kind === "audio") this.audio = track;
    else this.video = track;
  }
};
var SIMULCAST_ENCODINGS = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 15e4 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 5e5 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 15e5 }
];
var PeerSession = class {
  pc;
  slots = /* @__PURE__ */ new Map();
  senders = {};
  #offer;
  #closed = false;
  constructor(plan, offer) {
    this.#offer = offer;
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require", iceServers: plan.iceServers });
    const stream = new MediaStream();
    for (const kind of ["audio", "video"]) {
      const track = kind === "audio" ? plan.sendAudio : plan.sendVideo;
      if (track === void 0) continue;
      if (track) stream.addTrack(track);
      const init = { direction: "sendonly", streams: [stream] };
      if (kind === "video" && plan.simulcast !== false) init.sendEncodings = SIMULCAST_ENCODINGS.map((e) => ({ ...e }));
      const t = this.pc.addTransceiver(track ?? kind, init);
      this.senders[kind] = t.sender;
    }
    this.#recv("audio", plan.recvAudio);
    this.#recv("video", plan.recvVideo);
  }
  #recv(kind, count) {
    for (let i = 0; i < count; i++) this.pc.addTransceiver(kind, { direction: "recvonly" });
  }
  get closed() {
    return this.#closed;
  }
  /** Offers (an ICE restart when `iceRestart`) and applies the answer. */
  async negotiate(iceRestart = false) {
    const offer = await this.pc.createOffer({ iceRestart });
    await this.pc.setLocalDescription(offer);
    if (!iceRestart) {
      for (const t of this.pc.getTransceivers()) {
        if (t.direction !== "recvonly" || t.mid === null) continue;
        this.slots.set(t.mid, { mid: t.mid, kind: t.receiver.track.kind, transceiver: t, ownerId: null, hint: null });
      }
    }
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new OpenCallsError(ErrorCode.InvalidState, "no local description");
    const answer = await this.#offer(sdp);
    if (this.#closed) return;
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer });
  }
  /** Replaces the track sent for `kind` (null sends nothing) without renegotiating. */
  async replaceTrack(kind, track) {
    await this.senders[kind]?.replaceTrack(track);
  }
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.pc.close();
  }
};

// src/model.ts
function toUser(u) {
  return {
    userId: u.user_id,
    nickname: u.nickname,
    profileUrl: u.profile_url,
    metadata: { ...u.metadata },
    isActive: u.is_active
  };
}
var Track = class {
  kind;
  mediaStreamTrack;
  /** The id of the participant or host whose media this is. */
  ownerId;
  /** True for this device's own camera or microphone. */
  isLocal;
  #elements = /* @__PURE__ */ new Set();
  #sinkId = null;
  constructor(kind, track, ownerId, isLocal) {
    this.kind = kind;
    this.mediaStreamTrack = track;
    this.ownerId = ownerId;
    this.isLocal = isLocal;
  }
  /** Shows or plays this track in `element` (a new `<video>`/`<audio>` if omitted) and
   *  returns the element. Local tracks are muted so a user never hears themselves. */
  attach(element) {
    const el = element ?? document.createElement(this.kind === "video" ? "video" : "audio");
    el.autoplay = true;
    if (el instanceof HTMLVideoElement) el.playsInline = true;
    if (this.isLocal) el.muted = true;
    el.srcObject = new MediaStream([this.mediaStreamTrack]);
    if (this.#sinkId !== null) void setSink(el, this.#sinkId);
    this.#elements.add(el);
    el.play().catch(() => {
    });
    return el;
  }
  /** Stops showing the track in `element` (in every element if omitted); returns them. */
  detach(element) {
    const els = element ? [element] : [...this.#elements];
    for (const el of els) {
      if (this.#elements.delete(el)) el.srcObject = null;
    }
    return els;
  }
  /** The elements this track is attached to. */
  get attachedElements() {
    return [...this.#elements];
  }
  /** @internal Routes the attached elements' output to the audio device `sinkId`. */
  async _setSinkId(sinkId) {
    this.#sinkId = sinkId;
    await Promise.all([...this.#elements].map((el) => setSink(el, sinkId)));
  }
};
function audioOutputSupported() {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}
async function setSink(el, sinkId) {
  const withSink = el;
  if (withSink.setSinkId) await withSink.setSinkId(sinkId);
}
var Member = class {
  user;
  clientId;
  isAudioOn;
  isVideoOn;
  /** True for this device's own seat. */
  isLocal;
  audioTrack = null;
  videoTrack = null;
  /** All of this member's current tracks in one stream (tracks come and go inside it). */
  stream;
  #elements = /* @__PURE__ */ new Set();
  #sinkId = null;
  constructor(user, clientId, audio, video, isLocal) {
    this.user = toUser(user);
    this.clientId = clientId;
    this.isAudioOn = audio;
    this.isVideoOn = video;
    this.isLocal = isLocal;
    this.stream = new MediaStream();
  }
  get userId() {
    return this.user.userId;
  }
  /** Plays the member's audio and video in `element` (a new `<video>` if omitted); the
   *  element follows track changes (reconnects, device switches) by itself. */
  attach(element) {
    const el = element ?? document.createElement("video");
    el.autoplay = true;
    if (el instanceof HTMLVideoElement) el.playsInline = true;
    if (this.isLocal) el.muted = true;
    el.srcObject = this.stream;
    if (this.#sinkId !== null) void setSink(el, this.#sinkId);
    this.#elements.add(el);
    el.play().catch(() => {
    });
    return el;
  }
  /** @internal Routes this member's elements (and its tracks' elements) to `sinkId`. */
  async _setSinkId(sinkId) {
    this.#sinkId = sinkId;
    const tracks = [this.audioTrack, this.videoTrack].filter((t) => t !== null);
    await Promise.all([...[...this.#elements].map((el) => setSink(el, sinkId)), ...tracks.map((t) => t._setSinkId(sinkId))]);
  }
  /** Stops playing the member in `element` (every element if omitted). */
  detach(element) {
    for (const el of element ? [element] : [...this.#elements]) {
      if (this.#elements.delete(el)) el.srcObject = null;
    }
  }
  /** @internal Replaces the member's track of `kind`; returns the previous one. */
  _setTrack(kind, track) {
    const old = kind === "audio" ? this.audioTrack : this.videoTrack;
    if (old === track) return old;
    if (old) this.stream.removeTrack(old.mediaStreamTrack);
    if (track) this.stream.addTrack(track.mediaStreamTrack);
    if (kind === "audio") this.audioTrack = track;
    else this.videoTrack = track;
    if (track && this.#sinkId !== null) void track._setSinkId(this.#sinkId);
    for (const el of this.#elements) {
      el.srcObject = this.stream;
      el.play().catch(() => {
      });
    }
    return old;
  }
};
var Participant = class extends Member {
  participantId;
  roomId;
  state;
  enteredAt;
  connectedAt;
  exitedAt;
  constructor(p, isLocal) {
    super(p.user, p.client_id, p.is_audio_on, p.is_video_on, isLocal);
    this.participantId = p.participant_id;
    this.roomId = p.room_id;
    this.state = p.state;
    this.enteredAt = p.entered_at;
    this.connectedAt = p.connected_at;
    this.exitedAt = p.exited_at;
  }
  get id() {
    return this.participantId;
  }
  /** @internal Copies a fresh snapshot in. */
  _update(p) {
    this.user = toUser(p.user);
    this.state = p.state;
    this.isAudioOn = p.is_audio_on;
    this.isVideoOn = p.is_video_on;
    this.connectedAt = p.connected_at;
    this.exitedAt = p.exited_at;
  }
};
var Host = class extends Member {
  hostId;
  state;
  enteredAt;
  connectedAt;
  exitedAt;
  constructor(h, isLocal) {
    super(h.user, h.client_id, h.is_audio_on, h.is_video_on, isLocal);
    this.hostId = h.host_id;
    this.state = h.state;
    this.enteredAt = h.entered_at;
    this.connectedAt = h.connected_at;
    this.exitedAt = h.exited_at;
  }
  get id() {
    return this.hostId;
  }
  /** @internal Copies a fresh snapshot in. */
  _update(h) {
    this.user = toUser(h.user);
    this.state = h.state;
    this.isAudioOn = h.is_audio_on;
    this.isVideoOn = h.is_video_on;
    this.connectedAt = h.connected_at;
    this.exitedAt = h.exited_at;
  }
};
function toChatMessage(m) {
  return {
    messageId: m.message_id,
    liveEventId: m.live_event_id,
    user: toUser(m.user),
    role: m.role,
    message: m.message,
    sentAt: m.sent_at
  };
}

// src/control.ts
var LocalControl = class {
  media;
  #link;
  #me;
  #send;
  #canVideo;
  constructor(media, link, me, send, canVideo) {
    this.media = media;
    this.#link = link;
    this.#me = me;
    this.#send = send;
    this.#canVideo = canVideo;
  }
  /** Opens the tracks wanted at the start and shows them on the local member. */
  async start(audio, video) {
    if (audio) this.#show("audio", await this.media.open("audio"));
    if (video && this.#canVideo) this.#show("video", await this.media.open("video"));
  }
  async setMicrophoneEnabled(on) {
    if (on) {
      const track = await this.media.open("audio");
      track.enabled = true;
      await this.#link.session?.replaceTrack("audio", track);
      this.#show("audio", track);
    } else if (this.media.audio) {
      this.media.audio.enabled = false;
    }
    await this.#send({ is_audio_on: on });
    this.#me().isAudioOn = on;
  }
  async setCameraEnabled(on) {
    if (!this.#canVideo) throw new OpenCallsError(ErrorCode.InvalidState, "this call carries no video");
    if (on) {
      const track = await this.media.open("video");
      await this.#link.session?.replaceTrack("video", track);
      this.#show("video", track);
    } else {
      await this.#link.session?.replaceTrack("video", null);
      this.media.stop("video");
      this.#show("video", null);
    }
    await this.#send({ is_video_on: on });
    this.#me().isVideoOn = on;
  }
  /** Uses device `deviceId` for `kind` from now on (at once if that track is open). */
  async switchDevice(kind, deviceId) {
    const k = kind === "audioinput" ? "audio" : "video";
    const open = this.media.get(k);
    if (!open || open.readyState !== "live") {
      if (k === "audio") this.media.devices.audioDeviceId = deviceId;
      else this.media.devices.videoDeviceId = deviceId;
      return;
    }
    const { track, old } = await this.media.switchTo(k, deviceId);
    await this.#link.session?.replaceTrack(k, track);
    this.#show(k, track);
    old?.stop();
  }
  #show(kind, track) {
    const me = this.#me();
    me._setTrack(kind, track ? new Track(kind, track, me.id, true) : null);
  }
};

// src/emitter.ts
var Emitter = class {
  #listeners = /* @__PURE__ */ new Map();
  /** Calls `listener` every time `event` happens; returns `this` for chaining. */
  on(event, listener) {
    let set = this.#listeners.get(event);
    if (!set) {
      set = /* @__PURE__ */ new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return this;
  }
  /** Stops calling `listener` (as given to `on`, or to `once` before it fired). */
  off(event, listener) {
    const set = this.#listeners.get(event);
    if (!set) return this;
    set.delete(listener);
    for (const l of set) {
      if (l.original === listener) set.delete(l);
    }
    return this;
  }
  /** Calls `listener` the next time `event` happens only. */
  once(event, listener) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    wrapper.original = listener;
    return this.on(event, wrapper);
  }
  /** Calls every listener of `event` in the order they were added. */
  emit(event, ...args) {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (err) {
        console.error(`OpenCalls: a '${String(event)}' listener threw`, err);
      }
    }
  }
};

// src/recovery.ts
var CHECK_MS = 150;
var DEFAULT_STALL_MS = 300;
var DEFAULT_PROBE_MS = 500;
var QUIET_PROBE_MS = 5e3;
var MAX_PROBE_MS = 8e3;
var MediaWatch = class {
  #link;
  #probe;
  #stallMs;
  #probeMs;
  #timer = null;
  #busy = false;
  #pc = null;
  #bytes = 0;
  #progressAt = 0;
  #nextProbeAt = 0;
  #probeTimeout;
  /** How many probes went unanswered and replaced the socket (diagnostics and tests). */
  socketReplacements = 0;
  constructor(link, probe, options = {}) {
    this.#link = link;
    this.#probe = probe;
    this.#stallMs = options.mediaStallMs ?? DEFAULT_STALL_MS;
    this.#probeMs = options.probeTimeoutMs ?? DEFAULT_PROBE_MS;
    this.#probeTimeout = this.#probeMs;
    if (this.#stallMs > 0) this.#timer = setInterval(() => void this.#check(), CHECK_MS);
  }
  stop() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
  async #check() {
    if (this.#busy || !this.#timer) return;
    this.#busy = true;
    try {
      await this.#sample();
    } catch {
    } finally {
      this.#busy = false;
    }
  }
  async #sample() {
    const pc = this.#link.pc;
    const now = Date.now();
    if (!pc || pc.connectionState === "closed") return;
    if (pc !== this.#pc) {
      this.#pc = pc;
      this.#bytes = 0;
      this.#progressAt = now;
    }
    const bytes = await receivedBytes(pc);
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.#progressAt = Date.now();
      this.#probeTimeout = this.#probeMs;
      return;
    }
    if (bytes === 0 || this.#link.negotiating) return;
    if (now - this.#progressAt < this.#stallMs || now < this.#nextProbeAt) return;
    await this.#recover(pc);
  }
  async #recover(pc) {
    const result = await this.#probe(this.#probeTimeout);
    this.#nextProbeAt = Date.now() + QUIET_PROBE_MS;
    if (result === "down" || this.#link.pc !== pc || this.#link.negotiating) return;
    if (result === "reconnected") {
      this.socketReplacements += 1;
      this.#probeTimeout = Math.min(this.#probeTimeout * 2, MAX_PROBE_MS);
    } else {
      this.#probeTimeout = this.#probeMs;
      if (pc.iceConnectionState !== "disconnected" && pc.iceConnectionState !== "failed") return;
    }
    this.#progressAt = Date.now();
    if (result === "reconnected") void this.#link.renegotiate().catch(() => {
    });
    else void this.#link.restartIce().catch(() => {
    });
  }
};
async function receivedBytes(pc) {
  let sum = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "transport") sum += s.bytesReceived ?? 0;
  });
  return sum;
}

// src/link.ts
var HINT_STEP_PX = 90;
var MediaLink = class {
  session = null;
  #plan;
  #offer;
  #cb;
  #iceRestartDelayMs;
  #tracks = /* @__PURE__ */ new Map();
  // mid → the track the slot carries
  #hints = /* @__PURE__ */ new Map();
  // owner id → the tallest video worth sending
  #queue = Promise.resolve();
  #closed = false;
  #iceTimer = null;
  #jobs = 0;
  #recovery;
  /** How many ICE restarts and fresh sessions this link did (for diagnostics and tests). */
  iceRestarts = 0;
  renegotiations = 0;
  constructor(plan, offer, cb, options = {}) {
    this.#plan = plan;
    this.#offer = offer;
    this.#cb = cb;
    this.#iceRestartDelayMs = options.iceRestartDelayMs ?? 2e3;
    this.#recovery = cb.probe ? new MediaWatch(this, cb.probe, options) : null;
  }
  /** A negotiation is queued or running. */
  get negotiating() {
    return this.#jobs > 0;
  }
  /** How many times a stalled link found its WebSocket dead and replaced it. */
  get socketReplacements() {
    return this.#recovery?.socketReplacements ?? 0;
  }
  /** The peer connection, `null` before the first offer or after close. */
  get pc() {
    return this.session?.pc ?? null;
  }
  /** Creates a fresh session (a new RTCPeerConnection) and offers it. */
  renegotiate() {
    return this.#enqueue(async () => {
      this.#dropSession();
      const session = new PeerSession(this.#plan(), this.#offer);
      this.session = session;
      this.renegotiations += 1;
      this.#watch(session);
      await session.negotiate(false);
    });
  }
  /** Restarts ICE on the current session (new ICE credentials, same tracks); falls back
   *  to a fresh session if that fails. */
  restartIce() {
    return this.#enqueue(async () => {
      const session = this.session;
      if (!session || session.closed) return;
      this.iceRestarts += 1;
      try {
        await session.negotiate(true);
      } catch {
        if (this.#closed) return;
        this.#dropSession();
        const fresh = new PeerSession(this.#plan(), this.#offer);
        this.session = fresh;
        this.renegotiations += 1;
        this.#watch(fresh);
        await fresh.negotiate(false);
      }
    });
  }
  /** A `media.track` event: slot `mid` now carries `ownerId`'s track (`null` = idle). */
  assign(mid, ownerId) {
    const slot = this.session?.slots.get(mid);
    if (!slot) return;
    if (slot.ownerId === ownerId) return;
    slot.ownerId = ownerId;
    const old = this.#tracks.get(mid);
    if (old) {
      this.#tracks.delete(mid);
      this.#cb.unsubscribed(old);
    }
    if (ownerId !== null) {
      const track = new Track(slot.kind, slot.transceiver.receiver.track, ownerId, false);
      this.#tracks.set(mid, track);
      this.#cb.subscribed(track);
    }
    void this.#sendHint(mid).catch(() => {
    });
  }
  /** Caps the video of `ownerId` at `maxHeight` pixels (`null` = no cap): sent for the slot
   *  that carries it now, and again whenever it moves to another slot or session. */
  setVideoHint(ownerId, maxHeight) {
    const height = maxHeight === null ? null : Math.max(1, Math.ceil(maxHeight / HINT_STEP_PX) * HINT_STEP_PX);
    this.#hints.set(ownerId, height);
    for (const slot of this.session?.slots.values() ?? []) {
      if (slot.kind === "video" && slot.ownerId === ownerId) return this.#sendHint(slot.mid);
    }
    return Promise.resolve();
  }
  /** Keeps `ownerId`'s hint at the height `element` is drawn at (device pixels) while it
   *  is resized; returns the function that stops watching. */
  fitVideo(ownerId, element) {
    const update = () => {
      const height = element.getBoundingClientRect().height * (globalThis.devicePixelRatio || 1);
      if (height > 0) void this.setVideoHint(ownerId, height).catch(() => {
      });
    };
    const observer = new ResizeObserver(update);
    observer.observe(element);
    update();
    return () => observer.disconnect();
  }
  /** Tells the server the hint wanted for slot `mid`'s owner, if it differs from the slot's. */
  async #sendHint(mid) {
    const slot = this.session?.slots.get(mid);
    if (!slot || slot.kind !== "video" || !this.#cb.hint) return;
    const wanted = slot.ownerId === null ? slot.hint : this.#hints.get(slot.ownerId) ?? null;
    if (wanted === slot.hint) return;
    slot.hint = wanted;
    try {
      await this.#cb.hint(mid, wanted);
    } catch (err) {
      if (slot.hint === wanted) slot.hint = null;
      throw err;
    }
  }
  /** The tracks received now. */
  get tracks() {
    return [...this.#tracks.values()];
  }
  /** Closes the session for good. */
  close() {
    this.#closed = true;
    this.#recovery?.stop();
    this.#dropSession();
  }
  #enqueue(job) {
    this.#jobs += 1;
    const run = this.#queue.then(() => this.#closed ? void 0 : job());
    this.#queue = run.catch(() => {
    }).finally(() => {
      this.#jobs -= 1;
    });
    return run;
  }
  #dropSession() {
    if (this.#iceTimer) clearTimeout(this.#iceTimer);
    this.#iceTimer = null;
    for (const [mid, track] of this.#tracks) {
      this.#tracks.delete(mid);
      this.#cb.unsubscribed(track);
    }
    if (this.session) {
      this.session.close();
      this.#cb.stateChanged("closed");
    }
    this.session = null;
  }
  #watch(session) {
    const pc = session.pc;
    pc.addEventListener("connectionstatechange", () => {
      if (this.session === session) this.#cb.stateChanged(pc.connectionState);
    });
    pc.addEventListener("iceconnectionstatechange", () => {
      if (this.session !== session || this.#closed) return;
      const state = pc.iceConnectionState;
      if (this.#iceTimer) clearTimeout(this.#iceTimer);
      this.#iceTimer = null;
      if (state === "failed") {
        void this.restartIce().catch(() => {
        });
      } else if (state === "disconnected") {
        this.#iceTimer = setTimeout(() => {
          if (this.session === session && pc.iceConnectionState === "disconnected") void this.restartIce().catch(() => {
          });
        }, this.#iceRestartDelayMs);
      }
    });
  }
};

// src/speakers.ts
var SPEAKING_LEVEL = 0.02;
var HOLD_MS = 1500;
var SpeakerMeter = class {
  /** The inbound-rtp totals of each receiver at the previous poll. */
  #played = /* @__PURE__ */ new Map();
  /** When and how loud each participant was last heard. */
  #heard = /* @__PURE__ */ new Map();
  /** Reads every source once; resolves with the speaking participants' ids, loudest first. */
  async measure(sources, now) {
    const levels = await Promise.all(sources.map((s) => this.#level(s.receiver)));
    const present = new Set(sources.map((s) => s.ownerId));
    for (const id of this.#heard.keys()) if (!present.has(id)) this.#heard.delete(id);
    const receivers = new Set(sources.map((s) => s.receiver));
    for (const r of this.#played.keys()) if (!receivers.has(r)) this.#played.delete(r);
    sources.forEach((s, i) => {
      if (levels[i] > SPEAKING_LEVEL) this.#heard.set(s.ownerId, { level: levels[i], at: now });
    });
    return [...this.#heard.entries()].filter(([, h]) => now - h.at < HOLD_MS).sort((a, b) => b[1].level - a[1].level).map(([id]) => id);
  }
  async #level(receiver) {
    const packet = receiver.getSynchronizationSources()[0]?.audioLevel ?? 0;
    return Math.max(packet, await this.#playedLevel(receiver));
  }
  /** The RMS level of what was played out since the previous poll (0 on the first). */
  async #playedLevel(receiver) {
    let now = null;
    try {
      for (const s of (await receiver.getStats()).values()) {
        if (s.type === "inbound-rtp" && typeof s.totalAudioEnergy === "number") {
          now = { energy: s.totalAudioEnergy, duration: s.totalSamplesDuration ?? 0 };
        }
      }
    } catch {
      return 0;
    }
    if (!now) return 0;
    const before = this.#played.get(receiver);
    this.#played.set(receiver, now);
    const seconds = before ? now.duration - before.duration : 0;
    return seconds > 0 ? Math.sqrt(Math.max(0, now.energy - before.energy) / seconds) : 0;
  }
};

// src/room.ts
var VIDEO_ROOM_SLOTS = 5;
var FORCED_OUT_WAIT_MS = 1e3;
var SPEAKER_POLL_MS = 400;
var Room = class extends Emitter {
  roomId;
  roomType;
  isVideoRoom;
  createdAt;
  customItems;
  /** This device's participant. */
  localParticipant;
  /** The other participants present, by participant id. */
  participants = /* @__PURE__ */ new Map();
  activeSpeakers = [];
  state = "entered";
  #client;
  #link;
  #control;
  #audioSlots;
  #speakerTimer = null;
  #speakers = new SpeakerMeter();
  #measuring = false;
  /** @internal Use `client.enterRoom`. */
  constructor(client, entered, options) {
    super();
    this.#client = client;
    const room = entered.room;
    this.roomId = room.room_id;
    this.roomType = room.room_type;
    this.isVideoRoom = room.room_type === "small_room_for_video";
    this.createdAt = room.created_at;
    this.customItems = { ...room.custom_items };
    this.localParticipant = new Participant(entered.participant, true);
    this.#audioSlots = options.audioSlots ?? 3;
    this.#sync(room, false);
    this.#link = new MediaLink(
      () => this.#plan(),
      async (sdp) => (await client.request("media.offer", { room_id: this.roomId, sdp })).sdp,
      {
        subscribed: (t) => this.#trackChanged(t, true),
        unsubscribed: (t) => this.#trackChanged(t, false),
        stateChanged: (s) => this.emit("mediaStateChanged", s),
        probe: (ms) => client.probe(ms),
        hint: (mid, max_height) => client.request("media.set_layer_hint", { room_id: this.roomId, mid, max_height })
      },
      options
    );
    this.#control = new LocalControl(
      new LocalMedia(options),
      this.#link,
      () => this.localParticipant,
      async (flags) => {
        await client.request("room.set_media", { room_id: this.roomId, ...flags });
      },
      this.isVideoRoom
    );
  }
  /** Caps the video received from `participantId` at `maxHeight` pixels (`null` = no cap): the
   *  server sends the tallest simulcast layer within it, so small tiles do not pull full
   *  resolution. Kept across slot changes and reconnections. */
  setVideoHint(participantId, maxHeight) {
    return this.#link.setVideoHint(participantId, maxHeight);
  }
  /** Hints `participantId`'s video at the height `element` (its tile) is drawn at, following its
   *  resizes; returns the function that stops. */
  fitVideo(participantId, element) {
    return this.#link.fitVideo(participantId, element);
  }
  /** The RTCPeerConnection to the SFU (`null` once left). */
  get peerConnection() {
    return this.#link.pc;
  }
  /** How the media link recovered so far: ICE restarts, fresh sessions, and WebSockets
   *  replaced because a media stall found them dead. */
  get mediaStats() {
    const link = this.#link;
    return { iceRestarts: link.iceRestarts, renegotiations: link.renegotiations, socketReplacements: link.socketReplacements };
  }
  /** The tracks received now. */
  get remoteTracks() {
    return this.#link.tracks;
  }
  /** @internal Opens the local media and the peer connection. */
  async _start(options) {
    await this.#control.start(options.audio !== false, options.video !== false);
    await this.#link.renegotiate();
    if (this.isVideoRoom) this.#speakerTimer = setInterval(() => void this.#pollSpeakers(), SPEAKER_POLL_MS);
  }
  /** Turns the microphone on or off for everyone. */
  setMicrophoneEnabled(on) {
    this.#assertEntered();
    return this.#control.setMicrophoneEnabled(on);
  }
  /** Turns the camera on or off for everyone (video rooms only). */
  setCameraEnabled(on) {
    this.#assertEntered();
    return this.#control.setCameraEnabled(on);
  }
  /** Switches the microphone (`audioinput`) or camera (`videoinput`) to `deviceId`. */
  switchDevice(kind, deviceId) {
    this.#assertEntered();
    return this.#control.switchDevice(kind, deviceId);
  }
  /** Plays the others' audio on output device `deviceId` (where `setSinkId` exists). */
  async setAudioOutput(deviceId) {
    if (!audioOutputSupported()) throw new OpenCallsError(ErrorCode.Unsupported, "this browser cannot choose the audio output");
    await Promise.all([...this.participants.values()].map((p) => p._setSinkId(deviceId)));
  }
  /** Creates a fresh peer connection and offers again (the SDK does this by itself after
   *  `media.disconnected`). */
  renegotiate() {
    return this.#link.renegotiate();
  }
  /** Restarts ICE on the current peer connection (the SDK does this by itself when the
   *  ICE state goes `disconnected` or `failed`). */
  restartIce() {
    return this.#link.restartIce();
  }
  /** Exits the room; stops every local track and closes the peer connection. */
  async leave() {
    if (this.state === "left") return;
    this.#end("left");
    await this.#client.request("room.exit", { room_id: this.roomId }).catch(() => {
    });
  }
  /** @internal A room event for this room. */
  _event(frame) {
    if (this.state === "left") return;
    switch (frame.event) {
      case "room.participant_entered":
        this.#upsert(frame.data.participant, "participantJoined");
        break;
      case "room.participant_connected":
        this.#upsert(frame.data.participant, "participantConnected");
        break;
      case "room.participant_media_changed":
        this.#upsert(frame.data.participant, "participantMediaChanged");
        break;
      case "room.participant_exited":
        if (frame.data.participant.participant_id === this.localParticipant.participantId) this.#forcedOut();
        else this.#remove(frame.data.participant.participant_id);
        break;
      case "room.custom_items_updated":
      case "room.custom_items_deleted":
        this.customItems = { ...frame.data.custom_items };
        this.emit("customItemsChanged", this.customItems);
        break;
      case "room.deleted":
        this.#end("deleted");
        break;
      case "media.track":
        this.#link.assign(frame.data.mid, frame.data.participant_id);
        break;
      case "media.active_speakers":
        this.#setSpeakers(frame.data.participant_ids);
        break;
      case "media.disconnected":
        void this.#link.renegotiate().catch(() => {
        });
        break;
      default:
        ignoreUnknown(frame);
    }
  }
  /** @internal The client reconnected: `snapshot` is the room as the server has it now, or
   *  `null` when the seat was not kept. */
  _resumed(snapshot) {
    if (this.state === "left") return;
    if (!snapshot) {
      this.#end("lost");
      return;
    }
    this.customItems = { ...snapshot.custom_items };
    const changed = this.#sync(snapshot, true);
    const pc = this.#link.pc;
    if (changed || !pc || pc.connectionState !== "connected") void this.#link.renegotiate().catch(() => {
    });
  }
  /** Makes `participants` match the snapshot; returns whether anything joined or left. */
  #sync(room, emit) {
    const seen = /* @__PURE__ */ new Set();
    let changed = false;
    for (const p of room.current_participants) {
      if (p.participant_id === this.localParticipant.participantId) {
        this.localParticipant._update(p);
        continue;
      }
      seen.add(p.participant_id);
      if (!this.participants.has(p.participant_id)) changed = true;
      if (emit) this.#upsert(p, "participantJoined");
      else this.participants.set(p.participant_id, new Participant(p, false));
    }
    for (const id of [...this.participants.keys()]) {
      if (!seen.has(id)) {
        changed = true;
        this.#remove(id);
      }
    }
    return changed;
  }
  #upsert(p, event) {
    if (p.participant_id === this.localParticipant.participantId) {
      this.localParticipant._update(p);
      return;
    }
    const known = this.participants.get(p.participant_id);
    if (known) {
      known._update(p);
      if (event !== "participantJoined") this.emit(event, known);
      return;
    }
    const fresh = new Participant(p, false);
    this.participants.set(p.participant_id, fresh);
    this.emit("participantJoined", fresh);
    if (event !== "participantJoined") this.emit(event, fresh);
  }
  #remove(participantId) {
    const p = this.participants.get(participantId);
    if (!p) return;
    for (const kind of ["audio", "video"]) {
      const t = kind === "audio" ? p.audioTrack : p.videoTrack;
      if (t) {
        p._setTrack(kind, null);
        this.emit("trackUnsubscribed", t, p);
      }
    }
    this.participants.delete(participantId);
    this.emit("participantLeft", p);
  }
  #trackChanged(track, subscribed) {
    const p = this.participants.get(track.ownerId);
    if (!p) return;
    if (subscribed) {
      p._setTrack(track.kind, track);
      this.emit("trackSubscribed", track, p);
    } else if ((track.kind === "audio" ? p.audioTrack : p.videoTrack) === track) {
      p._setTrack(track.kind, null);
      this.emit("trackUnsubscribed", track, p);
    }
  }
  #plan() {
    return {
      iceServers: this.#client.iceServers(),
      sendAudio: this.#control.media.audio,
      sendVideo: this.isVideoRoom ? this.#control.media.video : void 0,
      recvAudio: this.isVideoRoom ? VIDEO_ROOM_SLOTS : this.#audioSlots,
      recvVideo: this.isVideoRoom ? VIDEO_ROOM_SLOTS : 0
    };
  }
  /** Video rooms get no speaker events from the server: measure the received audio. One
   *  poll at a time: a slow `getStats` skips a tick rather than stacking reads. */
  async #pollSpeakers() {
    if (this.#measuring) return;
    this.#measuring = true;
    try {
      const sources = [];
      for (const t of this.#link.tracks) {
        const receiver = t.kind === "audio" && this.#link.session?.slots.size ? this.#receiverOf(t) : null;
        if (receiver) sources.push({ ownerId: t.ownerId, receiver });
      }
      const speaking = await this.#speakers.measure(sources, performance.now());
      if (this.state === "entered") this.#setSpeakers(speaking);
    } finally {
      this.#measuring = false;
    }
  }
  #receiverOf(track) {
    for (const slot of this.#link.session?.slots.values() ?? []) {
      if (slot.transceiver.receiver.track === track.mediaStreamTrack) return slot.transceiver.receiver;
    }
    return null;
  }
  #setSpeakers(ids) {
    const speakers = ids.map((id) => this.participants.get(id)).filter((p) => !!p);
    const same = speakers.length === this.activeSpeakers.length && speakers.every((p, i) => this.activeSpeakers[i] === p);
    if (same) return;
    this.activeSpeakers = speakers;
    this.emit("activeSpeakersChanged", speakers);
  }
  #assertEntered() {
    if (this.state === "left") throw new OpenCallsError(ErrorCode.InvalidState, "this room was left");
  }
  /** The server exited this participant. A deletion exits everyone just before
   *  `room.deleted` arrives: wait a moment for it, so the reason says `deleted`. */
  #forcedOut() {
    this.#link.close();
    this.#control.media.stopAll();
    setTimeout(() => this.#end("removed"), FORCED_OUT_WAIT_MS);
  }
  /** Stops everything this room owns and reports `left`. */
  #end(reason) {
    if (this.state === "left") return;
    this.state = "left";
    if (this.#speakerTimer) clearInterval(this.#speakerTimer);
    this.#link.close();
    this.#control.media.stopAll();
    this.localParticipant._setTrack("audio", null);
    this.localParticipant._setTrack("video", null);
    this.#client.forget(this);
    this.emit("left", reason);
  }
};
function ignoreUnknown(_frame) {
}

// src/call.ts
var CallParticipant = class extends Member {
  role;
  constructor(p, isLocal) {
    super(asUser(p), "", p.is_audio_on, p.is_video_on, isLocal);
    this.role = p.role;
  }
  get id() {
    return this.userId;
  }
  /** @internal */
  _update(p) {
    this.isAudioOn = p.is_audio_on;
    this.isVideoOn = p.is_video_on;
  }
};
function asUser(p) {
  return { user_id: p.user_id, nickname: p.nickname, profile_url: p.profile_url, metadata: p.metadata, is_active: p.is_active, role: null };
}
var DirectCall = class extends Emitter {
  callId;
  isVideoCall;
  /** Whether this device dialed (`dc_caller`) or is called (`dc_callee`). */
  myRole;
  state;
  startedAt;
  acceptedAt = null;
  connectedAt = null;
  endedAt = null;
  ending = null;
  customItems = {};
  caller;
  callee;
  /** The other side's media (tracks come and go inside it). */
  remoteStream = new MediaStream();
  #client;
  #link;
  #control;
  #mediaStarted = false;
  /** @internal Use `client.dial` or the client's `incomingCall` event. */
  constructor(client, call, myRole, options = {}) {
    super();
    this.#client = client;
    this.callId = call.call_id;
    this.isVideoCall = call.is_video_call;
    this.myRole = myRole;
    this.state = call.state;
    this.startedAt = call.started_at;
    const [caller, callee] = call.participants;
    if (!caller || !callee) throw new OpenCallsError(ErrorCode.ProtocolViolation, "a direct call has two participants");
    this.caller = new CallParticipant(caller, myRole === "dc_caller");
    this.callee = new CallParticipant(callee, myRole === "dc_callee");
    this.#apply(call, false);
    this.#link = new MediaLink(
      () => this.#plan(),
      async (sdp) => (await client.request("media.offer", { call_id: this.callId, sdp })).sdp,
      {
        subscribed: (t) => this.#trackChanged(t, true),
        unsubscribed: (t) => this.#trackChanged(t, false),
        stateChanged: (s) => this.emit("mediaStateChanged", s),
        probe: (ms) => client.probe(ms),
        hint: (mid, max_height) => client.request("media.set_layer_hint", { call_id: this.callId, mid, max_height })
      },
      options
    );
    this.#control = new LocalControl(
      new LocalMedia(options),
      this.#link,
      () => this.localParticipant,
      async (flags) => {
        this.#apply((await client.request("call.set_media", { call_id: this.callId, ...flags })).call);
      },
      this.isVideoCall
    );
  }
  get isCaller() {
    return this.myRole === "dc_caller";
  }
  /** This device's side. */
  get localParticipant() {
    return this.isCaller ? this.caller : this.callee;
  }
  /** Caps the video received from `userId` at `maxHeight` pixels (`null` = no cap): the
   *  server sends the tallest simulcast layer within it, so small tiles do not pull full
   *  resolution. Kept across slot changes and reconnections. */
  setVideoHint(userId, maxHeight) {
    return this.#link.setVideoHint(userId, maxHeight);
  }
  /** Hints `userId`'s video at the height `element` (its tile) is drawn at, following its
   *  resizes; returns the function that stops. */
  fitVideo(userId, element) {
    return this.#link.fitVideo(userId, element);
  }
  /** The other side. */
  get remoteParticipant() {
    return this.isCaller ? this.callee : this.caller;
  }
  get peerConnection() {
    return this.#link.pc;
  }
  /** Plays the other side's audio and video in `element` (a new `<video>` if omitted). */
  attachRemote(element) {
    return this.remoteParticipant.attach(element);
  }
  /** Shows this device's camera in `element` (muted; a new `<video>` if omitted). */
  attachLocal(element) {
    return this.localParticipant.attach(element);
  }
  /** @internal Caller: opens the local media right after the dial (for a preview). */
  async _openLocal(options) {
    await this.#control.start(options.audio !== false, options.video ?? this.isVideoCall);
  }
  /** Callee: takes the call on this device and starts the media. */
  async accept(options = {}) {
    this.#assertLive();
    if (this.isCaller) throw new OpenCallsError(ErrorCode.InvalidState, "the caller cannot accept its own call");
    const audio = options.audio !== false;
    const video = (options.video ?? this.isVideoCall) && this.isVideoCall;
    await this.#control.start(audio, video);
    try {
      const result = await this.#client.request("call.accept", { call_id: this.callId, is_audio_on: audio, is_video_on: video });
      this.#apply(result.call);
      await this.#startMedia();
    } catch (err) {
      if (this.state !== "ended") this.#control.media.stopAll();
      throw err;
    }
  }
  /** Callee: refuses the call (it ends `declined` for everyone). */
  async decline() {
    this.#assertLive();
    this.#finish(await this.#client.request("call.decline", { call_id: this.callId }));
  }
  /** Hangs up: `completed` once accepted; before that a cancel (caller) or a decline (callee). */
  async end() {
    if (this.state === "ended") return;
    this.#finish(await this.#client.request("call.end", { call_id: this.callId }));
  }
  setMicrophoneEnabled(on) {
    this.#assertLive();
    return this.#control.setMicrophoneEnabled(on);
  }
  setCameraEnabled(on) {
    this.#assertLive();
    return this.#control.setCameraEnabled(on);
  }
  switchDevice(kind, deviceId) {
    this.#assertLive();
    return this.#control.switchDevice(kind, deviceId);
  }
  async setAudioOutput(deviceId) {
    if (!audioOutputSupported()) throw new OpenCallsError(ErrorCode.Unsupported, "this browser cannot choose the audio output");
    await this.remoteParticipant._setSinkId(deviceId);
  }
  renegotiate() {
    return this.#link.renegotiate();
  }
  restartIce() {
    return this.#link.restartIce();
  }
  /** @internal A call event for this call. */
  _event(frame) {
    if (this.state === "ended") return;
    switch (frame.event) {
      case "call.dialed":
      case "call.custom_items_updated":
      case "call.custom_items_deleted":
        this.#apply(frame.data.call);
        break;
      case "call.accepted":
        this.#apply(frame.data.call);
        this.emit("accepted", this);
        if (this.isCaller) void this.#startMedia().catch(() => {
        });
        break;
      case "call.other_device_accepted":
        this.#apply(frame.data.call);
        this.emit("otherDeviceAccepted", this);
        this.#close({ endResult: "completed", endedBy: null, durationMs: 0 }, false);
        break;
      case "call.connected":
        this.#apply(frame.data.call);
        this.emit("connected", this);
        break;
      case "call.media_changed":
        this.#apply(frame.data.call);
        this.emit("remoteMediaChanged", this.remoteParticipant);
        break;
      case "call.media_lost":
        this.#apply(frame.data.call);
        this.emit("mediaLost", frame.data.user_id);
        break;
      case "call.media_recovered":
        this.#apply(frame.data.call);
        this.emit("mediaRecovered", frame.data.user_id);
        break;
      case "call.ended":
        this.#finish({ call: frame.data.call });
        break;
      case "media.track":
        this.#link.assign(frame.data.mid, frame.data.user_id);
        break;
      case "media.disconnected":
        void this.#link.renegotiate().catch(() => {
        });
        break;
      default:
        ignoreUnknown(frame);
    }
  }
  /** @internal The client reconnected; `snapshot` is null when the server no longer has
   *  this call for this device. */
  _resumed(snapshot) {
    if (this.state === "ended") return;
    if (!snapshot) {
      this.#close({ endResult: "connection_lost", endedBy: null, durationMs: 0 });
      return;
    }
    this.#apply(snapshot);
    if (snapshot.state === "ended") {
      this.#finish({ call: snapshot });
      return;
    }
    const pc = this.#link.pc;
    if (this.#mediaStarted && (!pc || pc.connectionState !== "connected")) void this.#link.renegotiate().catch(() => {
    });
  }
  async #startMedia() {
    if (this.#mediaStarted || this.state === "ended") return;
    this.#mediaStarted = true;
    await this.#link.renegotiate();
  }
  #finish(result) {
    const call = result.call;
    this.#apply(call);
    this.#close({ endResult: call.end_result ?? "unknown", endedBy: call.ended_by, durationMs: call.duration });
  }
  #close(ending, emit = true) {
    if (this.ending) return;
    this.ending = ending;
    this.state = "ended";
    this.#link.close();
    this.#control.media.stopAll();
    this.localParticipant._setTrack("audio", null);
    this.localParticipant._setTrack("video", null);
    this.#client.forget(this);
    if (emit) this.emit("ended", ending);
  }
  #apply(call, emit = true) {
    if (STATE_ORDER[call.state] < STATE_ORDER[this.state]) return;
    this.state = call.state;
    this.acceptedAt = call.accepted_at;
    this.connectedAt = call.connected_at;
    this.endedAt = call.ended_at;
    this.customItems = { ...call.custom_items };
    const [caller, callee] = call.participants;
    if (caller) this.caller._update(caller);
    if (callee) this.callee._update(callee);
    if (emit) this.emit("updated", this);
  }
  #trackChanged(track, subscribed) {
    const remote = this.remoteParticipant;
    if (track.ownerId !== remote.userId) return;
    if (subscribed) {
      remote._setTrack(track.kind, track);
      this.remoteStream.addTrack(track.mediaStreamTrack);
    } else {
      if ((track.kind === "audio" ? remote.audioTrack : remote.videoTrack) === track) remote._setTrack(track.kind, null);
      this.remoteStream.removeTrack(track.mediaStreamTrack);
    }
    this.emit(subscribed ? "trackSubscribed" : "trackUnsubscribed", track);
  }
  #plan() {
    const media = this.#control.media;
    return {
      iceServers: this.#client.iceServers(),
      sendAudio: media.audio,
      sendVideo: this.isVideoCall ? media.video : void 0,
      recvAudio: 1,
      recvVideo: this.isVideoCall ? 1 : 0
    };
  }
  #assertLive() {
    if (this.state === "ended") throw new OpenCallsError(ErrorCode.InvalidState, "this call has ended");
  }
};
var STATE_ORDER = { ringing: 0, accepted: 1, connected: 2, ended: 3 };

// src/connection.ts
var DEFAULT_PING_MS = 5e3;
var FINAL_GOODBYES = /* @__PURE__ */ new Set(["session_revoked", "replaced"]);
async function openSession(baseUrl, userId, accessToken) {
  const body = { user_id: userId, access_token: accessToken };
  let resp;
  try {
    resp = await fetch(baseUrl + "/v1/auth/session", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    });
  } catch (err) {
    throw new OpenCallsError(ErrorCode.ConnectionFailed, `the server is unreachable: ${String(err)}`);
  }
  const json = await resp.json().catch(() => null);
  if (!resp.ok || !json) {
    throw new OpenCallsError(json?.code ?? ErrorCode.ConnectionFailed, json?.message ?? `HTTP ${resp.status}`);
  }
  return json;
}
var Connection = class extends Emitter {
  state = "connecting";
  clientId;
  hello = null;
  #creds;
  #opts;
  #ws = null;
  #nextId = 1;
  #pending = /* @__PURE__ */ new Map();
  #waiters = /* @__PURE__ */ new Set();
  #pingTimer = null;
  #closing = false;
  constructor(creds, options = {}) {
    super();
    this.#creds = creds;
    this.clientId = creds.clientId ?? null;
    this.#opts = {
      requestTimeoutMs: options.requestTimeoutMs ?? 1e4,
      reconnectInitialDelayMs: options.reconnectInitialDelayMs ?? 250,
      reconnectMaxDelayMs: options.reconnectMaxDelayMs ?? 5e3,
      reconnectGiveUpMs: options.reconnectGiveUpMs ?? 6e4,
      pingIntervalMs: options.pingIntervalMs
    };
  }
  /** Connects for the first time; rejects (and ends `disconnected`) if that fails. */
  async open() {
    try {
      return await this.#connectOnce(false);
    } catch (err) {
      this.#setState("disconnected");
      throw err;
    }
  }
  /** Sends request `type` and resolves with its result; rejects with an OpenCallsError. */
  async request(type, params, timeoutMs) {
    const timeout = timeoutMs ?? this.#opts.requestTimeoutMs;
    const deadline = Date.now() + timeout;
    if (this.state !== "connected") await this.#waitConnected(deadline, type);
    const ws = this.#ws;
    if (!ws) throw new OpenCallsError(ErrorCode.ConnectionLost, `${type}: not connected`);
    const id = String(this.#nextId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new OpenCallsError(ErrorCode.RequestTimeout, `${type}: no answer within ${timeout} ms`));
      }, Math.max(0, deadline - Date.now()));
      this.#pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...params, id, type }));
    });
  }
  /** Checks the socket answers a `ping` within `timeoutMs` (media stopped arriving: the
   *  network may have changed). If it doesn't, the socket is replaced at once; resolves
   *  `reconnected` once the new socket's `hello` was handled (seats resumed), `alive` if the
   *  ping was answered, `down` if the client ended `disconnected`. */
  async probe(timeoutMs) {
    const ws = this.#ws;
    if (this.state === "connected" && ws) {
      try {
        await this.request("ping", {}, timeoutMs);
        return "alive";
      } catch {
        if (this.#ws === ws) this.#lost(ws, null, true);
      }
    }
    try {
      await this.#waitConnected(Date.now() + this.#opts.reconnectGiveUpMs, "probe");
      return "reconnected";
    } catch {
      return "down";
    }
  }
  /** Closes the connection for good (no reconnect). */
  close() {
    this.#closing = true;
    this.#dropSocket(ErrorCode.Disconnected, "the client disconnected");
    this.#setState("disconnected");
  }
  #setState(state) {
    if (this.state === state || this.state === "disconnected") return;
    this.state = state;
    for (const wake of [...this.#waiters]) wake();
    this.emit("stateChanged", state);
  }
  async #waitConnected(deadline, what) {
    while (this.state !== "connected") {
      if (this.state === "disconnected") throw new OpenCallsError(ErrorCode.Disconnected, `${what}: the client is disconnected`);
      const left = deadline - Date.now();
      if (left <= 0) throw new OpenCallsError(ErrorCode.RequestTimeout, `${what}: not connected in time`);
      await new Promise((resolve) => {
        const timer = setTimeout(done, left);
        const waiters = this.#waiters;
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }
  /** One attempt: session, WebSocket, `hello`. */
  async #connectOnce(resumed) {
    const { baseUrl, userId, accessToken } = this.#creds;
    const session = await openSession(baseUrl, userId, accessToken);
    const query = new URLSearchParams({ session_token: session.session_token });
    if (this.clientId) query.set("client_id", this.clientId);
    const ws = new WebSocket(baseUrl.replace(/^http/, "ws") + "/v1/ws?" + query.toString());
    const hello = await new Promise((resolve, reject) => {
      ws.addEventListener("close", () => reject(new OpenCallsError(ErrorCode.ConnectionFailed, "the WebSocket closed before hello")));
      ws.onmessage = (m) => {
        const frame = parse(m.data);
        if (frame?.type === "hello") resolve(frame);
        else if (frame?.type === "goodbye") reject(goodbyeError(frame));
      };
      ws.onerror = () => reject(new OpenCallsError(ErrorCode.ConnectionFailed, "the WebSocket failed"));
    }).catch((err) => {
      ws.close();
      throw err;
    });
    if (this.#closing) {
      ws.close();
      throw new OpenCallsError(ErrorCode.Disconnected, "the client disconnected");
    }
    this.#ws = ws;
    this.hello = hello;
    this.clientId = hello.client_id;
    ws.onmessage = (m) => this.#receive(m.data);
    ws.onerror = null;
    ws.onclose = () => this.#lost(ws, null);
    this.#startPings(hello);
    this.#setState("connected");
    this.emit("hello", hello, resumed);
    return hello;
  }
  #receive(data) {
    const frame = parse(data);
    if (!frame) return;
    switch (frame.type) {
      case "response":
      case "error":
        this.#answer(frame);
        return;
      case "event":
        this.emit("event", frame);
        return;
      case "goodbye":
        this.#lost(this.#ws, frame);
        return;
      default:
        this.emit("unknown", frame);
    }
  }
  #answer(frame) {
    const pending = frame.id === null ? void 0 : this.#pending.get(frame.id);
    if (!pending || frame.id === null) return;
    this.#pending.delete(frame.id);
    clearTimeout(pending.timer);
    if ("result" in frame) pending.resolve(frame.result);
    else pending.reject(new OpenCallsError(frame.code, frame.message));
  }
  #startPings(hello) {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    const every = this.#opts.pingIntervalMs ?? Math.min(DEFAULT_PING_MS, hello.heartbeat_interval_ms);
    this.#pingTimer = setInterval(() => {
      const ws = this.#ws;
      if (this.state !== "connected" || !ws) return;
      this.request("ping", {}, every).catch((err) => {
        if (err.code === ErrorCode.RequestTimeout && this.#ws === ws) this.#lost(ws, null);
      });
    }, every);
  }
  /** Rejects the in-flight requests and forgets the socket. */
  #dropSocket(code, message) {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      ws.onerror = null;
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
    }
    for (const [, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new OpenCallsError(code, message));
    }
    this.#pending.clear();
  }
  /** The socket ended (closed, dead, or said goodbye): reconnect unless that can't help.
   *  `now`: reconnect without the first backoff delay (this device's network changed). */
  #lost(ws, goodbye, now = false) {
    if (ws !== this.#ws || this.#closing) return;
    this.#dropSocket(ErrorCode.ConnectionLost, goodbye ? goodbye.message : "the connection was lost");
    if (goodbye && FINAL_GOODBYES.has(goodbye.reason)) {
      this.#setState("disconnected");
      return;
    }
    this.#setState("reconnecting");
    void this.#reconnect(now);
  }
  async #reconnect(now = false) {
    const giveUpAt = Date.now() + this.#opts.reconnectGiveUpMs;
    let delay = this.#opts.reconnectInitialDelayMs;
    while (!this.#closing && Date.now() < giveUpAt) {
      await sleep(now ? Math.random() * 50 : delay * (0.75 + Math.random() * 0.5));
      now = false;
      if (this.#closing) return;
      try {
        await this.#connectOnce(true);
        return;
      } catch (err) {
        const e = err;
        if (e.code === 401121 || e.code === ErrorCode.Disconnected) break;
        delay = Math.min(delay * 2, this.#opts.reconnectMaxDelayMs);
      }
    }
    this.#setState("disconnected");
  }
};
function parse(data) {
  if (typeof data !== "string") return null;
  try {
    const v = JSON.parse(data);
    return v && typeof v === "object" && typeof v.type === "string" ? v : null;
  } catch {
    return null;
  }
}
function goodbyeError(g) {
  return new OpenCallsError(ErrorCode.Disconnected, `goodbye (${g.reason}): ${g.message}`);
}
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// src/live.ts
var FORCED_OUT_WAIT_MS2 = 1e3;
var LiveEvent = class extends Emitter {
  liveEventId;
  role;
  /** This device's seat id: the host id or the participant id. */
  seatId;
  liveState;
  state = "entered";
  isHostStreaming = false;
  participantCount = 0;
  peakParticipantCount = 0;
  cumulativeParticipantCount = 0;
  userIdsForHost = [];
  createdAt = 0;
  startedAt = null;
  endedAt = null;
  customItems = {};
  /** The host present (this device's own seat when hosting), `null` when nobody hosts. */
  host = null;
  /** What the viewer receives: the host's media (tracks come and go inside it). */
  hostStream = new MediaStream();
  #client;
  #link;
  #control;
  #localHost = null;
  /** Caps the video received from `hostId` at `maxHeight` pixels (`null` = no cap): the
   *  server sends the tallest simulcast layer within it, so small tiles do not pull full
   *  resolution. Kept across slot changes and reconnections. */
  setVideoHint(hostId, maxHeight) {
    return this.#link.setVideoHint(hostId, maxHeight);
  }
  /** Hints `hostId`'s video at the height `element` (its tile) is drawn at, following its
   *  resizes; returns the function that stops. */
  fitVideo(hostId, element) {
    return this.#link.fitVideo(hostId, element);
  }
  /** @internal Use `client.enterLiveEvent`. */
  constructor(client, entered, options) {
    super();
    this.#client = client;
    this.liveEventId = entered.live_event.live_event_id;
    this.role = "host" in entered ? "host" : "participant";
    this.seatId = "host" in entered ? entered.host.host_id : entered.participant.participant_id;
    this.liveState = entered.live_event.state;
    if ("host" in entered) this.#localHost = new Host(entered.host, true);
    this.#apply(entered.live_event);
    this.#link = new MediaLink(
      () => this.#plan(),
      async (sdp) => (await client.request("media.offer", { live_event_id: this.liveEventId, sdp })).sdp,
      {
        subscribed: (t) => this.#trackChanged(t, true),
        unsubscribed: (t) => this.#trackChanged(t, false),
        stateChanged: (s) => this.emit("mediaStateChanged", s),
        probe: (ms) => client.probe(ms),
        hint: (mid, max_height) => client.request("media.set_layer_hint", { live_event_id: this.liveEventId, mid, max_height })
      },
      options
    );
    const local = this.#localHost;
    this.#control = local ? new LocalControl(
      new LocalMedia(options),
      this.#link,
      () => local,
      async (flags) => {
        await client.request("live.set_media", { live_event_id: this.liveEventId, ...flags });
      },
      true
    ) : null;
  }
  get isHost() {
    return this.role === "host";
  }
  get peerConnection() {
    return this.#link.pc;
  }
  /** The local host seat (hosts only): its tracks preview the camera. */
  get localHost() {
    return this.#localHost;
  }
  /** @internal Opens the host's media (if hosting) and the peer connection. */
  async _start(options) {
    if (this.#control) await this.#control.start(options.audio !== false, options.video !== false);
    await this.#link.renegotiate();
  }
  /** Viewer: plays the host's audio and video in `element` (a new `<video>` if omitted). */
  attach(element) {
    const el = element ?? document.createElement("video");
    el.autoplay = true;
    if (el instanceof HTMLVideoElement) el.playsInline = true;
    el.srcObject = this.hostStream;
    el.play().catch(() => {
    });
    return el;
  }
  /** Host: `created → ready`. */
  async setReady() {
    this.#apply((await this.#client.request("live.set_ready", { live_event_id: this.liveEventId })).live_event);
  }
  /** Host: `ready → ongoing` (viewers start receiving the media). */
  async start() {
    this.#apply((await this.#client.request("live.start", { live_event_id: this.liveEventId })).live_event);
  }
  /** Host: ends the event for everyone. */
  async end() {
    this.#assertEntered();
    const result = await this.#client.request("live.end", { live_event_id: this.liveEventId });
    this.#apply(result.live_event);
    this.#end("ended");
  }
  /** Sends a chat message to everyone in the event; resolves with it as delivered. */
  async sendChatMessage(message) {
    this.#assertEntered();
    const sent = await this.#client.request("live.chat", { live_event_id: this.liveEventId, message });
    return toChatMessage(sent.message);
  }
  /** Host: microphone on/off for everyone. */
  setMicrophoneEnabled(on) {
    return this.#hostControl().setMicrophoneEnabled(on);
  }
  /** Host: camera on/off for everyone. */
  setCameraEnabled(on) {
    return this.#hostControl().setCameraEnabled(on);
  }
  /** Host: switches the microphone or camera. */
  switchDevice(kind, deviceId) {
    return this.#hostControl().switchDevice(kind, deviceId);
  }
  /** Viewer: plays the host's audio on output device `deviceId`. */
  async setAudioOutput(deviceId) {
    if (!audioOutputSupported()) throw new OpenCallsError(ErrorCode.Unsupported, "this browser cannot choose the audio output");
    await Promise.all(this.#link.tracks.map((t) => t._setSinkId(deviceId)));
  }
  renegotiate() {
    return this.#link.renegotiate();
  }
  restartIce() {
    return this.#link.restartIce();
  }
  /** Leaves the live event; stops every local track and closes the peer connection. */
  async leave() {
    if (this.state === "left") return;
    this.#end("left");
    await this.#client.request("live.exit", { live_event_id: this.liveEventId }).catch(() => {
    });
  }
  /** @internal A live event frame for this event. */
  _event(frame) {
    if (this.state === "left") return;
    switch (frame.event) {
      case "live.ready":
      case "live.started":
        this.#apply(frame.data.live_event);
        break;
      case "live.ended":
        this.#apply(frame.data.live_event);
        this.#end("ended");
        break;
      case "live.host_entered":
      case "live.host_connected":
      case "live.host_disconnected":
      case "live.host_exited":
        this.#hostEvent(frame.event, frame.data.live_event, frame.data.host);
        break;
      case "live.host_media_changed":
        if (this.host) {
          this.host._update(frame.data.host);
          this.emit("hostMediaChanged", this.host);
        }
        break;
      case "live.participant_entered":
      case "live.participant_exited": {
        this.#apply(frame.data.live_event);
        const p = toLiveParticipant(frame.data.participant);
        if (p.participantId === this.seatId) this.#forcedOut();
        else this.emit(frame.event === "live.participant_entered" ? "participantEntered" : "participantExited", p);
        break;
      }
      case "live.chat_message":
        this.emit("chatMessageReceived", toChatMessage(frame.data.message));
        break;
      case "media.track":
        this.#link.assign(frame.data.mid, frame.data.host_id);
        break;
      case "media.disconnected":
        void this.#link.renegotiate().catch(() => {
        });
        break;
      default:
        ignoreUnknown(frame);
    }
  }
  /** @internal The client reconnected; `snapshot` is null when the seat was not kept. */
  _resumed(snapshot) {
    if (this.state === "left") return;
    if (!snapshot) {
      this.#end("lost");
      return;
    }
    this.#apply(snapshot);
    const pc = this.#link.pc;
    if (!pc || pc.connectionState !== "connected") void this.#link.renegotiate().catch(() => {
    });
  }
  #hostEvent(event, le, h) {
    this.#apply(le);
    const host = this.host ?? new Host(h, h.host_id === this.seatId);
    host._update(h);
    const name = {
      "live.host_entered": "hostEntered",
      "live.host_connected": "hostConnected",
      "live.host_disconnected": "hostDisconnected",
      "live.host_exited": "hostExited"
    }[event];
    this.emit(name, host);
    if (event === "live.host_exited" && h.host_id === this.seatId) this.#forcedOut();
  }
  /** Copies a live-event snapshot in and reports what changed. */
  #apply(le) {
    const stateChanged = le.state !== this.liveState;
    this.liveState = le.state;
    this.isHostStreaming = le.is_host_streaming;
    this.participantCount = le.participant_count;
    this.peakParticipantCount = le.peak_participant_count;
    this.cumulativeParticipantCount = le.cumulative_participant_count;
    this.userIdsForHost = [...le.user_ids_for_host];
    this.createdAt = le.created_at;
    this.startedAt = le.started_at;
    this.endedAt = le.ended_at;
    this.customItems = { ...le.custom_items };
    if (le.host) {
      const local = this.#localHost && le.host.host_id === this.#localHost.hostId ? this.#localHost : null;
      if (this.host && this.host.hostId === le.host.host_id) this.host._update(le.host);
      else this.host = local ?? new Host(le.host, false);
      if (local) local._update(le.host);
    } else {
      this.host = null;
    }
    if (stateChanged) this.emit("stateChanged", this.liveState);
    this.emit("updated", this);
  }
  #trackChanged(track, subscribed) {
    if (subscribed) this.hostStream.addTrack(track.mediaStreamTrack);
    else this.hostStream.removeTrack(track.mediaStreamTrack);
    this.emit(subscribed ? "trackSubscribed" : "trackUnsubscribed", track);
  }
  #plan() {
    const media = this.#control?.media;
    return {
      iceServers: this.#client.iceServers(),
      sendAudio: media ? media.audio : void 0,
      sendVideo: media ? media.video : void 0,
      recvAudio: media ? 0 : 1,
      recvVideo: media ? 0 : 1
    };
  }
  #hostControl() {
    this.#assertEntered();
    if (!this.#control) throw new OpenCallsError(ErrorCode.InvalidState, "only the host publishes media");
    return this.#control;
  }
  #assertEntered() {
    if (this.state === "left") throw new OpenCallsError(ErrorCode.InvalidState, "this live event was left");
  }
  /** The server exited this seat. The end of the event exits every seat just before
   *  `live.ended` arrives: wait a moment for it, so the reason says `ended`. */
  #forcedOut() {
    this.#link.close();
    this.#control?.media.stopAll();
    setTimeout(() => this.#end("removed"), FORCED_OUT_WAIT_MS2);
  }
  #end(reason) {
    if (this.state === "left") return;
    this.state = "left";
    this.#link.close();
    this.#control?.media.stopAll();
    this.#localHost?._setTrack("audio", null);
    this.#localHost?._setTrack("video", null);
    this.#client.forget(this);
    this.emit("left", reason);
  }
};
function toLiveParticipant(p) {
  return {
    participantId: p.participant_id,
    user: toUser(p.user),
    state: p.state,
    enteredAt: p.entered_at,
    exitedAt: p.exited_at
  };
}

// src/client.ts
var Client = class extends Emitter {
  user;
  #conn;
  #extraIce;
  #rooms = /* @__PURE__ */ new Map();
  #lives = /* @__PURE__ */ new Map();
  #calls = /* @__PURE__ */ new Map();
  /** @internal Use `connect`. */
  constructor(conn, hello, extraIce) {
    super();
    this.#conn = conn;
    this.user = toUser(hello.user);
    this.#extraIce = extraIce;
    conn.on("event", (frame) => this.#route(frame));
    conn.on("hello", (h, resumed) => {
      if (resumed) this.#resume(h);
    });
    setTimeout(() => {
      for (const call of hello.resumed_calls ?? []) this.#ringing(call);
    }, 0);
    conn.on("stateChanged", (state) => {
      if (state === "disconnected") this.#leaveAll();
      this.emit("connectionStateChanged", state);
    });
  }
  get userId() {
    return this.user.userId;
  }
  /** The device id; give it to `connect` again to resume this device's seats. */
  get clientId() {
    return this.#conn.clientId ?? "";
  }
  get connectionState() {
    return this.#conn.state;
  }
  /** The rooms this device is in now. */
  get rooms() {
    return [...this.#rooms.values()];
  }
  /** The live events this device is in now. */
  get liveEvents() {
    return [...this.#lives.values()];
  }
  /** The direct calls this device takes part in or that ring on it. */
  get calls() {
    return [...this.#calls.values()];
  }
  /** Calls user `calleeId`: every device of theirs rings. Opens the camera and microphone
   *  now (preview with `call.attachLocal()`); media flows once they accept. */
  async dial(calleeId, options = {}) {
    const isVideoCall = options.isVideoCall === true;
    const audio = options.audio !== false;
    const video = (options.video ?? isVideoCall) && isVideoCall;
    const result = await this.request("call.dial", {
      callee_id: calleeId,
      is_video_call: isVideoCall,
      is_audio_on: audio,
      is_video_on: video,
      ...options.customItems ? { custom_items: options.customItems } : {}
    });
    const call = new DirectCall(this, result.call, "dc_caller", options);
    this.#calls.set(call.callId, call);
    try {
      await call._openLocal({ ...options, audio, video });
    } catch (err) {
      await call.end().catch(() => {
      });
      throw err;
    }
    return call;
  }
  /** Enters room `roomId` and starts its media (camera and microphone by default). */
  async enterRoom(roomId, options = {}) {
    const entered = await this.request("room.enter", {
      room_id: roomId,
      is_audio_on: options.audio !== false,
      is_video_on: options.video !== false
    });
    const room = new Room(this, entered, { ...options, video: options.video !== false && entered.room.room_type === "small_room_for_video" });
    this.#rooms.set(room.roomId, room);
    try {
      await room._start(options);
    } catch (err) {
      await room.leave();
      throw err;
    }
    return room;
  }
  /** Enters live event `liveEventId` as `host` (publishes) or `participant` (watches). */
  async enterLiveEvent(liveEventId, options) {
    const host = options.role === "host";
    const entered = await this.request("live.enter", {
      live_event_id: liveEventId,
      role: options.role,
      ...host ? { is_audio_on: options.audio !== false, is_video_on: options.video !== false } : {}
    });
    const live = new LiveEvent(this, entered, options);
    this.#lives.set(live.liveEventId, live);
    try {
      await live._start(options);
    } catch (err) {
      await live.leave();
      throw err;
    }
    return live;
  }
  /** Sends any protocol request (typed by `type`); rejects with an OpenCallsError. */
  request(type, params, timeoutMs) {
    return this.#conn.request(type, params, timeoutMs);
  }
  /** Leaves every room and live event (stopping all tracks and peer connections) and
   *  closes the connection for good. */
  async disconnect() {
    const leaving = [...this.rooms.map((r) => r.leave()), ...this.liveEvents.map((l) => l.leave()), ...this.calls.map((c) => c.end())];
    await Promise.allSettled(leaving);
    this.#conn.close();
  }
  /** @internal */
  iceServers() {
    const fromServer = this.#conn.hello?.ice_servers ?? [];
    return [...fromServer.map(toIceServer), ...this.#extraIce];
  }
  /** @internal Network-change recovery: see recovery.ts. */
  probe(timeoutMs) {
    return this.#conn.probe(timeoutMs);
  }
  /** @internal */
  forget(call) {
    if (call instanceof Room) this.#rooms.delete(call.roomId);
    if (call instanceof LiveEvent) this.#lives.delete(call.liveEventId);
    if (call instanceof DirectCall) this.#calls.delete(call.callId);
  }
  #route(frame) {
    if ("room_id" in frame) this.#rooms.get(frame.room_id)?._event(frame);
    else if ("live_event_id" in frame) this.#lives.get(frame.live_event_id)?._event(frame);
    else if (frame.event === "call.dialed" && !this.#calls.has(frame.call_id)) this.#ringing(frame.data.call);
    else this.#calls.get(frame.call_id)?._event(frame);
  }
  /** A call that rings on this device (an event, or found in `hello` after a reconnect). */
  #ringing(snapshot) {
    if (this.#calls.has(snapshot.call_id) || snapshot.state !== "ringing") return;
    if (snapshot.participants[0]?.user_id === this.userId) return;
    const call = new DirectCall(this, snapshot, "dc_callee");
    this.#calls.set(call.callId, call);
    this.emit("incomingCall", call);
  }
  #resume(hello) {
    const rooms = new Map(hello.resumed.map((r) => [r.room.room_id, r.room]));
    for (const room of this.rooms) room._resumed(rooms.get(room.roomId) ?? null);
    const lives = new Map(hello.resumed_live.map((l) => [l.live_event.live_event_id, l.live_event]));
    for (const live of this.liveEvents) live._resumed(lives.get(live.liveEventId) ?? null);
    const calls = new Map((hello.resumed_calls ?? []).map((c) => [c.call_id, c]));
    for (const call of this.calls) call._resumed(calls.get(call.callId) ?? null);
    for (const call of calls.values()) this.#ringing(call);
    this.emit("reconnected");
  }
  #leaveAll() {
    for (const c of [...this.rooms, ...this.liveEvents, ...this.calls]) c._resumed(null);
  }
};
function toIceServer(s) {
  const server = { urls: s.urls };
  if (s.username) server.username = s.username;
  if (s.credential) server.credential = s.credential;
  return server;
}
async function connect(options) {
  const baseUrl = (options.baseUrl ?? globalThis.location?.origin ?? "").replace(/\/+$/, "");
  if (!baseUrl) throw new OpenCallsError(ErrorCode.InvalidState, "baseUrl is required outside a web page");
  const conn = new Connection({ baseUrl, userId: options.userId, accessToken: options.accessToken, clientId: options.clientId }, options);
  const hello = await conn.open();
  return new Client(conn, hello, options.iceServers ?? []);
}
export {
  CallParticipant,
  Client,
  DirectCall,
  Emitter,
  ErrorCode,
  Host,
  LiveEvent,
  Member,
  OpenCallsError,
  Participant,
  Room,
  Track,
  audioOutputSupported,
  connect,
  listDevices,
  mediaAvailable,
  openSession
};
