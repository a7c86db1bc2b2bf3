/**
 * Verification key material per issuer and role, validated when the hub starts.
 *
 * Keys come only from configuration (a shared secret, a PEM public key) or from the issuer's
 * JWK Set URL, never from the token: no `jwk`/`jku`/`x5u`/`x5c` header is ever used (jose's
 * `EmbeddedJWK` must never be used here). Each material carries the exact list of algorithms it
 * verifies, so an HMAC secret never verifies an asymmetric issuer and vice versa
 * (algorithm confusion, CVE-2015-9235 / CWE-347).
 */
import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import * as jose from "jose";
import { ConfigError } from "./errors.ts";
import { DEFAULT_JWKS_ALGORITHMS, type JwksOptions, loadJwks } from "./jwks.ts";

export type { JwksOptions } from "./jwks.ts";

export type Role = "publisher" | "subscriber";
export const ROLES: readonly Role[] = ["publisher", "subscriber"];

export interface KeyConfig {
  /** An HMAC secret (its UTF-8 bytes are the key) or a PEM public key or X.509 certificate. */
  key?: string;
  /** The one algorithm `key` verifies; defaults to HS256 for a secret, inferred for a PEM key. */
  alg?: string;
  /** The issuer's JWK Set URL (http or https). */
  jwksUri?: string;
  /** Allowlist of algorithms; for a JWK Set it defaults to `DEFAULT_JWKS_ALGORITHMS`. */
  algorithms?: readonly string[];
  /**
   * Accept an HMAC secret shorter than the hash (RFC 7518 wants at least as long). Only the legacy
   * dialect sets it, for the old hub's configurations (`JWT_KEY='!ChangeMe!'`); the CLI warns.
   */
  allowShortSecret?: boolean;
}

export interface IssuerConfig {
  /** Compared byte for byte with the token's `iss`. */
  issuer: string;
  publisher?: KeyConfig;
  subscriber?: KeyConfig;
}

export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export const ASYMMETRIC_ALGORITHMS = [
  "EdDSA",
  "Ed25519",
  "ES256",
  "ES384",
  "ES512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
] as const;
/** RSA moduli shorter than this are refused (RFC 7518 section 3.3). */
export const MIN_RSA_BITS = 2048;

type HmacAlgorithm = (typeof HMAC_ALGORITHMS)[number];

/** An HMAC key must be at least as long as the hash output (RFC 7518 section 3.2). */
const HMAC_MIN_BYTES: Record<HmacAlgorithm, number> = { HS256: 32, HS384: 48, HS512: 64 };

const EC_CURVES: Record<string, string> = { ES256: "prime256v1", ES384: "secp384r1", ES512: "secp521r1" };
const CURVE_DEFAULT_ALG: Record<string, string> = {
  prime256v1: "ES256",
  secp384r1: "ES384",
  secp521r1: "ES512",
};

const PEM = /-----BEGIN [A-Z0-9 ]+-----/;

/** Resolves the key for a protected header; jose calls it after checking the algorithm allowlist. */
export type KeyResolver = (header: jose.JWSHeaderParameters) => Promise<jose.CryptoKey | Uint8Array>;

/** Verified keys for one issuer and role. */
export interface VerificationMaterial {
  readonly kind: "secret" | "pem" | "jwks";
  /** Exactly the algorithms this material verifies; passed to jose as the allowlist. */
  readonly algorithms: readonly string[];
  readonly resolve: KeyResolver;
}

export function isHmacAlgorithm(alg: string): alg is HmacAlgorithm {
  return (HMAC_ALGORITHMS as readonly string[]).includes(alg);
}

export function isAsymmetricAlgorithm(alg: string): boolean {
  return (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg);
}

export function looksLikePem(value: string): boolean {
  return PEM.test(value);
}

/** Refuses `none` and algorithms this hub does not know, naming where in the configuration. */
export function checkAlgorithmName(alg: unknown, where: string): string {
  if (typeof alg !== "string" || alg === "") {
    throw new ConfigError("alg_unknown", `${where}: alg must be a non-empty string`);
  }
  if (alg.toLowerCase() === "none") {
    throw new ConfigError("alg_none", `${where}: alg "none" means unsigned tokens and is never accepted`);
  }
  if (!isHmacAlgorithm(alg) && !isAsymmetricAlgorithm(alg)) {
    throw new ConfigError(
      "alg_unknown",
      `${where}: unknown alg ${JSON.stringify(alg)}; use one of ${[...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS].join(", ")}`,
    );
  }
  return alg;
}

/** The shortest secret RFC 7518 (section 3.2) allows for an HMAC algorithm: the hash's length. */
export function hmacMinimumBytes(alg: string): number {
  return HMAC_MIN_BYTES[alg as HmacAlgorithm] ?? 32;
}

/**
 * The UTF-8 bytes of an HMAC secret, refusing secrets shorter than the algorithm's hash unless
 * `allowShort` (the old hub's configurations, see `KeyConfig.allowShortSecret`). An empty secret
 * is always refused: it would let anyone sign tokens.
 */
export function hmacSecretBytes(secret: string, alg: string, where: string, allowShort = false): Uint8Array {
  if (secret === "") {
    throw new ConfigError(
      "secret_empty",
      `${where}: the secret is empty; generate one with \`openssl rand -base64 32\``,
    );
  }
  const bytes = new TextEncoder().encode(secret);
  const minimum = hmacMinimumBytes(alg);
  if (bytes.length < minimum && !allowShort) {
    throw new ConfigError(
      "secret_too_short",
      `${where}: the ${alg} secret is ${bytes.length} bytes long but must be at least ${minimum} bytes ` +
        `(RFC 7518 section 3.2); generate one with \`openssl rand -base64 ${minimum}\``,
    );
  }
  return bytes;
}

/**
 * The algorithm to use with an asymmetric key when none is configured: RSA → RS256,
 * RSA-PSS → PS256, EC P-256/384/521 → ES256/384/512, Ed25519 → EdDSA.
 */
export function defaultAlgorithmFor(key: KeyObject, where: string): string {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return "RS256";
    case "rsa-pss":
      return "PS256";
    case "ed25519":
      return "EdDSA";
    case "ec": {
      const alg = CURVE_DEFAULT_ALG[key.asymmetricKeyDetails?.namedCurve ?? ""];
      if (alg !== undefined) return alg;
      break;
    }
  }
  throw new ConfigError(
    "key_unsupported",
    `${where}: unsupported key type ${describeKey(key)}; use RSA (2048 bits or more), EC P-256/P-384/P-521 or Ed25519`,
  );
}

/** Refuses an algorithm that cannot be used with this key (ES256 with an RSA key, ...). */
export function checkKeyMatchesAlgorithm(key: KeyObject, alg: string, where: string): void {
  const type = key.asymmetricKeyType;
  let fits = false;
  if (alg.startsWith("RS")) fits = type === "rsa";
  else if (alg.startsWith("PS")) fits = type === "rsa" || type === "rsa-pss";
  else if (alg.startsWith("ES"))
    fits = type === "ec" && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[alg];
  else if (alg === "EdDSA" || alg === "Ed25519") fits = type === "ed25519";
  if (!fits) {
    throw new ConfigError(
      "alg_key_mismatch",
      `${where}: alg ${alg} cannot be used with ${describeKey(key)}; set alg to ${defaultAlgorithmFor(key, where)} or use a matching key`,
    );
  }
  if (type === "rsa" || type === "rsa-pss") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new ConfigError(
        "key_too_weak",
        `${where}: the RSA key has ${bits} bits; use at least ${MIN_RSA_BITS}`,
      );
    }
  }
}

function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? `a ${key.asymmetricKeyType} key` : `a ${key.asymmetricKeyType} ${curve} key`;
}

/** Parses a PEM public key or X.509 certificate; private keys are refused. */
function parsePublicPem(pem: string, where: string): KeyObject {
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
    throw new ConfigError(
      "pem_private_key",
      `${where}: this is a private key; the hub needs only the public key ` +
        "(extract it with `openssl pkey -in private.pem -pubout`)",
    );
  }
  try {
    if (pem.includes("-----BEGIN CERTIFICATE-----")) return new X509Certificate(pem).publicKey;
    const key = createPublicKey({ key: pem, format: "pem" });
    if (key.type !== "public") throw new Error("not a public key");
    return key;
  } catch (error) {
    throw new ConfigError(
      "pem_malformed",
      `${where}: the PEM could not be read (${(error as Error).message}); give a "-----BEGIN PUBLIC KEY-----" ` +
        'block or a "-----BEGIN CERTIFICATE-----" block',
    );
  }
}

/** Validates one role's key configuration and prepares its keys. */
export async function loadKeyMaterial(
  config: KeyConfig,
  where: string,
  jwks: JwksOptions,
  now: () => number,
): Promise<VerificationMaterial> {
  const hasKey = config.key !== undefined;
  const hasJwks = config.jwksUri !== undefined;
  if (hasKey && hasJwks) {
    throw new ConfigError("key_and_jwks_uri", `${where}: give either key or jwksUri, not both`);
  }
  if (!hasKey && !hasJwks) {
    throw new ConfigError(
      "key_missing",
      `${where}: give key (a secret or PEM public key) or jwksUri, or leave the role out to refuse it`,
    );
  }
  if (config.alg !== undefined && config.algorithms !== undefined) {
    throw new ConfigError("alg_and_algorithms", `${where}: give either alg or algorithms, not both`);
  }
  if (config.algorithms !== undefined && config.algorithms.length === 0) {
    throw new ConfigError("algorithms_empty", `${where}: algorithms is empty; list at least one algorithm`);
  }
  const requested =
    config.alg !== undefined
      ? [checkAlgorithmName(config.alg, `${where}.alg`)]
      : config.algorithms?.map((alg, index) => checkAlgorithmName(alg, `${where}.algorithms[${index}]`));
  if (hasJwks) {
    const algorithms = requested ?? DEFAULT_JWKS_ALGORITHMS;
    const symmetric = algorithms.find(isHmacAlgorithm);
    if (symmetric !== undefined) {
      throw new ConfigError(
        "jwks_symmetric_alg",
        `${where}.algorithms: ${symmetric} is an HMAC algorithm, which a JWK Set must never be trusted for; ` +
          "list only asymmetric algorithms",
      );
    }
    return loadJwks(config.jwksUri as string, algorithms, where, jwks, now);
  }
  return loadStaticKey(config.key as string, requested, where, config.allowShortSecret === true);
}

async function loadStaticKey(
  key: string,
  requested: readonly string[] | undefined,
  where: string,
  allowShortSecret: boolean,
): Promise<VerificationMaterial> {
  if (looksLikePem(key)) {
    const hmac = requested?.find(isHmacAlgorithm);
    if (hmac !== undefined) {
      throw new ConfigError(
        "hmac_alg_with_pem",
        `${where}: alg ${hmac} is an HMAC algorithm but key is a PEM; use an asymmetric alg (RS256, ES256, EdDSA, ...) ` +
          "or give a shared secret instead",
      );
    }
    const publicKey = parsePublicPem(key, `${where}.key`);
    const algorithms = requested ?? [defaultAlgorithmFor(publicKey, `${where}.key`)];
    const spki = publicKey.export({ type: "spki", format: "pem" }).toString();
    const keys = new Map<string, jose.CryptoKey>();
    for (const alg of algorithms) {
      checkKeyMatchesAlgorithm(publicKey, alg, where);
      // One CryptoKey per algorithm: WebCrypto binds a key to its algorithm, and jose checks it.
      try {
        keys.set(alg, await jose.importSPKI(spki, alg));
      } catch (error) {
        throw new ConfigError(
          "key_unsupported",
          `${where}: the key cannot be used with ${alg} (${(error as Error).message})`,
        );
      }
    }
    return Object.freeze({
      kind: "pem",
      algorithms: Object.freeze([...algorithms]),
      resolve: async (header: jose.JWSHeaderParameters) => {
        const found = header.alg === undefined ? undefined : keys.get(header.alg);
        if (found === undefined) throw new Error(`no key for alg ${String(header.alg)}`);
        return found;
      },
    });
  }
  const asymmetric = requested?.find((alg) => !isHmacAlgorithm(alg));
  if (asymmetric !== undefined) {
    throw new ConfigError(
      "asymmetric_alg_without_pem",
      `${where}: alg ${asymmetric} needs a PEM public key ("-----BEGIN PUBLIC KEY-----"), but key is not a PEM; ` +
        "use an HMAC alg (HS256, HS384, HS512) for a shared secret",
    );
  }
  const algorithms = requested ?? ["HS256"];
  let secret: Uint8Array = new Uint8Array();
  for (const alg of algorithms) secret = hmacSecretBytes(key, alg, `${where}.key`, allowShortSecret);
  return Object.freeze({
    kind: "secret",
    algorithms: Object.freeze([...algorithms]),
    resolve: async () => secret,
  });
}
