// The client protocol opencalls/1 (docs/protocol.md) as TypeScript declarations.
// GENERATED from crates/protocol by
//   OPENCALLS_BLESS_TS=1 cargo test -p opencalls-protocol --features ts --test typescript
// Do not edit by hand.

/** Platform API resources (docs/api.md), carried as they are inside frames. */
export type Room = Record<string, unknown> & { room_id: string };
export type Participant = Record<string, unknown> & { participant_id: string; room_id: string };
export type LiveEvent = Record<string, unknown> & { live_event_id: string };
export type Host = Record<string, unknown> & { host_id: string; live_event_id: string };
export type LiveEventParticipant = Record<string, unknown> & { participant_id: string; live_event_id: string };
export type User = Record<string, unknown> & { user_id: string };
export type CustomItems = Record<string, string>;
/** Any JSON value (a response's `result` before it is decoded for its request). */
export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

export type ClientFrame = { id: RequestId, } & ({ "type": "ping" } & Ping | { "type": "room.enter" } & RoomEnter | { "type": "room.exit" } & RoomExit | { "type": "room.set_media" } & RoomSetMedia | { "type": "media.offer" } & MediaOffer | { "type": "live.enter" } & LiveEnter | { "type": "live.exit" } & LiveExit | { "type": "live.set_ready" } & LiveSetReady | { "type": "live.start" } & LiveStart | { "type": "live.end" } & LiveEnd | { "type": "live.set_media" } & LiveSetMedia | { "type": "live.chat" } & LiveChat);

export type ServerFrame<R = JsonValue> = { "type": "hello" } & Hello | { "type": "response" } & ResponseFrame<R> | { "type": "error" } & ErrorFrame | { "type": "event" } & EventFrame | { "type": "goodbye" } & Goodbye;

export type Hello = { 
/**
 * Always [`crate::PROTOCOL`].
 */
protocol: string, 
/**
 * The device's id: send it again when reconnecting to resume its seats.
 */
client_id: string, user: User, heartbeat_interval_ms: number, heartbeat_timeout_ms: number, reconnect_grace_ms: number, max_message_bytes: number, 
/**
 * Rooms in which this device still holds a participant, with fresh snapshots.
 */
resumed: Array<ResumedRoom>, 
/**
 * Live seats this device still holds, with fresh snapshots.
 */
resumed_live: Array<ResumedLive>, };

export type ResumedRoom = { room: Room, participant_id: string, };

export type ResumedLive = { live_event: LiveEvent, } & ({ "role": "host", host_id: string, } | { "role": "participant", participant_id: string, });

export type ResponseFrame<R = JsonValue> = { id: RequestId, result: R, };

export type ErrorFrame = { id: RequestId | null, code: number, message: string, };

export type Goodbye = { reason: GoodbyeReason, message: string, };

export type GoodbyeReason = "session_revoked" | "replaced" | "heartbeat_timeout" | "too_slow" | "resync" | "server_restart";

export type RequestId = string;

export type WireError = { code: number, message: string, };

export type Request = { "type": "ping" } & Ping | { "type": "room.enter" } & RoomEnter | { "type": "room.exit" } & RoomExit | { "type": "room.set_media" } & RoomSetMedia | { "type": "media.offer" } & MediaOffer | { "type": "live.enter" } & LiveEnter | { "type": "live.exit" } & LiveExit | { "type": "live.set_ready" } & LiveSetReady | { "type": "live.start" } & LiveStart | { "type": "live.end" } & LiveEnd | { "type": "live.set_media" } & LiveSetMedia | { "type": "live.chat" } & LiveChat;

export type Ping = Record<symbol, never>;

export type RoomEnter = { room_id?: string | null, 
/**
 * Default `true`.
 */
is_audio_on?: boolean | null, 
/**
 * Default `false`.
 */
is_video_on?: boolean | null, };

export type RoomExit = { room_id?: string | null, };

export type RoomSetMedia = { room_id?: string | null, is_audio_on?: boolean | null, is_video_on?: boolean | null, };

export type MediaOffer = { room_id?: string | null, live_event_id?: string | null, participant_id?: string | null, sdp?: string | null, };

export type LiveRoleName = "host" | "participant";

export type LiveEnter = { live_event_id?: string | null, role?: LiveRoleName | null, 
/**
 * Host only; default `true`.
 */
is_audio_on?: boolean | null, 
/**
 * Host only; default `true`.
 */
is_video_on?: boolean | null, };

export type LiveExit = { live_event_id?: string | null, };

export type LiveSetReady = { live_event_id?: string | null, };

export type LiveStart = { live_event_id?: string | null, };

export type LiveEnd = { live_event_id?: string | null, };

export type LiveSetMedia = { live_event_id?: string | null, is_audio_on?: boolean | null, is_video_on?: boolean | null, };

export type LiveChat = { live_event_id?: string | null, message?: string | null, };

export type Pong = Record<symbol, never>;

export type RoomEntered = { room: Room, participant: Participant, };

export type RoomExited = { participant: Participant, };

export type RoomMediaSet = { participant: Participant | null, };

export type LiveMember = { "host": Host } | { "participant": LiveEventParticipant };

export type LiveEntered = { live_event: LiveEvent, } & ({ "host": Host } | { "participant": LiveEventParticipant });

export type LiveEventResult = { live_event: LiveEvent, };

export type HostResult = { host: Host, };

export type MessageId = string;

export type ChatMessage = { message_id: MessageId, live_event_id: string, user: User, role: LiveRoleName, message: string, sent_at: number, };

export type ChatSent = { message: ChatMessage, };

export type MemberRef = { "host_id": string } | { "participant_id": string };

export type OfferAnswer = { live_event_id: string, sdp: string, } & ({ "host_id": string } | { "participant_id": string }) | { participant_id: string, sdp: string, };

export type LiveSeat = { "role": "host", host_id: string, } | { "role": "participant", participant_id: string, };

export type EventFrame = RoomEventFrame | LiveEventFrame;

export type RoomEventFrame = { room_id: string, occurred_at: number, } & ({ "event": "room.participant_entered", "data": { participant: Participant, } } | { "event": "room.participant_connected", "data": { participant: Participant, } } | { "event": "room.participant_exited", "data": { participant: Participant, } } | { "event": "room.participant_media_changed", "data": { participant: Participant, } } | { "event": "room.custom_items_updated", "data": { custom_items: CustomItems, updated: Array<string>, } } | { "event": "room.custom_items_deleted", "data": { custom_items: CustomItems, deleted: Array<string>, } } | { "event": "room.deleted", "data": { room: Room, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, participant_id: string | null, } } | { "event": "media.active_speakers", "data": { participant_ids: Array<string>, } } | { "event": "media.disconnected", "data": { participant_id: string, reason: MediaDisconnectReason, } });

export type LiveEventFrame = { live_event_id: string, occurred_at: number, } & ({ "event": "live.ready", "data": { live_event: LiveEvent, } } | { "event": "live.started", "data": { live_event: LiveEvent, } } | { "event": "live.ended", "data": { live_event: LiveEvent, } } | { "event": "live.host_entered", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_connected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_disconnected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_exited", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_media_changed", "data": { host: Host, } } | { "event": "live.participant_entered", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.participant_exited", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.chat_message", "data": { message: ChatMessage, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, host_id: string | null, } } | { "event": "media.disconnected", "data": { reason: MediaDisconnectReason, } & ({ "host_id": string } | { "participant_id": string }) });

export type RoomEvent = { "event": "room.participant_entered", "data": { participant: Participant, } } | { "event": "room.participant_connected", "data": { participant: Participant, } } | { "event": "room.participant_exited", "data": { participant: Participant, } } | { "event": "room.participant_media_changed", "data": { participant: Participant, } } | { "event": "room.custom_items_updated", "data": { custom_items: CustomItems, updated: Array<string>, } } | { "event": "room.custom_items_deleted", "data": { custom_items: CustomItems, deleted: Array<string>, } } | { "event": "room.deleted", "data": { room: Room, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, participant_id: string | null, } } | { "event": "media.active_speakers", "data": { participant_ids: Array<string>, } } | { "event": "media.disconnected", "data": { participant_id: string, reason: MediaDisconnectReason, } };

export type LiveEventEvent = { "event": "live.ready", "data": { live_event: LiveEvent, } } | { "event": "live.started", "data": { live_event: LiveEvent, } } | { "event": "live.ended", "data": { live_event: LiveEvent, } } | { "event": "live.host_entered", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_connected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_disconnected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_exited", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_media_changed", "data": { host: Host, } } | { "event": "live.participant_entered", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.participant_exited", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.chat_message", "data": { message: ChatMessage, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, host_id: string | null, } } | { "event": "media.disconnected", "data": { reason: MediaDisconnectReason, } & ({ "host_id": string } | { "participant_id": string }) };

export type MediaKind = "audio" | "video";

export type MediaDisconnectReason = "transport_lost" | "connect_timeout" | "failed";

export type OpenSession = { user_id?: string | null, access_token?: string | null, };

export type SessionOpened = { user_id: string, session_token: string, expires_at: number | null, user: User, };

export type HttpErrorBody = { error: boolean, code: number, message: string, };
