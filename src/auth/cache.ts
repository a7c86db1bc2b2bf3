/**
 * A bounded cache of verified tokens, so that a publisher presenting the same token on every
 * request is not re-verified each time (a signature check costs tens of microseconds for HMAC
 * and far more for RSA).
 *
 * Only successes are cached: a failure is never remembered, so a token that failed because of a
 * transient JWK Set outage verifies again once the issuer is back. An entry lives until the
 * token's `exp` or `maxAgeMs` after it was verified, whichever comes first, so a revoked
 * signing key stops being honoured within `maxAgeMs` even for long-lived tokens.
 */

/** Most verified tokens kept (a named bound: memory is proportional to it). */
export const DEFAULT_MAX_CACHED_TOKENS = 10_000;
/** Longest time a verified token is trusted without verifying it again. */
export const DEFAULT_CACHE_MAX_AGE_MS = 60_000;

export interface VerifiedTokenCacheOptions {
  /** Most entries; 0 disables the cache. */
  maxEntries: number;
  /** Longest time an entry is kept, in ms. */
  maxAgeMs: number;
  now: () => number;
}

interface Entry<T> {
  readonly value: T;
  readonly validUntil: number;
}

/** Least-recently-used map from token to verified value, with per-entry expiry. */
export class VerifiedTokenCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  constructor(options: VerifiedTokenCacheOptions) {
    this.#maxEntries = options.maxEntries;
    this.#maxAgeMs = options.maxAgeMs;
    this.#now = options.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached value, or `undefined` when absent or expired (an expired entry is dropped). */
  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#now() >= entry.validUntil) {
      this.#entries.delete(key);
      return undefined;
    }
    // Move to the most-recently-used end.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /**
   * Remembers a verified value until `min(expiresAt, now + maxAgeMs)`. A value that would
   * already be expired is not stored. When full, the least recently used entry goes.
   */
  set(key: string, value: T, expiresAt: number | undefined): void {
    if (this.#maxEntries <= 0) return;
    const now = this.#now();
    const validUntil = Math.min(expiresAt ?? Number.POSITIVE_INFINITY, now + this.#maxAgeMs);
    if (!(validUntil > now)) return;
    this.#entries.delete(key);
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, validUntil });
  }

  clear(): void {
    this.#entries.clear();
  }
}
