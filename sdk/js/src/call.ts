/**
 * `DirectCall`: a 1:1 call this device dialed or that rings on it. The caller opens its
 * camera and microphone at the dial and offers media once the callee accepted; the callee
 * opens them when it accepts. The other side's media arrives as tracks (and in
 * `remoteStream`); the server decides how the call ended (`ended` carries its verdict).
 *
 * Invariants: `state` only moves forward (`ringing → accepted → connected → ended`, or
 * straight to `ended`); once `ended` the object owns no live track and no open peer
 * connection, and `ended` was emitted exactly once.
 */
import type { InputKind } from './control.js';
import { LocalControl } from './control.js';
import { Emitter } from './emitter.js';
import { ErrorCode, OpenCallsError } from './errors.js';
import type { MediaOptions } from './link.js';
import { MediaLink } from './link.js';
import type { DeviceChoice } from './media.js';
import { LocalMedia } from './media.js';
import type { Track } from './model.js';
import { audioOutputSupported, Member } from './model.js';
import type * as wire from './protocol.js';
import { ignoreUnknown } from './room.js';
import type { ClientLink } from './session.js';

/** One side of a direct call. */
export class CallParticipant extends Member {
  role: wire.DirectCallRole;

  constructor(p: wire.DirectCallParticipant, isLocal: boolean) {
    super(asUser(p), '', p.is_audio_on, p.is_video_on, isLocal);
    this.role = p.role;
  }

  get id(): string {
    return this.userId;
  }

  /** @internal */
  _update(p: wire.DirectCallParticipant): void {
    this.isAudioOn = p.is_audio_on;
    this.isVideoOn = p.is_video_on;
  }
}

function asUser(p: wire.DirectCallParticipant): wire.User {
  return { user_id: p.user_id, nickname: p.nickname, profile_url: p.profile_url, metadata: p.metadata, is_active: p.is_active, role: null };
}

/** How a call ended, as the server decided. */
export interface CallEnding {
  endResult: wire.EndResult;
  /** The user whose action (or lost device) ended it; `null` when unknown. */
  endedBy: string | null;
  /** Milliseconds from the accept to the end (0 if never accepted). */
  durationMs: number;
}

/** Options of `client.dial` and `call.accept`. */
export interface CallMediaOptions extends DeviceChoice, MediaOptions {
  /** Start with the microphone on (default true). */
  audio?: boolean;
  /** Start with the camera on (default: the call is a video call). */
  video?: boolean;
}

/** Options of `client.dial`. */
export interface DialOptions extends CallMediaOptions {
  /** A video call (default false: audio only). */
  isVideoCall?: boolean;
  customItems?: Record<string, string>;
}

/** Events of a direct call. */
export type DirectCallEvents = {
  /** Caller: the callee accepted on one of its devices; media is being set up. */
  accepted: [call: DirectCall];
  /** Callee device: another device of this user took the call; stop ringing. */
  otherDeviceAccepted: [call: DirectCall];
  /** Media flows both ways. */
  connected: [call: DirectCall];
  /** The other side turned its microphone or camera on or off. */
  remoteMediaChanged: [participant: CallParticipant];
  /** A side's media transport was lost (the server waits for it to come back). */
  mediaLost: [userId: string];
  mediaRecovered: [userId: string];
  trackSubscribed: [track: Track];
  trackUnsubscribed: [track: Track];
  mediaStateChanged: [state: RTCPeerConnectionState];
  /** Any change of the call's fields. */
  updated: [call: DirectCall];
  ended: [ending: CallEnding];
};

export class DirectCall extends Emitter<DirectCallEvents> {
  readonly callId: string;
  readonly isVideoCall: boolean;
  /** Whether this device dialed (`dc_caller`) or is called (`dc_callee`). */
  readonly myRole: wire.DirectCallRole;
  state: wire.DirectCallState;
  startedAt: number;
  acceptedAt: number | null = null;
  connectedAt: number | null = null;
  endedAt: number | null = null;
  ending: CallEnding | null = null;
  customItems: Record<string, string> = {};
  readonly caller: CallParticipant;
  readonly callee: CallParticipant;
  /** The other side's media (tracks come and go inside it). */
  readonly remoteStream = new MediaStream();
  readonly #client: ClientLink;
  readonly #link: MediaLink;
  readonly #control: LocalControl;
  #mediaStarted = false;

  /** @internal Use `client.dial` or the client's `incomingCall` event. */
  constructor(client: ClientLink, call: wire.DirectCall, myRole: wire.DirectCallRole, options: CallMediaOptions = {}) {
    super();
    this.#client = client;
    this.callId = call.call_id;
    this.isVideoCall = call.is_video_call;
    this.myRole = myRole;
    this.state = call.state;
    this.startedAt = call.started_at;
    const [caller, callee] = call.participants;
    if (!caller || !callee) throw new OpenCallsError(ErrorCode.ProtocolViolation, 'a direct call has two participants');
    this.caller = new CallParticipant(caller, myRole === 'dc_caller');
    this.callee = new CallParticipant(callee, myRole === 'dc_callee');
    this.#apply(call, false);
    this.#link = new MediaLink(
      () => this.#plan(),
      async (sdp) => (await client.request('media.offer', { call_id: this.callId, sdp })).sdp,
      {
        subscribed: (t) => this.#trackChanged(t, true),
        unsubscribed: (t) => this.#trackChanged(t, false),
        stateChanged: (s) => this.emit('mediaStateChanged', s),
        probe: (ms) => client.probe(ms),
        hint: (mid, max_height) => client.request('media.set_layer_hint', { call_id: this.callId, mid, max_height }),
      },
      options,
    );
    this.#control = new LocalControl(
      new LocalMedia(options),
      this.#link,
      () => this.localParticipant,
      async (flags) => {
        this.#apply((await client.request('call.set_media', { call_id: this.callId, ...flags })).call);
      },
      this.isVideoCall,
    );
  }

  get isCaller(): boolean {
    return this.myRole === 'dc_caller';
  }

  /** This device's side. */
  get localParticipant(): CallParticipant {
    return this.isCaller ? this.caller : this.callee;
  }

  /** Caps the video received from `userId` at `maxHeight` pixels (`null` = no cap): the
   *  server sends the tallest simulcast layer within it, so small tiles do not pull full
   *  resolution. Kept across slot changes and reconnections. */
  setVideoHint(userId: string, maxHeight: number | null): Promise<void> {
    return this.#link.setVideoHint(userId, maxHeight);
  }

  /** Hints `userId`'s video at the height `element` (its tile) is drawn at, following its
   *  resizes; returns the function that stops. */
  fitVideo(userId: string, element: Element): () => void {
    return this.#link.fitVideo(userId, element);
  }

  /** The other side. */
  get remoteParticipant(): CallParticipant {
    return this.isCaller ? this.callee : this.caller;
  }

  get peerConnection(): RTCPeerConnection | null {
    return this.#link.pc;
  }

  /** Plays the other side's audio and video in `element` (a new `<video>` if omitted). */
  attachRemote(element?: HTMLMediaElement): HTMLMediaElement {
    return this.remoteParticipant.attach(element);
  }

  /** Shows this device's camera in `element` (muted; a new `<video>` if omitted). */
  attachLocal(element?: HTMLMediaElement): HTMLMediaElement {
    return this.localParticipant.attach(element);
  }

  /** @internal Caller: opens the local media right after the dial (for a preview). */
  async _openLocal(options: CallMediaOptions): Promise<void> {
    await this.#control.start(options.audio !== false, options.video ?? this.isVideoCall);
  }

  /** Callee: takes the call on this device and starts the media. */
  async accept(options: CallMediaOptions = {}): Promise<void> {
    this.#assertLive();
    if (this.isCaller) throw new OpenCallsError(ErrorCode.InvalidState, 'the caller cannot accept its own call');
    const audio = options.audio !== false;
    const video = (options.video ?? this.isVideoCall) && this.isVideoCall;
    await this.#control.start(audio, video);
    try {
      const result = await this.#client.request('call.accept', { call_id: this.callId, is_audio_on: audio, is_video_on: video });
      this.#apply(result.call);
      await this.#startMedia();
    } catch (err) {
      if (this.state !== 'ended') this.#control.media.stopAll();
      throw err;
    }
  }

  /** Callee: refuses the call (it ends `declined` for everyone). */
  async decline(): Promise<void> {
    this.#assertLive();
    this.#finish(await this.#client.request('call.decline', { call_id: this.callId }));
  }

  /** Hangs up: `completed` once accepted; before that a cancel (caller) or a decline (callee). */
  async end(): Promise<void> {
    if (this.state === 'ended') return;
    this.#finish(await this.#client.request('call.end', { call_id: this.callId }));
  }

  setMicrophoneEnabled(on: boolean): Promise<void> {
    this.#assertLive();
    return this.#control.setMicrophoneEnabled(on);
  }

  setCameraEnabled(on: boolean): Promise<void> {
    this.#assertLive();
    return this.#control.setCameraEnabled(on);
  }

  switchDevice(kind: InputKind, deviceId: string): Promise<void> {
    this.#assertLive();
    return this.#control.switchDevice(kind, deviceId);
  }

  async setAudioOutput(deviceId: string): Promise<void> {
    if (!audioOutputSupported()) throw new OpenCallsError(ErrorCode.Unsupported, 'this browser cannot choose the audio output');
    await this.remoteParticipant._setSinkId(deviceId);
  }

  renegotiate(): Promise<void> {
    return this.#link.renegotiate();
  }

  restartIce(): Promise<void> {
    return this.#link.restartIce();
  }

  /** @internal A call event for this call. */
  _event(frame: wire.CallEventFrame): void {
    if (this.state === 'ended') return;
    switch (frame.event) {
      case 'call.dialed':
      case 'call.custom_items_updated':
      case 'call.custom_items_deleted':
        this.#apply(frame.data.call);
        break;
      case 'call.accepted':
        this.#apply(frame.data.call);
        this.emit('accepted', this);
        if (this.isCaller) void this.#startMedia().catch(() => {});
        break;
      case 'call.other_device_accepted':
        this.#apply(frame.data.call);
        this.emit('otherDeviceAccepted', this);
        this.#close({ endResult: 'completed', endedBy: null, durationMs: 0 }, false);
        break;
      case 'call.connected':
        this.#apply(frame.data.call);
        this.emit('connected', this);
        break;
      case 'call.media_changed':
        this.#apply(frame.data.call);
        this.emit('remoteMediaChanged', this.remoteParticipant);
        break;
      case 'call.media_lost':
        this.#apply(frame.data.call);
        this.emit('mediaLost', frame.data.user_id);
        break;
      case 'call.media_recovered':
        this.#apply(frame.data.call);
        this.emit('mediaRecovered', frame.data.user_id);
        break;
      case 'call.ended':
        this.#finish({ call: frame.data.call });
        break;
      case 'media.track':
        this.#link.assign(frame.data.mid, frame.data.user_id);
        break;
      case 'media.disconnected':
        void this.#link.renegotiate().catch(() => {});
        break;
      default:
        ignoreUnknown(frame);
    }
  }

  /** @internal The client reconnected; `snapshot` is null when the server no longer has
   *  this call for this device. */
  _resumed(snapshot: wire.DirectCall | null): void {
    if (this.state === 'ended') return;
    if (!snapshot) {
      this.#close({ endResult: 'connection_lost', endedBy: null, durationMs: 0 });
      return;
    }
    this.#apply(snapshot);
    if (snapshot.state === 'ended') {
      this.#finish({ call: snapshot });
      return;
    }
    const pc = this.#link.pc;
    if (this.#mediaStarted && (!pc || pc.connectionState !== 'connected')) void this.#link.renegotiate().catch(() => {});
  }

  async #startMedia(): Promise<void> {
    if (this.#mediaStarted || this.state === 'ended') return;
    this.#mediaStarted = true;
    await this.#link.renegotiate();
  }

  #finish(result: { call: wire.DirectCall }): void {
    const call = result.call;
    this.#apply(call);
    this.#close({ endResult: call.end_result ?? 'unknown', endedBy: call.ended_by, durationMs: call.duration });
  }

  #close(ending: CallEnding, emit = true): void {
    if (this.ending) return;
    this.ending = ending;
    this.state = 'ended';
    this.#link.close();
    this.#control.media.stopAll();
    this.localParticipant._setTrack('audio', null);
    this.localParticipant._setTrack('video', null);
    this.#client.forget(this);
    if (emit) this.emit('ended', ending);
  }

  #apply(call: wire.DirectCall, emit = true): void {
    // States only move forward; a stale snapshot (an event overtaken by a response) is ignored.
    if (STATE_ORDER[call.state] < STATE_ORDER[this.state]) return;
    this.state = call.state;
    this.acceptedAt = call.accepted_at;
    this.connectedAt = call.connected_at;
    this.endedAt = call.ended_at;
    this.customItems = { ...call.custom_items };
    const [caller, callee] = call.participants;
    if (caller) this.caller._update(caller);
    if (callee) this.callee._update(callee);
    if (emit) this.emit('updated', this);
  }

  #trackChanged(track: Track, subscribed: boolean): void {
    const remote = this.remoteParticipant;
    if (track.ownerId !== remote.userId) return;
    if (subscribed) {
      remote._setTrack(track.kind, track);
      this.remoteStream.addTrack(track.mediaStreamTrack);
    } else {
      if ((track.kind === 'audio' ? remote.audioTrack : remote.videoTrack) === track) remote._setTrack(track.kind, null);
      this.remoteStream.removeTrack(track.mediaStreamTrack);
    }
    this.emit(subscribed ? 'trackSubscribed' : 'trackUnsubscribed', track);
  }

  #plan() {
    const media = this.#control.media;
    return {
      iceServers: this.#client.iceServers(),
      sendAudio: media.audio,
      sendVideo: this.isVideoCall ? media.video : undefined,
      recvAudio: 1,
      recvVideo: this.isVideoCall ? 1 : 0,
    };
  }

  #assertLive(): void {
    if (this.state === 'ended') throw new OpenCallsError(ErrorCode.InvalidState, 'this call has ended');
  }
}

const STATE_ORDER: Record<wire.DirectCallState, number> = { ringing: 0, accepted: 1, connected: 2, ended: 3 };
