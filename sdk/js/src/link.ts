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
import { MediaWatch } from './recovery.js';

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

/** Tile heights are rounded up to a multiple of this before hinting (fewer requests while a
 *  tile is resized; the layers are far coarser anyway). */
const HINT_STEP_PX = 90;

/** Tuning of the media recovery. */
export interface MediaOptions extends RecoveryOptions {
  /** How long the ICE state may stay `disconnected` before an ICE restart (default 2 000 ms). */
  iceRestartDelayMs?: number;
}

export class MediaLink {
  session: PeerSession | null = null;
  readonly #plan: () => SessionPlan;
  readonly #offer: Offerer;
  readonly #cb: LinkCallbacks;
  readonly #iceRestartDelayMs: number;
  #tracks = new Map<string, Track>(); // mid → the track the slot carries
  #hints = new Map<string, number | null>(); // owner id → the tallest video worth sending
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  #iceTimer: ReturnType<typeof setTimeout> | null = null;
  #jobs = 0;
  readonly #recovery: MediaWatch | null;
  /** How many ICE restarts and fresh sessions this link did (for diagnostics and tests). */
  iceRestarts = 0;
  renegotiations = 0;

  constructor(plan: () => SessionPlan, offer: Offerer, cb: LinkCallbacks, options: MediaOptions = {}) {
    this.#plan = plan;
    this.#offer = offer;
    this.#cb = cb;
    this.#iceRestartDelayMs = options.iceRestartDelayMs ?? 2_000;
    this.#recovery = cb.probe ? new MediaWatch(this, cb.probe, options) : null;
  }

  /** A negotiation is queued or running. */
  get negotiating(): boolean {
    return this.#jobs > 0;
  }

  /** How many times a stalled link found its WebSocket dead and replaced it. */
  get socketReplacements(): number {
    return this.#recovery?.socketReplacements ?? 0;
  }

  /** The peer connection, `null` before the first offer or after close. */
  get pc(): RTCPeerConnection | null {
    return this.session?.pc ?? null;
  }

  /** Creates a fresh session (a new RTCPeerConnection) and offers it. */
  renegotiate(): Promise<void> {
    return this.#enqueue(async () => {
      this.#dropSession();
      const session = new PeerSession(this.#plan(), this.#offer);
      this.session = session;
      this.renegotiations += 1;
      this.#watch(session);
      await session.negotiate(false);
    });
  }

  /** Restarts ICE on the current session (new ICE credentials, same tracks); falls back
   *  to a fresh session if that fails. */
  restartIce(): Promise<void> {
    return this.#enqueue(async () => {
      const session = this.session;
      if (!session || session.closed) return;
      this.iceRestarts += 1;
      try {
        await session.negotiate(true);
      } catch {
        if (this.#closed) return;
        this.#dropSession();
        const fresh = new PeerSession(this.#plan(), this.#offer);
        this.session = fresh;
        this.renegotiations += 1;
        this.#watch(fresh);
        await fresh.negotiate(false);
      }
    });
  }

  /** A `media.track` event: slot `mid` now carries `ownerId`'s track (`null` = idle). */
  assign(mid: string, ownerId: string | null): void {
    const slot = this.session?.slots.get(mid);
    if (!slot) return;
    if (slot.ownerId === ownerId) return;
    slot.ownerId = ownerId;
    const old = this.#tracks.get(mid);
    if (old) {
      this.#tracks.delete(mid);
      this.#cb.unsubscribed(old);
    }
    if (ownerId !== null) {
      const track = new Track(slot.kind, slot.transceiver.receiver.track, ownerId, false);
      this.#tracks.set(mid, track);
      this.#cb.subscribed(track);
    }
    void this.#sendHint(mid).catch(() => {});
  }

  /** Caps the video of `ownerId` at `maxHeight` pixels (`null` = no cap): sent for the slot
   *  that carries it now, and again whenever it moves to another slot or session. */
  setVideoHint(ownerId: string, maxHeight: number | null): Promise<void> {
    const height = maxHeight === null ? null : Math.max(1, Math.ceil(maxHeight / HINT_STEP_PX) * HINT_STEP_PX);
    this.#hints.set(ownerId, height);
    for (const slot of this.session?.slots.values() ?? []) {
      if (slot.kind === 'video' && slot.ownerId === ownerId) return this.#sendHint(slot.mid);
    }
    return Promise.resolve();
  }

  /** Keeps `ownerId`'s hint at the height `element` is drawn at (device pixels) while it
   *  is resized; returns the function that stops watching. */
  fitVideo(ownerId: string, element: Element): () => void {
    const update = () => {
      const height = element.getBoundingClientRect().height * (globalThis.devicePixelRatio || 1);
      if (height > 0) void this.setVideoHint(ownerId, height).catch(() => {});
    };
    const observer = new ResizeObserver(update);
    observer.observe(element);
    update();
    return () => observer.disconnect();
  }

  /** Tells the server the hint wanted for slot `mid`'s owner, if it differs from the slot's. */
  async #sendHint(mid: string): Promise<void> {
    const slot = this.session?.slots.get(mid);
    if (!slot || slot.kind !== 'video' || !this.#cb.hint) return;
    const wanted = slot.ownerId === null ? slot.hint : (this.#hints.get(slot.ownerId) ?? null);
    if (wanted === slot.hint) return;
    slot.hint = wanted;
    try {
      await this.#cb.hint(mid, wanted);
    } catch (err) {
      if (slot.hint === wanted) slot.hint = null;
      throw err;
    }
  }

  /** The tracks received now. */
  get tracks(): Track[] {
    return [...this.#tracks.values()];
  }

  /** Closes the session for good. */
  close(): void {
    this.#closed = true;
    this.#recovery?.stop();
    this.#dropSession();
  }

  #enqueue(job: () => Promise<void>): Promise<void> {
    this.#jobs += 1;
    const run = this.#queue.then(() => (this.#closed ? undefined : job()));
    this.#queue = run.catch(() => {}).finally(() => {
      this.#jobs -= 1;
    });
    return run;
  }

  #dropSession(): void {
    if (this.#iceTimer) clearTimeout(this.#iceTimer);
    this.#iceTimer = null;
    for (const [mid, track] of this.#tracks) {
      this.#tracks.delete(mid);
      this.#cb.unsubscribed(track);
    }
    if (this.session) {
      this.session.close();
      this.#cb.stateChanged('closed');
    }
    this.session = null;
  }

  #watch(session: PeerSession): void {
    const pc = session.pc;
    pc.addEventListener('connectionstatechange', () => {
      if (this.session === session) this.#cb.stateChanged(pc.connectionState);
    });
    pc.addEventListener('iceconnectionstatechange', () => {
      if (this.session !== session || this.#closed) return;
      const state = pc.iceConnectionState;
      if (this.#iceTimer) clearTimeout(this.#iceTimer);
      this.#iceTimer = null;
      if (state === 'failed') {
        void this.restartIce().catch(() => {});
      } else if (state === 'disconnected') {
        this.#iceTimer = setTimeout(() => {
          if (this.session === session && pc.iceConnectionState === 'disconnected') void this.restartIce().catch(() => {});
        }, this.#iceRestartDelayMs);
      }
    });
  }
}
