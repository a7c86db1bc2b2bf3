import { QuicksilverError } from "../protocol/quicksilver-error.ts";

/** The one stable code of `TransportError`: the message names the store and the cause. */
export const TRANSPORT_ERROR_CODES = ["transport_failed"] as const;

export type TransportErrorCode = (typeof TRANSPORT_ERROR_CODES)[number];

/**
 * A transport cannot store or read history (a disk full, a broken database): the publish is
 * refused with `503` rather than acknowledged, and the hub refuses to start on a store it cannot
 * open. The message names the store and the cause.
 */
export class TransportError extends QuicksilverError {
  override name = "TransportError";
  readonly code: TransportErrorCode = "transport_failed";
}
