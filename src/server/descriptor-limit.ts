import { readFileSync } from "node:fs";

/**
 * The process's soft limit on open file descriptors (RLIMIT_NOFILE, `ulimit -n`), read from
 * /proc/self/limits on Linux; undefined where it cannot be read (other systems, no /proc).
 */
export function descriptorLimit(limitsFile = "/proc/self/limits"): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, "utf8");
  } catch {
    return undefined;
  }
  // "Max open files            20000                20000                files"
  const match = /^Max open files\s+(\S+)/m.exec(text);
  if (match === null) return undefined;
  if (match[1] === "unlimited") return Number.MAX_SAFE_INTEGER;
  const limit = Number(match[1]);
  return Number.isSafeInteger(limit) && limit > 0 ? limit : undefined;
}

/** Assumed when the limit cannot be read: the usual soft limit, so the defaults stay safe. */
export const FALLBACK_DESCRIPTOR_LIMIT = 1024;

/**
 * Descriptors kept out of the socket limits: the history store (database, journal, shared
 * memory), standard streams, the event loop's own, outgoing JWK Set fetches, the log.
 */
export function reservedDescriptors(limit: number): number {
  return Math.max(64, Math.ceil(limit / 20));
}
