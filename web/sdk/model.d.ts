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
export declare function toUser(u: wire.User): User;
/** Audio or video. */
export type TrackKind = wire.MediaKind;
/** A media track (local or received) that attaches to `<video>`/`<audio>` elements. */
export declare class Track {
    #private;
    readonly kind: TrackKind;
    readonly mediaStreamTrack: MediaStreamTrack;
    /** The id of the participant or host whose media this is. */
    readonly ownerId: string;
    /** True for this device's own camera or microphone. */
    readonly isLocal: boolean;
    constructor(kind: TrackKind, track: MediaStreamTrack, ownerId: string, isLocal: boolean);
    /** Shows or plays this track in `element` (a new `<video>`/`<audio>` if omitted) and
     *  returns the element. Local tracks are muted so a user never hears themselves. */
    attach(element?: HTMLMediaElement): HTMLMediaElement;
    /** Stops showing the track in `element` (in every element if omitted); returns them. */
    detach(element?: HTMLMediaElement): HTMLMediaElement[];
    /** The elements this track is attached to. */
    get attachedElements(): HTMLMediaElement[];
    /** @internal Routes the attached elements' output to the audio device `sinkId`. */
    _setSinkId(sinkId: string): Promise<void>;
}
/** True where the browser can choose the audio output device (`setSinkId`). */
export declare function audioOutputSupported(): boolean;
/** Someone with media in a call: a room participant or a live event's host. */
export declare abstract class Member {
    #private;
    user: User;
    clientId: string;
    isAudioOn: boolean;
    isVideoOn: boolean;
    /** True for this device's own seat. */
    readonly isLocal: boolean;
    audioTrack: Track | null;
    videoTrack: Track | null;
    /** All of this member's current tracks in one stream (tracks come and go inside it). */
    readonly stream: MediaStream;
    protected constructor(user: wire.User, clientId: string, audio: boolean, video: boolean, isLocal: boolean);
    /** The member's id (participant id or host id). */
    abstract get id(): string;
    get userId(): string;
    /** Plays the member's audio and video in `element` (a new `<video>` if omitted); the
     *  element follows track changes (reconnects, device switches) by itself. */
    attach(element?: HTMLMediaElement): HTMLMediaElement;
    /** @internal Routes this member's elements (and its tracks' elements) to `sinkId`. */
    _setSinkId(sinkId: string): Promise<void>;
    /** Stops playing the member in `element` (every element if omitted). */
    detach(element?: HTMLMediaElement): void;
    /** @internal Replaces the member's track of `kind`; returns the previous one. */
    _setTrack(kind: TrackKind, track: Track | null): Track | null;
}
/** A participant of a room (this device's own or another one). */
export declare class Participant extends Member {
    readonly participantId: string;
    readonly roomId: string;
    state: wire.ParticipantState;
    enteredAt: number;
    connectedAt: number | null;
    exitedAt: number | null;
    constructor(p: wire.Participant, isLocal: boolean);
    get id(): string;
    /** @internal Copies a fresh snapshot in. */
    _update(p: wire.Participant): void;
}
/** The host of a live event. */
export declare class Host extends Member {
    readonly hostId: string;
    state: wire.HostState;
    enteredAt: number;
    connectedAt: number | null;
    exitedAt: number | null;
    constructor(h: wire.Host, isLocal: boolean);
    get id(): string;
    /** @internal Copies a fresh snapshot in. */
    _update(h: wire.Host): void;
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
export declare function toChatMessage(m: wire.ChatMessage): ChatMessage;
