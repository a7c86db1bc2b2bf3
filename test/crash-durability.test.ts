import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BENCH_ISSUER, BENCH_SECRET, type BenchHub, spawnHub } from "../bench/spawn-hub.ts";
import { mintToken } from "../src/auth/mint.ts";
import { Random } from "./helpers/seeded-random.ts";
import { storedIds } from "./helpers/stored-ids.ts";

// A hub killed with SIGKILL at random moments while publishers keep publishing: after each
// restart, every update it acknowledged must still be there, in order, and nothing it did not
// acknowledge may appear twice. CRASH_SEED=<n> replays a run.

const directory = mkdtempSync(join(tmpdir(), "quicksilver-crash-"));
after(() => rmSync(directory, { recursive: true, force: true }));

const ROUNDS = 4;
/** Publishers per round, each publishing one update at a time, so its updates have an order. */
const LANES = 4;
const TOPIC = "https://example.com/crash";

function token(hub: BenchHub, grant: "publish" | "subscribe"): Promise<string> {
  return mintToken({ issuer: BENCH_ISSUER, audience: hub.hubUrl, key: BENCH_SECRET, [grant]: ["*"] });
}

function publish(hub: BenchHub, bearer: string, id: string): Promise<Response> {
  return fetch(hub.hubUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ topic: TOPIC, id, data: id }),
  });
}

interface IdParts {
  readonly round: number;
  readonly lane: number;
  readonly n: number;
}

/** `r{round}-l{lane}-{n}`: the n-th update of a publisher in one life of the hub. */
function idParts(id: string): IdParts {
  const match = /^r(\d+)-l(\d+)-(\d+)$/.exec(id);
  assert.ok(match, `${id} is not an id this test published`);
  return { round: Number(match[1]), lane: Number(match[2]), n: Number(match[3]) };
}

interface Outcome {
  /** Ids the hub answered 200 for. */
  readonly acknowledged: Set<string>;
  /** Ids whose publish was cut by a kill: they may or may not have been stored. */
  readonly unanswered: Set<string>;
}

/** One life of the hub: publishers run until the hub is killed at a random moment. */
async function crashRound(
  path: string,
  durability: string,
  round: number,
  next: () => number,
  outcome: Outcome,
) {
  const hub = await spawnHub(["--transport", `sqlite:${path}`, "--history-durability", durability]);
  const bearer = await token(hub, "publish");
  const exited = new Promise((resolve) => hub.process.once("exit", resolve));
  let firstAck!: () => void;
  const acknowledgedOnce = new Promise<void>((resolve) => {
    firstAck = resolve;
  });
  const lanes = Array.from({ length: LANES }, async (_, lane) => {
    for (let n = 0; ; n++) {
      const id = `r${round}-l${lane}-${n}`;
      let response: Response;
      try {
        response = await publish(hub, bearer, id);
        await response.arrayBuffer();
      } catch {
        outcome.unanswered.add(id);
        return;
      }
      assert.equal(response.status, 200, `${id} was answered ${response.status}`);
      outcome.acknowledged.add(id);
      firstAck();
    }
  });
  await acknowledgedOnce;
  await new Promise((resolve) => setTimeout(resolve, next() * 400));
  hub.process.kill("SIGKILL");
  await exited;
  await Promise.all(lanes);
}

describe("an acknowledged publish survives SIGKILL", () => {
  for (const durability of ["full", "normal"]) {
    it(`with --history-durability ${durability}`, async (t) => {
      const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
      t.diagnostic(`CRASH_SEED=${seed}`);
      const random = new Random(seed);
      const next = () => random.next();
      const path = join(directory, durability, "history.db");
      const outcome: Outcome = { acknowledged: new Set(), unanswered: new Set() };
      for (let round = 0; round < ROUNDS; round++) await crashRound(path, durability, round, next, outcome);

      const stored = await storedIds(path, TOPIC);
      t.diagnostic(
        `${outcome.acknowledged.size} acknowledged, ${outcome.unanswered.size} cut by a kill, ${stored.length} stored`,
      );
      assert.equal(new Set(stored).size, stored.length, "no update is stored twice");
      const missing = [...outcome.acknowledged].filter((id) => !stored.includes(id));
      assert.deepEqual(missing, [], "every acknowledged update is stored");
      const unexpected = stored.filter((id) => !outcome.acknowledged.has(id) && !outcome.unanswered.has(id));
      assert.deepEqual(unexpected, [], "nothing that was never published is stored");
      // Each publisher's updates are stored in the order it published them, and rounds in order.
      const lastOfLane = new Map<number, IdParts>();
      let lastRound = 0;
      for (const id of stored) {
        const parts = idParts(id);
        assert.ok(parts.round >= lastRound, `${id} is stored after an update of round ${lastRound}`);
        lastRound = parts.round;
        const previous = lastOfLane.get(parts.lane);
        assert.ok(
          previous === undefined || previous.round < parts.round || previous.n < parts.n,
          `${id} is stored after r${previous?.round}-l${parts.lane}-${previous?.n}`,
        );
        lastOfLane.set(parts.lane, parts);
      }
    });
  }
});
