import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../bench/harness/external-adapter.ts";

/**
 * Debian's Redis, which CI installs (.ci/run); `QUICKSILVER_TEST_REDIS_SERVER` names another
 * server to run the same tests against (a `valkey-server`, say).
 */
export const REDIS_SERVER = process.env.QUICKSILVER_TEST_REDIS_SERVER || "/usr/bin/redis-server";

export interface RedisServerOptions {
  /** `requirepass`: clients must authenticate. */
  readonly password?: string;
  /**
   * Keep an append-only file (fsync always) in the server's directory: what survives a SIGKILL
   * and a restart, as a production Redis behind a cluster of hubs is configured (docs/cluster.md).
   */
  readonly appendOnly?: boolean;
  /**
   * Also listen for TLS, on a port of its own, with a self-signed certificate for 127.0.0.1 made
   * with `openssl` (clients are not asked for one).
   */
  readonly tls?: boolean;
  /** More `--name value` settings. */
  readonly settings?: Readonly<Record<string, string>>;
}

/** A real redis-server of the test's own, on a free port of 127.0.0.1, in a directory of its own. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (with the password when there is one). */
  readonly url: string;
  readonly running: boolean;
  /** With `tls`: `rediss://127.0.0.1:<tls port>`, and the certificate to trust (a PEM file). */
  readonly tls: { readonly url: string; readonly ca: string } | undefined;
  /** The process id while it runs. */
  readonly pid: number | undefined;
  /** SIGKILL: no goodbye, no final save. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (with what its append-only file kept). */
  restart(): Promise<void>;
  /** Stops it (if running) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a redis-server. A missing binary is a failure, not a skip: CI always installs it, and a
 * skipped cluster test would hide that the Redis path is untested.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(
      `${REDIS_SERVER} is missing: the cluster tests need Redis (apt-get install -y redis-server; .ci/run does it)`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "quicksilver-redis-"));
  const port = await freePort();
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    options.appendOnly ? "yes" : "no",
    "--appendfsync",
    "always",
    "--daemonize",
    "no",
    "--loglevel",
    "warning",
  ];
  if (options.password !== undefined) args.push("--requirepass", options.password);
  let tls: { url: string; ca: string } | undefined;
  if (options.tls) {
    const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1"].concat([
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ]),
      { stdio: "ignore" },
    );
    const tlsPort = await freePort();
    args.push("--tls-port", String(tlsPort), "--tls-cert-file", cert, "--tls-key-file", key);
    args.push("--tls-auth-clients", "no");
    tls = { url: `rediss://127.0.0.1:${tlsPort}`, ca: cert };
  }
  for (const [name, value] of Object.entries(options.settings ?? {})) args.push(`--${name}`, value);

  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const process = spawn(REDIS_SERVER, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    process.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child = process;
    const exited = new Promise<never>((_, reject) =>
      process.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${stderr}`))),
    );
    exited.catch(() => {});
    await Promise.race([waitForPong(port, options.password), exited]);
  };
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const gone = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGKILL");
    await gone;
  };
  await launch();
  const auth = options.password === undefined ? "" : `:${encodeURIComponent(options.password)}@`;
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    get running() {
      return child !== undefined;
    },
    tls,
    get pid() {
      return child?.pid;
    },
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once the server answers PING (after AUTH when it needs a password). */
async function waitForPong(port: number, password: string | undefined): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await answersPing(port, password)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer PING`);
}

function answersPing(port: number, password: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    let received = "";
    socket.once("error", () => resolve(false));
    socket.on("data", (chunk) => {
      received += chunk.toString();
      if (received.includes("+PONG")) {
        socket.destroy();
        resolve(true);
      } else if (received.includes("-")) {
        socket.destroy();
        resolve(false);
      }
    });
    socket.once("connect", () => {
      const auth = password === undefined ? "" : `AUTH ${JSON.stringify(password)}\r\n`;
      socket.write(`${auth}PING\r\n`);
    });
  });
}
