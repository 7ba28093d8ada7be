/**
 * Typed requests: each request `type` of the protocol with its parameters and its result,
 * both taken from the generated declarations (`protocol.d.ts`). Only the pairing of a
 * request with its result lives here (it mirrors `Call::Output` in crates/protocol).
 */
import type * as wire from './protocol.js';

/** The result type of each request type. */
export interface RequestResults {
  ping: wire.Pong;
  'room.enter': wire.RoomEntered;
  'room.exit': wire.RoomExited;
  'room.set_media': wire.RoomMediaSet;
  'media.offer': wire.OfferAnswer;
  'media.set_layer_hint': wire.LayerHintSet;
  'live.enter': wire.LiveEntered;
  'live.exit': wire.LiveMember;
  'live.set_ready': wire.LiveEventResult;
  'live.start': wire.LiveEventResult;
  'live.end': wire.LiveEventResult;
  'live.set_media': wire.HostResult;
  'live.chat': wire.ChatSent;
  'call.dial': wire.CallResult;
  'call.accept': wire.CallResult;
  'call.decline': wire.CallResult;
  'call.cancel': wire.CallResult;
  'call.end': wire.CallResult;
  'call.set_media': wire.CallResult;
}

/** A request type the protocol defines. */
export type RequestType = wire.Request['type'];

/** The parameters of request `T` (the frame without `id` and `type`). */
export type RequestParams<T extends RequestType> = Omit<Extract<wire.Request, { type: T }>, 'type'>;

/** The result of request `T`. */
export type RequestResult<T extends RequestType> = T extends keyof RequestResults ? RequestResults[T] : wire.JsonValue;
