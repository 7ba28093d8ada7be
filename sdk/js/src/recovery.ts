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

const CHECK_MS = 150;
const DEFAULT_STALL_MS = 300;
const DEFAULT_PROBE_MS = 500;
/** After a probe, the next one waits this long even if the stall goes on (a quiet call). */
const QUIET_PROBE_MS = 5_000;
const MAX_PROBE_MS = 8_000;

export class MediaWatch {
  readonly #link: Recoverable;
  readonly #probe: Probe;
  readonly #stallMs: number;
  readonly #probeMs: number;
  #timer: ReturnType<typeof setInterval> | null = null;
  #busy = false;
  #pc: RTCPeerConnection | null = null;
  #bytes = 0;
  #progressAt = 0;
  #nextProbeAt = 0;
  #probeTimeout: number;
  /** How many probes went unanswered and replaced the socket (diagnostics and tests). */
  socketReplacements = 0;

  constructor(link: Recoverable, probe: Probe, options: RecoveryOptions = {}) {
    this.#link = link;
    this.#probe = probe;
    this.#stallMs = options.mediaStallMs ?? DEFAULT_STALL_MS;
    this.#probeMs = options.probeTimeoutMs ?? DEFAULT_PROBE_MS;
    this.#probeTimeout = this.#probeMs;
    if (this.#stallMs > 0) this.#timer = setInterval(() => void this.#check(), CHECK_MS);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #check(): Promise<void> {
    if (this.#busy || !this.#timer) return;
    this.#busy = true;
    try {
      await this.#sample();
    } catch {
      // getStats on a connection closed meanwhile: the next tick sees the new one.
    } finally {
      this.#busy = false;
    }
  }

  async #sample(): Promise<void> {
    const pc = this.#link.pc;
    const now = Date.now();
    if (!pc || pc.connectionState === 'closed') return;
    if (pc !== this.#pc) {
      this.#pc = pc;
      this.#bytes = 0;
      this.#progressAt = now;
    }
    const bytes = await receivedBytes(pc);
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.#progressAt = Date.now();
      this.#probeTimeout = this.#probeMs;
      return;
    }
    // A connection still setting up has nothing to lose yet; a fresh one has its own timers.
    if (bytes === 0 || this.#link.negotiating) return;
    if (now - this.#progressAt < this.#stallMs || now < this.#nextProbeAt) return;
    await this.#recover(pc);
  }

  async #recover(pc: RTCPeerConnection): Promise<void> {
    const result = await this.#probe(this.#probeTimeout);
    this.#nextProbeAt = Date.now() + QUIET_PROBE_MS;
    if (result === 'down' || this.#link.pc !== pc || this.#link.negotiating) return;
    if (result === 'reconnected') {
      this.socketReplacements += 1;
      this.#probeTimeout = Math.min(this.#probeTimeout * 2, MAX_PROBE_MS);
    } else {
      this.#probeTimeout = this.#probeMs;
      if (pc.iceConnectionState !== 'disconnected' && pc.iceConnectionState !== 'failed') return;
    }
    // Give the restart time to bring media back before the next stall counts.
    this.#progressAt = Date.now();
    if (result === 'reconnected') void this.#link.renegotiate().catch(() => {});
    else void this.#link.restartIce().catch(() => {});
  }
}

/** The bytes received on the connection's transports (media, RTCP and ICE checks). */
async function receivedBytes(pc: RTCPeerConnection): Promise<number> {
  let sum = 0;
  (await pc.getStats()).forEach((s: { type: string; bytesReceived?: number }) => {
    if (s.type === 'transport') sum += s.bytesReceived ?? 0;
  });
  return sum;
}
