/**
 * `quicksilver/client` on the oldest Node it supports: the hub needs Node 24, its client must not.
 * The client, bundled, runs in the `node` found on PATH (the machine's own, Node 20 where the hub's
 * scripts had to install a newer one) against a real hub: it subscribes, publishes and receives.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { build } from "esbuild";
import { runProcess } from "./helpers/cli-run.ts";
import { startTestHub, type TestHub } from "./helpers/test-hub.ts";

const ENTRY = new URL("../src/client/index.ts", import.meta.url).pathname;

/** The first `node` on PATH that is not the Node 24 the scripts installed under .cache. */
function systemNode(): string {
  for (const directory of (process.env.PATH ?? "").split(":")) {
    if (directory === "" || directory.includes(".cache")) continue;
    const candidate = join(directory, "node");
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore" });
      return candidate;
    } catch {
      // not there, or not runnable
    }
  }
  throw new Error("no node on PATH: the machine's own Node is needed to run the client on it");
}

describe("the client on the machine's own Node", { timeout: 60_000 }, () => {
  let hub: TestHub;
  let directory: string;
  let node: string;
  let major: number;

  before(async () => {
    hub = await startTestHub({ anonymous: true });
    directory = mkdtempSync(join(tmpdir(), "quicksilver-client-"));
    node = systemNode();
    major = Number(execFileSync(node, ["-p", "process.versions.node"], { encoding: "utf8" }).split(".")[0]);
    // Bundled for any runtime: a node: import would fail the build.
    await build({
      entryPoints: [ENTRY],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      outfile: join(directory, "client.mjs"),
      logLevel: "silent",
    });
  });
  after(async () => {
    rmSync(directory, { recursive: true, force: true });
    await hub.close();
  });

  it("subscribes, publishes and receives", async () => {
    assert.ok(major >= 20, `the machine's Node is ${major}: the client supports 20 and later`);
    const token = await hub.token({ publish: ["*"] });
    const script = join(directory, "run.mjs");
    writeFileSync(
      script,
      `import { publish, subscribe } from "./client.mjs";
const [hub, token] = process.argv.slice(2);
const topic = "https://example.com/books/old-node";
const subscription = subscribe(hub, { match: topic });
subscription.on("open", () => publish(hub, { topic, data: { node: process.versions.node } }, { token }));
for await (const message of subscription) {
  console.log(JSON.stringify(message.data));
  break;
}
`,
    );
    const run = await runProcess(node, [script, hub.hubUrl, token], { PATH: process.env.PATH ?? "" });
    assert.equal(run.code, 0, run.stderr);
    const output = run.stdout;
    assert.equal(JSON.parse(output).node.split(".")[0], String(major));
  });
});
