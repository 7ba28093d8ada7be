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
import { ErrorCode, OpenCallsError } from './errors.js';
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
  unknown: [frame: { type: string }];
};

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: OpenCallsError) => void;
  timer: ReturnType<typeof setTimeout>;
}

const DEFAULT_PING_MS = 5_000;

/** Goodbye reasons after which reconnecting cannot help. */
const FINAL_GOODBYES: ReadonlySet<wire.GoodbyeReason> = new Set(['session_revoked', 'replaced']);

/** Opens a session (`POST /v1/auth/session`) with the user's access token. */
export async function openSession(baseUrl: string, userId: string, accessToken: string): Promise<wire.SessionOpened> {
  const body: wire.OpenSession = { user_id: userId, access_token: accessToken };
  let resp: Response;
  try {
    resp = await fetch(baseUrl + '/v1/auth/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new OpenCallsError(ErrorCode.ConnectionFailed, `the server is unreachable: ${String(err)}`);
  }
  const json = (await resp.json().catch(() => null)) as (wire.SessionOpened & wire.HttpErrorBody) | null;
  if (!resp.ok || !json) {
    throw new OpenCallsError(json?.code ?? ErrorCode.ConnectionFailed, json?.message ?? `HTTP ${resp.status}`);
  }
  return json;
}

/** The signaling connection of one device. */
export class Connection extends Emitter<ConnectionEvents> {
  state: ConnectionState = 'connecting';
  clientId: string | null;
  hello: wire.Hello | null = null;
  readonly #creds: Credentials;
  readonly #opts: Required<Omit<ConnectionOptions, 'pingIntervalMs'>> & { pingIntervalMs?: number };
  #ws: WebSocket | null = null;
  #nextId = 1;
  #pending = new Map<string, Pending>();
  #waiters = new Set<() => void>();
  #pingTimer: ReturnType<typeof setInterval> | null = null;
  #closing = false;

  constructor(creds: Credentials, options: ConnectionOptions = {}) {
    super();
    this.#creds = creds;
    this.clientId = creds.clientId ?? null;
    this.#opts = {
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      reconnectInitialDelayMs: options.reconnectInitialDelayMs ?? 250,
      reconnectMaxDelayMs: options.reconnectMaxDelayMs ?? 5_000,
      reconnectGiveUpMs: options.reconnectGiveUpMs ?? 60_000,
      pingIntervalMs: options.pingIntervalMs,
    };
  }

  /** Connects for the first time; rejects (and ends `disconnected`) if that fails. */
  async open(): Promise<wire.Hello> {
    try {
      return await this.#connectOnce(false);
    } catch (err) {
      this.#setState('disconnected');
      throw err;
    }
  }

  /** Sends request `type` and resolves with its result; rejects with an OpenCallsError. */
  async request<T extends RequestType>(type: T, params: RequestParams<T>, timeoutMs?: number): Promise<RequestResult<T>> {
    const timeout = timeoutMs ?? this.#opts.requestTimeoutMs;
    const deadline = Date.now() + timeout;
    if (this.state !== 'connected') await this.#waitConnected(deadline, type);
    const ws = this.#ws;
    if (!ws) throw new OpenCallsError(ErrorCode.ConnectionLost, `${type}: not connected`);
    const id = String(this.#nextId++);
    return new Promise<RequestResult<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new OpenCallsError(ErrorCode.RequestTimeout, `${type}: no answer within ${timeout} ms`));
      }, Math.max(0, deadline - Date.now()));
      this.#pending.set(id, { resolve: resolve as (r: unknown) => void, reject, timer });
      ws.send(JSON.stringify({ ...params, id, type }));
    });
  }

  /** Checks the socket answers a `ping` within `timeoutMs` (media stopped arriving: the
   *  network may have changed). If it doesn't, the socket is replaced at once; resolves
   *  `reconnected` once the new socket's `hello` was handled (seats resumed), `alive` if the
   *  ping was answered, `down` if the client ended `disconnected`. */
  async probe(timeoutMs: number): Promise<ProbeResult> {
    const ws = this.#ws;
    if (this.state === 'connected' && ws) {
      try {
        await this.request('ping', {}, timeoutMs);
        return 'alive';
      } catch {
        if (this.#ws === ws) this.#lost(ws, null, true);
      }
    }
    try {
      await this.#waitConnected(Date.now() + this.#opts.reconnectGiveUpMs, 'probe');
      return 'reconnected';
    } catch {
      return 'down';
    }
  }

  /** Closes the connection for good (no reconnect). */
  close(): void {
    this.#closing = true;
    this.#dropSocket(ErrorCode.Disconnected, 'the client disconnected');
    this.#setState('disconnected');
  }

  #setState(state: ConnectionState): void {
    if (this.state === state || this.state === 'disconnected') return;
    this.state = state;
    for (const wake of [...this.#waiters]) wake();
    this.emit('stateChanged', state);
  }

  async #waitConnected(deadline: number, what: string): Promise<void> {
    while (this.state !== 'connected') {
      if (this.state === 'disconnected') throw new OpenCallsError(ErrorCode.Disconnected, `${what}: the client is disconnected`);
      const left = deadline - Date.now();
      if (left <= 0) throw new OpenCallsError(ErrorCode.RequestTimeout, `${what}: not connected in time`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const waiters = this.#waiters;
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  /** One attempt: session, WebSocket, `hello`. */
  async #connectOnce(resumed: boolean): Promise<wire.Hello> {
    const { baseUrl, userId, accessToken } = this.#creds;
    const session = await openSession(baseUrl, userId, accessToken);
    const query = new URLSearchParams({ session_token: session.session_token });
    if (this.clientId) query.set('client_id', this.clientId);
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/v1/ws?' + query.toString());
    const hello = await new Promise<wire.Hello>((resolve, reject) => {
      ws.addEventListener('close', () => reject(new OpenCallsError(ErrorCode.ConnectionFailed, 'the WebSocket closed before hello')));
      ws.onmessage = (m: MessageEvent) => {
        const frame = parse(m.data);
        if (frame?.type === 'hello') resolve(frame as unknown as wire.Hello);
        else if (frame?.type === 'goodbye') reject(goodbyeError(frame as unknown as wire.Goodbye));
      };
      ws.onerror = () => reject(new OpenCallsError(ErrorCode.ConnectionFailed, 'the WebSocket failed'));
    }).catch((err: unknown) => {
      ws.close();
      throw err;
    });
    if (this.#closing) {
      ws.close();
      throw new OpenCallsError(ErrorCode.Disconnected, 'the client disconnected');
    }
    this.#ws = ws;
    this.hello = hello;
    this.clientId = hello.client_id;
    ws.onmessage = (m: MessageEvent) => this.#receive(m.data);
    ws.onerror = null;
    ws.onclose = () => this.#lost(ws, null);
    this.#startPings(hello);
    this.#setState('connected');
    this.emit('hello', hello, resumed);
    return hello;
  }

  #receive(data: unknown): void {
    const frame = parse(data);
    if (!frame) return;
    switch (frame.type) {
      case 'response':
      case 'error':
        this.#answer(frame as unknown as wire.ResponseFrame | (wire.ErrorFrame & { type: 'error' }));
        return;
      case 'event':
        this.emit('event', frame as unknown as wire.EventFrame);
        return;
      case 'goodbye':
        this.#lost(this.#ws, frame as unknown as wire.Goodbye);
        return;
      default:
        this.emit('unknown', frame);
    }
  }

  #answer(frame: wire.ResponseFrame | (wire.ErrorFrame & { type: 'error' })): void {
    const pending = frame.id === null ? undefined : this.#pending.get(frame.id);
    if (!pending || frame.id === null) return;
    this.#pending.delete(frame.id);
    clearTimeout(pending.timer);
    if ('result' in frame) pending.resolve(frame.result);
    else pending.reject(new OpenCallsError(frame.code, frame.message));
  }

  #startPings(hello: wire.Hello): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    const every = this.#opts.pingIntervalMs ?? Math.min(DEFAULT_PING_MS, hello.heartbeat_interval_ms);
    this.#pingTimer = setInterval(() => {
      const ws = this.#ws;
      if (this.state !== 'connected' || !ws) return;
      this.request('ping', {}, every).catch((err: OpenCallsError) => {
        // An unanswered ping means the socket is dead even if the browser hasn't noticed.
        if (err.code === ErrorCode.RequestTimeout && this.#ws === ws) this.#lost(ws, null);
      });
    }, every);
  }

  /** Rejects the in-flight requests and forgets the socket. */
  #dropSocket(code: number, message: string): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      ws.onerror = null;
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
    }
    for (const [, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new OpenCallsError(code, message));
    }
    this.#pending.clear();
  }

  /** The socket ended (closed, dead, or said goodbye): reconnect unless that can't help.
   *  `now`: reconnect without the first backoff delay (this device's network changed). */
  #lost(ws: WebSocket | null, goodbye: wire.Goodbye | null, now = false): void {
    if (ws !== this.#ws || this.#closing) return;
    this.#dropSocket(ErrorCode.ConnectionLost, goodbye ? goodbye.message : 'the connection was lost');
    if (goodbye && FINAL_GOODBYES.has(goodbye.reason)) {
      this.#setState('disconnected');
      return;
    }
    this.#setState('reconnecting');
    void this.#reconnect(now);
  }

  async #reconnect(now = false): Promise<void> {
    const giveUpAt = Date.now() + this.#opts.reconnectGiveUpMs;
    let delay = this.#opts.reconnectInitialDelayMs;
    while (!this.#closing && Date.now() < giveUpAt) {
      // Jitter spreads the reconnects of many clients after a server restart.
      await sleep(now ? Math.random() * 50 : delay * (0.75 + Math.random() * 0.5));
      now = false;
      if (this.#closing) return;
      try {
        await this.#connectOnce(true);
        return;
      } catch (err) {
        const e = err as OpenCallsError;
        // The access token is no longer valid: retrying cannot succeed.
        if (e.code === 401121 || e.code === ErrorCode.Disconnected) break;
        delay = Math.min(delay * 2, this.#opts.reconnectMaxDelayMs);
      }
    }
    this.#setState('disconnected');
  }
}

function parse(data: unknown): ({ type: string } & Record<string, unknown>) | null {
  if (typeof data !== 'string') return null;
  try {
    const v = JSON.parse(data) as unknown;
    return v && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string'
      ? (v as { type: string } & Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function goodbyeError(g: wire.Goodbye): OpenCallsError {
  return new OpenCallsError(ErrorCode.Disconnected, `goodbye (${g.reason}): ${g.message}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
