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

export type DirectCall = { call_id: DirectCallId, call_type: CallType, is_video_call: boolean, state: DirectCallState, 
/**
 * `null` until the call ends.
 */
end_result: EndResult | null, 
/**
 * The requesting user's side; only present when a request is scoped to a user.
 */
user_role?: DirectCallRole, 
/**
 * The caller, then the callee.
 */
participants: Array<DirectCallParticipant>, started_by: UserId, 
/**
 * Dial time.
 */
started_at: number, 
/**
 * When a callee device accepted (`null` if it never did).
 */
accepted_at: number | null, 
/**
 * When media first flowed both ways (`null` if it never did).
 */
connected_at: number | null, 
/**
 * The user whose action (or whose lost device) ended the call; `null` while ongoing.
 */
ended_by: UserId | null, ended_at: number | null, 
/**
 * Milliseconds from accept to end; 0 until an accepted call ends.
 */
duration: number, custom_items: CustomItems, };

export type CallType = "direct";

export type DirectCallState = "ringing" | "accepted" | "connected" | "ended";

export type EndResult = "completed" | "canceled" | "declined" | "no_answer" | "timed_out" | "connection_lost" | "unknown";

export type DirectCallRole = "dc_caller" | "dc_callee";

export type DirectCallParticipant = { user_id: UserId, nickname: string, profile_url: string, metadata: { [key in string]: string }, is_active: boolean, role: DirectCallRole, is_audio_on: boolean, is_video_on: boolean, };

export type DirectCallId = string;

export type ClientFrame = { id: RequestId, } & ({ "type": "ping" } & Ping | { "type": "room.enter" } & RoomEnter | { "type": "room.exit" } & RoomExit | { "type": "room.set_media" } & RoomSetMedia | { "type": "media.offer" } & MediaOffer | { "type": "media.set_layer_hint" } & MediaSetLayerHint | { "type": "live.enter" } & LiveEnter | { "type": "live.exit" } & LiveExit | { "type": "live.set_ready" } & LiveSetReady | { "type": "live.start" } & LiveStart | { "type": "live.end" } & LiveEnd | { "type": "live.set_media" } & LiveSetMedia | { "type": "live.chat" } & LiveChat | { "type": "call.dial" } & CallDial | { "type": "call.accept" } & CallAccept | { "type": "call.decline" } & CallDecline | { "type": "call.cancel" } & CallCancel | { "type": "call.end" } & CallEnd | { "type": "call.set_media" } & CallSetMedia);

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
resumed_live: Array<ResumedLive>, 
/**
 * STUN/TURN servers for the device's `RTCPeerConnection` (`iceServers`), with
 * time-limited TURN credentials; empty when the server has no TURN configured. Absent
 * from servers older than this field, hence the default.
 */
ice_servers: Array<IceServer>, 
/**
 * Direct calls not yet ended that this device dialed, accepted, or that ring on it.
 */
resumed_calls?: Array<DirectCall>, };

export type IceServer = { 
/**
 * `turn:host:port?transport=udp|tcp`, `turns:…` or `stun:…` URLs of one server.
 */
urls: Array<string>, 
/**
 * TURN REST API user name, `<expiry unix seconds>:<user id>`; absent for STUN.
 */
username?: string, 
/**
 * base64(HMAC-SHA1(shared secret, username)); absent for STUN.
 */
credential?: string, };

export type ResumedRoom = { room: Room, participant_id: ParticipantId, };

export type ResumedLive = { live_event: LiveEvent, } & ({ "role": "host", host_id: HostId, } | { "role": "participant", participant_id: ParticipantId, });

export type ResponseFrame<R = JsonValue> = { id: RequestId, result: R, };

export type ErrorFrame = { id: RequestId | null, code: number, message: string, };

export type Goodbye = { reason: GoodbyeReason, message: string, };

export type GoodbyeReason = "session_revoked" | "replaced" | "heartbeat_timeout" | "too_slow" | "resync" | "server_restart" | "session_expired";

export type RequestId = string;

export type WireError = { code: number, message: string, };

export type Request = { "type": "ping" } & Ping | { "type": "room.enter" } & RoomEnter | { "type": "room.exit" } & RoomExit | { "type": "room.set_media" } & RoomSetMedia | { "type": "media.offer" } & MediaOffer | { "type": "media.set_layer_hint" } & MediaSetLayerHint | { "type": "live.enter" } & LiveEnter | { "type": "live.exit" } & LiveExit | { "type": "live.set_ready" } & LiveSetReady | { "type": "live.start" } & LiveStart | { "type": "live.end" } & LiveEnd | { "type": "live.set_media" } & LiveSetMedia | { "type": "live.chat" } & LiveChat | { "type": "call.dial" } & CallDial | { "type": "call.accept" } & CallAccept | { "type": "call.decline" } & CallDecline | { "type": "call.cancel" } & CallCancel | { "type": "call.end" } & CallEnd | { "type": "call.set_media" } & CallSetMedia;

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

export type MediaOffer = { room_id?: RoomId | null, live_event_id?: LiveEventId | null, participant_id?: ParticipantId | null, 
/**
 * A direct call this device dialed or accepted.
 */
call_id?: DirectCallId | null, sdp?: string | null, };

export type MediaSetLayerHint = { room_id?: RoomId | null, live_event_id?: LiveEventId | null, call_id?: DirectCallId | null, mid?: string | null, max_height?: number | null, };

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

export type CallDial = { callee_id?: UserId | null, 
/**
 * Default `false`.
 */
is_video_call?: boolean | null, 
/**
 * The caller's initial audio; default `true`.
 */
is_audio_on?: boolean | null, 
/**
 * The caller's initial video; default `is_video_call`.
 */
is_video_on?: boolean | null, 
/**
 * Validated like the Platform API's custom items (at most 10, 128 characters, no comma
 * in a key).
 */
custom_items?: Record<string, string> | null, };

export type CallAccept = { call_id?: DirectCallId | null, 
/**
 * Default `true`.
 */
is_audio_on?: boolean | null, 
/**
 * Default: the call's `is_video_call`.
 */
is_video_on?: boolean | null, };

export type CallDecline = { call_id?: DirectCallId | null, };

export type CallCancel = { call_id?: DirectCallId | null, };

export type CallEnd = { call_id?: DirectCallId | null, };

export type CallSetMedia = { call_id?: DirectCallId | null, is_audio_on?: boolean | null, is_video_on?: boolean | null, };

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

export type OfferAnswer = { live_event_id: LiveEventId, sdp: string, } & ({ "host_id": HostId } | { "participant_id": ParticipantId }) | { participant_id: ParticipantId, sdp: string, } | { call_id: DirectCallId, sdp: string, };

export type LayerHintSet = { mid: string, 
/**
 * `null` = no cap.
 */
max_height: number | null, };

export type LiveSeat = { "role": "host", host_id: HostId, } | { "role": "participant", participant_id: ParticipantId, };

export type CallResult = { call: DirectCall, };

export type EventFrame = RoomEventFrame | LiveEventFrame | CallEventFrame;

export type RoomEventFrame = { room_id: RoomId, occurred_at: number, } & ({ "event": "room.participant_entered", "data": { participant: Participant, } } | { "event": "room.participant_connected", "data": { participant: Participant, } } | { "event": "room.participant_exited", "data": { participant: Participant, } } | { "event": "room.participant_media_changed", "data": { participant: Participant, } } | { "event": "room.custom_items_updated", "data": { custom_items: CustomItems, updated: Array<string>, } } | { "event": "room.custom_items_deleted", "data": { custom_items: CustomItems, deleted: Array<string>, } } | { "event": "room.deleted", "data": { room: Room, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, participant_id: ParticipantId | null, } } | { "event": "media.active_speakers", "data": { participant_ids: Array<ParticipantId>, } } | { "event": "media.disconnected", "data": { participant_id: ParticipantId, reason: MediaDisconnectReason, } });

export type LiveEventFrame = { live_event_id: LiveEventId, occurred_at: number, } & ({ "event": "live.ready", "data": { live_event: LiveEvent, } } | { "event": "live.started", "data": { live_event: LiveEvent, } } | { "event": "live.ended", "data": { live_event: LiveEvent, } } | { "event": "live.host_entered", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_connected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_disconnected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_exited", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_media_changed", "data": { host: Host, } } | { "event": "live.participant_entered", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.participant_exited", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.chat_message", "data": { message: ChatMessage, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, host_id: HostId | null, } } | { "event": "media.disconnected", "data": { reason: MediaDisconnectReason, } & ({ "host_id": HostId } | { "participant_id": ParticipantId }) });

export type RoomEvent = { "event": "room.participant_entered", "data": { participant: Participant, } } | { "event": "room.participant_connected", "data": { participant: Participant, } } | { "event": "room.participant_exited", "data": { participant: Participant, } } | { "event": "room.participant_media_changed", "data": { participant: Participant, } } | { "event": "room.custom_items_updated", "data": { custom_items: CustomItems, updated: Array<string>, } } | { "event": "room.custom_items_deleted", "data": { custom_items: CustomItems, deleted: Array<string>, } } | { "event": "room.deleted", "data": { room: Room, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, participant_id: ParticipantId | null, } } | { "event": "media.active_speakers", "data": { participant_ids: Array<ParticipantId>, } } | { "event": "media.disconnected", "data": { participant_id: ParticipantId, reason: MediaDisconnectReason, } };

export type LiveEventEvent = { "event": "live.ready", "data": { live_event: LiveEvent, } } | { "event": "live.started", "data": { live_event: LiveEvent, } } | { "event": "live.ended", "data": { live_event: LiveEvent, } } | { "event": "live.host_entered", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_connected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_disconnected", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_exited", "data": { live_event: LiveEvent, host: Host, } } | { "event": "live.host_media_changed", "data": { host: Host, } } | { "event": "live.participant_entered", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.participant_exited", "data": { live_event: LiveEvent, participant: LiveEventParticipant, } } | { "event": "live.chat_message", "data": { message: ChatMessage, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, host_id: HostId | null, } } | { "event": "media.disconnected", "data": { reason: MediaDisconnectReason, } & ({ "host_id": HostId } | { "participant_id": ParticipantId }) };

export type CallEventFrame = { call_id: DirectCallId, occurred_at: number, } & ({ "event": "call.dialed", "data": { call: DirectCall, } } | { "event": "call.accepted", "data": { call: DirectCall, } } | { "event": "call.other_device_accepted", "data": { call: DirectCall, } } | { "event": "call.connected", "data": { call: DirectCall, } } | { "event": "call.media_changed", "data": { call: DirectCall, user_id: UserId, is_audio_on: boolean, is_video_on: boolean, } } | { "event": "call.media_lost", "data": { call: DirectCall, user_id: UserId, } } | { "event": "call.media_recovered", "data": { call: DirectCall, user_id: UserId, } } | { "event": "call.custom_items_updated", "data": { call: DirectCall, updated: Array<string>, } } | { "event": "call.custom_items_deleted", "data": { call: DirectCall, deleted: Array<string>, } } | { "event": "call.ended", "data": { call: DirectCall, end_result: EndResult, ended_by: UserId | null, duration: number, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, user_id: UserId | null, } } | { "event": "media.disconnected", "data": { user_id: UserId, reason: MediaDisconnectReason, } });

export type CallEvent = { "event": "call.dialed", "data": { call: DirectCall, } } | { "event": "call.accepted", "data": { call: DirectCall, } } | { "event": "call.other_device_accepted", "data": { call: DirectCall, } } | { "event": "call.connected", "data": { call: DirectCall, } } | { "event": "call.media_changed", "data": { call: DirectCall, user_id: UserId, is_audio_on: boolean, is_video_on: boolean, } } | { "event": "call.media_lost", "data": { call: DirectCall, user_id: UserId, } } | { "event": "call.media_recovered", "data": { call: DirectCall, user_id: UserId, } } | { "event": "call.custom_items_updated", "data": { call: DirectCall, updated: Array<string>, } } | { "event": "call.custom_items_deleted", "data": { call: DirectCall, deleted: Array<string>, } } | { "event": "call.ended", "data": { call: DirectCall, end_result: EndResult, ended_by: UserId | null, duration: number, } } | { "event": "media.track", "data": { mid: string, kind: MediaKind, user_id: UserId | null, } } | { "event": "media.disconnected", "data": { user_id: UserId, reason: MediaDisconnectReason, } };

export type MediaKind = "audio" | "video";

export type MediaDisconnectReason = "transport_lost" | "connect_timeout" | "failed";

export type OpenSession = { user_id?: string | null, access_token?: string | null, };

export type SessionOpened = { user_id: UserId, session_token: string, expires_at: number | null, user: User, };

export type HttpErrorBody = { error: boolean, code: number, message: string, };
