/**
 * `ClientLink`: what a room or live event needs from its client (requests, ICE servers,
 * being forgotten once left). Keeps the model objects independent of `Client` itself.
 */
import type { ProbeResult } from './recovery.js';
import type { RequestParams, RequestResult, RequestType } from './requests.js';

export interface ClientLink {
  request<T extends RequestType>(type: T, params: RequestParams<T>): Promise<RequestResult<T>>;
  /** The ICE servers (STUN/TURN) to give every new RTCPeerConnection. */
  iceServers(): RTCIceServer[];
  /** Checks the signaling socket, replacing it at once if it doesn't answer (recovery.ts). */
  probe(timeoutMs: number): Promise<ProbeResult>;
  /** The object was left: stop routing events to it. */
  forget(call: object): void;
}
