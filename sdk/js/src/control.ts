/**
 * `LocalControl`: turning this device's microphone and camera on and off and switching
 * devices, for a room participant or a live event's host. Shared by `Room` and `LiveEvent`.
 *
 * The microphone is muted by disabling its track (unmuting is instant); the camera is
 * stopped (its light goes off) and re-opened when turned on. Either way the sender's track
 * is replaced in place, never renegotiated, and the server is told with `*.set_media` so it
 * stops forwarding at once and the others see the change.
 */
import { ErrorCode, OpenCallsError } from './errors.js';
import type { MediaLink } from './link.js';
import { LocalMedia } from './media.js';
import type { Member, TrackKind } from './model.js';
import { Track } from './model.js';

/** Tells the server the new media flags. */
export type MediaFlagsSender = (flags: { is_audio_on?: boolean; is_video_on?: boolean }) => Promise<void>;

/** Which kind of device `switchDevice` changes. */
export type InputKind = 'audioinput' | 'videoinput';

export class LocalControl {
  readonly media: LocalMedia;
  readonly #link: MediaLink;
  readonly #me: () => Member;
  readonly #send: MediaFlagsSender;
  readonly #canVideo: boolean;

  constructor(media: LocalMedia, link: MediaLink, me: () => Member, send: MediaFlagsSender, canVideo: boolean) {
    this.media = media;
    this.#link = link;
    this.#me = me;
    this.#send = send;
    this.#canVideo = canVideo;
  }

  /** Opens the tracks wanted at the start and shows them on the local member. */
  async start(audio: boolean, video: boolean): Promise<void> {
    if (audio) this.#show('audio', await this.media.open('audio'));
    if (video && this.#canVideo) this.#show('video', await this.media.open('video'));
  }

  async setMicrophoneEnabled(on: boolean): Promise<void> {
    if (on) {
      const track = await this.media.open('audio');
      track.enabled = true;
      await this.#link.session?.replaceTrack('audio', track);
      this.#show('audio', track);
    } else if (this.media.audio) {
      this.media.audio.enabled = false;
    }
    await this.#send({ is_audio_on: on });
    this.#me().isAudioOn = on;
  }

  async setCameraEnabled(on: boolean): Promise<void> {
    if (!this.#canVideo) throw new OpenCallsError(ErrorCode.InvalidState, 'this call carries no video');
    if (on) {
      const track = await this.media.open('video');
      await this.#link.session?.replaceTrack('video', track);
      this.#show('video', track);
    } else {
      await this.#link.session?.replaceTrack('video', null);
      this.media.stop('video');
      this.#show('video', null);
    }
    await this.#send({ is_video_on: on });
    this.#me().isVideoOn = on;
  }

  /** Uses device `deviceId` for `kind` from now on (at once if that track is open). */
  async switchDevice(kind: InputKind, deviceId: string): Promise<void> {
    const k: TrackKind = kind === 'audioinput' ? 'audio' : 'video';
    const open = this.media.get(k);
    if (!open || open.readyState !== 'live') {
      if (k === 'audio') this.media.devices.audioDeviceId = deviceId;
      else this.media.devices.videoDeviceId = deviceId;
      return;
    }
    const { track, old } = await this.media.switchTo(k, deviceId);
    // Stop the old device only after the sender moved off it: a sender whose track ended
    // before the replacement may stop encoding.
    await this.#link.session?.replaceTrack(k, track);
    this.#show(k, track);
    old?.stop();
  }

  #show(kind: TrackKind, track: MediaStreamTrack | null): void {
    const me = this.#me();
    me._setTrack(kind, track ? new Track(kind, track, me.id, true) : null);
  }
}
