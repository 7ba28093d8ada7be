/**
 * The media plumbing shared by rooms and live events.
 *
 * `LocalMedia` owns this device's camera and microphone tracks (acquire, enable, switch
 * device, stop). `PeerSession` owns one RTCPeerConnection to the SFU: send transceivers for
 * the local tracks, receive-only "slots" the SFU fills with other members' tracks (labelled
 * by `media.track` events), the offer/answer exchange, and ICE restarts.
 *
 * Invariants: a session is never renegotiated except by an ICE restart (same transceivers,
 * new ICE credentials); `close()` stops nothing it does not own (local tracks belong to
 * LocalMedia) and closes the peer connection exactly once.
 */
import { ErrorCode, OpenCallsError } from './errors.js';
import type { TrackKind } from './model.js';

/** The devices to use; `undefined` = the browser's default. */
export interface DeviceChoice {
  audioDeviceId?: string;
  videoDeviceId?: string;
}

/** Lists the cameras, microphones and audio outputs (labels need a granted permission). */
export async function listDevices(kind?: MediaDeviceKind): Promise<MediaDeviceInfo[]> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return kind ? all.filter((d) => d.kind === kind) : all;
}

/** True when the page may use the camera and microphone (HTTPS, or http://localhost). */
export function mediaAvailable(): boolean {
  return globalThis.isSecureContext === true && !!globalThis.navigator?.mediaDevices?.getUserMedia;
}

async function capture(kind: TrackKind, deviceId?: string): Promise<MediaStreamTrack> {
  if (!mediaAvailable()) {
    throw new OpenCallsError(
      ErrorCode.MediaUnavailable,
      'camera and microphone need a secure context: open the page over HTTPS (or http://localhost)',
    );
  }
  const constraint: MediaTrackConstraints | boolean = deviceId ? { deviceId: { exact: deviceId } } : true;
  try {
    const stream = await navigator.mediaDevices.getUserMedia(kind === 'audio' ? { audio: constraint } : { video: constraint });
    const track = stream.getTracks()[0];
    if (!track) throw new Error('no track');
    return track;
  } catch (err) {
    throw new OpenCallsError(ErrorCode.MediaUnavailable, `cannot open the ${kind === 'audio' ? 'microphone' : 'camera'}: ${String(err)}`);
  }
}

/** This device's own camera and microphone. */
export class LocalMedia {
  audio: MediaStreamTrack | null = null;
  video: MediaStreamTrack | null = null;
  devices: DeviceChoice;

  constructor(devices: DeviceChoice = {}) {
    this.devices = { ...devices };
  }

  /** Opens the track of `kind` if it isn't open yet; returns it. */
  async open(kind: TrackKind): Promise<MediaStreamTrack> {
    const have = this.get(kind);
    if (have && have.readyState === 'live') return have;
    const track = await capture(kind, kind === 'audio' ? this.devices.audioDeviceId : this.devices.videoDeviceId);
    this.#set(kind, track);
    return track;
  }

  /** Opens device `deviceId` for `kind` and makes it current; returns the new track and
   *  the old one, which the caller stops once nothing sends it any more. */
  async switchTo(kind: TrackKind, deviceId: string): Promise<{ track: MediaStreamTrack; old: MediaStreamTrack | null }> {
    const track = await capture(kind, deviceId);
    const old = this.get(kind);
    if (old) track.enabled = old.enabled;
    if (kind === 'audio') this.devices.audioDeviceId = deviceId;
    else this.devices.videoDeviceId = deviceId;
    this.#set(kind, track);
    return { track, old };
  }

  get(kind: TrackKind): MediaStreamTrack | null {
    return kind === 'audio' ? this.audio : this.video;
  }

  /** Stops the track of `kind` (the camera light goes off). */
  stop(kind: TrackKind): void {
    this.get(kind)?.stop();
    this.#set(kind, null);
  }

  /** Stops every track. */
  stopAll(): void {
    this.stop('audio');
    this.stop('video');
  }

  #set(kind: TrackKind, track: MediaStreamTrack | null): void {
    if (kind === 'audio') this.audio = track;
    else this.video = track;
  }
}

/** A receive slot: a recvonly transceiver the SFU fills with someone's track. */
export interface Slot {
  mid: string;
  kind: TrackKind;
  transceiver: RTCRtpTransceiver;
  /** Whose track the slot carries now (participant or host id), `null` = idle. */
  ownerId: string | null;
  /** The layer hint the server has for this slot (`null` = none). */
  hint: number | null;
}

/** What a session sends and receives. */
export interface SessionPlan {
  iceServers: RTCIceServer[];
  /** Send transceivers: a track, `null` (transceiver without a track yet) or absent. */
  sendAudio?: MediaStreamTrack | null;
  sendVideo?: MediaStreamTrack | null;
  recvAudio: number;
  recvVideo: number;
  /** Send the camera in three simulcast layers (default true). */
  simulcast?: boolean;
}

/**
 * The simulcast layers a published camera is sent in (low → high): the SFU forwards each
 * subscriber the best one its bandwidth and its hint allow (docs/media.md, "Simulcast").
 */
export const SIMULCAST_ENCODINGS: RTCRtpEncodingParameters[] = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

/** Sends an offer to the server and resolves with the answer's SDP. */
export type Offerer = (sdp: string) => Promise<string>;

/** One RTCPeerConnection to the SFU. */
export class PeerSession {
  readonly pc: RTCPeerConnection;
  readonly slots = new Map<string, Slot>();
  readonly senders: { audio?: RTCRtpSender; video?: RTCRtpSender } = {};
  readonly #offer: Offerer;
  #closed = false;

  constructor(plan: SessionPlan, offer: Offerer) {
    this.#offer = offer;
    this.pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: plan.iceServers });
    const stream = new MediaStream();
    for (const kind of ['audio', 'video'] as const) {
      const track = kind === 'audio' ? plan.sendAudio : plan.sendVideo;
      if (track === undefined) continue;
      if (track) stream.addTrack(track);
      const init: RTCRtpTransceiverInit = { direction: 'sendonly', streams: [stream] };
      if (kind === 'video' && plan.simulcast !== false) init.sendEncodings = SIMULCAST_ENCODINGS.map((e) => ({ ...e }));
      const t = this.pc.addTransceiver(track ?? kind, init);
      this.senders[kind] = t.sender;
    }
    this.#recv('audio', plan.recvAudio);
    this.#recv('video', plan.recvVideo);
  }

  #recv(kind: TrackKind, count: number): void {
    for (let i = 0; i < count; i++) this.pc.addTransceiver(kind, { direction: 'recvonly' });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Offers (an ICE restart when `iceRestart`) and applies the answer. */
  async negotiate(iceRestart = false): Promise<void> {
    const offer = await this.pc.createOffer({ iceRestart });
    await this.pc.setLocalDescription(offer);
    // Mids are known now, so `media.track` events can label slots even before the answer.
    if (!iceRestart) {
      for (const t of this.pc.getTransceivers()) {
        if (t.direction !== 'recvonly' || t.mid === null) continue;
        this.slots.set(t.mid, { mid: t.mid, kind: t.receiver.track.kind as TrackKind, transceiver: t, ownerId: null, hint: null });
      }
    }
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new OpenCallsError(ErrorCode.InvalidState, 'no local description');
    const answer = await this.#offer(sdp);
    if (this.#closed) return;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  /** Replaces the track sent for `kind` (null sends nothing) without renegotiating. */
  async replaceTrack(kind: TrackKind, track: MediaStreamTrack | null): Promise<void> {
    await this.senders[kind]?.replaceTrack(track);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.pc.close();
  }
}
