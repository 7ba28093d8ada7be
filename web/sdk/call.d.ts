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
import { Emitter } from './emitter.js';
import type { MediaOptions } from './link.js';
import type { DeviceChoice } from './media.js';
import type { Track } from './model.js';
import { Member } from './model.js';
import type * as wire from './protocol.js';
import type { ClientLink } from './session.js';
/** One side of a direct call. */
export declare class CallParticipant extends Member {
    role: wire.DirectCallRole;
    constructor(p: wire.DirectCallParticipant, isLocal: boolean);
    get id(): string;
    /** @internal */
    _update(p: wire.DirectCallParticipant): void;
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
export declare class DirectCall extends Emitter<DirectCallEvents> {
    #private;
    readonly callId: string;
    readonly isVideoCall: boolean;
    /** Whether this device dialed (`dc_caller`) or is called (`dc_callee`). */
    readonly myRole: wire.DirectCallRole;
    state: wire.DirectCallState;
    startedAt: number;
    acceptedAt: number | null;
    connectedAt: number | null;
    endedAt: number | null;
    ending: CallEnding | null;
    customItems: Record<string, string>;
    readonly caller: CallParticipant;
    readonly callee: CallParticipant;
    /** The other side's media (tracks come and go inside it). */
    readonly remoteStream: MediaStream;
    /** @internal Use `client.dial` or the client's `incomingCall` event. */
    constructor(client: ClientLink, call: wire.DirectCall, myRole: wire.DirectCallRole, options?: CallMediaOptions);
    get isCaller(): boolean;
    /** This device's side. */
    get localParticipant(): CallParticipant;
    /** Caps the video received from `userId` at `maxHeight` pixels (`null` = no cap): the
     *  server sends the tallest simulcast layer within it, so small tiles do not pull full
     *  resolution. Kept across slot changes and reconnections. */
    setVideoHint(userId: string, maxHeight: number | null): Promise<void>;
    /** Hints `userId`'s video at the height `element` (its tile) is drawn at, following its
     *  resizes; returns the function that stops. */
    fitVideo(userId: string, element: Element): () => void;
    /** The other side. */
    get remoteParticipant(): CallParticipant;
    get peerConnection(): RTCPeerConnection | null;
    /** Plays the other side's audio and video in `element` (a new `<video>` if omitted). */
    attachRemote(element?: HTMLMediaElement): HTMLMediaElement;
    /** Shows this device's camera in `element` (muted; a new `<video>` if omitted). */
    attachLocal(element?: HTMLMediaElement): HTMLMediaElement;
    /** @internal Caller: opens the local media right after the dial (for a preview). */
    _openLocal(options: CallMediaOptions): Promise<void>;
    /** Callee: takes the call on this device and starts the media. */
    accept(options?: CallMediaOptions): Promise<void>;
    /** Callee: refuses the call (it ends `declined` for everyone). */
    decline(): Promise<void>;
    /** Hangs up: `completed` once accepted; before that a cancel (caller) or a decline (callee). */
    end(): Promise<void>;
    setMicrophoneEnabled(on: boolean): Promise<void>;
    setCameraEnabled(on: boolean): Promise<void>;
    switchDevice(kind: InputKind, deviceId: string): Promise<void>;
    setAudioOutput(deviceId: string): Promise<void>;
    renegotiate(): Promise<void>;
    restartIce(): Promise<void>;
    /** @internal A call event for this call. */
    _event(frame: wire.CallEventFrame): void;
    /** @internal The client reconnected; `snapshot` is null when the server no longer has
     *  this call for this device. */
    _resumed(snapshot: wire.DirectCall | null): void;
}
