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
import { ErrorCode, OpenCallsError } from './errors.js';
import type { EnterLiveEventOptions } from './live.js';
import { LiveEvent } from './live.js';
import type { User } from './model.js';
import { toUser } from './model.js';
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
export class Client extends Emitter<ClientEvents> implements ClientLink {
  readonly user: User;
  readonly #conn: Connection;
  readonly #extraIce: RTCIceServer[];
  readonly #rooms = new Map<string, Room>();
  readonly #lives = new Map<string, LiveEvent>();
  readonly #calls = new Map<string, DirectCall>();

  /** @internal Use `connect`. */
  constructor(conn: Connection, hello: wire.Hello, extraIce: RTCIceServer[]) {
    super();
    this.#conn = conn;
    this.user = toUser(hello.user);
    this.#extraIce = extraIce;
    conn.on('event', (frame) => this.#route(frame));
    conn.on('hello', (h, resumed) => {
      if (resumed) this.#resume(h);
    });
    // Calls that already ring when this device connects: reported after `connect()`'s
    // caller had the chance to listen for `incomingCall` (a macrotask runs after it).
    setTimeout(() => {
      for (const call of hello.resumed_calls ?? []) this.#ringing(call);
    }, 0);
    conn.on('stateChanged', (state) => {
      if (state === 'disconnected') this.#leaveAll();
      this.emit('connectionStateChanged', state);
    });
  }

  get userId(): string {
    return this.user.userId;
  }

  /** The device id; give it to `connect` again to resume this device's seats. */
  get clientId(): string {
    return this.#conn.clientId ?? '';
  }

  get connectionState(): ConnectionState {
    return this.#conn.state;
  }

  /** The rooms this device is in now. */
  get rooms(): Room[] {
    return [...this.#rooms.values()];
  }

  /** The live events this device is in now. */
  get liveEvents(): LiveEvent[] {
    return [...this.#lives.values()];
  }

  /** The direct calls this device takes part in or that ring on it. */
  get calls(): DirectCall[] {
    return [...this.#calls.values()];
  }

  /** Calls user `calleeId`: every device of theirs rings. Opens the camera and microphone
   *  now (preview with `call.attachLocal()`); media flows once they accept. */
  async dial(calleeId: string, options: DialOptions = {}): Promise<DirectCall> {
    const isVideoCall = options.isVideoCall === true;
    const audio = options.audio !== false;
    const video = (options.video ?? isVideoCall) && isVideoCall;
    const result = await this.request('call.dial', {
      callee_id: calleeId,
      is_video_call: isVideoCall,
      is_audio_on: audio,
      is_video_on: video,
      ...(options.customItems ? { custom_items: options.customItems } : {}),
    });
    const call = new DirectCall(this, result.call, 'dc_caller', options);
    this.#calls.set(call.callId, call);
    try {
      await call._openLocal({ ...options, audio, video });
    } catch (err) {
      await call.end().catch(() => {});
      throw err;
    }
    return call;
  }

  /** Enters room `roomId` and starts its media (camera and microphone by default). */
  async enterRoom(roomId: string, options: EnterRoomOptions = {}): Promise<Room> {
    const entered = await this.request('room.enter', {
      room_id: roomId,
      is_audio_on: options.audio !== false,
      is_video_on: options.video !== false,
    });
    const room = new Room(this, entered, { ...options, video: options.video !== false && entered.room.room_type === 'small_room_for_video' });
    this.#rooms.set(room.roomId, room);
    try {
      await room._start(options);
    } catch (err) {
      await room.leave();
      throw err;
    }
    return room;
  }

  /** Enters live event `liveEventId` as `host` (publishes) or `participant` (watches). */
  async enterLiveEvent(liveEventId: string, options: EnterLiveEventOptions): Promise<LiveEvent> {
    const host = options.role === 'host';
    const entered = await this.request('live.enter', {
      live_event_id: liveEventId,
      role: options.role,
      ...(host ? { is_audio_on: options.audio !== false, is_video_on: options.video !== false } : {}),
    });
    const live = new LiveEvent(this, entered, options);
    this.#lives.set(live.liveEventId, live);
    try {
      await live._start(options);
    } catch (err) {
      await live.leave();
      throw err;
    }
    return live;
  }

  /** Sends any protocol request (typed by `type`); rejects with an OpenCallsError. */
  request<T extends RequestType>(type: T, params: RequestParams<T>, timeoutMs?: number): Promise<RequestResult<T>> {
    return this.#conn.request(type, params, timeoutMs);
  }

  /** Leaves every room and live event (stopping all tracks and peer connections) and
   *  closes the connection for good. */
  async disconnect(): Promise<void> {
    const leaving = [...this.rooms.map((r) => r.leave()), ...this.liveEvents.map((l) => l.leave()), ...this.calls.map((c) => c.end())];
    await Promise.allSettled(leaving);
    this.#conn.close();
  }

  /** @internal */
  iceServers(): RTCIceServer[] {
    const fromServer = this.#conn.hello?.ice_servers ?? [];
    return [...fromServer.map(toIceServer), ...this.#extraIce];
  }

  /** @internal Network-change recovery: see recovery.ts. */
  probe(timeoutMs: number): Promise<ProbeResult> {
    return this.#conn.probe(timeoutMs);
  }

  /** @internal */
  forget(call: object): void {
    if (call instanceof Room) this.#rooms.delete(call.roomId);
    if (call instanceof LiveEvent) this.#lives.delete(call.liveEventId);
    if (call instanceof DirectCall) this.#calls.delete(call.callId);
  }

  #route(frame: wire.EventFrame): void {
    if ('room_id' in frame) this.#rooms.get(frame.room_id)?._event(frame);
    else if ('live_event_id' in frame) this.#lives.get(frame.live_event_id)?._event(frame);
    else if (frame.event === 'call.dialed' && !this.#calls.has(frame.call_id)) this.#ringing(frame.data.call);
    else this.#calls.get(frame.call_id)?._event(frame);
  }

  /** A call that rings on this device (an event, or found in `hello` after a reconnect). */
  #ringing(snapshot: wire.DirectCall): void {
    if (this.#calls.has(snapshot.call_id) || snapshot.state !== 'ringing') return;
    if (snapshot.participants[0]?.user_id === this.userId) return;
    const call = new DirectCall(this, snapshot, 'dc_callee');
    this.#calls.set(call.callId, call);
    this.emit('incomingCall', call);
  }

  #resume(hello: wire.Hello): void {
    const rooms = new Map(hello.resumed.map((r) => [r.room.room_id, r.room]));
    for (const room of this.rooms) room._resumed(rooms.get(room.roomId) ?? null);
    const lives = new Map(hello.resumed_live.map((l) => [l.live_event.live_event_id, l.live_event]));
    for (const live of this.liveEvents) live._resumed(lives.get(live.liveEventId) ?? null);
    const calls = new Map((hello.resumed_calls ?? []).map((c) => [c.call_id, c]));
    for (const call of this.calls) call._resumed(calls.get(call.callId) ?? null);
    for (const call of calls.values()) this.#ringing(call);
    this.emit('reconnected');
  }

  #leaveAll(): void {
    for (const c of [...this.rooms, ...this.liveEvents, ...this.calls]) c._resumed(null);
  }
}

function toIceServer(s: wire.IceServer): RTCIceServer {
  const server: RTCIceServer = { urls: s.urls };
  if (s.username) server.username = s.username;
  if (s.credential) server.credential = s.credential;
  return server;
}

/** Opens a session and the WebSocket; resolves once the server said `hello`. */
export async function connect(options: ConnectOptions): Promise<Client> {
  const baseUrl = (options.baseUrl ?? globalThis.location?.origin ?? '').replace(/\/+$/, '');
  if (!baseUrl) throw new OpenCallsError(ErrorCode.InvalidState, 'baseUrl is required outside a web page');
  const conn = new Connection({ baseUrl, userId: options.userId, accessToken: options.accessToken, clientId: options.clientId }, options);
  const hello = await conn.open();
  return new Client(conn, hello, options.iceServers ?? []);
}
