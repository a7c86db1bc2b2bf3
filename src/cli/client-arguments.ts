import { UsageError } from "./resolve-config.ts";

/**
 * The arguments the client commands (`publish`, `subscribe`) share: the hub's URL, and the token.
 */

/** The one positional argument: the hub's http(s) URL. */
export function hubUrlOf(positionals: readonly string[]): URL {
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "give the hub's URL, such as https://example.com/.well-known/mercure"
        : `give one hub URL, got ${positionals.length} arguments`,
    );
  }
  let url: URL;
  try {
    url = new URL(positionals[0]!);
  } catch {
    throw new UsageError("the hub must be an http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError("the hub must be an http:// or https:// URL");
  }
  return url;
}

/**
 * `--token`, else the variable `--token-env` names, else the variable `fallbackEnv`; none: no
 * token (anonymous).
 */
export function clientToken(
  token: string | undefined,
  tokenEnv: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  fallbackEnv: string,
): string | undefined {
  if (token !== undefined && tokenEnv !== undefined) {
    throw new UsageError("give --token or --token-env, not both");
  }
  if (token !== undefined) {
    if (token === "") throw new UsageError("--token must not be empty");
    return token;
  }
  if (tokenEnv !== undefined) {
    const value = env[tokenEnv];
    if (value === undefined || value === "") {
      throw new UsageError(`--token-env names ${tokenEnv}, which is not set`);
    }
    return value;
  }
  const fallback = env[fallbackEnv];
  return fallback === undefined || fallback === "" ? undefined : fallback;
}
