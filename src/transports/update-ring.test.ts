import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TransportError } from "../hub/transport.ts";
import { createUpdate, type Update } from "../hub/update.ts";
import { mergeBySeq, type SequencedUpdate, sequenced, UpdateRing } from "./update-ring.ts";

function update(seq: number, id = `id-${seq}`): SequencedUpdate {
  const made = createUpdate({
    topics: ["t"],
    data: "",
    id,
    type: undefined,
    retry: undefined,
    private: false,
  });
  return sequenced(made, seq);
}

const seqs = (entries: Iterable<SequencedUpdate>) => [...entries].map((entry) => entry.seq);

describe("UpdateRing: order, ids and merging", () => {
  it("keeps the newest, finds ids and reads after a seq, with seqs that skip", () => {
    const ring = new UpdateRing(3);
    for (const seq of [2, 5, 9, 12]) ring.push(update(seq));
    assert.equal(ring.size, 3);
    assert.equal(ring.find("id-2"), undefined, "dropped");
    assert.equal(ring.find("id-9")?.seq, 9);
    assert.deepEqual(seqs(ring.after(0)), [5, 9, 12]);
    assert.deepEqual(seqs(ring.after(6)), [9, 12]);
    assert.deepEqual(seqs(ring.after(12)), []);
  });

  it("reads on through updates pushed between two steps, skipping those dropped when it may", () => {
    const ring = new UpdateRing(3, { owesEveryUpdate: false });
    for (const seq of [1, 2, 3]) ring.push(update(seq));
    const reader = ring.after(0);
    assert.equal(reader.next().value?.seq, 1);
    ring.push(update(4)); // drops 1
    ring.push(update(5)); // drops 2
    assert.deepEqual(seqs({ [Symbol.iterator]: () => reader }), [3, 4, 5]);
  });

  it("finds a reused id at its earliest occurrence still kept", () => {
    const ring = new UpdateRing(2);
    ring.push(update(1, "same"));
    ring.push(update(2, "same"));
    assert.equal(ring.find("same")?.seq, 1);
    ring.push(update(3));
    assert.equal(ring.find("same")?.seq, 2);
  });

  it("merges two ordered sequences into one", () => {
    const a = [1, 4, 5].map((seq) => update(seq));
    const b = [2, 3, 6].map((seq) => update(seq));
    assert.deepEqual(seqs(mergeBySeq(a.values(), b.values())), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(seqs(mergeBySeq([].values(), b.values())), [2, 3, 6]);
  });
});

/** An update whose id counts how often it is read: the ring's work, measured without a clock. */
function counted(seq: number, id: string, reads: { count: number }): SequencedUpdate {
  const update = {
    get id() {
      reads.count++;
      return id;
    },
  } as unknown as Update;
  return sequenced(update, seq);
}

describe("UpdateRing", () => {
  it("drops its oldest update in constant work, not a scan of the ring", () => {
    const capacity = 2000;
    const ring = new UpdateRing(capacity);
    const reads = { count: 0 };
    for (let seq = 1; seq <= capacity; seq++) ring.push(counted(seq, `u${seq}`, reads));
    reads.count = 0;
    const pushes = 2 * capacity;
    for (let seq = capacity + 1; seq <= capacity + pushes; seq++) ring.push(counted(seq, `u${seq}`, reads));
    // A scan per eviction reads every kept id: capacity × pushes reads (8 million here).
    assert.ok(reads.count <= 4 * pushes, `${reads.count} id reads for ${pushes} pushes`);
    assert.equal(ring.size, capacity);
    assert.equal(ring.find(`u${capacity + pushes}`)?.seq, capacity + pushes);
    assert.equal(ring.find(`u${pushes}`), undefined, "evicted");
  });

  it("finds a reused id at its earliest kept occurrence as older ones are dropped", () => {
    const ring = new UpdateRing(4);
    const reads = { count: 0 };
    const ids = ["a", "b", "a", "c", "a", "d", "e", "f", "g"];
    const earliest: (number | undefined)[] = [];
    ids.forEach((id, index) => {
      ring.push(counted(index + 1, id, reads));
      earliest.push(ring.find("a")?.seq);
    });
    // Kept: the last four pushed. "a" was pushed at seqs 1, 3 and 5.
    assert.deepEqual(earliest, [1, 1, 1, 1, 3, 3, 5, 5, undefined]);
  });

  it("keeps the earliest occurrence of an id reused many times, through every eviction", () => {
    const ring = new UpdateRing(100);
    const reads = { count: 0 };
    for (let seq = 1; seq <= 1000; seq++) {
      ring.push(counted(seq, seq % 3 === 0 ? "reused" : `u${seq}`, reads));
      const oldestKept = Math.max(1, seq - 99);
      const expected = Math.ceil(oldestKept / 3) * 3;
      assert.equal(ring.find("reused")?.seq, expected <= seq ? expected : undefined);
    }
    assert.deepEqual(seqs(ring.after(995)), [996, 997, 998, 999, 1000]);
  });

  it("fails a replay that dropping overtook, rather than skip what it had yet to yield", () => {
    const reads = { count: 0 };
    for (const owesEveryUpdate of [true, false]) {
      const ring = new UpdateRing(3, { owesEveryUpdate });
      for (let seq = 1; seq <= 3; seq++) ring.push(counted(seq, `u${seq}`, reads));
      const replay = ring.after(0);
      assert.equal(replay.next().value?.seq, 1);
      // Seqs 2 and 3 are dropped before the replay got to them.
      for (let seq = 4; seq <= 6; seq++) ring.push(counted(seq, `u${seq}`, reads));
      if (owesEveryUpdate) assert.throws(() => replay.next(), TransportError);
      else assert.equal(replay.next().value?.seq, 4, "subscription events skip on");
    }
  });

  it("owes a replay only what was kept when it began", () => {
    const ring = new UpdateRing(2);
    const reads = { count: 0 };
    for (let seq = 1; seq <= 5; seq++) ring.push(counted(seq, `u${seq}`, reads));
    assert.deepEqual(seqs(ring.after(0)), [4, 5]);
  });
});
