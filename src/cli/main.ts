import cluster, { type Worker } from "node:cluster";
import { readFileSync } from "node:fs";
import { ConfigError } from "../auth/errors.ts";
import { MercureError } from "../client/errors.ts";
import {
  isWorker,
  serveWorker,
  serveWorkersPrimary,
  WORKER_DEV_SECRET_ENV,
  type WorkersPrimary,
} from "../cluster/serve-workers.ts";
import { SHUTDOWN_MARGIN_MS, WorkerStartError } from "../cluster/supervisor.ts";
import type { Logger } from "../hub/logger.ts";
import { TransportError } from "../hub/transport.ts";
import { descriptorLimit } from "../server/descriptor-limit.ts";
import { SERVE_OPTIONS, shownDefault } from "../server/option-table.ts";
import { CONFIG_USAGE, configCommand } from "./config-command.ts";
import { createLogger } from "./create-logger.ts";
import { devBanner } from "./dev-banner.ts";
import { HISTORY_USAGE, historyCommand } from "./history-command.ts";
import { LOADTEST_USAGE, loadtestCommand } from "./loadtest-command.ts";
import { PUBLISH_USAGE, publishCommand } from "./publish-command.ts";
import { resolveServeConfig, type ServeConfig, UsageError } from "./resolve-config.ts";
import { parseServeArgs } from "./serve-args.ts";
import { logStartupWarnings, type RunningHub, startHub } from "./start-hub.ts";
import { SUBSCRIBE_USAGE, subscribeCommand } from "./subscribe-command.ts";
import { TOKEN_USAGE, tokenCommand } from "./token-command.ts";

const USAGE = `Usage: quicksilver <command> [options]

Commands:
  serve     run the hub (quicksilver serve --help lists every option)
  token     mint an access token (quicksilver token --help)
  publish   publish an update to a hub (quicksilver publish --help)
  subscribe print the updates of a hub as they arrive (quicksilver subscribe --help)
  history   inspect or trim a history store (quicksilver history --help)
  config    check a configuration, or print every option and where it came from
            (quicksilver config --help)
  loadtest  load-test a Mercure hub: subscribers, updates, deliveries, latency
            (quicksilver loadtest --help)
  version   print the version
`;

function serveUsage(): string {
  const lines = SERVE_OPTIONS.map((spec) => {
    const flag = `--${spec.flag}${spec.kind === "boolean" ? "" : " VALUE"}`;
    const shown = shownDefault(spec);
    const fallback = shown === undefined ? "" : ` [${shown}]`;
    return `  ${flag.padEnd(34)} ${spec.description}${fallback}`;
  });
  return `Usage: quicksilver serve [options]

Every option can also be set with an environment variable MERCURE_<OPTION_IN_UPPER_SNAKE>
(--max-body-bytes: MERCURE_MAX_BODY_BYTES) or in a --config JSON or YAML file (camelCase keys).
quicksilver config check [options] checks a configuration without starting the hub.

${lines.join("\n")}
`;
}

/** The command line. Exits with 2 on a usage or configuration error, saying what to fix. */
export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "serve":
        await serve(rest);
        return;
      case "token":
        if (rest.includes("--help") || rest.includes("-h")) {
          process.stdout.write(TOKEN_USAGE);
          return;
        }
        process.stdout.write(`${await tokenCommand(rest, process.env)}\n`);
        return;
      case "publish":
        if (rest.includes("--help") || rest.includes("-h")) {
          process.stdout.write(PUBLISH_USAGE);
          return;
        }
        process.stdout.write(`${await publishCommand(rest, process.env)}\n`);
        return;
      case "subscribe": {
        if (rest.includes("--help") || rest.includes("-h")) {
          process.stdout.write(SUBSCRIBE_USAGE);
          return;
        }
        // Interrupted: the subscription closes and the command ends with 0.
        const interrupted = new AbortController();
        const stop = () => interrupted.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        try {
          await subscribeCommand(
            rest,
            process.env,
            {
              out: (line) => process.stdout.write(`${line}\n`),
              note: (line) => process.stderr.write(`quicksilver: ${line}\n`),
            },
            interrupted.signal,
          );
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
        }
        return;
      }
      case "history":
        if (rest.includes("--help") || rest.includes("-h")) {
          process.stdout.write(HISTORY_USAGE);
          return;
        }
        process.stdout.write(`${historyCommand(rest, process.env)}\n`);
        return;
      case "config":
        if (rest.includes("--help") || rest.includes("-h")) {
          process.stdout.write(CONFIG_USAGE);
          return;
        }
        process.stdout.write(await configCommand(rest, process.env));
        return;
      case "loadtest":
        if (rest.includes("--help") || rest.includes("-h")) {
          process.stdout.write(LOADTEST_USAGE);
          return;
        }
        process.exitCode = await loadtestCommand(rest, process.env, {
          stdout: (text) => process.stdout.write(text),
          stderr: (text) => process.stderr.write(text),
        });
        return;
      case "version":
      case "--version":
        process.stdout.write(`${version()}\n`);
        return;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE);
        return;
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (error) {
    // A store that failed; a hub that refused an update (its status, code and detail, which never
    // hold the token) or could not be reached.
    if (error instanceof TransportError || error instanceof MercureError) {
      process.stderr.write(`quicksilver: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    if (error instanceof UsageError || error instanceof ConfigError || isParseArgsError(error)) {
      process.stderr.write(
        `quicksilver: ${(error as Error).message}\n(quicksilver ${command ?? ""} --help for usage)\n`,
      );
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

async function serve(args: readonly string[]): Promise<void> {
  const values = parseServeArgs(args);
  if (values.help === true) {
    process.stdout.write(serveUsage());
    return;
  }
  const worker = isWorker();
  const config = resolveServeConfig(values, process.env, {
    descriptors: descriptorLimit(),
    devSecret: worker ? process.env[WORKER_DEV_SECRET_ENV] : undefined,
  });
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    worker: worker ? process.pid : undefined,
  });
  if (worker) {
    let started: RunningHub | undefined;
    // Listened for from the start: a SIGHUP passed on while this worker starts must not end it
    // (the default action); it reads the files as it starts anyway.
    if (config.certFile !== undefined) reloadCertificateOnSighup(() => started, config.certFile, logger);
    started = await serveWorker(config, logger, (flag) => `--${flag}`);
    return;
  }
  if (config.workers > 1) {
    await serveWorkers(config, logger);
    return;
  }
  const running = await startHub(config, logger);
  // Before "hub listening": a supervisor that reads it may signal at once, and a signal that
  // comes before its handler kills the process without a graceful shutdown.
  stopOnSignals(running, logger, config.shutdownTimeoutMs + CLOSE_MARGIN_MS);
  if (config.certFile !== undefined) reloadCertificateOnSighup(() => running, config.certFile, logger);
  if (config.dev) process.stdout.write(await devBanner(config, running));
  logger.info(
    {
      hubUrl: running.hubUrl,
      resource: running.resourceIdentifier,
      dev: config.dev,
      ...(running.admin === undefined ? {} : { admin: running.admin.origin }),
    },
    "hub listening",
  );
}

/**
 * SIGHUP reads the certificate and key files again (after a renewal): new TLS connections get the
 * new pair, open ones keep theirs, streams included. A pair that cannot be used is logged and the
 * old one keeps serving.
 */
function reloadCertificateOnSighup(
  running: () => { reloadCertificate(): Promise<void> } | undefined,
  certFile: string,
  logger: Logger,
): void {
  process.on("SIGHUP", () => {
    running()
      ?.reloadCertificate()
      .then(
        () => logger.info({ cert: certFile }, "certificate reloaded"),
        (error: unknown) =>
          logger.error({ err: error }, "certificate reload failed: the previous certificate is still served"),
      );
  });
}

/** `serve --workers N`: this process is the primary; the workers serve HTTP. */
async function serveWorkers(config: ServeConfig, logger: Logger): Promise<void> {
  let stop = (_why: string, _code: number) => {};
  // Each worker serves TLS with its own copy of the certificate: each reads the files again. Only
  // a listening worker is told: one still starting reads them as it starts, and might not be
  // listening for the signal yet (its default action would end it).
  if (config.certFile !== undefined) {
    const listening = new Set<Worker>();
    cluster.on("listening", (worker) => listening.add(worker));
    cluster.on("exit", (worker) => listening.delete(worker));
    process.on("SIGHUP", () => {
      for (const worker of listening) worker.process.kill("SIGHUP");
    });
  }
  let primary: WorkersPrimary;
  try {
    primary = await serveWorkersPrimary(config, logger, (reason) => stop(reason, 1));
  } catch (error) {
    if (!(error instanceof WorkerStartError)) throw error;
    process.stderr.write(`quicksilver: ${error.message}\n`);
    process.exitCode = error.exitCode;
    return;
  }
  // The workers may take the supervisor's margin beyond the timeout before they are killed.
  // Before "hub listening", as above.
  stop = stopOnSignals(primary, logger, config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS + CLOSE_MARGIN_MS);
  logStartupWarnings(config, logger);
  if (config.dev) process.stdout.write(await devBanner(config, primary));
  logger.info(
    {
      hubUrl: primary.hubUrl,
      resource: primary.resourceIdentifier,
      dev: config.dev,
      workers: config.workers,
      ...(primary.adminOrigin === undefined ? {} : { admin: primary.adminOrigin }),
    },
    "hub listening",
  );
}

/**
 * What closing the transport may take beyond the shutdown timeout (the streams have ended and the
 * connections are closed by then): a store that does not answer must not keep the process alive.
 */
const CLOSE_MARGIN_MS = 5_000;

/**
 * Closes the hub on SIGINT or SIGTERM (a second one exits at once), then exits; returns the same
 * stop, for a reason of the hub's own (the exit code then says it failed). A close that has not
 * finished after `boundMs` exits with 1.
 */
function stopOnSignals(
  running: { close(): Promise<void> },
  logger: Logger,
  boundMs: number,
): (why: string, code: number) => void {
  let stopping = false;
  const stop = (why: string, code: number) => {
    if (stopping) process.exit(1); // a second signal: do not wait
    stopping = true;
    if (code === 0) logger.info({ signal: why }, "shutting down");
    else logger.error({}, why);
    setTimeout(() => {
      logger.error({ boundMs }, "shutdown did not finish in time");
      process.exit(1);
    }, boundMs).unref();
    running.close().then(
      () => process.exit(code),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT", 0));
  process.once("SIGTERM", () => stop("SIGTERM", 0));
  return stop;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return `quicksilver ${manifest.version}`;
}
