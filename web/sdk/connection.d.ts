/**
 * The signaling connection: session exchange, one WebSocket, requests matched to answers
 * with a timeout, and automatic reconnection.
 *
 * Invariants:
 * - At most one WebSocket is open; every reconnect opens a fresh session and sends the same
 *   `client_id`, so the server resumes the device's seats (`hello.resumed`).
 * - Every request settles exactly once: with its answer, an error frame, a timeout
 *   (`RequestTimeout`) or the loss of its socket (`ConnectionLost`).
 * - State moves `connecting → connected ⇄ reconnecting → disconnected`; `disconnected` is
 *   final (revoked session, replaced device, `close()`, or reconnection given up).
 */
import { Emitter } from './emitter.js';
import type * as wire from './protocol.js';
import type { ProbeResult } from './recovery.js';
import type { RequestParams, RequestResult, RequestType } from './requests.js';
/** The state of the client's connection to the server. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';
/** Tuning of the connection (all optional). */
export interface ConnectionOptions {
    /** How long a request may wait for its answer (default 10 000 ms). */
    requestTimeoutMs?: number;
    /** First reconnect delay, doubled per failed attempt (default 250 ms). */
    reconnectInitialDelayMs?: number;
    /** Longest reconnect delay (default 5 000 ms). */
    reconnectMaxDelayMs?: number;
    /** Give up reconnecting after this long (default 60 000 ms); then `disconnected`. */
    reconnectGiveUpMs?: number;
    /** How often the SDK checks the socket is alive with a `ping` request (default 5 000 ms,
     *  or the server's `heartbeat_interval_ms` if shorter). A ping unanswered within this time
     *  drops the socket and reconnects: a network that silently stopped carrying packets
     *  (Wi-Fi change, offline) is noticed in seconds, not after TCP's minutes. */
    pingIntervalMs?: number;
}
/** Who connects and where. */
export interface Credentials {
    baseUrl: string;
    userId: string;
    accessToken: string;
    clientId?: string;
}
/** Events of the connection (internal to the SDK; the Client re-emits them). */
export type ConnectionEvents = {
    stateChanged: [state: ConnectionState];
    /** A (re)connection's `hello`; `resumed` is false for the first one. */
    hello: [hello: wire.Hello, resumed: boolean];
    event: [frame: wire.EventFrame];
    /** A frame of a kind this SDK version doesn't read (forward compatibility). */
    unknown: [frame: {
        type: string;
    }];
};
/** Opens a session (`POST /v1/auth/session`) with the user's access token. */
export declare function openSession(baseUrl: string, userId: string, accessToken: string): Promise<wire.SessionOpened>;
/** The signaling connection of one device. */
export declare class Connection extends Emitter<ConnectionEvents> {
    #private;
    state: ConnectionState;
    clientId: string | null;
    hello: wire.Hello | null;
    constructor(creds: Credentials, options?: ConnectionOptions);
    /** Connects for the first time; rejects (and ends `disconnected`) if that fails. */
    open(): Promise<wire.Hello>;
    /** Sends request `type` and resolves with its result; rejects with an OpenCallsError. */
    request<T extends RequestType>(type: T, params: RequestParams<T>, timeoutMs?: number): Promise<RequestResult<T>>;
    /** Checks the socket answers a `ping` within `timeoutMs` (media stopped arriving: the
     *  network may have changed). If it doesn't, the socket is replaced at once; resolves
     *  `reconnected` once the new socket's `hello` was handled (seats resumed), `alive` if the
     *  ping was answered, `down` if the client ended `disconnected`. */
    probe(timeoutMs: number): Promise<ProbeResult>;
    /** Closes the connection for good (no reconnect). */
    close(): void;
}
