/**
 * `Client`: one device's connection to OpenCalls. Opens the session and WebSocket, routes
 * events to the rooms and live events it entered, and restores them after a reconnect
 * from the server's `hello.resumed` snapshots.
 *
 * Invariants: a room or live event is routed events from its enter until it is left; on
 * `disconnected` every room and live event is left (tracks stopped, connections closed).
 */
import type { ConnectionOptions, ConnectionState } from './connection.js';
import { Connection } from './connection.js';
import type { DialOptions } from './call.js';
import { DirectCall } from './call.js';
import { Emitter } from './emitter.js';
import type { EnterLiveEventOptions } from './live.js';
import { LiveEvent } from './live.js';
import type { User } from './model.js';
import type * as wire from './protocol.js';
import type { ProbeResult } from './recovery.js';
import type { RequestParams, RequestResult, RequestType } from './requests.js';
import type { EnterRoomOptions } from './room.js';
import { Room } from './room.js';
import type { ClientLink } from './session.js';
/** What `connect` needs. */
export interface ConnectOptions extends ConnectionOptions {
    userId: string;
    /** The user's access token (from your app server, which got it from the Platform API). */
    accessToken: string;
    /** The server, e.g. `https://calls.example.com` (default: the page's origin). */
    baseUrl?: string;
    /** Resume an earlier device (its seats come back in `client.resumed*`). */
    clientId?: string;
    /** Extra STUN/TURN servers for every peer connection (added to what the server sends). */
    iceServers?: RTCIceServer[];
}
/** Events of a client. */
export type ClientEvents = {
    connectionStateChanged: [state: ConnectionState];
    /** The connection came back after a drop; rooms, live events and calls were restored. */
    reconnected: [];
    /** A direct call rings on this device: `call.accept()` or `call.decline()`. */
    incomingCall: [call: DirectCall];
};
/** A connected device. */
export declare class Client extends Emitter<ClientEvents> implements ClientLink {
    #private;
    readonly user: User;
    /** @internal Use `connect`. */
    constructor(conn: Connection, hello: wire.Hello, extraIce: RTCIceServer[]);
    get userId(): string;
    /** The device id; give it to `connect` again to resume this device's seats. */
    get clientId(): string;
    get connectionState(): ConnectionState;
    /** The rooms this device is in now. */
    get rooms(): Room[];
    /** The live events this device is in now. */
    get liveEvents(): LiveEvent[];
    /** The direct calls this device takes part in or that ring on it. */
    get calls(): DirectCall[];
    /** Calls user `calleeId`: every device of theirs rings. Opens the camera and microphone
     *  now (preview with `call.attachLocal()`); media flows once they accept. */
    dial(calleeId: string, options?: DialOptions): Promise<DirectCall>;
    /** Enters room `roomId` and starts its media (camera and microphone by default). */
    enterRoom(roomId: string, options?: EnterRoomOptions): Promise<Room>;
    /** Enters live event `liveEventId` as `host` (publishes) or `participant` (watches). */
    enterLiveEvent(liveEventId: string, options: EnterLiveEventOptions): Promise<LiveEvent>;
    /** Sends any protocol request (typed by `type`); rejects with an OpenCallsError. */
    request<T extends RequestType>(type: T, params: RequestParams<T>, timeoutMs?: number): Promise<RequestResult<T>>;
    /** Leaves every room and live event (stopping all tracks and peer connections) and
     *  closes the connection for good. */
    disconnect(): Promise<void>;
    /** @internal */
    iceServers(): RTCIceServer[];
    /** @internal Network-change recovery: see recovery.ts. */
    probe(timeoutMs: number): Promise<ProbeResult>;
    /** @internal */
    forget(call: object): void;
}
/** Opens a session and the WebSocket; resolves once the server said `hello`. */
export declare function connect(options: ConnectOptions): Promise<Client>;
