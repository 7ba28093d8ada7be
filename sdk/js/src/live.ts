/**
 * `LiveEvent`: a live event this device entered, as its host (publishes camera and
 * microphone, drives the life cycle, sees every viewer come and go) or as a participant
 * (a viewer: receives the host's media while the event is ongoing). Both can chat.
 *
 * Invariants: the counters and state always come from the latest `live_event` snapshot
 * the server sent; after `left` the object owns no live track and no open peer connection.
 */
import type { InputKind } from './control.js';
import { LocalControl } from './control.js';
import { Emitter } from './emitter.js';
import { ErrorCode, OpenCallsError } from './errors.js';
import type { MediaOptions } from './link.js';
import { MediaLink } from './link.js';
import type { DeviceChoice } from './media.js';
import { LocalMedia } from './media.js';
import type { ChatMessage, Track, User } from './model.js';
import { audioOutputSupported, Host, toChatMessage, toUser } from './model.js';
import type * as wire from './protocol.js';
import { ignoreUnknown } from './room.js';
import type { ClientLink } from './session.js';

/** Host or participant (viewer). */
export type LiveRole = wire.LiveRoleName;

/** Why a live event was left: asked, the event ended, the server removed this seat, or
 *  the seat was lost in a reconnect. */
export type LiveLeaveReason = 'left' | 'ended' | 'removed' | 'lost';

/** Options of `client.enterLiveEvent`. */
export interface EnterLiveEventOptions extends DeviceChoice, MediaOptions {
  role: LiveRole;
  /** Host only: start with the microphone on (default true). */
  audio?: boolean;
  /** Host only: start with the camera on (default true). */
  video?: boolean;
}

/** A viewer as the host sees it. */
export interface LiveParticipant {
  participantId: string;
  user: User;
  state: wire.LiveParticipantState;
  enteredAt: number;
  exitedAt: number | null;
}

/** Events of a live event. */
export type LiveEventEvents = {
  /** Any change of the state or the counters (the object's fields are already updated). */
  updated: [liveEvent: LiveEvent];
  stateChanged: [state: wire.LiveEventState];
  hostEntered: [host: Host];
  hostConnected: [host: Host];
  hostDisconnected: [host: Host];
  hostExited: [host: Host];
  hostMediaChanged: [host: Host];
  /** Host only: a viewer entered or exited. */
  participantEntered: [participant: LiveParticipant];
  participantExited: [participant: LiveParticipant];
  chatMessageReceived: [message: ChatMessage];
  trackSubscribed: [track: Track];
  trackUnsubscribed: [track: Track];
  mediaStateChanged: [state: RTCPeerConnectionState];
  left: [reason: LiveLeaveReason];
};

/** How long a seat exited by the server waits for the `live.ended` that may explain it. */
const FORCED_OUT_WAIT_MS = 1_000;

export class LiveEvent extends Emitter<LiveEventEvents> {
  readonly liveEventId: string;
  readonly role: LiveRole;
  /** This device's seat id: the host id or the participant id. */
  readonly seatId: string;
  liveState: wire.LiveEventState;
  state: 'entered' | 'left' = 'entered';
  isHostStreaming = false;
  participantCount = 0;
  peakParticipantCount = 0;
  cumulativeParticipantCount = 0;
  userIdsForHost: string[] = [];
  createdAt = 0;
  startedAt: number | null = null;
  endedAt: number | null = null;
  customItems: Record<string, string> = {};
  /** The host present (this device's own seat when hosting), `null` when nobody hosts. */
  host: Host | null = null;
  /** What the viewer receives: the host's media (tracks come and go inside it). */
  readonly hostStream = new MediaStream();
  readonly #client: ClientLink;
  readonly #link: MediaLink;
  readonly #control: LocalControl | null;
  #localHost: Host | null = null;

  /** Caps the video received from `hostId` at `maxHeight` pixels (`null` = no cap): the
   *  server sends the tallest simulcast layer within it, so small tiles do not pull full
   *  resolution. Kept across slot changes and reconnections. */
  setVideoHint(hostId: string, maxHeight: number | null): Promise<void> {
    return this.#link.setVideoHint(hostId, maxHeight);
  }

  /** Hints `hostId`'s video at the height `element` (its tile) is drawn at, following its
   *  resizes; returns the function that stops. */
  fitVideo(hostId: string, element: Element): () => void {
    return this.#link.fitVideo(hostId, element);
  }

  /** @internal Use `client.enterLiveEvent`. */
  constructor(client: ClientLink, entered: wire.LiveEntered, options: EnterLiveEventOptions) {
    super();
    this.#client = client;
    this.liveEventId = entered.live_event.live_event_id;
    this.role = 'host' in entered ? 'host' : 'participant';
    this.seatId = 'host' in entered ? entered.host.host_id : entered.participant.participant_id;
    this.liveState = entered.live_event.state;
    if ('host' in entered) this.#localHost = new Host(entered.host, true);
    this.#apply(entered.live_event);
    this.#link = new MediaLink(
      () => this.#plan(),
      async (sdp) => (await client.request('media.offer', { live_event_id: this.liveEventId, sdp })).sdp,
      {
        subscribed: (t) => this.#trackChanged(t, true),
        unsubscribed: (t) => this.#trackChanged(t, false),
        stateChanged: (s) => this.emit('mediaStateChanged', s),
        probe: (ms) => client.probe(ms),
        hint: (mid, max_height) => client.request('media.set_layer_hint', { live_event_id: this.liveEventId, mid, max_height }),
      },
      options,
    );
    const local = this.#localHost;
    this.#control = local
      ? new LocalControl(
          new LocalMedia(options),
          this.#link,
          () => local,
          async (flags) => {
            await client.request('live.set_media', { live_event_id: this.liveEventId, ...flags });
          },
          true,
        )
      : null;
  }

  get isHost(): boolean {
    return this.role === 'host';
  }

  get peerConnection(): RTCPeerConnection | null {
    return this.#link.pc;
  }

  /** The local host seat (hosts only): its tracks preview the camera. */
  get localHost(): Host | null {
    return this.#localHost;
  }

  /** @internal Opens the host's media (if hosting) and the peer connection. */
  async _start(options: EnterLiveEventOptions): Promise<void> {
    if (this.#control) await this.#control.start(options.audio !== false, options.video !== false);
    await this.#link.renegotiate();
  }

  /** Viewer: plays the host's audio and video in `element` (a new `<video>` if omitted). */
  attach(element?: HTMLMediaElement): HTMLMediaElement {
    const el = element ?? document.createElement('video');
    el.autoplay = true;
    if (el instanceof HTMLVideoElement) el.playsInline = true;
    el.srcObject = this.hostStream;
    el.play().catch(() => {});
    return el;
  }

  /** Host: `created → ready`. */
  async setReady(): Promise<void> {
    this.#apply((await this.#client.request('live.set_ready', { live_event_id: this.liveEventId })).live_event);
  }

  /** Host: `ready → ongoing` (viewers start receiving the media). */
  async start(): Promise<void> {
    this.#apply((await this.#client.request('live.start', { live_event_id: this.liveEventId })).live_event);
  }

  /** Host: ends the event for everyone. */
  async end(): Promise<void> {
    this.#assertEntered();
    const result = await this.#client.request('live.end', { live_event_id: this.liveEventId });
    this.#apply(result.live_event);
    this.#end('ended');
  }

  /** Sends a chat message to everyone in the event; resolves with it as delivered. */
  async sendChatMessage(message: string): Promise<ChatMessage> {
    this.#assertEntered();
    const sent = await this.#client.request('live.chat', { live_event_id: this.liveEventId, message });
    return toChatMessage(sent.message);
  }

  /** Host: microphone on/off for everyone. */
  setMicrophoneEnabled(on: boolean): Promise<void> {
    return this.#hostControl().setMicrophoneEnabled(on);
  }

  /** Host: camera on/off for everyone. */
  setCameraEnabled(on: boolean): Promise<void> {
    return this.#hostControl().setCameraEnabled(on);
  }

  /** Host: switches the microphone or camera. */
  switchDevice(kind: InputKind, deviceId: string): Promise<void> {
    return this.#hostControl().switchDevice(kind, deviceId);
  }

  /** Viewer: plays the host's audio on output device `deviceId`. */
  async setAudioOutput(deviceId: string): Promise<void> {
    if (!audioOutputSupported()) throw new OpenCallsError(ErrorCode.Unsupported, 'this browser cannot choose the audio output');
    await Promise.all(this.#link.tracks.map((t) => t._setSinkId(deviceId)));
  }

  renegotiate(): Promise<void> {
    return this.#link.renegotiate();
  }

  restartIce(): Promise<void> {
    return this.#link.restartIce();
  }

  /** Leaves the live event; stops every local track and closes the peer connection. */
  async leave(): Promise<void> {
    if (this.state === 'left') return;
    this.#end('left');
    await this.#client.request('live.exit', { live_event_id: this.liveEventId }).catch(() => {});
  }

  /** @internal A live event frame for this event. */
  _event(frame: wire.LiveEventFrame): void {
    if (this.state === 'left') return;
    switch (frame.event) {
      case 'live.ready':
      case 'live.started':
        this.#apply(frame.data.live_event);
        break;
      case 'live.ended':
        this.#apply(frame.data.live_event);
        this.#end('ended');
        break;
      case 'live.host_entered':
      case 'live.host_connected':
      case 'live.host_disconnected':
      case 'live.host_exited':
        this.#hostEvent(frame.event, frame.data.live_event, frame.data.host);
        break;
      case 'live.host_media_changed':
        if (this.host) {
          this.host._update(frame.data.host);
          this.emit('hostMediaChanged', this.host);
        }
        break;
      case 'live.participant_entered':
      case 'live.participant_exited': {
        this.#apply(frame.data.live_event);
        const p = toLiveParticipant(frame.data.participant);
        if (p.participantId === this.seatId) this.#forcedOut();
        else this.emit(frame.event === 'live.participant_entered' ? 'participantEntered' : 'participantExited', p);
        break;
      }
      case 'live.chat_message':
        this.emit('chatMessageReceived', toChatMessage(frame.data.message));
        break;
      case 'media.track':
        this.#link.assign(frame.data.mid, frame.data.host_id);
        break;
      case 'media.disconnected':
        void this.#link.renegotiate().catch(() => {});
        break;
      default:
        ignoreUnknown(frame);
    }
  }

  /** @internal The client reconnected; `snapshot` is null when the seat was not kept. */
  _resumed(snapshot: wire.LiveEvent | null): void {
    if (this.state === 'left') return;
    if (!snapshot) {
      this.#end('lost');
      return;
    }
    this.#apply(snapshot);
    const pc = this.#link.pc;
    if (!pc || pc.connectionState !== 'connected') void this.#link.renegotiate().catch(() => {});
  }

  #hostEvent(event: 'live.host_entered' | 'live.host_connected' | 'live.host_disconnected' | 'live.host_exited', le: wire.LiveEvent, h: wire.Host): void {
    this.#apply(le);
    const host = this.host ?? new Host(h, h.host_id === this.seatId);
    host._update(h);
    const name = ({
      'live.host_entered': 'hostEntered',
      'live.host_connected': 'hostConnected',
      'live.host_disconnected': 'hostDisconnected',
      'live.host_exited': 'hostExited',
    } as const)[event];
    this.emit(name, host);
    if (event === 'live.host_exited' && h.host_id === this.seatId) this.#forcedOut();
  }

  /** Copies a live-event snapshot in and reports what changed. */
  #apply(le: wire.LiveEvent): void {
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
    if (stateChanged) this.emit('stateChanged', this.liveState);
    this.emit('updated', this);
  }

  #trackChanged(track: Track, subscribed: boolean): void {
    if (subscribed) this.hostStream.addTrack(track.mediaStreamTrack);
    else this.hostStream.removeTrack(track.mediaStreamTrack);
    this.emit(subscribed ? 'trackSubscribed' : 'trackUnsubscribed', track);
  }

  #plan() {
    const media = this.#control?.media;
    return {
      iceServers: this.#client.iceServers(),
      sendAudio: media ? media.audio : undefined,
      sendVideo: media ? media.video : undefined,
      recvAudio: media ? 0 : 1,
      recvVideo: media ? 0 : 1,
    };
  }

  #hostControl(): LocalControl {
    this.#assertEntered();
    if (!this.#control) throw new OpenCallsError(ErrorCode.InvalidState, 'only the host publishes media');
    return this.#control;
  }

  #assertEntered(): void {
    if (this.state === 'left') throw new OpenCallsError(ErrorCode.InvalidState, 'this live event was left');
  }

  /** The server exited this seat. The end of the event exits every seat just before
   *  `live.ended` arrives: wait a moment for it, so the reason says `ended`. */
  #forcedOut(): void {
    this.#link.close();
    this.#control?.media.stopAll();
    setTimeout(() => this.#end('removed'), FORCED_OUT_WAIT_MS);
  }

  #end(reason: LiveLeaveReason): void {
    if (this.state === 'left') return;
    this.state = 'left';
    this.#link.close();
    this.#control?.media.stopAll();
    this.#localHost?._setTrack('audio', null);
    this.#localHost?._setTrack('video', null);
    this.#client.forget(this);
    this.emit('left', reason);
  }
}

function toLiveParticipant(p: wire.LiveEventParticipant): LiveParticipant {
  return {
    participantId: p.participant_id,
    user: toUser(p.user),
    state: p.state,
    enteredAt: p.entered_at,
    exitedAt: p.exited_at,
  };
}
