import { parseArgs } from "node:util";
import {
  inspectStore,
  type StoredUpdate,
  type StoreReport,
  trimStore,
} from "../transports/sqlite-maintenance.ts";
import { parseDuration } from "./duration.ts";
import { storePath } from "./store-path.ts";
import { UsageError } from "./usage-error.ts";

export const HISTORY_USAGE = `Usage: quicksilver history [info|trim] [options]

Inspects or trims a sqlite history store. It finds the store the way \`quicksilver serve\` does.

  info                         count, oldest and newest update, sizes (the default)
  trim                         remove the oldest updates until every bound given holds; the hub
                               must be stopped (a running hub trims by its own --history-* options)

  --transport sqlite:PATH      the store file                       [MERCURE_TRANSPORT]
  --data-dir DIR               the directory of the default store   [MERCURE_DATA_DIR]
  --json                       info as JSON
  --keep COUNT                 trim: keep at most this many updates
  --max-age DURATION           trim: remove updates older than this (30m, 12h, 7d)
  --max-bytes BYTES            trim: keep at most this many bytes of frames and topics
  --vacuum                     trim: then shrink the file to what it holds
`;

/** `quicksilver history`: what is printed on stdout. */
export function historyCommand(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      transport: { type: "string" },
      "data-dir": { type: "string" },
      json: { type: "boolean" },
      keep: { type: "string" },
      "max-age": { type: "string" },
      "max-bytes": { type: "string" },
      vacuum: { type: "boolean" },
    },
  });
  const [action = "info", ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(" ")}`);
  const path = storePath(
    values.transport ?? env.MERCURE_TRANSPORT ?? "sqlite",
    values["data-dir"] ?? env.MERCURE_DATA_DIR,
    env,
  );
  if (action === "info") {
    const report = inspectStore(path);
    return values.json ? JSON.stringify(report) : describe(report);
  }
  if (action !== "trim") throw new UsageError(`history takes info or trim, got ${action}`);
  const bounds = {
    ...(values.keep === undefined ? {} : { maxCount: count("--keep", values.keep) }),
    ...(values["max-age"] === undefined ? {} : { maxAgeMs: duration(values["max-age"]) }),
    ...(values["max-bytes"] === undefined ? {} : { maxBytes: count("--max-bytes", values["max-bytes"]) }),
  };
  if (Object.keys(bounds).length === 0) throw new UsageError("trim needs --keep, --max-age or --max-bytes");
  const trimmed = trimStore(path, bounds, { vacuum: values.vacuum === true });
  const lines = [`removed ${trimmed.removed} updates, kept ${trimmed.kept}`];
  if (trimmed.vacuumed) {
    lines.push(
      `file ${bytes(trimmed.vacuumed.before)} before, ${bytes(trimmed.vacuumed.after)} after vacuum`,
    );
  }
  return lines.join("\n");
}

function describe(report: StoreReport): string {
  const end = (update: StoredUpdate | undefined) =>
    update === undefined
      ? "-"
      : `${update.id} (seq ${update.seq}, stored ${new Date(update.publishedAt).toISOString()})`;
  return [
    `store    ${report.path}`,
    `in use   ${report.inUse ? "yes, a running hub holds it" : "no"}`,
    `updates  ${report.count} (${bytes(report.storedBytes)} of frames and topics, ${bytes(report.fileBytes)} on disk)`,
    `oldest   ${end(report.oldest)}`,
    `newest   ${end(report.newest)}`,
  ].join("\n");
}

function count(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} takes a whole number, got ${text}`);
  return Number(text);
}

function duration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UsageError(`--max-age takes a duration such as 30m, 12h or 7d, got ${text}`);
  return ms;
}

function bytes(value: number): string {
  if (value < 1024) return `${value} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let scaled = value / 1024;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return `${scaled.toFixed(1)} ${units[unit]}`;
}
