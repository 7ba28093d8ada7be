/**
 * `SpeakerMeter`: who is speaking in a video room, measured on the received audio (video
 * rooms get no speaker events from the server).
 *
 * A participant's level over a poll is the loudest of two readings: the RMS of the audio
 * played out since the previous poll (`totalAudioEnergy` / `totalSamplesDuration` of the
 * receiver's inbound-rtp stats), and the level of the last packet received (the
 * synchronization source's `audioLevel`). The first sees every syllable between polls,
 * which a single packet's level misses; the second still works where nothing is played out.
 *
 * Invariants: a participant heard above `SPEAKING_LEVEL` stays speaking for `HOLD_MS`, so
 * the pauses between words do not make the highlight flicker; the list is loudest first and
 * holds only participants among the sources of the latest poll.
 */

/** The level (0..1) above which a participant counts as speaking. */
export const SPEAKING_LEVEL = 0.02;
/** How long a participant stays speaking after it was last heard. */
export const HOLD_MS = 1_500;

/** One received audio track: whose it is and the receiver that carries it. */
export interface AudioSource {
  ownerId: string;
  receiver: RTCRtpReceiver;
}

interface Played {
  energy: number;
  duration: number;
}

export class SpeakerMeter {
  /** The inbound-rtp totals of each receiver at the previous poll. */
  #played = new Map<RTCRtpReceiver, Played>();
  /** When and how loud each participant was last heard. */
  #heard = new Map<string, { level: number; at: number }>();

  /** Reads every source once; resolves with the speaking participants' ids, loudest first. */
  async measure(sources: AudioSource[], now: number): Promise<string[]> {
    const levels = await Promise.all(sources.map((s) => this.#level(s.receiver)));
    const present = new Set(sources.map((s) => s.ownerId));
    for (const id of this.#heard.keys()) if (!present.has(id)) this.#heard.delete(id);
    const receivers = new Set(sources.map((s) => s.receiver));
    for (const r of this.#played.keys()) if (!receivers.has(r)) this.#played.delete(r);
    sources.forEach((s, i) => {
      if (levels[i] > SPEAKING_LEVEL) this.#heard.set(s.ownerId, { level: levels[i], at: now });
    });
    return [...this.#heard.entries()]
      .filter(([, h]) => now - h.at < HOLD_MS)
      .sort((a, b) => b[1].level - a[1].level)
      .map(([id]) => id);
  }

  async #level(receiver: RTCRtpReceiver): Promise<number> {
    const packet = receiver.getSynchronizationSources()[0]?.audioLevel ?? 0;
    return Math.max(packet, await this.#playedLevel(receiver));
  }

  /** The RMS level of what was played out since the previous poll (0 on the first). */
  async #playedLevel(receiver: RTCRtpReceiver): Promise<number> {
    let now: Played | null = null;
    try {
      for (const s of (await receiver.getStats()).values()) {
        if (s.type === 'inbound-rtp' && typeof s.totalAudioEnergy === 'number') {
          now = { energy: s.totalAudioEnergy, duration: s.totalSamplesDuration ?? 0 };
        }
      }
    } catch {
      return 0; // A receiver stopped between the list and the read.
    }
    if (!now) return 0;
    const before = this.#played.get(receiver);
    this.#played.set(receiver, now);
    const seconds = before ? now.duration - before.duration : 0;
    return seconds > 0 ? Math.sqrt(Math.max(0, now.energy - before!.energy) / seconds) : 0;
  }
}
