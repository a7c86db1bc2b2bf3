import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import type { Logger } from "../hub/logger.ts";
import { TransportError } from "../hub/transport.ts";
import { StoreFiles } from "./store-files.ts";

const directory = mkdtempSync(join(tmpdir(), "quicksilver-store-files-"));
after(() => rmSync(directory, { recursive: true, force: true }));
let stores = 0;

/** A store open in WAL mode, as the sqlite transport opens it, and its watcher. */
function openStore(logger?: Logger): { path: string; db: DatabaseSync; files: StoreFiles } {
  const path = join(directory, `store-${++stores}.db`);
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; CREATE TABLE updates (seq INTEGER PRIMARY KEY);");
  return { path, db, files: StoreFiles.watch(path, logger) };
}

function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const ignore = () => {};
  return {
    errors,
    debug: ignore,
    info: ignore,
    warn: ignore,
    error: (_fields, message) => errors.push(message ?? ""),
  };
}

describe("store files", () => {
  it("keeps a commit to the files it opened", () => {
    const { db, files } = openStore();
    let tookBack = false;
    files.assertCommitKept(() => {
      tookBack = true;
    });
    assert.equal(tookBack, false);
    assert.equal(files.check(), undefined);
    files.close(db);
  });

  it("takes back and refuses a commit whose database was removed meanwhile, and stays refusing", () => {
    const logger = recordingLogger();
    const { path, db, files } = openStore(logger);
    unlinkSync(path);
    let tookBack = false;
    assert.throws(
      () =>
        files.assertCommitKept(() => {
          tookBack = true;
        }),
      (error: unknown) => error instanceof TransportError && error.message.includes(`${path} was removed`),
    );
    assert.equal(tookBack, true);
    writeFileSync(path, "a new file of the same name");
    assert.throws(() => files.assertWritable(), TransportError);
    assert.match(files.check() ?? "", /^store-\d+\.db was removed$/);
    assert.equal(logger.errors.length, 1, logger.errors.join("\n"));
    assert.match(logger.errors[0]!, new RegExp(`${path.replaceAll(".", "\\.")} was removed`));
    files.close(db);
  });

  it("refuses a log replaced by another file", () => {
    const { path, db, files } = openStore();
    renameSync(`${path}-wal`, join(directory, "elsewhere.db-wal"));
    writeFileSync(`${path}-wal`, "");
    assert.throws(() => files.assertCommitKept(() => {}), /-wal was replaced by another file/);
    files.close(db);
  });
});
