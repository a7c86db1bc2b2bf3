import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_PUBLISH_RETRIES, type PublishUpdate, publish } from "../client/publish.ts";
import { clientToken, hubUrlOf } from "./client-arguments.ts";
import { UsageError } from "./resolve-config.ts";

/** The variable the publisher's token is read from when neither --token nor --token-env is given. */
export const PUBLISHER_TOKEN_ENV = "MERCURE_PUBLISHER_TOKEN";

export const PUBLISH_USAGE = `Usage: quicksilver publish <hub> --topic TOPIC [options]

Publishes one update to the hub (its URL, such as https://example.com/.well-known/mercure) and
prints its id. A lost connection, a 503 or a 429 is retried with the same id: the hub delivers the
update once. Exits with 0 once published, 1 when the hub refused it or could not be reached, 2 on
a usage error.

  --topic TOPIC            the topic (repeatable: the first is canonical, the others alternates)
  --data TEXT              the data                                   [empty]
  --data-file FILE         read the data from a file, as is; - reads standard input
  --private                deliver only to subscribers the token lets read one of the topics
  --id ID                  the update's id                            [a random urn:uuid]
  --type TYPE              the SSE event type
  --retry MS               the reconnection delay subscribers are told, in milliseconds
  --token TOKEN            the publisher's access token (visible to other users in the process
                           list: prefer --token-env)                  [$${PUBLISHER_TOKEN_ENV}]
  --token-env NAME         read the token from the environment variable NAME
  --legacy                 spell private as the hub's 0.x versions expect (private=on)
  --retries N              attempts after the first                   [${DEFAULT_PUBLISH_RETRIES}]
  --json                   print {"id": ..., "attempts": ...} instead of the id
`;

/**
 * `quicksilver publish`: what to print on success. Usage mistakes throw UsageError; a refusal of
 * the hub, or a hub that cannot be reached, rejects with the client's MercureError.
 */
export async function publishCommand(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readStdin: () => string = () => readFileSync(0, "utf8"),
): Promise<string> {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      topic: { type: "string", multiple: true },
      data: { type: "string" },
      "data-file": { type: "string" },
      private: { type: "boolean" },
      id: { type: "string" },
      type: { type: "string" },
      retry: { type: "string" },
      token: { type: "string" },
      "token-env": { type: "string" },
      legacy: { type: "boolean" },
      retries: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const hub = hubUrlOf(positionals);
  const topics = values.topic ?? [];
  if (topics.length === 0) throw new UsageError("give --topic, the topic of the update (repeatable)");
  if (topics.some((topic) => topic === "")) throw new UsageError("--topic must not be empty");
  if (values.data !== undefined && values["data-file"] !== undefined) {
    throw new UsageError("give --data or --data-file, not both");
  }
  if (values.retry !== undefined && !/^\d+$/.test(values.retry)) {
    throw new UsageError(`--retry takes milliseconds in digits, got ${values.retry}`);
  }
  if (values.retries !== undefined && !/^\d{1,3}$/.test(values.retries)) {
    throw new UsageError(`--retries takes a number of attempts from 0 to 999, got ${values.retries}`);
  }
  const token = clientToken(values.token, values["token-env"], env, PUBLISHER_TOKEN_ENV);
  const data = values["data-file"] === undefined ? values.data : readData(values["data-file"], readStdin);

  const update: PublishUpdate = {
    topic: topics,
    ...(data === undefined ? {} : { data }),
    ...(values.private === true ? { private: true } : {}),
    ...(values.id === undefined ? {} : { id: values.id }),
    ...(values.type === undefined ? {} : { type: values.type }),
    ...(values.retry === undefined ? {} : { retry: Number(values.retry) }),
  };
  const result = await publish(hub, update, {
    ...(token === undefined ? {} : { token }),
    dialect: values.legacy === true ? "legacy" : "draft",
    ...(values.retries === undefined ? {} : { retries: Number(values.retries) }),
  });
  return values.json === true ? JSON.stringify({ id: result.id, attempts: result.attempts }) : result.id;
}

function readData(file: string, readStdin: () => string): string {
  try {
    return file === "-" ? readStdin() : readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(
      `--data-file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
}
