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
import { Emitter } from './emitter.js';
import type { MediaOptions } from './link.js';
import type { DeviceChoice } from './media.js';
import { Participant, Track } from './model.js';
import type * as wire from './protocol.js';
import type { ClientLink } from './session.js';
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
export declare class Room extends Emitter<RoomEvents> {
    #private;
    readonly roomId: string;
    readonly roomType: wire.RoomType;
    readonly isVideoRoom: boolean;
    readonly createdAt: number;
    customItems: Record<string, string>;
    /** This device's participant. */
    readonly localParticipant: Participant;
    /** The other participants present, by participant id. */
    readonly participants: Map<string, Participant>;
    activeSpeakers: Participant[];
    state: 'entered' | 'left';
    /** @internal Use `client.enterRoom`. */
    constructor(client: ClientLink, entered: wire.RoomEntered, options: EnterRoomOptions);
    /** Caps the video received from `participantId` at `maxHeight` pixels (`null` = no cap): the
     *  server sends the tallest simulcast layer within it, so small tiles do not pull full
     *  resolution. Kept across slot changes and reconnections. */
    setVideoHint(participantId: string, maxHeight: number | null): Promise<void>;
    /** Hints `participantId`'s video at the height `element` (its tile) is drawn at, following its
     *  resizes; returns the function that stops. */
    fitVideo(participantId: string, element: Element): () => void;
    /** The RTCPeerConnection to the SFU (`null` once left). */
    get peerConnection(): RTCPeerConnection | null;
    /** How the media link recovered so far: ICE restarts, fresh sessions, and WebSockets
     *  replaced because a media stall found them dead. */
    get mediaStats(): {
        iceRestarts: number;
        renegotiations: number;
        socketReplacements: number;
    };
    /** The tracks received now. */
    get remoteTracks(): Track[];
    /** @internal Opens the local media and the peer connection. */
    _start(options: EnterRoomOptions): Promise<void>;
    /** Turns the microphone on or off for everyone. */
    setMicrophoneEnabled(on: boolean): Promise<void>;
    /** Turns the camera on or off for everyone (video rooms only). */
    setCameraEnabled(on: boolean): Promise<void>;
    /** Switches the microphone (`audioinput`) or camera (`videoinput`) to `deviceId`. */
    switchDevice(kind: InputKind, deviceId: string): Promise<void>;
    /** Plays the others' audio on output device `deviceId` (where `setSinkId` exists). */
    setAudioOutput(deviceId: string): Promise<void>;
    /** Creates a fresh peer connection and offers again (the SDK does this by itself after
     *  `media.disconnected`). */
    renegotiate(): Promise<void>;
    /** Restarts ICE on the current peer connection (the SDK does this by itself when the
     *  ICE state goes `disconnected` or `failed`). */
    restartIce(): Promise<void>;
    /** Exits the room; stops every local track and closes the peer connection. */
    leave(): Promise<void>;
    /** @internal A room event for this room. */
    _event(frame: wire.RoomEventFrame): void;
    /** @internal The client reconnected: `snapshot` is the room as the server has it now, or
     *  `null` when the seat was not kept. */
    _resumed(snapshot: wire.Room | null): void;
}
/** Exhaustiveness check at compile time; at run time a newer server's events are skipped
 *  (docs/protocol.md §8). */
export declare function ignoreUnknown(_frame: never): void;
