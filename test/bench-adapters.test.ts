import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { externalAdapter } from "../bench/harness/external-adapter.ts";
import { createNchanAdapter } from "../bench/harness/nchan-adapter.ts";
import { MissingCommandError } from "../bench/harness/required-command.ts";
import { createRig } from "../bench/harness/rig.ts";
import { runCases } from "../bench/harness/run-cases.ts";
import type { AnyScenario } from "../bench/harness/scenario.ts";
import type { Adapter, Target } from "../bench/harness/target.ts";
import { fanout } from "../bench/scenarios/fanout.ts";
import { subscribeRequest } from "../src/loadtest/subscribe-request.ts";
import { startTestHub } from "./helpers/test-hub.ts";

const TOPIC = "https://example.com/bench/a b";
const TINY_FANOUT = { subscribers: 20, events: 10, inflight: 4, bytes: 64 };

/** A loopback port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("the subscribe request, per dialect", () => {
  it("names the topic with match= in the draft dialect, topic= in the legacy one", () => {
    const endpoint = { port: 3000, path: "/.well-known/mercure" };
    const [draft, legacy] = (["draft", "legacy"] as const).map((dialect) =>
      subscribeRequest(endpoint, dialect, TOPIC),
    );
    assert.equal(
      draft,
      "GET /.well-known/mercure?match=https%3A%2F%2Fexample.com%2Fbench%2Fa%20b HTTP/1.1\r\n" +
        "Host: 127.0.0.1:3000\r\nAccept: text/event-stream\r\n\r\n",
    );
    assert.equal(legacy, draft.replace("?match=", "?topic="));
  });

  it("measures a draft-08 hub by URL: the external adapter speaks match= by default", async (t) => {
    const hub = await startTestHub({ anonymous: true });
    t.after(() => hub.close());
    const adapter = externalAdapter("by-url", {
      url: hub.hubUrl,
      publishToken: await hub.token({ publish: ["*"] }),
    });
    const target = await adapter.start();
    assert.match(target.subscribeRequest(TOPIC), /^GET \/\.well-known\/mercure\?match=https%3A/);
    const rig = createRig(false);
    try {
      const result = await fanout.run(target, TINY_FANOUT, rig);
      assert.equal(result.complete, true, result.invalid);
      assert.deepEqual(result.perSubscriber, { min: 10, max: 10 });
    } finally {
      await rig.close();
      await target.stop();
    }
  });

  it("speaks topic= on request, which a draft-08 hub takes only with its legacy dialect on", async (t) => {
    const strict = await startTestHub({ anonymous: true });
    const legacy = await startTestHub({ anonymous: true, legacy: true });
    t.after(() => Promise.all([strict.close(), legacy.close()]));
    const run = async (hub: typeof strict) => {
      const target = await externalAdapter("legacy-by-url", {
        url: hub.hubUrl,
        publishToken: await hub.token({ publish: ["*"] }),
        dialect: "legacy",
      }).start();
      const rig = createRig(false);
      try {
        return await fanout.run(target, TINY_FANOUT, rig);
      } finally {
        await rig.close();
        await target.stop();
      }
    };
    await assert.rejects(run(strict), { message: /^the hub refused \d+ of 20 subscribers: HTTP\/1\.1 400/ });
    const result = await run(legacy);
    assert.deepEqual(result.perSubscriber, { min: 10, max: 10 });
  });
});

describe("a program a hub needs", () => {
  it("missing nginx: Nchan's adapter says what to install, in one line", async () => {
    const adapter = createNchanAdapter({ nginx: "nginx-that-is-not-installed" });
    assert.throws(() => adapter.check?.(), MissingCommandError);
    await assert.rejects(adapter.start(), {
      name: "MissingCommandError",
      message:
        "the nchan hub needs nginx (nginx-that-is-not-installed), which is not installed: " +
        "apt-get install nginx libnginx-mod-nchan",
    });
  });

  it("missing Nchan module: the same, naming the module", async () => {
    const adapter = createNchanAdapter({ nginx: "sh", module: "/nonexistent/ngx_nchan_module.so" });
    await assert.rejects(adapter.start(), {
      name: "MissingCommandError",
      message:
        /^the nchan hub needs the Nchan module for nginx \(\/nonexistent\/ngx_nchan_module\.so\), .*: apt-get install nginx libnginx-mod-nchan$/,
    });
  });

  it("an external hub's command not found: said in one line", async () => {
    const port = await freePort();
    const adapter = externalAdapter("other", {
      url: `http://127.0.0.1:${port}/.well-known/mercure`,
      command: "exec other-hub-that-is-not-installed --listen 127.0.0.1:0",
    });
    await assert.rejects(adapter.start(), {
      name: "MissingCommandError",
      message:
        "the other hub's command was not found (the shell exited 127): " +
        "exec other-hub-that-is-not-installed --listen 127.0.0.1:0",
    });
  });

  it("ends a benchmark run before its first case, with that line and no stack", () => {
    const run = spawnSync(
      process.execPath,
      [fileURLToPath(new URL("../bench/run.ts", import.meta.url)), "fanout", "--quick"],
      { env: { ...process.env, QUICKSILVER_BENCH_NGINX: "nginx-that-is-not-installed" }, encoding: "utf8" },
    );
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr,
      "the nchan hub needs nginx (nginx-that-is-not-installed), which is not installed: " +
        "apt-get install nginx libnginx-mod-nchan\n",
    );
    assert.equal(run.stdout, "");
  });
});

describe("a run of several hubs", () => {
  /** A hub that starts, for the cases that reach it. */
  const working: Adapter = {
    name: "working",
    start: async (): Promise<Target> => ({
      name: "working",
      port: 0,
      pid: 0,
      subscribeRequest: () => "",
      publishRequest: () => ({ path: "/", headers: {}, body: "" }),
      stop: async () => {},
    }),
  };
  const scenario = {
    name: "probe",
    summary: "",
    cases: () => ["first", "second"],
    label: (c: string) => c,
    run: async (target: Target, c: string) => {
      if (target.name === "stalls") throw new Error("no event within 60 s");
      return { case: c };
    },
    headline: { label: "", value: () => 1, higherIsBetter: true },
    columns: [],
  } satisfies AnyScenario;

  it("reports a hub that fails a case outright as a failed row, and the others go on", async () => {
    const rows = await runCases(
      scenario,
      {
        "will-not-start": { name: "will-not-start", start: () => Promise.reject(new Error("port in use")) },
        stalls: { name: "stalls", start: async () => ({ ...(await working.start()), name: "stalls" }) },
        working,
      },
      { quick: true, pinned: false },
    );
    assert.deepEqual(
      rows.map((row) => [row.label, row.hub, row.result.invalid]),
      [
        ["first", "will-not-start", "failed: port in use"],
        ["first", "stalls", "failed: no event within 60 s"],
        ["first", "working", undefined],
        ["second", "will-not-start", "failed: port in use"],
        ["second", "stalls", "failed: no event within 60 s"],
        ["second", "working", undefined],
      ],
    );
  });

  it("runs no case when a hub's program is missing", async () => {
    let started = 0;
    const counting: Adapter = {
      ...working,
      start: () => {
        started++;
        return working.start();
      },
    };
    const missing = createNchanAdapter({ nginx: "nginx-that-is-not-installed" });
    await assert.rejects(
      runCases(scenario, { counting, nchan: missing }, { quick: true, pinned: false }),
      MissingCommandError,
    );
    assert.equal(started, 0);
  });
});
