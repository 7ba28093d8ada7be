// OpenCalls browser SDK: session exchange, the WebSocket client protocol (docs/protocol.md)
// and the media of a room through the server's SFU (docs/media.md). No dependencies.
//
//   const client = await OpenCalls.connect({ userId, accessToken });   // same origin by default
//   const call = await client.enterRoom(roomId, { audio: true, video: true });
//   call.onparticipant = ({ participantId, stream }) => { video.srcObject = stream; };
//   await call.setMedia({ video: false });
//   await call.exit();
//
//   const live = await client.enterLiveEvent(liveEventId, { role: 'participant' }); // or 'host'
//   live.onhost = ({ stream }) => { video.srcObject = stream; };  // media flows while ongoing
//
// Media: the SFU never renegotiates. The offer carries one send-only audio (and video)
// transceiver plus receive-only "slots" the SFU fills with other participants' tracks;
// `media.track` events say which participant a slot (by mid) carries now.
(function (global) {
  'use strict';

  /** Receive slots per kind: a video room holds 6 people (5 others); audio rooms forward
   *  the loudest 3 by default (the server's OPENCALLS_MEDIA_ACTIVE_SPEAKERS). */
  const VIDEO_ROOM_SLOTS = 5;
  const AUDIO_ROOM_SLOTS = 3;

  class OpenCallsError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  async function openSession(baseUrl, userId, accessToken) {
    const resp = await fetch(baseUrl + '/v1/auth/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: userId, access_token: accessToken }),
    });
    const body = await resp.json();
    if (!resp.ok) throw new OpenCallsError(body.code, body.message);
    return body;
  }

  /** One WebSocket connection: requests matched to answers by id, events to listeners. */
  class Client {
    constructor(ws, hello) {
      this.ws = ws;
      this.hello = hello;
      this.nextId = 1;
      this.pending = new Map();
      this.listeners = new Map();
      this.calls = new Map();
      this.lives = new Map();
      ws.onmessage = (m) => this._receive(m.data);
      ws.onclose = () => {
        for (const { reject } of this.pending.values()) reject(new OpenCallsError(0, 'closed'));
        this.pending.clear();
        this._emit('close', {});
      };
    }

    /** Listens to pushed events by name (e.g. 'room.participant_entered'), or '*'. */
    on(name, fn) {
      if (!this.listeners.has(name)) this.listeners.set(name, []);
      this.listeners.get(name).push(fn);
    }

    _emit(name, frame) {
      for (const fn of this.listeners.get(name) || []) fn(frame);
      for (const fn of this.listeners.get('*') || []) fn(frame);
    }

    _receive(text) {
      let frame;
      try { frame = JSON.parse(text); } catch { return; }
      if ((frame.type === 'response' || frame.type === 'error') && this.pending.has(frame.id)) {
        const { resolve, reject } = this.pending.get(frame.id);
        this.pending.delete(frame.id);
        if (frame.type === 'response') resolve(frame.result);
        else reject(new OpenCallsError(frame.code, frame.message));
      } else if (frame.type === 'event') {
        const call = this.calls.get(frame.room_id) || this.lives.get(frame.live_event_id);
        if (call) call._event(frame.event, frame.data);
        this._emit(frame.event, frame);
      } else {
        this._emit(frame.type, frame);
      }
    }

    /** Sends a request and resolves with its result (rejects with an OpenCallsError). */
    request(type, params = {}) {
      const id = String(this.nextId++);
      return new Promise((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.ws.send(JSON.stringify({ ...params, id, type }));
      });
    }

    /** Enters a room and starts its media; see Call. */
    async enterRoom(roomId, options = {}) {
      const audio = options.audio !== false;
      const video = options.video !== false;
      const entered = await this.request('room.enter', {
        room_id: roomId, is_audio_on: audio, is_video_on: video,
      });
      const call = new Call(this, entered.room, entered.participant);
      this.calls.set(roomId, call);
      try {
        await call._start(options);
      } catch (err) {
        this.calls.delete(roomId);
        await this.request('room.exit', { room_id: roomId }).catch(() => {});
        throw err;
      }
      return call;
    }

    /** Enters a live event as `host` (publishes its camera and microphone) or
     *  `participant` (receives the host's media while the event is ongoing); see LiveCall. */
    async enterLiveEvent(liveEventId, options = {}) {
      const role = options.role === 'host' ? 'host' : 'participant';
      const audio = options.audio !== false;
      const video = options.video !== false;
      const entered = await this.request('live.enter', {
        live_event_id: liveEventId, role, is_audio_on: audio, is_video_on: video,
      });
      const live = new LiveCall(this, entered.live_event, role);
      this.lives.set(liveEventId, live);
      try {
        await live._start(options);
      } catch (err) {
        this.lives.delete(liveEventId);
        await this.request('live.exit', { live_event_id: liveEventId }).catch(() => {});
        throw err;
      }
      return live;
    }

    close() { this.ws.close(); }
  }

  /** A live event this client entered, with its RTCPeerConnection to the SFU: the host
   *  sends audio and video; a participant has one audio and one video receive slot. */
  class LiveCall {
    constructor(client, liveEvent, role) {
      this.client = client;
      this.liveEvent = liveEvent;
      this.liveEventId = liveEvent.live_event_id;
      this.role = role;
      this.slots = new Map(); // mid → { transceiver, hostId }
      this.onhost = null; // ({hostId, stream}) the host's media (participants)
      this.ondisconnected = null; // ({reason}) the media transport was lost; call renegotiate()
      this.onevent = null; // (name, data) every live event
    }

    async _start(options) {
      if (this.role === 'host') {
        this.localStream = options.localStream ||
          await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      }
      await this.renegotiate();
    }

    /** (Re)creates the peer connection and offers again (after `ondisconnected`). */
    async renegotiate() {
      if (this.pc) this.pc.close();
      this.slots.clear();
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
      this.pc = pc;
      const recv = [];
      if (this.localStream) {
        for (const track of this.localStream.getTracks()) {
          pc.addTransceiver(track, { direction: 'sendonly', streams: [this.localStream] });
        }
      } else {
        recv.push(pc.addTransceiver('audio', { direction: 'recvonly' }));
        recv.push(pc.addTransceiver('video', { direction: 'recvonly' }));
      }
      await pc.setLocalDescription(await pc.createOffer());
      for (const t of recv) this.slots.set(t.mid, { transceiver: t, hostId: null });
      const answer = await this.client.request('media.offer', {
        live_event_id: this.liveEventId, sdp: pc.localDescription.sdp,
      });
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    }

    _event(name, data) {
      if (data && data.live_event) this.liveEvent = data.live_event;
      if (name === 'media.track') {
        const slot = this.slots.get(data.mid);
        if (slot) {
          slot.hostId = data.host_id;
          const tracks = [...this.slots.values()].filter((s) => s.hostId)
            .map((s) => s.transceiver.receiver.track);
          if (this.onhost && data.host_id) {
            this.onhost({ hostId: data.host_id, stream: new MediaStream(tracks) });
          }
        }
      } else if (name === 'media.disconnected') {
        if (this.ondisconnected) this.ondisconnected(data);
      } else if (name === 'live.ended') {
        this.client.lives.delete(this.liveEventId);
        if (this.pc) this.pc.close();
      }
      if (this.onevent) this.onevent(name, data);
    }

    /** The host's life-cycle actions: 'live.set_ready', 'live.start', 'live.end'. */
    act(type) {
      return this.client.request(type, { live_event_id: this.liveEventId });
    }

    /** The host turns its audio and/or video on or off for everyone. */
    async setMedia({ audio, video } = {}) {
      for (const track of (this.localStream ? this.localStream.getTracks() : [])) {
        if (track.kind === 'audio' && audio !== undefined) track.enabled = audio;
        if (track.kind === 'video' && video !== undefined) track.enabled = video;
      }
      return this.client.request('live.set_media', {
        live_event_id: this.liveEventId, is_audio_on: audio, is_video_on: video,
      });
    }

    /** Leaves the live event and stops the media. */
    async exit() {
      this.client.lives.delete(this.liveEventId);
      if (this.pc) this.pc.close();
      for (const track of (this.localStream ? this.localStream.getTracks() : [])) track.stop();
      return this.client.request('live.exit', { live_event_id: this.liveEventId });
    }
  }

  /** A room this client entered, with its RTCPeerConnection to the SFU. */
  class Call {
    constructor(client, room, participant) {
      this.client = client;
      this.room = room;
      this.roomId = room.room_id;
      this.participant = participant;
      this.participantId = participant.participant_id;
      this.isVideoRoom = room.room_type === 'small_room_for_video';
      this.slots = new Map(); // mid → { kind, transceiver, participantId }
      this.remote = new Map(); // participantId → MediaStream
      this.activeSpeakers = [];
      this.onparticipant = null; // ({participantId, stream}) when a participant's media changes
      this.onparticipantleft = null; // ({participantId})
      this.onactivespeakers = null; // (participantIds)
      this.ondisconnected = null; // ({reason}) the media transport was lost; call renegotiate()
      this.onevent = null; // (name, data) every room event
    }

    async _start(options) {
      const wantVideo = this.isVideoRoom && options.video !== false;
      this.localStream = options.localStream ||
        await navigator.mediaDevices.getUserMedia({ audio: true, video: wantVideo });
      await this.renegotiate();
    }

    /** (Re)creates the peer connection and sends a fresh offer; the server replaces the
     *  previous SFU peer. Use after `ondisconnected`. */
    async renegotiate() {
      if (this.pc) this.pc.close();
      this.slots.clear();
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
      this.pc = pc;
      for (const track of this.localStream.getTracks()) {
        if (track.kind === 'video' && !this.isVideoRoom) continue;
        pc.addTransceiver(track, { direction: 'sendonly', streams: [this.localStream] });
      }
      const slots = this.isVideoRoom ? VIDEO_ROOM_SLOTS : AUDIO_ROOM_SLOTS;
      const recv = [];
      for (let i = 0; i < slots; i++) recv.push(pc.addTransceiver('audio', { direction: 'recvonly' }));
      if (this.isVideoRoom) {
        for (let i = 0; i < slots; i++) recv.push(pc.addTransceiver('video', { direction: 'recvonly' }));
      }
      await pc.setLocalDescription(await pc.createOffer());
      // Mids are known now, so `media.track` events can label slots even before the answer.
      for (const t of recv) {
        this.slots.set(t.mid, { kind: t.receiver.track.kind, transceiver: t, participantId: null });
      }
      const answer = await this.client.request('media.offer', {
        room_id: this.roomId, sdp: pc.localDescription.sdp,
      });
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      this._rebuild();
    }

    _event(name, data) {
      if (name === 'media.track') {
        const slot = this.slots.get(data.mid);
        if (slot) {
          slot.participantId = data.participant_id;
          this._rebuild();
        }
      } else if (name === 'media.active_speakers') {
        this.activeSpeakers = data.participant_ids;
        if (this.onactivespeakers) this.onactivespeakers(this.activeSpeakers);
      } else if (name === 'media.disconnected') {
        if (this.ondisconnected) this.ondisconnected(data);
      }
      if (this.onevent) this.onevent(name, data);
    }

    /** Groups the slots' tracks into one MediaStream per remote participant. */
    _rebuild() {
      const wanted = new Map();
      for (const slot of this.slots.values()) {
        if (!slot.participantId) continue;
        if (!wanted.has(slot.participantId)) wanted.set(slot.participantId, []);
        wanted.get(slot.participantId).push(slot.transceiver.receiver.track);
      }
      for (const [pid, stream] of this.remote) {
        if (!wanted.has(pid)) {
          this.remote.delete(pid);
          if (this.onparticipantleft) this.onparticipantleft({ participantId: pid, stream });
        }
      }
      for (const [pid, tracks] of wanted) {
        let stream = this.remote.get(pid);
        const same = stream && stream.getTracks().length === tracks.length &&
          tracks.every((t) => stream.getTrackById(t.id));
        if (same) continue;
        stream = new MediaStream(tracks);
        this.remote.set(pid, stream);
        if (this.onparticipant) this.onparticipant({ participantId: pid, stream });
      }
    }

    /** Turns this participant's audio and/or video on or off for everyone. */
    async setMedia({ audio, video } = {}) {
      for (const track of this.localStream.getTracks()) {
        if (track.kind === 'audio' && audio !== undefined) track.enabled = audio;
        if (track.kind === 'video' && video !== undefined) track.enabled = video;
      }
      return this.client.request('room.set_media', {
        room_id: this.roomId, is_audio_on: audio, is_video_on: video,
      });
    }

    /** Leaves the room and stops the media. */
    async exit() {
      this.client.calls.delete(this.roomId);
      if (this.pc) this.pc.close();
      for (const track of this.localStream.getTracks()) track.stop();
      return this.client.request('room.exit', { room_id: this.roomId });
    }
  }

  /** Opens a session and the WebSocket. `baseUrl` defaults to the page's origin. */
  async function connect({ baseUrl = global.location.origin, userId, accessToken, clientId }) {
    const session = await openSession(baseUrl, userId, accessToken);
    const params = new URLSearchParams({ session_token: session.session_token });
    if (clientId) params.set('client_id', clientId);
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/v1/ws?' + params);
    const hello = await new Promise((resolve, reject) => {
      ws.onmessage = (m) => {
        const frame = JSON.parse(m.data);
        if (frame.type === 'hello') resolve(frame);
      };
      ws.onerror = () => reject(new OpenCallsError(0, 'the WebSocket failed'));
      ws.onclose = () => reject(new OpenCallsError(0, 'the WebSocket closed'));
    });
    return new Client(ws, hello);
  }

  global.OpenCalls = { connect, openSession, Client, Call, LiveCall, OpenCallsError };
})(globalThis);
