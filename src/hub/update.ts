import { randomUUID } from "node:crypto";
import type { PublishFields } from "../protocol/publish-request.ts";
import { encodeEvent } from "../protocol/sse-encoder.ts";

/**
 * What an update is. A `subscription` event is one the hub creates itself as a subscription begins
 * or ends (draft, "Active Subscriptions"); only the hub sets this, never a publisher, so no
 * published update is ever taken for one, whatever its topic. Transports keep subscription events
 * apart from published updates, under their own bound: subscribing must never evict history.
 */
export type UpdateKind = "update" | "subscription";

/**
 * An update as the hub holds it: immutable fields and its SSE event serialized once. Every
 * subscriber is handed the same `frame` bytes. Its place in history is the transport's to keep (a
 * `Position`, given beside the update, never written into it).
 */
export interface Update {
  readonly kind: UpdateKind;
  readonly id: string;
  /** The canonical topic first, then the alternate topics. */
  readonly topics: readonly string[];
  readonly data: string;
  readonly type: string | undefined;
  readonly retry: string | undefined;
  readonly private: boolean;
  readonly frame: Buffer;
}

/** Generated ids are UUID IRIs: opaque and random, so a cursor discloses nothing (draft, "Reconciliation"). */
export function generateId(): string {
  return `urn:uuid:${randomUUID()}`;
}

export function createUpdate(fields: PublishFields, kind: UpdateKind = "update"): Update {
  const id = fields.id ?? generateId();
  return {
    kind,
    id,
    topics: fields.topics,
    data: fields.data,
    type: fields.type,
    retry: fields.retry,
    private: fields.private,
    frame: Buffer.from(encodeEvent({ id, type: fields.type, retry: fields.retry, data: fields.data })),
  };
}

/**
 * Whether two updates are one publish repeated: the same id and the same fields. A publisher that
 * retries with the id it chose (its answer was lost) sends exactly this, and a transport then
 * acknowledges the update it holds instead of storing it twice.
 */
export function isRepeatOf(update: Update, kept: Update): boolean {
  return (
    update.kind === kept.kind &&
    update.id === kept.id &&
    update.data === kept.data &&
    update.type === kept.type &&
    update.retry === kept.retry &&
    update.private === kept.private &&
    update.topics.length === kept.topics.length &&
    update.topics.every((topic, i) => topic === kept.topics[i])
  );
}
