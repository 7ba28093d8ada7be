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
export declare const SPEAKING_LEVEL = 0.02;
/** How long a participant stays speaking after it was last heard. */
export declare const HOLD_MS = 1500;
/** One received audio track: whose it is and the receiver that carries it. */
export interface AudioSource {
    ownerId: string;
    receiver: RTCRtpReceiver;
}
export declare class SpeakerMeter {
    #private;
    /** Reads every source once; resolves with the speaking participants' ids, loudest first. */
    measure(sources: AudioSource[], now: number): Promise<string[]>;
}
