/**
 * The Dockerfile and the systemd unit, checked for what can be checked without building an image
 * or booting a machine: who the hub runs as, which settings they give it (every one a name the hub
 * reads), what they copy, what they run, how they stop it. The container's health check script
 * runs for real against a stand-in server; the unit goes through `systemd-analyze verify` where
 * systemd is installed.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { envName } from "../src/cli/option-names.ts";
import { defaultOf, SERVE_OPTIONS } from "../src/server/option-table.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** Every environment variable the hub reads an option from. */
const KNOWN_NAMES = new Set(SERVE_OPTIONS.flatMap((spec) => [envName(spec.flag), ...(spec.aliases ?? [])]));

interface Instruction {
  readonly name: string;
  readonly args: string;
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function dockerfile(): Instruction[] {
  const lines = read("Dockerfile")
    .split("\n")
    .filter((line) => !/^\s*#/.test(line));
  return lines
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [, name, args] = /^\s*(\S+)\s*(.*)$/.exec(line)!;
      return { name: name!.toUpperCase(), args: args!.trim() };
    });
}

/** The instructions of the last stage: what the image is. */
function finalStage(): Instruction[] {
  const all = dockerfile();
  const from = all.findLastIndex((i) => i.name === "FROM");
  return all.slice(from);
}

/** `ENV A=1 B="two"` (or the old `ENV A 1`) as pairs. */
function envPairs(args: string): [string, string][] {
  if (!args.includes("=")) {
    const [name, ...value] = args.split(/\s+/);
    return [[name!, value.join(" ")]];
  }
  return [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)].map((m) => [
    m[1]!,
    m[2]!.replace(/^"|"$/g, ""),
  ]);
}

/** An exec-form (JSON) argument list; the shell form is refused, so signals reach the hub. */
function execForm(instruction: Instruction | undefined, what: string): string[] {
  assert.ok(instruction, `the Dockerfile has no ${what}`);
  assert.ok(
    instruction.args.startsWith("["),
    `${what} is in exec form, so SIGTERM reaches the hub, not a shell`,
  );
  return JSON.parse(instruction.args);
}

describe("Dockerfile", () => {
  it("runs the hub as a user that is not root", () => {
    const users = finalStage().filter((i) => i.name === "USER");
    assert.ok(users.length > 0, "the final stage sets USER");
    const user = users.at(-1)!.args.split(":")[0];
    assert.ok(user !== "root" && user !== "0", `USER ${user}`);
  });

  it("runs `quicksilver serve`, the quicksilver command being the copied bin/quicksilver.js", () => {
    const stage = finalStage();
    const command = [
      ...execForm(
        stage.findLast((i) => i.name === "ENTRYPOINT"),
        "ENTRYPOINT",
      ),
      ...execForm(
        stage.findLast((i) => i.name === "CMD"),
        "CMD",
      ),
    ];
    assert.deepEqual(command, ["quicksilver", "serve"]);
    const link = stage.find(
      (i) => i.name === "RUN" && /ln -s \S+ \/usr\/local\/bin\/quicksilver\b/.test(i.args),
    );
    assert.ok(link, "a RUN links /usr/local/bin/quicksilver");
    assert.match(link.args, /ln -s \/app\/bin\/quicksilver\.js /);
    assert.ok(stage.some((i) => i.name === "WORKDIR" && i.args === "/app"));
    assert.ok(stage.some((i) => i.name === "COPY" && i.args === "bin ./bin"));
  });

  it("sets only environment variables the hub reads", () => {
    const names = dockerfile()
      .filter((i) => i.name === "ENV")
      .flatMap((i) => envPairs(i.args).map(([name]) => name));
    assert.ok(names.length > 0);
    for (const name of names) assert.ok(KNOWN_NAMES.has(name), `ENV ${name} is no option the hub reads`);
  });

  it("keeps the store on a volume and exposes the port the hub listens on", () => {
    const env = new Map(
      finalStage()
        .filter((i) => i.name === "ENV")
        .flatMap((i) => envPairs(i.args)),
    );
    const volumes = finalStage().filter((i) => i.name === "VOLUME");
    assert.ok(
      volumes.some((v) => v.args === env.get("MERCURE_DATA_DIR")),
      "VOLUME is MERCURE_DATA_DIR",
    );
    const port = /:(\d+)$/.exec(env.get("SERVER_NAME") ?? "")?.[1];
    assert.ok(port, "SERVER_NAME gives the port");
    assert.ok(
      finalStage().some((i) => i.name === "EXPOSE" && i.args.split(/\s+/).includes(port)),
      `EXPOSE ${port}`,
    );
  });

  it("copies only files the repository has, and that .dockerignore lets through", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    const copies = dockerfile().filter(
      (i) => (i.name === "COPY" || i.name === "ADD") && !i.args.includes("--from="),
    );
    assert.ok(copies.length > 0);
    for (const copy of copies) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: no such file`);
        const top = source.replace(/^\.\//, "").split("/")[0]!;
        assert.ok(
          !ignored.includes(top) && !ignored.includes(source),
          `COPY ${source}, but .dockerignore leaves it out`,
        );
      }
    }
  });

  it("checks its health with /readyz, through node since slim images have no curl", () => {
    const checks = finalStage().filter((i) => i.name === "HEALTHCHECK");
    assert.equal(checks.length, 1);
    const command = checks[0]!.args.replace(/^(--\S+\s+)*CMD\s+/, "");
    assert.deepEqual(JSON.parse(command), ["node", "/app/healthcheck.js"]);
    assert.ok(
      finalStage().some((i) => i.name === "COPY" && i.args === "packaging/healthcheck.js ./healthcheck.js"),
      "the health check script is copied to /app",
    );
  });
});

describe("the container's health check (packaging/healthcheck.js)", () => {
  const script = join(ROOT, "packaging", "healthcheck.js");

  function runCheck(env: Record<string, string>): Promise<number | null> {
    const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? "", ...env } });
    return new Promise((resolve) => child.once("close", resolve));
  }

  async function withServer(status: number, test: (port: number, paths: string[]) => Promise<void>) {
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? "");
      res.writeHead(status).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      await test((server.address() as { port: number }).port, paths);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it("passes when /readyz answers 200, on the port of MERCURE_LISTEN or SERVER_NAME", async () => {
    await withServer(200, async (port, paths) => {
      assert.equal(await runCheck({ MERCURE_LISTEN: `127.0.0.1:${port}` }), 0);
      assert.equal(await runCheck({ SERVER_NAME: `:${port}` }), 0);
      assert.deepEqual(paths, ["/readyz", "/readyz"]);
    });
  });

  it("fails when /readyz answers 503, and when nothing listens", async () => {
    let free = 0;
    await withServer(503, async (port) => {
      free = port;
      assert.equal(await runCheck({ SERVER_NAME: `:${port}` }), 1);
    });
    assert.equal(await runCheck({ SERVER_NAME: `:${free}` }), 1);
  });
});

describe("systemd unit (packaging/quicksilver.service)", () => {
  const unit = read("packaging/quicksilver.service");
  /** Every value of `key` in the unit, in order. */
  const values = (key: string) =>
    [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]!.trim());
  const value = (key: string) => values(key).at(-1);

  it("runs as an unprivileged user, with a state directory for the store and secrets from a file", () => {
    assert.ok(value("DynamicUser") === "yes" || (value("User") ?? "root") !== "root");
    assert.equal(value("StateDirectory"), "quicksilver");
    assert.ok(values("Environment").includes("MERCURE_DATA_DIR=%S/quicksilver"));
    assert.ok(value("EnvironmentFile"));
    for (const setting of values("Environment")) {
      const name = setting.split("=")[0]!;
      assert.ok(KNOWN_NAMES.has(name), `Environment=${name} is no option the hub reads`);
    }
    assert.match(value("ExecStart") ?? "", /\/quicksilver serve$/);
  });

  it("stops with SIGTERM and waits longer than the hub's shutdown timeout; restarts on failure", () => {
    assert.equal(value("KillSignal"), "SIGTERM");
    const seconds = Number(/^(\d+)s?$/.exec(value("TimeoutStopSec") ?? "")?.[1]);
    assert.ok(
      seconds * 1000 > defaultOf<number>("shutdown-timeout"),
      `TimeoutStopSec=${value("TimeoutStopSec")}`,
    );
    assert.equal(value("Restart"), "on-failure");
    assert.match(value("ExecReload") ?? "", /kill -HUP \$MAINPID$/);
  });

  it("is hardened, and may hold a descriptor per subscriber", () => {
    assert.equal(value("NoNewPrivileges"), "yes");
    assert.equal(value("ProtectSystem"), "strict");
    assert.equal(value("PrivateTmp"), "yes");
    assert.ok(Number(value("LimitNOFILE")) >= 65536, `LimitNOFILE=${value("LimitNOFILE")}`);
    // V8 writes the machine code it runs: this setting would crash the hub at start.
    assert.notEqual(value("MemoryDenyWriteExecute"), "yes");
  });

  it("passes systemd-analyze verify", (t) => {
    if (spawnSync("systemd-analyze", ["--version"]).status !== 0) {
      t.skip("systemd-analyze is not installed");
      return;
    }
    // With the command where this checkout has it: verify refuses an ExecStart that is missing.
    const dir = mkdtempSync(join(tmpdir(), "quicksilver-unit-"));
    try {
      const path = join(dir, "quicksilver.service");
      writeFileSync(path, unit.replace("/usr/local/bin/quicksilver", join(ROOT, "bin", "quicksilver.js")));
      const result = spawnSync("systemd-analyze", ["verify", path], { encoding: "utf8" });
      assert.equal(result.status, 0, result.stderr + result.stdout);
      assert.equal(result.stderr.trim(), "", result.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("docs/operations.md", () => {
  it("names, in its commands and examples, only environment variables the hub reads", () => {
    const guide = read("docs/operations.md");
    const blocks = [...guide.matchAll(/^```(sh|yaml)\n([\s\S]*?)^```/gm)].map((m) => m[2]!);
    const names = blocks.flatMap((block) =>
      [...block.matchAll(/\b(?:MERCURE_[A-Z0-9_]+|SERVER_NAME)\b/g)].map((m) => m[0]),
    );
    assert.ok(names.length > 5);
    for (const name of names) assert.ok(KNOWN_NAMES.has(name), `${name} is no option the hub reads`);
  });
});
