// The client protocol opencalls/1 (docs/protocol.md) as TypeScript declarations.
// GENERATED from crates/protocol and crates/domain by
//   OPENCALLS_BLESS_TS=1 cargo test -p opencalls-protocol --features ts --test typescript
// Do not edit by hand.

/** Any JSON value (a response's `result` before it is decoded for its request). */
export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

export type Room = { room_id: RoomId, room_type: RoomType, created_at: number, updated_at: number, state: RoomState, 
/**
 * `""` when created through the Platform API.
 */
created_by: string, 
/**
 * `""` until deleted, and when deleted through the Platform API.
 */
deleted_by: string, 
/**
 * Participants that have not exited, oldest first.
 */
current_participants: Array<Participant>, custom_items: CustomItems, };

export type RoomType = "small_room_for_video" | "large_room_for_audio_only";

export type RoomState = "open" | "deleted";

export type Participant = { room_id: RoomId, participant_id: ParticipantId, entered_at: number, updated_at: number, exited_at: number | null, 
/**
 * Seconds between entering and exiting; `None` until the participant exits.
 */
duration: number | null, connected_at: number | null, client_id: ClientId, state: ParticipantState, user: User, is_audio_on: boolean, is_video_on: boolean, };

export type ParticipantState = "entered" | "connected" | "exited";

export type LiveEvent = { live_event_id: LiveEventId, host_type: HostType, state: LiveEventState, created_at: number, set_ready_at: number | null, started_at: number | null, ended_at: number | null, is_host_streaming: boolean, 
/**
 * The host currently present, `null` when nobody hosts.
 */
host: Host | null, 
/**
 * `""` when done through the Platform API (likewise for the other `*_by`).
 */
created_by: string, set_ready_by: string, started_by: string, ended_by: string, 
/**
 * Milliseconds from creation to end; 0 until ended.
 */
duration: number, participant_count: number, peak_participant_count: number, cumulative_participant_count: number, user_ids_for_host: Array<UserId>, custom_items: CustomItems, };

export type HostType = "single_host";

export type LiveEventState = "created" | "ready" | "ongoing" | "ended";

export type Host = { host_id: HostId, live_event_id: LiveEventId, client_id: ClientId, state: HostState, 
/**
 * Milliseconds from entering to exiting; 0 until the host exits.
 */
duration: number, entered_at: number, connected_at: number | null, disconnected_at: number | null, exited_at: number | null, is_audio_on: boolean, is_video_on: boolean, user: User, };

export type HostState = "entered" | "connected" | "disconnected" | "exited";

export type LiveEventParticipant = { participant_id: ParticipantId, live_event_id: LiveEventId, client_id: ClientId, state: LiveParticipantState, 
/**
 * Milliseconds from entering to exiting; 0 until the participant exits.
 */
duration: number, entered_at: number, exited_at: number | null, user: User, };

export type LiveParticipantState = "entered" | "exited";

export type User = { user_id: UserId, nickname: string, profile_url: string, metadata: { [key in string]: string }, is_active: boolean, role: string | null, };

export type CustomItems = { [key in string]: string };

export type RoomId = string;

export type ParticipantId = string;

export type LiveEventId = string;

export type HostId = string;

export type UserId = string;

export type ClientId = string;

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
client_id: ClientId, user: User, heartbeat_interval_ms: number, heartbeat_timeout_ms: number, reconnect_grace_ms: number, max_message_bytes: number, 
/**
 * Rooms in which this device still holds a participant, with fresh snapshots.
 */
resumed: Array<ResumedRoom>, 
/**
 * Live seats this device still holds, with fresh snapshots.
 */
resumed_live: Array<ResumedLive>, };

export type ResumedRoom = { room: Room, participant_id: ParticipantId, };

export type ResumedLive = { live_event: LiveEvent, } & ({ "role": "host", host_id: HostId, } | { "role": "participant", participant_id: ParticipantId, });

export type ResponseFrame<R = JsonValue> = { id: RequestId, result: R, };

export type ErrorFrame = { id: RequestId | null, code: number, message: string, };

export type Goodbye = { reason: GoodbyeReason, message: string, };

export type GoodbyeReason = "session_revoked" | "replaced" | "heartbeat_timeout" | "too_slow" | "resync" | "server_restart" | "session_expired";

export type RequestId = string;

export type WireError = { code: number, message: string, };

export type Request = { "type": "ping" } & Ping | { "type": "room.enter" } & RoomEnter | { "type": "room.exit" } & RoomExit | { "type": "room.set_media" } & RoomSetMedia | { "type": "media.offer" } & MediaOffer | { "type": "live.enter" } & LiveEnter | { "type": "live.exit" } & LiveExit | { "type": "live.set_ready" } & LiveSetReady | { "type": "live.start" } & LiveStart | { "type": "live.end" } & LiveEnd | { "type": "live.set_media" } & LiveSetMedia | { "type": "live.chat" } & LiveChat;

export type Ping = Record<symbol, never>;

export type RoomEnter = { room_id?: RoomId | null, 
/**
 * Default `true`.
 */
is_audio_on?: boolean | null, 
/**
 * Default `false`.
 */
is_video_on?: boolean | null, };

export type RoomExit = { room_id?: RoomId | null, };

export type RoomSetMedia = { room_id?: RoomId | null, is_audio_on?: boolean | null, is_video_on?: boolean | null, };

export type MediaOffer = { room_id?: RoomId | null, live_event_id?: LiveEventId | null, participant_id?: ParticipantId | null, sdp?: string | null, };

export type LiveRoleName = "host" | "participant";

export type LiveEnter = { live_event_id?: LiveEventId | null, role?: LiveRoleName | null, 
/**
 * Host only; default `true`.
 */
is_audio_on?: boolean | null, 
/**
 * Host only; default `true`.
 */
is_video_on?: boolean | null, };

export type LiveExit = { live_event_id?: LiveEventId | null, };

export type LiveSetReady = { live_event_id?: LiveEventId | null, };

export type LiveStart = { live_event_id?: LiveEventId | null, };

export type LiveEnd = { live_event_id?: LiveEventId | null, };

export type LiveSetMedia = { live_event_id?: LiveEventId | null, is_audio_on?: boolean | null, is_video_on?: boolean | null, };

export type LiveChat = { live_event_id?: LiveEventId | null, message?: string | null, };

export type Pong = Record<symbol, never>;

export type RoomEntered = { room: Room, participant: Participant, };

export type RoomExited = { participant: Participant, };

export type RoomMediaSet = { participant: Participant | null, };

export type LiveMember = { "host": Host } | { "participant": LiveEventParticipant };

export type LiveEntered = { live_event: LiveEvent, } & ({ "host": Host } | { "participant": LiveEventParticipant });

export type LiveEventResult = { live_event: LiveEvent, };

export type HostResult = { host: Host, };

export type MessageId = string;

export type ChatMessage = { message_id: MessageId, live_event_id: LiveEventId, user: User, role: LiveRoleName, message: string, sent_at: number, };

export type ChatSent = { message: ChatMessage, };

export type MemberRef = { "host_id": HostId } | { "participant_id": ParticipantId };

export type OfferAnswer = { live_event_id: LiveEventId, sdp: string, } & ({ "host_id": HostId } | { "participant_id": ParticipantId }) | { participant_id: ParticipantId, sdp: string, };

export type LiveSeat = { "role": "host", host_id: HostId, } | { "role": "participant", participant_id: ParticipantId, };

export type EventFrame = RoomEventFrame | LiveEventFrame;

export type RoomEventFrame = { room_id: RoomId, occurred_at: number, } & ({ "event": "room.participant_entered", "data": { participant: Participant, } } | { "event": "room.participant_connected", "data": { participant: Participant, } } | { "event": "room.participant_exited", "data": { participant: Participant, } } | { "event": "room.participant_media_changed", "data": { participant: Participant, } } | { "event": "room.custom_items_updated", "data": { custom_items: CustomItems, updated: Array<string>, } } | { "event": "room.custom_items_deleted", "data": { custom_items: CustomItems, deleted: Array<string>, } } | { "event": "room.deleted", "data": { room: Room, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, participant_id: ParticipantId | null, } } | { "event": "media.active_speakers", "data": { participant_ids: Array<ParticipantId>, } } | { "event": "media.disconnected", "data": { participant_id: ParticipantId, reason: MediaDisconnectReason, } });

export type LiveEventFrame = { live_event_id: LiveEventId, occurred_at: number, } & ({ "event": "live.ready", "data": { live_event: LiveEvent, } } | { "event": "live.started", "data": { live_event: LiveEvent, } } | { "event": "live.ended", "data": { live_event: LiveEvent, } } | { "event": "live.host_entered", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_connected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_disconnected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_exited", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_media_changed", "data": { host: Host, } } | { "event": "live.participant_entered", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.participant_exited", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.chat_message", "data": { message: ChatMessage, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, host_id: HostId | null, } } | { "event": "media.disconnected", "data": { reason: MediaDisconnectReason, } & ({ "host_id": HostId } | { "participant_id": ParticipantId }) });

export type RoomEvent = { "event": "room.participant_entered", "data": { participant: Participant, } } | { "event": "room.participant_connected", "data": { participant: Participant, } } | { "event": "room.participant_exited", "data": { participant: Participant, } } | { "event": "room.participant_media_changed", "data": { participant: Participant, } } | { "event": "room.custom_items_updated", "data": { custom_items: CustomItems, updated: Array<string>, } } | { "event": "room.custom_items_deleted", "data": { custom_items: CustomItems, deleted: Array<string>, } } | { "event": "room.deleted", "data": { room: Room, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, participant_id: ParticipantId | null, } } | { "event": "media.active_speakers", "data": { participant_ids: Array<ParticipantId>, } } | { "event": "media.disconnected", "data": { participant_id: ParticipantId, reason: MediaDisconnectReason, } };

export type LiveEventEvent = { "event": "live.ready", "data": { live_event: LiveEvent, } } | { "event": "live.started", "data": { live_event: LiveEvent, } } | { "event": "live.ended", "data": { live_event: LiveEvent, } } | { "event": "live.host_entered", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_connected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_disconnected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_exited", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_media_changed", "data": { host: Host, } } | { "event": "live.participant_entered", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.participant_exited", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.chat_message", "data": { message: ChatMessage, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, host_id: HostId | null, } } | { "event": "media.disconnected", "data": { reason: MediaDisconnectReason, } & ({ "host_id": HostId } | { "participant_id": ParticipantId }) };

export type MediaKind = "audio" | "video";

export type MediaDisconnectReason = "transport_lost" | "connect_timeout" | "failed";

export type OpenSession = { user_id?: string | null, access_token?: string | null, };

export type SessionOpened = { user_id: UserId, session_token: string, expires_at: number | null, user: User, };

export type HttpErrorBody = { error: boolean, code: number, message: string, };
