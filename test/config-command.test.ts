import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type Run, runCli } from "./helpers/cli-run.ts";

const SECRET = "a-secret-that-is-long-enough-for-hs256!!";

/** Runs the CLI to completion, with only the environment given (and a home of its own). */
function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runCli(args, { PATH: process.env.PATH ?? "", HOME: scratch(), ...env });
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), "qs-config-"));
}

function write(name: string, text: string): string {
  const path = join(scratch(), name);
  writeFileSync(path, text);
  return path;
}

interface Report {
  options: { option: string; key: string; value: unknown; source: string; note?: string }[];
  issuers: { issuer: string; source: string; publisher?: object; subscriber?: object }[];
  warnings: string[];
}

async function printJson(args: string[], env: Record<string, string> = {}): Promise<Report> {
  const result = await run(["config", "print", "--json", ...args], env);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Report;
}

function option(report: Report, flag: string) {
  const found = report.options.find((entry) => entry.option === flag);
  assert.ok(found, `--${flag} printed`);
  return found;
}

const JSON_CONFIG = `{
  "listen": "127.0.0.1:4000",
  "heartbeat": "15s",
  "maxBodyBytes": 2048,
  "corsOrigins": ["https://app.test", "https://admin.app.test"],
  "subscriptions": true,
  "issuers": [
    { "issuer": "https://app.test", "publisher": { "key": "${SECRET}" }, "subscriber": { "key": "${SECRET}", "alg": "HS256" } }
  ]
}
`;

const YAML_CONFIG = `# the same configuration, in YAML
listen: 127.0.0.1:4000
heartbeat: 15s
maxBodyBytes: 2048
corsOrigins:
  - https://app.test
  - https://admin.app.test
subscriptions: true
issuers:
  - issuer: https://app.test
    publisher: { key: "${SECRET}" }
    subscriber:
      key: "${SECRET}"
      alg: HS256
`;

describe("quicksilver config print", () => {
  it("reads a YAML file as the JSON file that says the same", async () => {
    // One home, so that both put the default history store in the same place.
    const env = { HOME: scratch() };
    const fromJson = await printJson(["--config", write("hub.json", JSON_CONFIG)], env);
    const fromYaml = await printJson(["--config", write("hub.yaml", YAML_CONFIG)], env);
    const values = (report: Report) => report.options.map(({ option, value }) => ({ option, value }));
    const withoutConfig = (report: Report) => values(report).filter((entry) => entry.option !== "config");
    assert.deepEqual(withoutConfig(fromYaml), withoutConfig(fromJson));
    assert.deepEqual(
      fromYaml.issuers.map(({ source: _, ...issuer }) => issuer),
      fromJson.issuers.map(({ source: _, ...issuer }) => issuer),
    );
    assert.equal(option(fromYaml, "heartbeat").value, "15s");
    assert.deepEqual(option(fromYaml, "cors-origins").value, ["https://app.test", "https://admin.app.test"]);
    assert.equal(option(fromYaml, "subscriptions").value, true);
    assert.match(option(fromYaml, "max-body-bytes").source, /^file .*hub\.yaml$/);
    // Both pass the checks the start makes.
    for (const name of ["hub.json", "hub.yaml"]) {
      const check = await run([
        "config",
        "check",
        "--config",
        write(name, name === "hub.json" ? JSON_CONFIG : YAML_CONFIG),
      ]);
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /configuration is valid/);
    }
  });

  it("says where each value came from: flag, then environment, then file, then default", async () => {
    const file = write("hub.yaml", "heartbeat: 15s\nmaxBodyBytes: 2048\nmaxTopics: 7\n");
    const report = await printJson(
      ["--config", file, "--heartbeat", "5s", "--issuer", "https://app.test", "--transport", "memory"],
      {
        MERCURE_HEARTBEAT: "20s",
        MERCURE_MAX_BODY_BYTES: "4096",
        MERCURE_PUBLISHER_JWT_KEY: SECRET,
        SUBSCRIBER_JWT_KEY: SECRET,
      },
    );
    assert.deepEqual(option(report, "heartbeat"), {
      option: "heartbeat",
      key: "heartbeat",
      value: "5s",
      source: "flag --heartbeat",
    });
    assert.equal(option(report, "max-body-bytes").value, 4096);
    assert.equal(option(report, "max-body-bytes").source, "env MERCURE_MAX_BODY_BYTES");
    assert.equal(option(report, "max-topics").value, 7);
    assert.equal(option(report, "max-topics").source, `file ${file}`);
    assert.equal(option(report, "max-fields").value, 256);
    assert.equal(option(report, "max-fields").source, "default");
    assert.equal(
      option(report, "publisher-key").source,
      "env MERCURE_PUBLISHER_JWT_KEY (reference hub's name)",
    );
    assert.equal(option(report, "subscriber-key").source, "env SUBSCRIBER_JWT_KEY (0.x name)");
    // A default that follows another option is computed: a memory history keeps fewer updates.
    assert.equal(option(report, "history-size").value, 1000);
    assert.equal(option(report, "history-size").source, "computed");
    assert.equal(option(report, "history-max-age").value, null);
    // The text form says the same, one option a line.
    const text = await run(["config", "print", "--config", file, "--heartbeat", "5s", "--dev"], {
      MERCURE_MAX_BODY_BYTES: "4096",
    });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^--heartbeat +5s +flag --heartbeat$/m);
    assert.match(text.stdout, /^--max-body-bytes +4096 +env MERCURE_MAX_BODY_BYTES$/m);
    assert.match(text.stdout, /^--max-topics +7 +file .*hub\.yaml$/m);
    assert.match(text.stdout, /^--max-fields +256 +default$/m);
    assert.match(text.stdout, /^ {2}quicksilver-dev +\(computed \(--dev, a generated secret\)\)$/m);
  });

  it("masks every secret: keys, key files, the password of a Redis URL", async () => {
    const fileSecret = "file-secret-0123456789-abcdefghijklmno";
    const envSecret = "env-secret-0123456789-abcdefghijklmnop";
    const flagSecret = "flag-secret-0123456789-abcdefghijklmno";
    const keyFileSecret = "key-file-secret-0123456789-abcdefghijk";
    const redisPassword = "redis-hunter2-password";
    const keyFile = write("subscriber.key", `${keyFileSecret}\n`);
    const config = write(
      "hub.yaml",
      `issuers:\n  - issuer: https://one.test\n    publisher: { key: "${fileSecret}" }\n    subscriber: { keyFile: "${keyFile}" }\n`,
    );
    const args = [
      "--config",
      config,
      "--issuer",
      "https://two.test",
      "--publisher-key",
      flagSecret,
      "--transport",
      `redis://hub:${redisPassword}@127.0.0.1:6379/2`,
    ];
    const env = { MERCURE_SUBSCRIBER_KEY: envSecret };
    const text = await run(["config", "print", ...args], env);
    const json = await run(["config", "print", "--json", ...args], env);
    for (const output of [text, json]) {
      assert.equal(output.code, 0, output.stderr);
      for (const secret of [fileSecret, envSecret, flagSecret, keyFileSecret, redisPassword]) {
        assert.ok(!output.stdout.includes(secret), `${secret} printed:\n${output.stdout}`);
        assert.ok(!output.stderr.includes(secret), `${secret} printed:\n${output.stderr}`);
      }
    }
    const report = JSON.parse(json.stdout) as Report;
    assert.equal(option(report, "transport").value, "redis://hub:***@127.0.0.1:6379/2");
    assert.equal(option(report, "publisher-key").value, "********");
    assert.equal(option(report, "subscriber-key").value, "********");
    assert.deepEqual(report.issuers, [
      {
        issuer: "https://one.test",
        source: `file ${config}`,
        publisher: { key: "********" },
        subscriber: { keyFile },
      },
      {
        issuer: "https://two.test",
        source: "flags --issuer and the key options",
        publisher: { key: "********" },
        subscriber: { key: "********" },
      },
    ]);
  });
});

describe("quicksilver config check", () => {
  const keys = ["--issuer", "https://app.test", "--publisher-key", SECRET, "--transport", "memory"];

  it("says the configuration is valid, with its warnings, and exits 0", async () => {
    const result = await run(["config", "check", ...keys, "--history-max-age", "1h"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^warning: --history-max-age is not used/m);
    assert.match(result.stdout, /configuration is valid\n$/);
  });

  const refused: [string, string[], Record<string, string>, RegExp][] = [
    [
      "a key file that does not exist",
      ["--issuer", "https://app.test", "--publisher-key-file", "/nonexistent/publisher.pem"],
      {},
      /cannot read --publisher-key-file \/nonexistent\/publisher\.pem/,
    ],
    [
      "a bad duration",
      [...keys, "--heartbeat", "5 parsecs"],
      {},
      /--heartbeat takes a duration such as 500ms, 30s, 5m, 1h or 1m30s, got 5 parsecs/,
    ],
    [
      "a bad duration from the environment, naming the variable",
      keys,
      { MERCURE_WRITE_TIMEOUT: "soon" },
      /--write-timeout \(MERCURE_WRITE_TIMEOUT\) takes a duration/,
    ],
    [
      "a secret too short for HS256",
      ["--issuer", "https://app.test", "--publisher-key", "short", "--transport", "memory"],
      {},
      /issuers\[0\]\.publisher/,
    ],
    [
      "a JWK Set URL with credentials",
      [
        "--issuer",
        "https://app.test",
        "--publisher-jwks-uri",
        "https://u:pw@auth.test/jwks",
        "--transport",
        "memory",
      ],
      {},
      /cannot carry credentials/,
    ],
  ];
  for (const [what, args, env, message] of refused) {
    it(`refuses ${what}, exit 2`, async () => {
      const result = await run(["config", "check", ...args], env);
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(result.stderr, /^quicksilver: configuration is invalid: /);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stdout, /configuration is valid/);
    });
  }

  it("refuses a key file that holds a private key, the way the start does", async () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const file = write("private.pem", pem);
    const result = await run([
      "config",
      "check",
      "--issuer",
      "https://app.test",
      "--publisher-key-file",
      file,
    ]);
    assert.equal(result.code, 2, result.stdout);
    assert.match(result.stderr, /this is a private key; the hub needs only the public key/);
    assert.ok(!result.stderr.includes(pem.split("\n")[1] as string), "the key is not quoted");
  });

  it("refuses an unknown key in a JSON or a YAML file, naming it and its line", async () => {
    const json = write("hub.json", `{\n  "dev": true,\n  "heartBeat": "1s"\n}\n`);
    const yaml = write("hub.yml", "dev: true\n\nheartBeat: 1s\n");
    for (const file of [json, yaml]) {
      const result = await run(["config", "check", "--config", file]);
      assert.equal(result.code, 2, result.stdout);
      assert.match(
        result.stderr,
        new RegExp(`unknown key heartBeat in the config file ${file} \\(line 3\\)`),
      );
    }
  });

  it("refuses an unknown key in an issuer of a YAML file, with its line", async () => {
    const file = write(
      "hub.yaml",
      `issuers:\n  - issuer: https://app.test\n    publisher:\n      key: "${SECRET}"\n      kid: main\n`,
    );
    const result = await run(["config", "check", "--config", file]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /unknown key kid in issuers\[0\]\.publisher in the config file .* \(line 5\)/,
    );
  });

  it("refuses a file of another format, naming the accepted ones", async () => {
    const result = await run(["config", "check", "--config", write("hub.toml", 'listen = "0.0.0.0:3000"\n')]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /is not JSON; a config file is JSON \(\.json, or any other name\) or YAML \(\.yaml or \.yml\)/,
    );
  });

  it("asks for check or print", async () => {
    const result = await run(["config"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /config needs check or print/);
    const help = await run(["config", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /quicksilver config check \[serve options\]/);
  });
});
