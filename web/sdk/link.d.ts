/**
 * `MediaLink`: the media of one room or live event seat, shared by `Room` and `LiveEvent`.
 * It keeps one `PeerSession` up: creates it, turns `media.track` labels into subscribed and
 * unsubscribed tracks, restarts ICE by itself when the connection's ICE state goes
 * `disconnected` (after `iceRestartDelayMs`) or `failed`, and builds a fresh session when
 * the server reports `media.disconnected` or an ICE restart fails.
 *
 * Invariants: negotiations run one at a time (a queue); after `close()` nothing is created
 * again and every slot track has been reported unsubscribed.
 */
import type { Offerer, SessionPlan } from './media.js';
import { PeerSession } from './media.js';
import { Track } from './model.js';
import type { Probe, RecoveryOptions } from './recovery.js';
/** What the owner of a link hears from it. */
export interface LinkCallbacks {
    subscribed(track: Track): void;
    unsubscribed(track: Track): void;
    stateChanged(state: RTCPeerConnectionState): void;
    /** Checks the signaling socket (network-change recovery, see recovery.ts); none = no watch. */
    probe?: Probe;
    /** Sends `media.set_layer_hint` for a video receive slot (`null` = no cap). */
    hint?: (mid: string, maxHeight: number | null) => Promise<unknown>;
}
/** Tuning of the media recovery. */
export interface MediaOptions extends RecoveryOptions {
    /** How long the ICE state may stay `disconnected` before an ICE restart (default 2 000 ms). */
    iceRestartDelayMs?: number;
}
export declare class MediaLink {
    #private;
    session: PeerSession | null;
    /** How many ICE restarts and fresh sessions this link did (for diagnostics and tests). */
    iceRestarts: number;
    renegotiations: number;
    constructor(plan: () => SessionPlan, offer: Offerer, cb: LinkCallbacks, options?: MediaOptions);
    /** A negotiation is queued or running. */
    get negotiating(): boolean;
    /** How many times a stalled link found its WebSocket dead and replaced it. */
    get socketReplacements(): number;
    /** The peer connection, `null` before the first offer or after close. */
    get pc(): RTCPeerConnection | null;
    /** Creates a fresh session (a new RTCPeerConnection) and offers it. */
    renegotiate(): Promise<void>;
    /** Restarts ICE on the current session (new ICE credentials, same tracks); falls back
     *  to a fresh session if that fails. */
    restartIce(): Promise<void>;
    /** A `media.track` event: slot `mid` now carries `ownerId`'s track (`null` = idle). */
    assign(mid: string, ownerId: string | null): void;
    /** Caps the video of `ownerId` at `maxHeight` pixels (`null` = no cap): sent for the slot
     *  that carries it now, and again whenever it moves to another slot or session. */
    setVideoHint(ownerId: string, maxHeight: number | null): Promise<void>;
    /** Keeps `ownerId`'s hint at the height `element` is drawn at (device pixels) while it
     *  is resized; returns the function that stops watching. */
    fitVideo(ownerId: string, element: Element): () => void;
    /** The tracks received now. */
    get tracks(): Track[];
    /** Closes the session for good. */
    close(): void;
}
