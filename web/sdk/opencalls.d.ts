/**
 * The OpenCalls browser SDK (ES module, no dependencies).
 *
 * ```js
 * import { connect } from '/sdk/opencalls.js';
 * const client = await connect({ userId, accessToken });
 * const room = await client.enterRoom(roomId);
 * room.on('trackSubscribed', (track, participant) => grid.append(participant.attach()));
 * await room.leave();
 * ```
 * See docs/sdk-js.md.
 */
export { CallParticipant, DirectCall } from './call.js';
export type { CallEnding, CallMediaOptions, DialOptions, DirectCallEvents } from './call.js';
export { Client, connect } from './client.js';
export type { ClientEvents, ConnectOptions } from './client.js';
export { openSession } from './connection.js';
export type { ConnectionOptions, ConnectionState } from './connection.js';
export type { InputKind } from './control.js';
export type { EventMap, Listener } from './emitter.js';
export { Emitter } from './emitter.js';
export { ErrorCode, OpenCallsError } from './errors.js';
export type { SdkErrorCode } from './errors.js';
export type { MediaOptions } from './link.js';
export { LiveEvent } from './live.js';
export type { RecoveryOptions } from './recovery.js';
export type { EnterLiveEventOptions, LiveEventEvents, LiveLeaveReason, LiveParticipant, LiveRole } from './live.js';
export { listDevices, mediaAvailable } from './media.js';
export type { DeviceChoice } from './media.js';
export { audioOutputSupported, Host, Member, Participant, Track } from './model.js';
export type { ChatMessage, TrackKind, User } from './model.js';
export type { RequestParams, RequestResult, RequestResults, RequestType } from './requests.js';
export { Room } from './room.js';
export type { EnterRoomOptions, LeaveReason, RoomEvents } from './room.js';
/** The wire types of the protocol (generated from the server's Rust types). */
export type * as wire from './protocol.js';
