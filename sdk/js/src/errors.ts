/**
 * The one error type of the SDK: every rejected promise carries an `OpenCallsError` with a
 * numeric `code` and a human `message`. Codes from the server (docs/protocol.md §6, e.g.
 * 400200, 1400120) pass through unchanged; the SDK's own codes are listed in `ErrorCode`.
 */

/** The SDK's own error codes (the server's are six or seven digits and never collide). */
export const ErrorCode = {
  /** The server did not answer a request within `requestTimeoutMs`. */
  RequestTimeout: 1001,
  /** The connection dropped while a request was in flight (it may or may not have run). */
  ConnectionLost: 1002,
  /** The client is disconnected for good (`disconnect()`, revoked session, replaced device). */
  Disconnected: 1003,
  /** The WebSocket could not be opened. */
  ConnectionFailed: 1004,
  /** The camera or microphone could not be opened (permission, device missing, insecure page). */
  MediaUnavailable: 1005,
  /** The server sent something this SDK cannot read. */
  ProtocolViolation: 1006,
  /** The object was already left / ended and cannot be used any more. */
  InvalidState: 1007,
  /** This browser cannot do it (e.g. choosing the audio output without `setSinkId`). */
  Unsupported: 1008,
} as const;

/** One of `ErrorCode`'s values. */
export type SdkErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A failed operation: `code` (a server error code or an `ErrorCode`) and `message`. */
export class OpenCallsError extends Error {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.name = 'OpenCallsError';
    this.code = code;
  }
}
