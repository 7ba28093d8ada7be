/**
 * `MediaWatch`: notices within about a second that a media link stopped receiving (the
 * device changed networks: Wi-Fi → cellular, a moved address) and brings it back without
 * waiting for the browser's ICE timers (~5 s) or the signaling heartbeat (5-10 s).
 *
 * Every `CHECK_MS` it reads the peer connection's received bytes (`transport` stats: RTP,
 * RTCP and ICE checks). When nothing arrived for `mediaStallMs` on a connection that had
 * received before, it probes the WebSocket with one `ping` (`probeTimeoutMs`):
 * - answered: the signaling path is fine. A quiet call (everyone muted) ends here; ICE is
 *   restarted at once only when the ICE state already says `disconnected` or `failed`.
 * - unanswered: the socket is dead (its TCP connection is bound to a vanished address). It
 *   is replaced at once (same `client_id`, seats resumed), then a fresh peer connection is
 *   offered, unless a negotiation (the room's own resume handling) is already under way.
 *   Fresh rather than an ICE restart: the server answers every offer with a new transport
 *   and DTLS session anyway, and during an ICE restart Chromium keeps the dead candidate
 *   pair selected until it stops counting as receiving (~2.5 s after its last packet);
 *   measured 2.3-3.0 s to video with a restart, 2.5 s with a fresh connection. The tracks
 *   are re-subscribed (`trackUnsubscribed` / `trackSubscribed`), as after `media.disconnected`.
 *
 * Invariants: while bytes arrive nothing is sent; a stall sends at most one `ping` per
 * `QUIET_PROBE_MS`; the socket is replaced only when a probe went unanswered, and each
 * consecutive failed probe doubles the next probe's timeout (up to `MAX_PROBE_MS`), so a
 * slow network cannot cause a reconnect storm. Stopped for good by `stop()`.
 */
/** Tuning of the network-change recovery (all optional). */
export interface RecoveryOptions {
    /** How long no packet may arrive on a peer connection that was receiving before the SDK
     *  checks the network (default 300 ms; 0 turns the check off). */
    mediaStallMs?: number;
    /** How long that check (a `ping` on the WebSocket) may wait for its answer before the
     *  socket counts as dead and is replaced at once (default 500 ms). */
    probeTimeoutMs?: number;
}
/** What a probe found: the socket answered, it was replaced (the new one's `hello` was
 *  handled), or the client is disconnected for good. */
export type ProbeResult = 'alive' | 'reconnected' | 'down';
/** Checks the signaling socket within `timeoutMs` (see `Connection.probe`). */
export type Probe = (timeoutMs: number) => Promise<ProbeResult>;
/** The part of a media link the watch needs. */
export interface Recoverable {
    readonly pc: RTCPeerConnection | null;
    /** A negotiation is queued or running (it will bring a fresh transport). */
    readonly negotiating: boolean;
    restartIce(): Promise<void>;
    /** A fresh peer connection, offered. */
    renegotiate(): Promise<void>;
}
export declare class MediaWatch {
    #private;
    /** How many probes went unanswered and replaced the socket (diagnostics and tests). */
    socketReplacements: number;
    constructor(link: Recoverable, probe: Probe, options?: RecoveryOptions);
    stop(): void;
}
