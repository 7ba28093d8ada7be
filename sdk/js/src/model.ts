/**
 * The SDK's model objects with camelCase fields, built from the wire objects of the
 * generated protocol declarations (`protocol.d.ts`). The wire's snake_case never leaks past
 * this module: each class has an internal `_update(wire)` that copies a fresh snapshot in.
 */
import type * as wire from './protocol.js';

/** A user as the server knows it. */
export interface User {
  userId: string;
  nickname: string;
  profileUrl: string;
  metadata: Record<string, string>;
  isActive: boolean;
}

/** Converts the wire user. */
export function toUser(u: wire.User): User {
  return {
    userId: u.user_id,
    nickname: u.nickname,
    profileUrl: u.profile_url,
    metadata: { ...u.metadata },
    isActive: u.is_active,
  };
}

/** Audio or video. */
export type TrackKind = wire.MediaKind;

/** A media track (local or received) that attaches to `<video>`/`<audio>` elements. */
export class Track {
  readonly kind: TrackKind;
  readonly mediaStreamTrack: MediaStreamTrack;
  /** The id of the participant or host whose media this is. */
  readonly ownerId: string;
  /** True for this device's own camera or microphone. */
  readonly isLocal: boolean;
  #elements = new Set<HTMLMediaElement>();
  #sinkId: string | null = null;

  constructor(kind: TrackKind, track: MediaStreamTrack, ownerId: string, isLocal: boolean) {
    this.kind = kind;
    this.mediaStreamTrack = track;
    this.ownerId = ownerId;
    this.isLocal = isLocal;
  }

  /** Shows or plays this track in `element` (a new `<video>`/`<audio>` if omitted) and
   *  returns the element. Local tracks are muted so a user never hears themselves. */
  attach(element?: HTMLMediaElement): HTMLMediaElement {
    const el = element ?? document.createElement(this.kind === 'video' ? 'video' : 'audio');
    el.autoplay = true;
    if (el instanceof HTMLVideoElement) el.playsInline = true;
    if (this.isLocal) el.muted = true;
    el.srcObject = new MediaStream([this.mediaStreamTrack]);
    if (this.#sinkId !== null) void setSink(el, this.#sinkId);
    this.#elements.add(el);
    el.play().catch(() => {});
    return el;
  }

  /** Stops showing the track in `element` (in every element if omitted); returns them. */
  detach(element?: HTMLMediaElement): HTMLMediaElement[] {
    const els = element ? [element] : [...this.#elements];
    for (const el of els) {
      if (this.#elements.delete(el)) el.srcObject = null;
    }
    return els;
  }

  /** The elements this track is attached to. */
  get attachedElements(): HTMLMediaElement[] {
    return [...this.#elements];
  }

  /** @internal Routes the attached elements' output to the audio device `sinkId`. */
  async _setSinkId(sinkId: string): Promise<void> {
    this.#sinkId = sinkId;
    await Promise.all([...this.#elements].map((el) => setSink(el, sinkId)));
  }
}

/** True where the browser can choose the audio output device (`setSinkId`). */
export function audioOutputSupported(): boolean {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

async function setSink(el: HTMLMediaElement, sinkId: string): Promise<void> {
  const withSink = el as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  if (withSink.setSinkId) await withSink.setSinkId(sinkId);
}

/** Someone with media in a call: a room participant or a live event's host. */
export abstract class Member {
  user: User;
  clientId: string;
  isAudioOn: boolean;
  isVideoOn: boolean;
  /** True for this device's own seat. */
  readonly isLocal: boolean;
  audioTrack: Track | null = null;
  videoTrack: Track | null = null;
  /** All of this member's current tracks in one stream (tracks come and go inside it). */
  readonly stream: MediaStream;
  #elements = new Set<HTMLMediaElement>();
  #sinkId: string | null = null;

  protected constructor(user: wire.User, clientId: string, audio: boolean, video: boolean, isLocal: boolean) {
    this.user = toUser(user);
    this.clientId = clientId;
    this.isAudioOn = audio;
    this.isVideoOn = video;
    this.isLocal = isLocal;
    this.stream = new MediaStream();
  }

  /** The member's id (participant id or host id). */
  abstract get id(): string;

  get userId(): string {
    return this.user.userId;
  }

  /** Plays the member's audio and video in `element` (a new `<video>` if omitted); the
   *  element follows track changes (reconnects, device switches) by itself. */
  attach(element?: HTMLMediaElement): HTMLMediaElement {
    const el = element ?? document.createElement('video');
    el.autoplay = true;
    if (el instanceof HTMLVideoElement) el.playsInline = true;
    if (this.isLocal) el.muted = true;
    el.srcObject = this.stream;
    if (this.#sinkId !== null) void setSink(el, this.#sinkId);
    this.#elements.add(el);
    el.play().catch(() => {});
    return el;
  }

  /** @internal Routes this member's elements (and its tracks' elements) to `sinkId`. */
  async _setSinkId(sinkId: string): Promise<void> {
    this.#sinkId = sinkId;
    const tracks = [this.audioTrack, this.videoTrack].filter((t): t is Track => t !== null);
    await Promise.all([...[...this.#elements].map((el) => setSink(el, sinkId)), ...tracks.map((t) => t._setSinkId(sinkId))]);
  }

  /** Stops playing the member in `element` (every element if omitted). */
  detach(element?: HTMLMediaElement): void {
    for (const el of element ? [element] : [...this.#elements]) {
      if (this.#elements.delete(el)) el.srcObject = null;
    }
  }

  /** @internal Replaces the member's track of `kind`; returns the previous one. */
  _setTrack(kind: TrackKind, track: Track | null): Track | null {
    const old = kind === 'audio' ? this.audioTrack : this.videoTrack;
    if (old === track) return old;
    if (old) this.stream.removeTrack(old.mediaStreamTrack);
    if (track) this.stream.addTrack(track.mediaStreamTrack);
    if (kind === 'audio') this.audioTrack = track;
    else this.videoTrack = track;
    if (track && this.#sinkId !== null) void track._setSinkId(this.#sinkId);
    // Re-assigning srcObject makes every browser pick up the changed track list.
    for (const el of this.#elements) {
      el.srcObject = this.stream;
      el.play().catch(() => {});
    }
    return old;
  }

}

/** A participant of a room (this device's own or another one). */
export class Participant extends Member {
  readonly participantId: string;
  readonly roomId: string;
  state: wire.ParticipantState;
  enteredAt: number;
  connectedAt: number | null;
  exitedAt: number | null;

  constructor(p: wire.Participant, isLocal: boolean) {
    super(p.user, p.client_id, p.is_audio_on, p.is_video_on, isLocal);
    this.participantId = p.participant_id;
    this.roomId = p.room_id;
    this.state = p.state;
    this.enteredAt = p.entered_at;
    this.connectedAt = p.connected_at;
    this.exitedAt = p.exited_at;
  }

  get id(): string {
    return this.participantId;
  }

  /** @internal Copies a fresh snapshot in. */
  _update(p: wire.Participant): void {
    this.user = toUser(p.user);
    this.state = p.state;
    this.isAudioOn = p.is_audio_on;
    this.isVideoOn = p.is_video_on;
    this.connectedAt = p.connected_at;
    this.exitedAt = p.exited_at;
  }
}

/** The host of a live event. */
export class Host extends Member {
  readonly hostId: string;
  state: wire.HostState;
  enteredAt: number;
  connectedAt: number | null;
  exitedAt: number | null;

  constructor(h: wire.Host, isLocal: boolean) {
    super(h.user, h.client_id, h.is_audio_on, h.is_video_on, isLocal);
    this.hostId = h.host_id;
    this.state = h.state;
    this.enteredAt = h.entered_at;
    this.connectedAt = h.connected_at;
    this.exitedAt = h.exited_at;
  }

  get id(): string {
    return this.hostId;
  }

  /** @internal Copies a fresh snapshot in. */
  _update(h: wire.Host): void {
    this.user = toUser(h.user);
    this.state = h.state;
    this.isAudioOn = h.is_audio_on;
    this.isVideoOn = h.is_video_on;
    this.connectedAt = h.connected_at;
    this.exitedAt = h.exited_at;
  }
}

/** A live-event chat message. */
export interface ChatMessage {
  messageId: string;
  liveEventId: string;
  user: User;
  role: wire.LiveRoleName;
  message: string;
  sentAt: number;
}

/** Converts the wire chat message. */
export function toChatMessage(m: wire.ChatMessage): ChatMessage {
  return {
    messageId: m.message_id,
    liveEventId: m.live_event_id,
    user: toUser(m.user),
    role: m.role,
    message: m.message,
    sentAt: m.sent_at,
  };
}
