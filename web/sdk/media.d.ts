import type { TrackKind } from './model.js';
/** The devices to use; `undefined` = the browser's default. */
export interface DeviceChoice {
    audioDeviceId?: string;
    videoDeviceId?: string;
}
/** Lists the cameras, microphones and audio outputs (labels need a granted permission). */
export declare function listDevices(kind?: MediaDeviceKind): Promise<MediaDeviceInfo[]>;
/** True when the page may use the camera and microphone (HTTPS, or http://localhost). */
export declare function mediaAvailable(): boolean;
/** This device's own camera and microphone. */
export declare class LocalMedia {
    #private;
    audio: MediaStreamTrack | null;
    video: MediaStreamTrack | null;
    devices: DeviceChoice;
    constructor(devices?: DeviceChoice);
    /** Opens the track of `kind` if it isn't open yet; returns it. */
    open(kind: TrackKind): Promise<MediaStreamTrack>;
    /** Opens device `deviceId` for `kind` and makes it current; returns the new track and
     *  the old one, which the caller stops once nothing sends it any more. */
    switchTo(kind: TrackKind, deviceId: string): Promise<{
        track: MediaStreamTrack;
        old: MediaStreamTrack | null;
    }>;
    get(kind: TrackKind): MediaStreamTrack | null;
    /** Stops the track of `kind` (the camera light goes off). */
    stop(kind: TrackKind): void;
    /** Stops every track. */
    stopAll(): void;
}
/** A receive slot: a recvonly transceiver the SFU fills with someone's track. */
export interface Slot {
    mid: string;
    kind: TrackKind;
    transceiver: RTCRtpTransceiver;
    /** Whose track the slot carries now (participant or host id), `null` = idle. */
    ownerId: string | null;
    /** The layer hint the server has for this slot (`null` = none). */
    hint: number | null;
}
/** What a session sends and receives. */
export interface SessionPlan {
    iceServers: RTCIceServer[];
    /** Send transceivers: a track, `null` (transceiver without a track yet) or absent. */
    sendAudio?: MediaStreamTrack | null;
    sendVideo?: MediaStreamTrack | null;
    recvAudio: number;
    recvVideo: number;
    /** Send the camera in three simulcast layers (default true). */
    simulcast?: boolean;
}
/**
 * The simulcast layers a published camera is sent in (low → high): the SFU forwards each
 * subscriber the best one its bandwidth and its hint allow (docs/media.md, "Simulcast").
 */
export declare const SIMULCAST_ENCODINGS: RTCRtpEncodingParameters[];
/** Sends an offer to the server and resolves with the answer's SDP. */
export type Offerer = (sdp: string) => Promise<string>;
/** One RTCPeerConnection to the SFU. */
export declare class PeerSession {
    #private;
    readonly pc: RTCPeerConnection;
    readonly slots: Map<string, Slot>;
    readonly senders: {
        audio?: RTCRtpSender;
        video?: RTCRtpSender;
    };
    constructor(plan: SessionPlan, offer: Offerer);
    get closed(): boolean;
    /** Offers (an ICE restart when `iceRestart`) and applies the answer. */
    negotiate(iceRestart?: boolean): Promise<void>;
    /** Replaces the track sent for `kind` (null sends nothing) without renegotiating. */
    replaceTrack(kind: TrackKind, track: MediaStreamTrack | null): Promise<void>;
    close(): void;
}
