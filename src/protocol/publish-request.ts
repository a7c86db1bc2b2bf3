import { hasForbiddenCharacter } from "./characters.ts";
import { EARLIEST } from "./cursor.ts";
import { ProtocolError } from "./problems.ts";
import { isReservedTopic } from "./reserved-namespace.ts";

/** An update as a publisher asked for it, validated. */
export interface PublishFields {
  readonly topics: readonly string[];
  readonly data: string;
  readonly id: string | undefined;
  readonly type: string | undefined;
  readonly retry: string | undefined;
  readonly private: boolean;
}

export interface PublishContext {
  readonly hubUrl: string;
  readonly hubPath: string;
  readonly maxTopics: number;
}

const DIGITS = /^[0-9]+$/;

/**
 * Turns publish form fields into an update, or throws the ProtocolError that explains the
 * refusal. Single-valued fields take their first occurrence; empty `id`, `type` and `retry` count
 * as absent; unknown fields are ignored (draft, "Publication").
 */
export function parsePublishForm(
  fields: readonly (readonly [string, string])[],
  context: PublishContext,
): PublishFields {
  const topics: string[] = [];
  let data: string | undefined;
  let id: string | undefined;
  let type: string | undefined;
  let retry: string | undefined;
  let isPrivate = false;
  for (const [name, value] of fields) {
    switch (name) {
      case "topic":
        topics.push(value);
        if (topics.length > context.maxTopics) {
          throw new ProtocolError(
            "too_many_topics",
            `an update may have at most ${context.maxTopics} topics (maxTopics)`,
          );
        }
        break;
      case "data":
        data ??= value;
        break;
      case "id":
        id ??= value;
        break;
      case "type":
        type ??= value;
        break;
      case "retry":
        retry ??= value;
        break;
      case "private":
        // Presence alone marks the update private, whatever the value (draft, "Publication").
        isPrivate = true;
        break;
    }
  }
  if (topics.length === 0) throw new ProtocolError("topic_missing", "give at least one topic field");
  for (const topic of topics) validateTopic(topic, context);
  if (id === "") id = undefined;
  if (type === "") type = undefined;
  if (retry === "") retry = undefined;
  if (id !== undefined) validateId(id);
  if (type !== undefined) validateType(type);
  if (retry !== undefined && !DIGITS.test(retry)) {
    throw new ProtocolError("retry_invalid", "retry must be a number of milliseconds in ASCII digits");
  }
  return { topics, data: data ?? "", id, type, retry, private: isPrivate };
}

function validateTopic(topic: string, context: PublishContext): void {
  if (topic === "") throw new ProtocolError("topic_missing", "a topic field is empty");
  if (topic === "*") {
    throw new ProtocolError("topic_wildcard", "* is the wildcard matcher and cannot be a topic");
  }
  if (hasForbiddenCharacter(topic)) {
    throw new ProtocolError("topic_invalid", "a topic contains a control or Unicode format character");
  }
  if (isReservedTopic(topic, context.hubUrl, context.hubPath)) {
    throw new ProtocolError(
      "topic_reserved",
      `topics under ${context.hubPath} are reserved for events the hub generates itself`,
    );
  }
}

function validateId(id: string): void {
  // `#…` ids are the hub's own fragments and `earliest` is the reserved cursor (draft, "Reconciliation").
  if (id.startsWith("#")) throw new ProtocolError("id_invalid", "an id must not start with #");
  if (id === EARLIEST) throw new ProtocolError("id_invalid", `${EARLIEST} is a reserved cursor value`);
  // The id travels in the SSE stream and in the Last-Event-ID header: no line breaks, no controls.
  if (hasForbiddenCharacter(id)) {
    throw new ProtocolError("id_invalid", "an id must not contain control or Unicode format characters");
  }
}

function validateType(type: string): void {
  // `mercure` is the type of the hub's subscription events: a publisher must not forge them.
  if (type === "mercure") throw new ProtocolError("type_invalid", "the type mercure is reserved for the hub");
  if (hasForbiddenCharacter(type)) {
    throw new ProtocolError("type_invalid", "a type must not contain control or Unicode format characters");
  }
}
