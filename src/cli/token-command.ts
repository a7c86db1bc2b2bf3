import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { mintToken } from "../auth/mint.ts";
import { UsageError } from "./resolve-config.ts";

export const TOKEN_USAGE = `Usage: quicksilver token [options]

Mints a draft-08 access token (RFC 9068 JWT with Mercure authorization details) on stdout.

  --iss ISSUER                 issuer (iss), one the hub trusts        [MERCURE_TRUSTED_ISSUERS, first]
  --aud RESOURCE               audience: the hub's resource identifier [MERCURE_RESOURCE_IDENTIFIER,
                               or http://localhost:3000/.well-known/mercure]
  --key SECRET_OR_PEM          HMAC secret or private key PEM          [MERCURE_PUBLISHER_JWT_KEY]
  --key-file FILE              read the key from a file
  --alg ALG                    HS256 (default for a secret), RS256, ES256, EdDSA...
  --publish TOPIC              grant publish on an exact topic (repeatable; * for every topic)
  --subscribe TOPIC            grant subscribe on an exact topic (repeatable; * for every topic)
  --publish-urlpattern P       grant publish on a URL Pattern (repeatable)
  --subscribe-urlpattern P     grant subscribe on a URL Pattern (repeatable)
  --payload JSON               a JSON object attached to the subscribe grant
  --ttl DURATION               lifetime: 3600 (seconds), 30s, 15m, 12h, 7d  [1h]
  --sub SUBJECT                subject (sub)                           [a random urn:uuid]
`;

export async function tokenCommand(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      iss: { type: "string" },
      aud: { type: "string" },
      key: { type: "string" },
      "key-file": { type: "string" },
      alg: { type: "string" },
      publish: { type: "string", multiple: true },
      subscribe: { type: "string", multiple: true },
      "publish-urlpattern": { type: "string", multiple: true },
      "subscribe-urlpattern": { type: "string", multiple: true },
      payload: { type: "string" },
      ttl: { type: "string" },
      sub: { type: "string" },
    },
  });
  const issuer = values.iss ?? env.MERCURE_TRUSTED_ISSUERS?.split(/[\s,]+/)[0] ?? env.MERCURE_ISSUER;
  if (issuer === undefined || issuer === "") throw new UsageError("give --iss, the issuer your hub trusts");
  if (values.key !== undefined && values["key-file"] !== undefined) {
    throw new UsageError("give --key or --key-file, not both");
  }
  const key =
    values["key-file"] !== undefined
      ? readFileSync(values["key-file"], "utf8").trim()
      : (values.key ?? env.MERCURE_PUBLISHER_JWT_KEY ?? env.MERCURE_PUBLISHER_KEY);
  if (key === undefined || key === "")
    throw new UsageError("give --key (a secret or a private key PEM) or --key-file");
  let payload: unknown;
  if (values.payload !== undefined) {
    try {
      payload = JSON.parse(values.payload);
    } catch {
      throw new UsageError("--payload must be JSON");
    }
  }
  const grants = [
    values.publish,
    values.subscribe,
    values["publish-urlpattern"],
    values["subscribe-urlpattern"],
  ];
  if (grants.every((list) => list === undefined)) {
    throw new UsageError(
      "grant something: --publish, --subscribe, --publish-urlpattern or --subscribe-urlpattern",
    );
  }
  const options: Parameters<typeof mintToken>[0] = {
    issuer,
    audience: values.aud ?? env.MERCURE_RESOURCE_IDENTIFIER ?? "http://localhost:3000/.well-known/mercure",
    key,
    ttlSeconds: parseTtl(values.ttl ?? "1h"),
  };
  if (values.alg !== undefined) options.alg = values.alg;
  if (values.publish !== undefined) options.publish = values.publish;
  if (values.subscribe !== undefined) options.subscribe = values.subscribe;
  if (values["publish-urlpattern"] !== undefined) options.publishUrlPattern = values["publish-urlpattern"];
  if (values["subscribe-urlpattern"] !== undefined)
    options.subscribeUrlPattern = values["subscribe-urlpattern"];
  if (payload !== undefined) options.payload = payload;
  if (values.sub !== undefined) options.subject = values.sub;
  try {
    return await mintToken(options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseTtl(text: string): number {
  const match = /^(\d+)(s|m|h|d)?$/.exec(text.trim());
  if (match === null)
    throw new UsageError(`--ttl takes seconds or a duration such as 30s, 15m, 12h or 7d, got ${text}`);
  const factor = { s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? "s") as "s" | "m" | "h" | "d"];
  return Number(match[1]) * factor;
}
