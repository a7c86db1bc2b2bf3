/**
 * nginx and Apache httpd in front of a hub, configured with the files docs/proxies/ documents: each
 * start writes a configuration into a fresh temporary directory, around the documented file with
 * the hub's address and the proxy's port put in, and runs Debian's binary in the foreground there.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export type ProxyKind = "nginx" | "apache";

const DOCS = fileURLToPath(new URL("../../docs/proxies/", import.meta.url));
const NGINX = "/usr/sbin/nginx";
const APACHE = "/usr/sbin/apache2";
const APACHE_MODULES = "/usr/lib/apache2/modules";
/** The hub's address as the documented files spell it. */
const DOCUMENTED_HUB = "127.0.0.1:3000";

export interface ReverseProxy {
  readonly kind: ProxyKind;
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  /** What the proxy wrote to its error log so far. */
  errorLog(): string;
  stop(): Promise<void>;
}

/** A port free a moment ago: listen on port 0, note the port, close. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The documented file `name`, with every `from` replaced; each must occur, or the docs changed. */
function documented(name: string, replacements: [from: string, to: string][]): string {
  let text = readFileSync(join(DOCS, name), "utf8");
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`docs/proxies/${name} no longer contains ${from}`);
    text = text.replaceAll(from, to);
  }
  return text;
}

function nginxConfig(dir: string, port: number, hub: string): string {
  const site = documented("nginx.conf", [
    [DOCUMENTED_HUB, hub],
    ["listen 80;", `listen 127.0.0.1:${port};`],
  ]);
  // Root runs the workers as root (CI runs as root); anyone else runs them as themselves.
  const user = process.getuid?.() === 0 ? "user root;" : "";
  return `${user}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 1024; }
http {
  access_log off;
  # Keep every file nginx writes inside the temporary directory.
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # As many sites have it: compression on (the documented location turns it off for the hub).
  gzip on;
  gzip_proxied any;
  gzip_types text/event-stream text/plain application/json application/ld+json;
${site}
}
`;
}

function apacheConfig(dir: string, port: number, hub: string): string {
  const site = documented("apache.conf", [[`http://${DOCUMENTED_HUB}`, `http://${hub}`]]);
  const modules = ["mpm_event", "authz_core", "proxy", "proxy_http", "headers", "env", "filter", "deflate"];
  // Apache refuses to serve as root: when started as root its children run as nobody.
  const user = process.getuid?.() === 0 ? "User #65534\nGroup #65534" : "";
  return `${modules.map((m) => `LoadModule ${m}_module ${APACHE_MODULES}/mod_${m}.so`).join("\n")}
ServerRoot ${dir}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${dir}/apache.pid
ErrorLog ${dir}/error.log
LogLevel warn
Mutex file:${dir} default
DefaultRuntimeDir ${dir}
ScoreBoardFile ${dir}/scoreboard
${user}
<VirtualHost 127.0.0.1:${port}>
  # As many sites have it: every response compressed (the documented lines turn it off for the hub).
  SetOutputFilter DEFLATE
${site}
</VirtualHost>
`;
}

/** Resolves once something accepts connections on `port`; rejects if `child` exits first. */
async function waitUntilListening(child: ChildProcess, port: number, log: () => string): Promise<void> {
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  const deadline = Date.now() + 15_000;
  while (!exited && Date.now() < deadline) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (accepted) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the proxy did not listen on ${port}${exited ? " (it exited)" : ""}:\n${log()}`);
}

/**
 * Starts `kind` on `port` (from `freePort`) in front of the hub at `hub` (host:port), configured
 * with docs/proxies/<kind>.conf.
 */
export async function startReverseProxy(kind: ProxyKind, port: number, hub: string): Promise<ReverseProxy> {
  const dir = mkdtempSync(join(tmpdir(), `quicksilver-${kind}-`));
  const binary = kind === "nginx" ? NGINX : APACHE;
  if (!existsSync(binary))
    throw new Error(`${binary} is missing: apt-get install ${kind === "nginx" ? "nginx" : "apache2"}`);
  const conf = join(dir, `${kind}.conf`);
  writeFileSync(conf, kind === "nginx" ? nginxConfig(dir, port, hub) : apacheConfig(dir, port, hub));
  const args =
    kind === "nginx"
      ? ["-p", dir, "-c", conf, "-e", join(dir, "error.log"), "-g", "daemon off;"]
      : ["-f", conf, "-DFOREGROUND"];
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const errorLog = () => {
    const file = join(dir, "error.log");
    return output + (existsSync(file) ? readFileSync(file, "utf8") : "");
  };
  try {
    await waitUntilListening(child, port, errorLog);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    kind,
    origin: `http://127.0.0.1:${port}`,
    errorLog,
    stop: async () => {
      // SIGTERM: nginx's fast shutdown, Apache's immediate stop; neither waits for open streams.
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
