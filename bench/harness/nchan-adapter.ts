/**
 * Nchan (the nginx pub/sub module) under test, as the reference point a Mercure hub is compared
 * with. Each start writes its own nginx.conf into a fresh temporary directory and runs Debian's
 * nginx in the foreground there: one worker (comparable to one Node process), no message history
 * (comparable to a hub with `--transport none`), EventSource subscribers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { channelRequests } from "./channel-requests.ts";
import { freePort, stopChild, waitForPort } from "./external-adapter.ts";
import { requireCommand, requireFile } from "./required-command.ts";
import type { Adapter, HubStartOptions, Target } from "./target.ts";

/** Where Debian's packages put nginx and the Nchan module. */
const DEBIAN_NGINX = "/usr/sbin/nginx";
const DEBIAN_NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so";
const INSTALL = "apt-get install nginx libnginx-mod-nchan";

export interface NchanOptions {
  /** The nginx binary: QUICKSILVER_BENCH_NGINX, else Debian's. */
  readonly nginx?: string;
  /** The Nchan module nginx loads: QUICKSILVER_BENCH_NCHAN_MODULE, else Debian's. */
  readonly module?: string;
}

interface Programs {
  readonly nginx: string;
  readonly module: string;
}

/** 65536 descriptors, or as many as the hard limit allows (nginx cannot raise it past that). */
function descriptorLimit(): number {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").match(/^Max open files\s+\S+\s+(\S+)/m);
    const hard = Number(line?.[1]);
    if (Number.isInteger(hard)) return Math.min(65536, hard);
  } catch {
    // No /proc: ask for the full amount and let nginx warn.
  }
  return 65536;
}

function config(dir: string, port: number, options: HubStartOptions, module: string): string {
  const limit = descriptorLimit();
  // One worker (comparable to one Node process), unless the case asks for more (capacity).
  const workers = options.workers ?? 1;
  return `load_module ${module};
# Workers would otherwise run as nobody and could not use the private temporary directory.
user root;
worker_processes ${workers};
worker_rlimit_nofile ${limit};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
# Connection slots, not descriptors: Nchan takes more than one slot per subscriber, and runs out
# ("worker_connections are not enough") near 19,000 subscribers with one slot per descriptor.
events { worker_connections ${4 * limit}; }
http {
  access_log off;
  # Keep every file nginx writes inside the temporary directory.
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    ${
      workers === 1
        ? `listen 127.0.0.1:${port};`
        : `# A listening socket per worker: the kernel spreads the connections evenly, where one
    # shared socket lets the busiest worker take most of them, past its descriptors.
    listen 127.0.0.1:${port} reuseport;`
    }
    location = /pub {
      nchan_publisher;
      nchan_channel_id $arg_topic;
${
  options.history
    ? `      # History on: Nchan keeps it in memory (its durable store is Redis, not measured here).
      nchan_message_buffer_length 1000;
      nchan_message_timeout 1h;`
    : `      # No history: a message goes to the subscribers connected now and is then dropped
      # (the publisher answers "queued messages: 0"); delivery still works with 0.
      nchan_message_buffer_length 0;`
}
    }
    location = /sub {
      nchan_subscriber eventsource;${
        options.heartbeatSeconds === undefined
          ? ""
          : `\n      nchan_eventsource_ping_interval ${options.heartbeatSeconds};`
      }
      nchan_channel_id $arg_topic;
    }
  }
}
`;
}

async function startOnce(
  options: HubStartOptions,
  programs: Programs,
): Promise<{ child: ChildProcess; dir: string; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), "nchan-"));
  const port = await freePort();
  writeFileSync(join(dir, "nginx.conf"), config(dir, port, options, programs.module));
  // -e: messages logged before the configuration is read go to the temporary directory too.
  const child = spawn(
    programs.nginx,
    ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log"), "-g", "daemon off;"],
    { stdio: "ignore" },
  );
  // A spawn that fails (the binary removed since the check) shows as an exit to waitForPort;
  // without a listener, its 'error' event would end the whole run.
  child.on("error", () => {});
  try {
    await waitForPort(port, child);
    return { child, dir, port };
  } catch (error) {
    await stopChild(child, "SIGTERM");
    let log = "";
    try {
      log = readFileSync(join(dir, "error.log"), "utf8").trim();
    } catch {}
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx did not start on port ${port}: ${(error as Error).message}\n${log}`);
  }
}

/** Nchan, run by the nginx binary and module `options` name (Debian's by default). */
export function createNchanAdapter(options: NchanOptions = {}): Adapter {
  const programs: Programs = {
    nginx: options.nginx ?? process.env.QUICKSILVER_BENCH_NGINX ?? DEBIAN_NGINX,
    module: options.module ?? process.env.QUICKSILVER_BENCH_NCHAN_MODULE ?? DEBIAN_NCHAN_MODULE,
  };
  const check = () => {
    requireCommand("nchan", programs.nginx, "nginx", INSTALL);
    requireFile("nchan", programs.module, "the Nchan module for nginx", INSTALL);
  };
  return {
    name: "nchan",
    check,
    async start(startOptions = {}) {
      check();
      return startNchan(startOptions, programs);
    },
  };
}

export const nchanAdapter: Adapter = createNchanAdapter();

async function startNchan(options: HubStartOptions, programs: Programs): Promise<Target> {
  let started: Awaited<ReturnType<typeof startOnce>> | undefined;
  // The port picked may be taken again before nginx binds it: try a few.
  for (let attempt = 1; started === undefined; attempt++) {
    try {
      started = await startOnce(options, programs);
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
  const { child, dir, port } = started;
  return {
    name: "nchan",
    port,
    pid: child.pid!,
    ...channelRequests(port),
    async stop() {
      // SIGTERM is nginx's fast shutdown; SIGQUIT would wait for the open streams to end.
      await stopChild(child, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
