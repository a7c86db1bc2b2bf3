import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import {
  MAX_DATA_BYTES,
  MAX_DURATION_MS,
  MAX_PROCESSES,
  MAX_RATE,
  MAX_SUBSCRIBERS,
  MAX_SUBSCRIBERS_PER_PROCESS,
  MAX_TOKEN_LENGTH,
  MAX_TOPIC_LENGTH,
} from "../loadtest/limits.ts";
import { reportTable } from "../loadtest/report-table.ts";
import { type LoadtestOptions, runLoadtest } from "../loadtest/run-loadtest.ts";
import { MAX_STAMP_BYTES } from "../loadtest/stamps.ts";
import { parseDuration } from "./duration.ts";
import { UsageError } from "./usage-error.ts";

/** The help text of `quicksilver loadtest`. */
export const LOADTEST_USAGE = `Usage: quicksilver loadtest <hub-url> [options]

Opens subscribers on a Mercure hub, publishes to them at a steady rate, and reports what arrived:
deliveries expected and received, deliveries/s, and publish-to-receipt latency. Any Mercure hub
can be tested; run it on the machine the hub's clients would be on, and never against a hub in
production use without its operator's consent.

  --subscribers N          subscribers to open (1 to ${MAX_SUBSCRIBERS})              [100]
  --rate R                 updates per second (up to ${MAX_RATE})                    [10]
  --duration D             how long to publish: 30s, 2m, 1m30s (a bare number is seconds;
                           up to 1h)                                            [10s]
  --topic T                the topic to publish to and subscribe to     [a unique urn:uuid]
  --size BYTES             bytes of data per update (${MAX_STAMP_BYTES} to ${MAX_DATA_BYTES})        [64]
  --token T                the publisher's token (a JWT)
  --token-env NAME         read the publisher's token from environment variable NAME
  --subscriber-token T     the subscribers' token (sent as Authorization: Bearer)
  --subscriber-token-env NAME
                           read the subscribers' token from environment variable NAME
  --legacy                 subscribe with topic= (the legacy dialect) instead of match=
  --processes K            subscriber processes (up to ${MAX_PROCESSES}; each holds at most
                           ${MAX_SUBSCRIBERS_PER_PROCESS} subscribers)                          [1]
  --json                   print the report as JSON

Exits 0 once the run completes, losses included (the report says what was lost), 1 when the hub
cannot be reached or refuses the publisher, 2 on a usage error. Tokens are never printed.
`;

/** Where the command writes. */
export interface LoadtestOutput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** `quicksilver loadtest`: runs the test and prints its report; resolves with the exit status. */
export async function loadtestCommand(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  output: LoadtestOutput,
): Promise<number> {
  const { options, json } = loadtestOptions(args, env);
  const outcome = await runLoadtest(options, json ? undefined : (line) => output.stderr(`${line}…\n`));
  if ("code" in outcome) {
    output.stderr(`quicksilver: ${outcome.message}\n`);
    if (json) output.stdout(`${JSON.stringify({ error: outcome }, null, 2)}\n`);
    return 1;
  }
  output.stdout(json ? `${JSON.stringify(outcome, null, 2)}\n` : reportTable(outcome));
  return 0;
}

/** The run the arguments ask for; throws UsageError on anything out of bounds. */
export function loadtestOptions(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { options: LoadtestOptions; json: boolean } {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      subscribers: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      topic: { type: "string" },
      size: { type: "string" },
      token: { type: "string" },
      "token-env": { type: "string" },
      "subscriber-token": { type: "string" },
      "subscriber-token-env": { type: "string" },
      legacy: { type: "boolean" },
      processes: { type: "string" },
      json: { type: "boolean" },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError("give one hub URL, such as https://example.com/.well-known/mercure");
  const hub = hubUrl(positionals[0]!);
  const subscribers = wholeNumber(
    "--subscribers",
    values.subscribers ?? "100",
    1,
    MAX_SUBSCRIBERS,
    "MAX_SUBSCRIBERS",
  );
  const processes = wholeNumber("--processes", values.processes ?? "1", 1, MAX_PROCESSES, "MAX_PROCESSES");
  const perProcess = Math.ceil(subscribers / processes);
  if (perProcess > MAX_SUBSCRIBERS_PER_PROCESS) {
    throw new UsageError(
      `--processes ${processes} puts ${perProcess} subscribers in a process, above MAX_SUBSCRIBERS_PER_PROCESS (${MAX_SUBSCRIBERS_PER_PROCESS}); give --processes ${Math.ceil(subscribers / MAX_SUBSCRIBERS_PER_PROCESS)} or more`,
    );
  }
  const rate = positiveNumber("--rate", values.rate ?? "10", MAX_RATE, "MAX_RATE");
  const durationMs = duration(values.duration ?? "10s");
  if (Math.round((rate * durationMs) / 1000) < 1)
    throw new UsageError(
      `--rate ${rate} for --duration ${values.duration} publishes no update: raise either`,
    );
  const dataBytes = wholeNumber(
    "--size",
    values.size ?? "64",
    MAX_STAMP_BYTES,
    MAX_DATA_BYTES,
    "MAX_DATA_BYTES",
  );
  const topic = values.topic ?? `urn:uuid:${randomUUID()}`;
  if (topic === "" || topic.length > MAX_TOPIC_LENGTH)
    throw new UsageError(`--topic must have 1 to ${MAX_TOPIC_LENGTH} characters (MAX_TOPIC_LENGTH)`);
  const publisherToken = token("--token", values.token, values["token-env"], env);
  const subscriberToken = token(
    "--subscriber-token",
    values["subscriber-token"],
    values["subscriber-token-env"],
    env,
  );
  return {
    options: {
      hub,
      subscribers,
      rate,
      durationMs,
      topic,
      dataBytes,
      dialect: values.legacy === true ? "legacy" : "draft",
      processes,
      ...(publisherToken === undefined ? {} : { publisherToken }),
      ...(subscriberToken === undefined ? {} : { subscriberToken }),
    },
    json: values.json === true,
  };
}

/** An http or https URL without credentials, query or fragment (the subscribe query is ours). */
function hubUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`the hub URL is not a URL: ${text.slice(0, 200)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UsageError(`the hub URL must be http or https, got ${url.protocol}`);
  if (url.username !== "" || url.password !== "")
    throw new UsageError("the hub URL must not carry credentials: give a token with --token or --token-env");
  if (url.search !== "" || url.hash !== "")
    throw new UsageError("the hub URL must have no query and no fragment");
  return url;
}

function wholeNumber(flag: string, text: string, min: number, max: number, limit: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max))
    throw new UsageError(
      `${flag} takes a whole number from ${min} to ${max} (${limit}), got ${text.slice(0, 50)}`,
    );
  return value;
}

function positiveNumber(flag: string, text: string, max: number, limit: string): number {
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(value > 0 && value <= max))
    throw new UsageError(`${flag} takes a number above 0, up to ${max} (${limit}), got ${text.slice(0, 50)}`);
  return value;
}

/** A duration such as 30s or 1m30s; a bare number is seconds. */
function duration(text: string): number {
  const ms = /^\d+(\.\d+)?$/.test(text) ? Math.round(Number(text) * 1000) : parseDuration(text);
  if (ms === undefined || ms <= 0 || ms > MAX_DURATION_MS)
    throw new UsageError(
      `--duration takes a duration above 0, up to 1h (MAX_DURATION_MS), such as 30s or 1m30s; got ${text.slice(0, 50)}`,
    );
  return ms;
}

/**
 * A token given as is or by environment variable name; undefined when neither is given. Only
 * RFC 6750's token characters are taken, as the token goes into a request head as is.
 */
function token(
  flag: string,
  given: string | undefined,
  envName: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (given !== undefined && envName !== undefined)
    throw new UsageError(`give ${flag} or ${flag}-env, not both`);
  if (given === undefined && envName === undefined) return undefined;
  const value = given ?? env[envName!];
  if (value === undefined || value === "")
    throw new UsageError(`${flag}-env names ${envName}, which is not set or empty`);
  // The message never quotes the token: it is a secret.
  if (value.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9\-._~+/]+=*$/.test(value))
    throw new UsageError(
      `${given !== undefined ? flag : `${flag}-env ${envName}`} is not a bearer token (at most ${MAX_TOKEN_LENGTH} characters (MAX_TOKEN_LENGTH) of letters, digits and -._~+/)`,
    );
  return value;
}
