/**
 * `Room`: a group call this device entered. It mirrors the room's participants from the
 * server's snapshot and events, carries this device's media to the SFU and the others'
 * media back as tracks, and offers the controls (microphone, camera, devices, output).
 *
 * Invariants: `participants` never holds the local participant; every track reported
 * subscribed is reported unsubscribed before its participant is reported left; after
 * `left` the room owns no live track and no open peer connection.
 */
import type { InputKind } from './control.js';
import { LocalControl } from './control.js';
import { Emitter } from './emitter.js';
import { ErrorCode, OpenCallsError } from './errors.js';
import type { MediaOptions } from './link.js';
import { MediaLink } from './link.js';
import type { DeviceChoice } from './media.js';
import { LocalMedia } from './media.js';
import { audioOutputSupported, Participant, Track } from './model.js';
import type * as wire from './protocol.js';
import type { ClientLink } from './session.js';
import type { AudioSource } from './speakers.js';
import { SpeakerMeter } from './speakers.js';

/** Why a room was left: asked (`leave()`), the room was deleted, the server removed this
 *  participant (grace period over, session revoked), or the seat was lost in a reconnect. */
export type LeaveReason = 'left' | 'deleted' | 'removed' | 'lost';

/** Options of `client.enterRoom`. */
export interface EnterRoomOptions extends DeviceChoice, MediaOptions {
  /** Start with the microphone on (default true). */
  audio?: boolean;
  /** Start with the camera on (default true; ignored in audio-only rooms). */
  video?: boolean;
  /** Receive slots in an audio-only room: the server's OPENCALLS_MEDIA_ACTIVE_SPEAKERS (default 3). */
  audioSlots?: number;
}

/** Events of a room (`room.on(name, listener)`). */
export type RoomEvents = {
  participantJoined: [participant: Participant];
  participantConnected: [participant: Participant];
  participantLeft: [participant: Participant];
  participantMediaChanged: [participant: Participant];
  trackSubscribed: [track: Track, participant: Participant];
  trackUnsubscribed: [track: Track, participant: Participant];
  /** The participants speaking now, loudest first (the local one excluded). */
  activeSpeakersChanged: [speakers: Participant[]];
  customItemsChanged: [customItems: Record<string, string>];
  /** The state of the media connection to the SFU. */
  mediaStateChanged: [state: RTCPeerConnectionState];
  left: [reason: LeaveReason];
};

/** A small video room holds 6 people: 5 others. */
const VIDEO_ROOM_SLOTS = 5;
/** How long a participant exited by the server waits for the `room.deleted` that may explain it. */
const FORCED_OUT_WAIT_MS = 1_000;
const SPEAKER_POLL_MS = 400;

export class Room extends Emitter<RoomEvents> {
  readonly roomId: string;
  readonly roomType: wire.RoomType;
  readonly isVideoRoom: boolean;
  readonly createdAt: number;
  customItems: Record<string, string>;
  /** This device's participant. */
  readonly localParticipant: Participant;
  /** The other participants present, by participant id. */
  readonly participants = new Map<string, Participant>();
  activeSpeakers: Participant[] = [];
  state: 'entered' | 'left' = 'entered';
  readonly #client: ClientLink;
  readonly #link: MediaLink;
  readonly #control: LocalControl;
  readonly #audioSlots: number;
  #speakerTimer: ReturnType<typeof setInterval> | null = null;
  readonly #speakers = new SpeakerMeter();
  #measuring = false;

  /** @internal Use `client.enterRoom`. */
  constructor(client: ClientLink, entered: wire.RoomEntered, options: EnterRoomOptions) {
    super();
    this.#client = client;
    const room = entered.room;
    this.roomId = room.room_id;
    this.roomType = room.room_type;
    this.isVideoRoom = room.room_type === 'small_room_for_video';
    this.createdAt = room.created_at;
    this.customItems = { ...room.custom_items };
    this.localParticipant = new Participant(entered.participant, true);
    this.#audioSlots = options.audioSlots ?? 3;
    this.#sync(room, false);
    this.#link = new MediaLink(
      () => this.#plan(),
      async (sdp) => (await client.request('media.offer', { room_id: this.roomId, sdp })).sdp,
      {
        subscribed: (t) => this.#trackChanged(t, true),
        unsubscribed: (t) => this.#trackChanged(t, false),
        stateChanged: (s) => this.emit('mediaStateChanged', s),
        probe: (ms) => client.probe(ms),
        hint: (mid, max_height) => client.request('media.set_layer_hint', { room_id: this.roomId, mid, max_height }),
      },
      options,
    );
    this.#control = new LocalControl(
      new LocalMedia(options),
      this.#link,
      () => this.localParticipant,
      async (flags) => {
        await client.request('room.set_media', { room_id: this.roomId, ...flags });
      },
      this.isVideoRoom,
    );
  }

  /** Caps the video received from `participantId` at `maxHeight` pixels (`null` = no cap): the
   *  server sends the tallest simulcast layer within it, so small tiles do not pull full
   *  resolution. Kept across slot changes and reconnections. */
  setVideoHint(participantId: string, maxHeight: number | null): Promise<void> {
    return this.#link.setVideoHint(participantId, maxHeight);
  }

  /** Hints `participantId`'s video at the height `element` (its tile) is drawn at, following its
   *  resizes; returns the function that stops. */
  fitVideo(participantId: string, element: Element): () => void {
    return this.#link.fitVideo(participantId, element);
  }

  /** The RTCPeerConnection to the SFU (`null` once left). */
  get peerConnection(): RTCPeerConnection | null {
    return this.#link.pc;
  }

  /** How the media link recovered so far: ICE restarts, fresh sessions, and WebSockets
   *  replaced because a media stall found them dead. */
  get mediaStats(): { iceRestarts: number; renegotiations: number; socketReplacements: number } {
    const link = this.#link;
    return { iceRestarts: link.iceRestarts, renegotiations: link.renegotiations, socketReplacements: link.socketReplacements };
  }

  /** The tracks received now. */
  get remoteTracks(): Track[] {
    return this.#link.tracks;
  }

  /** @internal Opens the local media and the peer connection. */
  async _start(options: EnterRoomOptions): Promise<void> {
    await this.#control.start(options.audio !== false, options.video !== false);
    await this.#link.renegotiate();
    if (this.isVideoRoom) this.#speakerTimer = setInterval(() => void this.#pollSpeakers(), SPEAKER_POLL_MS);
  }

  /** Turns the microphone on or off for everyone. */
  setMicrophoneEnabled(on: boolean): Promise<void> {
    this.#assertEntered();
    return this.#control.setMicrophoneEnabled(on);
  }

  /** Turns the camera on or off for everyone (video rooms only). */
  setCameraEnabled(on: boolean): Promise<void> {
    this.#assertEntered();
    return this.#control.setCameraEnabled(on);
  }

  /** Switches the microphone (`audioinput`) or camera (`videoinput`) to `deviceId`. */
  switchDevice(kind: InputKind, deviceId: string): Promise<void> {
    this.#assertEntered();
    return this.#control.switchDevice(kind, deviceId);
  }

  /** Plays the others' audio on output device `deviceId` (where `setSinkId` exists). */
  async setAudioOutput(deviceId: string): Promise<void> {
    if (!audioOutputSupported()) throw new OpenCallsError(ErrorCode.Unsupported, 'this browser cannot choose the audio output');
    await Promise.all([...this.participants.values()].map((p) => p._setSinkId(deviceId)));
  }

  /** Creates a fresh peer connection and offers again (the SDK does this by itself after
   *  `media.disconnected`). */
  renegotiate(): Promise<void> {
    return this.#link.renegotiate();
  }

  /** Restarts ICE on the current peer connection (the SDK does this by itself when the
   *  ICE state goes `disconnected` or `failed`). */
  restartIce(): Promise<void> {
    return this.#link.restartIce();
  }

  /** Exits the room; stops every local track and closes the peer connection. */
  async leave(): Promise<void> {
    if (this.state === 'left') return;
    this.#end('left');
    await this.#client.request('room.exit', { room_id: this.roomId }).catch(() => {});
  }

  /** @internal A room event for this room. */
  _event(frame: wire.RoomEventFrame): void {
    if (this.state === 'left') return;
    switch (frame.event) {
      case 'room.participant_entered':
        this.#upsert(frame.data.participant, 'participantJoined');
        break;
      case 'room.participant_connected':
        this.#upsert(frame.data.participant, 'participantConnected');
        break;
      case 'room.participant_media_changed':
        this.#upsert(frame.data.participant, 'participantMediaChanged');
        break;
      case 'room.participant_exited':
        if (frame.data.participant.participant_id === this.localParticipant.participantId) this.#forcedOut();
        else this.#remove(frame.data.participant.participant_id);
        break;
      case 'room.custom_items_updated':
      case 'room.custom_items_deleted':
        this.customItems = { ...frame.data.custom_items };
        this.emit('customItemsChanged', this.customItems);
        break;
      case 'room.deleted':
        this.#end('deleted');
        break;
      case 'media.track':
        this.#link.assign(frame.data.mid, frame.data.participant_id);
        break;
      case 'media.active_speakers':
        this.#setSpeakers(frame.data.participant_ids);
        break;
      case 'media.disconnected':
        void this.#link.renegotiate().catch(() => {});
        break;
      default:
        ignoreUnknown(frame);
    }
  }

  /** @internal The client reconnected: `snapshot` is the room as the server has it now, or
   *  `null` when the seat was not kept. */
  _resumed(snapshot: wire.Room | null): void {
    if (this.state === 'left') return;
    if (!snapshot) {
      this.#end('lost');
      return;
    }
    this.customItems = { ...snapshot.custom_items };
    const changed = this.#sync(snapshot, true);
    // Events of the gap are not replayed: slot labels may be stale, or the transport gone.
    const pc = this.#link.pc;
    if (changed || !pc || pc.connectionState !== 'connected') void this.#link.renegotiate().catch(() => {});
  }

  /** Makes `participants` match the snapshot; returns whether anything joined or left. */
  #sync(room: wire.Room, emit: boolean): boolean {
    const seen = new Set<string>();
    let changed = false;
    for (const p of room.current_participants) {
      if (p.participant_id === this.localParticipant.participantId) {
        this.localParticipant._update(p);
        continue;
      }
      seen.add(p.participant_id);
      if (!this.participants.has(p.participant_id)) changed = true;
      if (emit) this.#upsert(p, 'participantJoined');
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

  #upsert(p: wire.Participant, event: 'participantJoined' | 'participantConnected' | 'participantMediaChanged'): void {
    if (p.participant_id === this.localParticipant.participantId) {
      this.localParticipant._update(p);
      return;
    }
    const known = this.participants.get(p.participant_id);
    if (known) {
      known._update(p);
      if (event !== 'participantJoined') this.emit(event, known);
      return;
    }
    const fresh = new Participant(p, false);
    this.participants.set(p.participant_id, fresh);
    this.emit('participantJoined', fresh);
    if (event !== 'participantJoined') this.emit(event, fresh);
  }

  #remove(participantId: string): void {
    const p = this.participants.get(participantId);
    if (!p) return;
    for (const kind of ['audio', 'video'] as const) {
      const t = kind === 'audio' ? p.audioTrack : p.videoTrack;
      if (t) {
        p._setTrack(kind, null);
        this.emit('trackUnsubscribed', t, p);
      }
    }
    this.participants.delete(participantId);
    this.emit('participantLeft', p);
  }

  #trackChanged(track: Track, subscribed: boolean): void {
    const p = this.participants.get(track.ownerId);
    if (!p) return;
    if (subscribed) {
      p._setTrack(track.kind, track);
      this.emit('trackSubscribed', track, p);
    } else if ((track.kind === 'audio' ? p.audioTrack : p.videoTrack) === track) {
      p._setTrack(track.kind, null);
      this.emit('trackUnsubscribed', track, p);
    }
  }

  #plan() {
    return {
      iceServers: this.#client.iceServers(),
      sendAudio: this.#control.media.audio,
      sendVideo: this.isVideoRoom ? this.#control.media.video : undefined,
      recvAudio: this.isVideoRoom ? VIDEO_ROOM_SLOTS : this.#audioSlots,
      recvVideo: this.isVideoRoom ? VIDEO_ROOM_SLOTS : 0,
    };
  }

  /** Video rooms get no speaker events from the server: measure the received audio. One
   *  poll at a time: a slow `getStats` skips a tick rather than stacking reads. */
  async #pollSpeakers(): Promise<void> {
    if (this.#measuring) return;
    this.#measuring = true;
    try {
      const sources: AudioSource[] = [];
      for (const t of this.#link.tracks) {
        const receiver = t.kind === 'audio' && this.#link.session?.slots.size ? this.#receiverOf(t) : null;
        if (receiver) sources.push({ ownerId: t.ownerId, receiver });
      }
      const speaking = await this.#speakers.measure(sources, performance.now());
      if (this.state === 'entered') this.#setSpeakers(speaking);
    } finally {
      this.#measuring = false;
    }
  }

  #receiverOf(track: Track): RTCRtpReceiver | null {
    for (const slot of this.#link.session?.slots.values() ?? []) {
      if (slot.transceiver.receiver.track === track.mediaStreamTrack) return slot.transceiver.receiver;
    }
    return null;
  }

  #setSpeakers(ids: string[]): void {
    const speakers = ids.map((id) => this.participants.get(id)).filter((p): p is Participant => !!p);
    const same = speakers.length === this.activeSpeakers.length && speakers.every((p, i) => this.activeSpeakers[i] === p);
    if (same) return;
    this.activeSpeakers = speakers;
    this.emit('activeSpeakersChanged', speakers);
  }

  #assertEntered(): void {
    if (this.state === 'left') throw new OpenCallsError(ErrorCode.InvalidState, 'this room was left');
  }

  /** The server exited this participant. A deletion exits everyone just before
   *  `room.deleted` arrives: wait a moment for it, so the reason says `deleted`. */
  #forcedOut(): void {
    this.#link.close();
    this.#control.media.stopAll();
    setTimeout(() => this.#end('removed'), FORCED_OUT_WAIT_MS);
  }

  /** Stops everything this room owns and reports `left`. */
  #end(reason: LeaveReason): void {
    if (this.state === 'left') return;
    this.state = 'left';
    if (this.#speakerTimer) clearInterval(this.#speakerTimer);
    this.#link.close();
    this.#control.media.stopAll();
    this.localParticipant._setTrack('audio', null);
    this.localParticipant._setTrack('video', null);
    this.#client.forget(this);
    this.emit('left', reason);
  }
}

/** Exhaustiveness check at compile time; at run time a newer server's events are skipped
 *  (docs/protocol.md §8). */
export function ignoreUnknown(_frame: never): void {}
