import { createClient, type RedisClientType } from "@redis/client";
import { TransportError } from "../hub/transport.ts";

export type RedisClient = RedisClientType;

/** Longest wait for a command's reply: a publish fails promptly rather than wait on a slow Redis. */
export const COMMAND_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 5000;
/** Reconnection waits grow from this, doubling, up to RECONNECT_MAX_MS, with jitter. */
const RECONNECT_BASE_MS = 50;
const RECONNECT_MAX_MS = 2000;

/**
 * Where a Redis URL points, without its password: what messages, logs and health name. Throws a
 * `TransportError` naming what to fix for a URL that is not a `redis://` or `rediss://` one.
 */
export function describeRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TransportError("the Redis URL is not a URL: give redis://[user:password@]host:port[/db]");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new TransportError(
      `the Redis URL must start with redis:// or rediss:// (TLS), not ${parsed.protocol}//`,
    );
  }
  if (parsed.hostname === "") throw new TransportError("the Redis URL names no host");
  const db = parsed.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) {
    throw new TransportError(`the Redis URL's database must be a number, not "${db}"`);
  }
  return `${parsed.protocol}//${parsed.host}${db === "" ? "" : `/${db}`}`;
}

/** Capped exponential backoff with jitter, so that many nodes do not reconnect in step. */
export function backoffMs(attempt: number): number {
  const capped = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempt, 16));
  return capped / 2 + Math.random() * (capped / 2);
}

/**
 * A client that never queues commands while disconnected (a publish fails at once, never
 * acknowledged late), times each command out (unless `blocking`: the reader's XREAD waits), and,
 * once it has connected, reconnects by itself. A first connection that fails is the start's
 * failure, not retried.
 */
export function redisClient(url: string, options: { blocking: boolean }): RedisClient {
  let connected = false;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number, cause: Error) => (connected ? backoffMs(retries) : cause),
    },
    ...(options.blocking ? {} : { commandOptions: { timeout: COMMAND_TIMEOUT_MS } }),
  }) as RedisClient;
  client.on("ready", () => {
    connected = true;
  });
  // Failures reach the commands that meet them, and health; an unheard 'error' would end the process.
  client.on("error", () => {});
  return client;
}

/**
 * Connects and checks the server, failing with a message that says what to fix: the URL, the
 * host, the password, the server's version.
 */
export async function connectRedis(
  url: string,
  where: string,
  options: { blocking: boolean },
): Promise<RedisClient> {
  const client = redisClient(url, options);
  // The client's connect timeout covers the TCP connection only: a server that accepts and never
  // answers as Redis would hold the start forever.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TransportError(
            `the server at ${where} did not answer as Redis within ${CONNECT_TIMEOUT_MS / 1000} s (is it Redis, and is the port right?)`,
          ),
        ),
      CONNECT_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([checkServer(client, where, options), deadline]);
  } catch (error) {
    if (client.isOpen) client.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return client;
}

async function checkServer(
  client: RedisClient,
  where: string,
  options: { blocking: boolean },
): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    throw new TransportError(`cannot connect to Redis at ${where}: ${explainRedisError(error)}`, {
      cause: error,
    });
  }
  if (options.blocking) return;
  let info: string;
  try {
    info = await client.info("server");
  } catch (error) {
    throw new TransportError(`the server at ${where} does not answer as Redis: ${explainRedisError(error)}`, {
      cause: error,
    });
  }
  const version = /redis_version:(\d+)\./.exec(info)?.[1];
  if (version === undefined || Number(version) < 7) {
    throw new TransportError(
      `the server at ${where} is Redis ${version ?? "of an unknown version"}: Redis 7 or later (or Valkey) is needed`,
    );
  }
}

/** A Redis failure in a sentence that names what to fix and never a password. */
export function explainRedisError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(message)) {
    return "the user or password was refused (check the credentials in the URL)";
  }
  if (/ECONNREFUSED/.test(message))
    return "the connection was refused (is Redis running on that host and port?)";
  if (/ENOTFOUND|EAI_AGAIN/.test(message)) return "the host name does not resolve";
  if (/Unknown RESP type|Protocol error/i.test(message)) {
    return "the server does not speak the Redis protocol (is it Redis, and is the port right?)";
  }
  const code = errorCode(error);
  if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|TLS/.test(code)) {
    return (
      `its TLS certificate is not trusted (${code}): give the certificate of the authority that ` +
      "signed it in NODE_EXTRA_CA_CERTS, or use a certificate for the host name in the URL"
    );
  }
  if (/wrong version number|EPROTO/i.test(message)) {
    return "TLS failed (does that port speak TLS? rediss:// is for a TLS port, redis:// for a plain one)";
  }
  if (/OOM/.test(message)) return "Redis is out of memory (maxmemory reached with noeviction)";
  if (/timeout|timed out/i.test(message)) return "Redis did not answer in time";
  if (/closed|ECONNRESET|socket/i.test(message)) return "the connection to Redis was lost";
  // Redis's own error replies name no secret; anything else is not echoed, in case it does.
  return /^[A-Z]+ /.test(message) ? message : "an unexpected failure";
}

/** The system or TLS error code of a failure, or of the one it wraps (node-redis wraps some). */
function errorCode(error: unknown): string | undefined {
  for (let at = error, depth = 0; typeof at === "object" && at !== null && depth < 4; depth++) {
    const { code, cause, originalError } = at as { code?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof code === "string") return code;
    at = originalError ?? cause;
  }
  return undefined;
}

/**
 * `command`, or a rejection once Redis has not answered within COMMAND_TIMEOUT_MS. The client's
 * own timeout covers only the wait to be sent, never the wait for the reply: a Redis that holds
 * writes (paused, swapping, blocked by a long script) would otherwise hold every publish.
 */
export function answeredInTime<T>(command: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Redis command timed out after ${COMMAND_TIMEOUT_MS} ms`)),
      COMMAND_TIMEOUT_MS,
    );
  });
  command.catch(() => {}); // a reply that comes after the deadline is dropped
  return Promise.race([command, late]).finally(() => clearTimeout(timer));
}
