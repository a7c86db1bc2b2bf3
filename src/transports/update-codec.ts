import { createUpdate, type Update, type UpdateKind } from "../hub/update.ts";

/**
 * An update as it travels between processes (a Redis Stream entry, a worker's message to its
 * primary): its fields, never its frame, which the receiving process serializes once itself.
 */
interface EncodedUpdate {
  readonly k: UpdateKind;
  readonly i: string;
  readonly t: readonly string[];
  readonly d: string;
  readonly y?: string;
  readonly r?: string;
  readonly p?: 1;
}

export function encodeUpdate(update: Update): string {
  const encoded: EncodedUpdate = {
    k: update.kind,
    i: update.id,
    t: update.topics,
    d: update.data,
    ...(update.type === undefined ? {} : { y: update.type }),
    ...(update.retry === undefined ? {} : { r: update.retry }),
    ...(update.private ? { p: 1 } : {}),
  };
  return JSON.stringify(encoded);
}

/** The update `encodeUpdate` made. Throws on anything else: a store another program wrote into. */
export function decodeUpdate(text: string): Update {
  const encoded = JSON.parse(text) as Partial<EncodedUpdate>;
  if (
    (encoded.k !== "update" && encoded.k !== "subscription") ||
    typeof encoded.i !== "string" ||
    !Array.isArray(encoded.t) ||
    encoded.t.length === 0 ||
    !encoded.t.every((topic) => typeof topic === "string") ||
    typeof encoded.d !== "string" ||
    (encoded.y !== undefined && typeof encoded.y !== "string") ||
    (encoded.r !== undefined && typeof encoded.r !== "string")
  ) {
    throw new SyntaxError("not an encoded update");
  }
  return createUpdate(
    {
      topics: encoded.t,
      data: encoded.d,
      id: encoded.i,
      type: encoded.y,
      retry: encoded.r,
      private: encoded.p === 1,
    },
    encoded.k,
  );
}
