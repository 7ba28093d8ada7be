import type { MediaLink } from './link.js';
import { LocalMedia } from './media.js';
import type { Member } from './model.js';
/** Tells the server the new media flags. */
export type MediaFlagsSender = (flags: {
    is_audio_on?: boolean;
    is_video_on?: boolean;
}) => Promise<void>;
/** Which kind of device `switchDevice` changes. */
export type InputKind = 'audioinput' | 'videoinput';
export declare class LocalControl {
    #private;
    readonly media: LocalMedia;
    constructor(media: LocalMedia, link: MediaLink, me: () => Member, send: MediaFlagsSender, canVideo: boolean);
    /** Opens the tracks wanted at the start and shows them on the local member. */
    start(audio: boolean, video: boolean): Promise<void>;
    setMicrophoneEnabled(on: boolean): Promise<void>;
    setCameraEnabled(on: boolean): Promise<void>;
    /** Uses device `deviceId` for `kind` from now on (at once if that track is open). */
    switchDevice(kind: InputKind, deviceId: string): Promise<void>;
}
