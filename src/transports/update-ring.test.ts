import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createUpdate, type Update } from "../hub/update.ts";
import { mergeBySeq, UpdateRing } from "./update-ring.ts";

function update(seq: number, id = `id-${seq}`): Update {
  const made = createUpdate({
    topics: ["t"],
    data: "",
    id,
    type: undefined,
    retry: undefined,
    private: false,
  });
  made.seq = seq;
  return made;
}

const seqs = (updates: Iterable<Update>) => [...updates].map((u) => u.seq);

describe("UpdateRing", () => {
  it("keeps the newest, finds ids and reads after a seq, with seqs that skip", () => {
    const ring = new UpdateRing(3);
    for (const seq of [2, 5, 9, 12]) ring.push(update(seq));
    assert.equal(ring.size, 3);
    assert.equal(ring.find("id-2"), undefined, "dropped");
    assert.equal(ring.find("id-9")?.seq, 9);
    assert.deepEqual(seqs(ring.after(0)), [5, 9, 12]);
    assert.deepEqual(seqs(ring.after(6)), [9, 12]);
    assert.deepEqual(seqs(ring.after(12)), []);
    assert.equal(ring.newest?.seq, 12);
  });

  it("reads on through updates pushed and dropped between two steps", () => {
    const ring = new UpdateRing(3);
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
