import { parseArgs } from "node:util";
import { MercureError } from "../client/errors.ts";
import { subscribe } from "../client/subscribe.ts";
import type { MercureMessage } from "../client/subscription.ts";
import { clientToken, hubUrlOf } from "./client-arguments.ts";
import { UsageError } from "./resolve-config.ts";

/** The variable the subscriber's token is read from when neither --token nor --token-env is given. */
export const SUBSCRIBER_TOKEN_ENV = "MERCURE_SUBSCRIBER_TOKEN";

export const SUBSCRIBE_USAGE = `Usage: quicksilver subscribe <hub> --match TOPIC [options]

Subscribes to the hub (its URL, such as https://example.com/.well-known/mercure) and prints each
update as it arrives, until interrupted (or --count updates). Reconnects by itself after a network
loss, resuming from the last update received. Exits with 0 when interrupted or after --count
updates, 1 when the hub refused the subscription, 2 on a usage error.

  --match TOPIC            an exact topic, or * (repeatable)
  --match-urlpattern P     a URL Pattern, such as https://example.com/books/:id (repeatable)
  --topic SELECTOR         a topic selector of the legacy dialect (repeatable; with --legacy)
  --legacy                 speak the dialect of the hub's 0.x versions (topic=, lastEventID=)
  --last-event-id ID       start after this update (earliest: everything the hub keeps)
  --token TOKEN            the subscriber's access token (visible to other users in the process
                           list: prefer --token-env)                  [$${SUBSCRIBER_TOKEN_ENV}]
  --token-env NAME         read the token from the environment variable NAME
  --count N                exit after N updates
  --json                   print one JSON object per line: {"id", "type", "data", "received"}

When the stream opens (again), each reconnection, and gaps in history (updates that may have been
missed) are told on standard error.
`;

/** Where the command writes: standard output for updates, standard error for what happens. */
export interface SubscribeOutput {
  out(line: string): void;
  note(line: string): void;
}

/**
 * `quicksilver subscribe`: resolves once done (interrupted through `signal`, or --count updates).
 * Usage mistakes throw UsageError; a refusal of the hub rejects with the client's MercureError.
 */
export async function subscribeCommand(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  output: SubscribeOutput,
  signal?: AbortSignal,
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      match: { type: "string", multiple: true },
      "match-urlpattern": { type: "string", multiple: true },
      topic: { type: "string", multiple: true },
      legacy: { type: "boolean" },
      "last-event-id": { type: "string" },
      token: { type: "string" },
      "token-env": { type: "string" },
      count: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const hub = hubUrlOf(positionals);
  const match = values.match ?? [];
  const patterns = values["match-urlpattern"] ?? [];
  const topics = values.topic ?? [];
  if (match.length + patterns.length + topics.length === 0) {
    throw new UsageError("give --match (or --match-urlpattern): what to subscribe to");
  }
  if (topics.length > 0 && values.legacy !== true) {
    throw new UsageError("--topic is the legacy dialect's selector: use --match, or add --legacy");
  }
  if (values.count !== undefined && !/^[1-9]\d{0,8}$/.test(values.count)) {
    throw new UsageError(`--count takes a number of updates from 1, got ${values.count}`);
  }
  const count = values.count === undefined ? undefined : Number(values.count);
  const token = clientToken(values.token, values["token-env"], env, SUBSCRIBER_TOKEN_ENV);

  const subscription = subscribe<unknown>(hub, {
    ...(match.length > 0 ? { match } : {}),
    ...(patterns.length > 0 ? { matchUrlPattern: patterns } : {}),
    ...(topics.length > 0 ? { topic: topics } : {}),
    dialect: values.legacy === true ? "legacy" : "draft",
    ...(token === undefined ? {} : { token }),
    ...(values["last-event-id"] === undefined ? {} : { lastEventId: values["last-event-id"] }),
    // Printed as received: the command does not interpret the data.
    parse: (data) => data,
    share: false,
    ...(signal === undefined ? {} : { signal }),
  });
  subscription.on("open", ({ anchor }) =>
    output.note(anchor === undefined ? "subscribed" : `subscribed, resuming after ${anchor}`),
  );
  subscription.on("reconnecting", ({ delayMs }) =>
    output.note(`connection lost: reconnecting in ${Math.round(delayMs)} ms`),
  );
  subscription.on("gap", ({ requested, anchor }) =>
    output.note(
      anchor === "earliest"
        ? `the hub no longer has ${requested}: everything it keeps follows, updates may have been missed`
        : `the hub resumed after ${anchor}, not ${requested}: updates may have been missed`,
    ),
  );
  let received = 0;
  try {
    for await (const message of subscription) {
      output.out(values.json === true ? asJson(message) : asText(message));
      if (count !== undefined && ++received >= count) break;
    }
  } catch (error) {
    if (error instanceof MercureError) throw error;
    throw new MercureError("the subscription failed", { cause: error });
  } finally {
    subscription.close();
  }
}

function asJson(message: MercureMessage<unknown>): string {
  return JSON.stringify({
    id: message.id,
    type: message.type,
    data: message.raw,
    received: new Date().toISOString(),
  });
}

/** `id` (and the type when it is not `message`), then the data, each line indented, then a blank line. */
function asText(message: MercureMessage<unknown>): string {
  const head = message.type === "message" ? message.id : `${message.id} (${message.type})`;
  const data = message.raw.split("\n").map((line) => `  ${printable(line)}`);
  return [printable(head), ...data, ""].join("\n");
}

/**
 * The text with its control characters (tab aside) shown as `\u001b`: whoever publishes must not
 * drive the terminal of whoever reads (escape sequences can rewrite the screen or the title).
 */
function printable(text: string): string {
  return text.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
