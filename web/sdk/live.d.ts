/**
 * `LiveEvent`: a live event this device entered, as its host (publishes camera and
 * microphone, drives the life cycle, sees every viewer come and go) or as a participant
 * (a viewer: receives the host's media while the event is ongoing). Both can chat.
 *
 * Invariants: the counters and state always come from the latest `live_event` snapshot
 * the server sent; after `left` the object owns no live track and no open peer connection.
 */
import type { InputKind } from './control.js';
import { Emitter } from './emitter.js';
import type { MediaOptions } from './link.js';
import type { DeviceChoice } from './media.js';
import type { ChatMessage, Track, User } from './model.js';
import { Host } from './model.js';
import type * as wire from './protocol.js';
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
export declare class LiveEvent extends Emitter<LiveEventEvents> {
    #private;
    readonly liveEventId: string;
    readonly role: LiveRole;
    /** This device's seat id: the host id or the participant id. */
    readonly seatId: string;
    liveState: wire.LiveEventState;
    state: 'entered' | 'left';
    isHostStreaming: boolean;
    participantCount: number;
    peakParticipantCount: number;
    cumulativeParticipantCount: number;
    userIdsForHost: string[];
    createdAt: number;
    startedAt: number | null;
    endedAt: number | null;
    customItems: Record<string, string>;
    /** The host present (this device's own seat when hosting), `null` when nobody hosts. */
    host: Host | null;
    /** What the viewer receives: the host's media (tracks come and go inside it). */
    readonly hostStream: MediaStream;
    /** Caps the video received from `hostId` at `maxHeight` pixels (`null` = no cap): the
     *  server sends the tallest simulcast layer within it, so small tiles do not pull full
     *  resolution. Kept across slot changes and reconnections. */
    setVideoHint(hostId: string, maxHeight: number | null): Promise<void>;
    /** Hints `hostId`'s video at the height `element` (its tile) is drawn at, following its
     *  resizes; returns the function that stops. */
    fitVideo(hostId: string, element: Element): () => void;
    /** @internal Use `client.enterLiveEvent`. */
    constructor(client: ClientLink, entered: wire.LiveEntered, options: EnterLiveEventOptions);
    get isHost(): boolean;
    get peerConnection(): RTCPeerConnection | null;
    /** The local host seat (hosts only): its tracks preview the camera. */
    get localHost(): Host | null;
    /** @internal Opens the host's media (if hosting) and the peer connection. */
    _start(options: EnterLiveEventOptions): Promise<void>;
    /** Viewer: plays the host's audio and video in `element` (a new `<video>` if omitted). */
    attach(element?: HTMLMediaElement): HTMLMediaElement;
    /** Host: `created → ready`. */
    setReady(): Promise<void>;
    /** Host: `ready → ongoing` (viewers start receiving the media). */
    start(): Promise<void>;
    /** Host: ends the event for everyone. */
    end(): Promise<void>;
    /** Sends a chat message to everyone in the event; resolves with it as delivered. */
    sendChatMessage(message: string): Promise<ChatMessage>;
    /** Host: microphone on/off for everyone. */
    setMicrophoneEnabled(on: boolean): Promise<void>;
    /** Host: camera on/off for everyone. */
    setCameraEnabled(on: boolean): Promise<void>;
    /** Host: switches the microphone or camera. */
    switchDevice(kind: InputKind, deviceId: string): Promise<void>;
    /** Viewer: plays the host's audio on output device `deviceId`. */
    setAudioOutput(deviceId: string): Promise<void>;
    renegotiate(): Promise<void>;
    restartIce(): Promise<void>;
    /** Leaves the live event; stops every local track and closes the peer connection. */
    leave(): Promise<void>;
    /** @internal A live event frame for this event. */
    _event(frame: wire.LiveEventFrame): void;
    /** @internal The client reconnected; `snapshot` is null when the seat was not kept. */
    _resumed(snapshot: wire.LiveEvent | null): void;
}
