import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { maskUrlPassword } from "./config-command.ts";
import { issuersFromFile, MAX_CONFIG_FILE_BYTES, MAX_YAML_ALIASES, readConfigFile } from "./config-file.ts";
import { UsageError } from "./usage-error.ts";

function write(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "qs-config-file-")), name);
  writeFileSync(path, text);
  return path;
}

function refused(path: string, message: RegExp): void {
  assert.throws(
    () => issuersFromFile(readConfigFile(path)),
    (error: unknown) => error instanceof UsageError && message.test(error.message),
  );
}

describe("config files", () => {
  it("reads YAML with the core schema: yes is a string, durations stay text", () => {
    const file = readConfigFile(
      write("hub.yaml", "cookieName: yes\nheartbeat: 1m30s\nmaxTopics: 8\nanonymous: true\n"),
    );
    assert.deepEqual(file.values, { cookieName: "yes", heartbeat: "1m30s", maxTopics: 8, anonymous: true });
  });

  it("lets aliases share an issuer's keys, within a bound", () => {
    const shared = "key: a-secret-that-is-long-enough-for-hs256!!";
    const file = readConfigFile(
      write(
        "hub.yml",
        `issuers:\n  - issuer: https://a.test\n    publisher: &k { ${shared} }\n    subscriber: *k\n`,
      ),
    );
    assert.equal(issuersFromFile(file)[0]?.subscriber?.key, "a-secret-that-is-long-enough-for-hs256!!");
  });

  it("refuses an alias bomb", () => {
    const lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (let level = 1; level < 8; level++) {
      const previous = String.fromCharCode(96 + level);
      const name = String.fromCharCode(97 + level);
      lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]`);
    }
    refused(write("bomb.yaml", `${lines.join("\n")}\n`), new RegExp(`more than ${MAX_YAML_ALIASES} alias`));
  });

  it("refuses custom tags, duplicate keys and several documents, with the line", () => {
    refused(
      write("tag.yaml", "listen: localhost:3000\ncookieName: !secret name\n"),
      /custom tags .* \(line 2\)/,
    );
    refused(write("dup.yaml", "listen: a:1\nlisten: b:2\n"), /a key is given twice \(line 2\)/);
    refused(write("dup.json", '{\n  "listen": "a:1",\n  "listen": "b:2"\n}'), /gives a key twice \(line 3\)/);
    refused(write("docs.yaml", "listen: a:1\n---\nlisten: b:2\n"), /not valid YAML/);
  });

  it("names the line of the key, not of its value on the lines below", () => {
    refused(
      write(
        "lines.yaml",
        "dev: true\nissuers:\n  - issuer: a\n    publisher:\n      key: abc\n    subscriberr:\n      key: x\n",
      ),
      /unknown key subscriberr in issuers\[0\] in the config file .* \(line 6\)/,
    );
    refused(write("top.yaml", "dev: true\nissuerz:\n  - x\n"), /unknown key issuerz .* \(line 2\)/);
  });

  it("refuses a file past the size bound before parsing it", () => {
    const big = write("big.json", `{"cookieName": "${"x".repeat(MAX_CONFIG_FILE_BYTES)}"}`);
    refused(big, /larger than 1048576 bytes/);
  });

  it("refuses what is not a mapping, a key without a value, and unknown keys in issuers", () => {
    refused(write("list.yaml", "- listen\n"), /must hold an object/);
    refused(write("null.yaml", "listen:\n"), /listen has no value .* \(line 1\)/);
    refused(
      write("issuer.json", '{"issuers": [{"issuer": "https://a.test", "audience": "x"}]}'),
      /unknown key audience in issuers\[0\]/,
    );
    refused(
      write(
        "keyfile.yaml",
        "issuers:\n  - issuer: https://a.test\n    publisher: { keyFile: /nonexistent/key.pem }\n",
      ),
      /cannot read issuers\[0\]\.publisher\.keyFile \/nonexistent\/key\.pem/,
    );
  });

  it("does not quote a YAML file's text in its errors: it holds secrets", () => {
    const secret = "s3cret-0123456789-abcdefghijklmnop";
    const path = write("bad.yaml", `issuers:\n  - issuer: x\n    publisher: { key: "${secret}\n`);
    assert.throws(
      () => readConfigFile(path),
      (error: unknown) => error instanceof UsageError && !error.message.includes(secret.slice(0, 8)),
    );
  });
});

describe("maskUrlPassword", () => {
  it("masks the password and keeps the rest", () => {
    assert.equal(maskUrlPassword("redis://user:p%40ss@host:6379/1"), "redis://user:***@host:6379/1");
    assert.equal(maskUrlPassword("rediss://:secret@host"), "rediss://:***@host");
    assert.equal(maskUrlPassword("redis://secret@host"), "redis://***@host");
    assert.equal(maskUrlPassword("redis://host:6379"), "redis://host:6379");
    assert.equal(maskUrlPassword("sqlite:/var/lib/hub.db"), "sqlite:/var/lib/hub.db");
  });
});
