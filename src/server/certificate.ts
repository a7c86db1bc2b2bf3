import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { OptionNamer } from "./resolve-options.ts";
import { UsageError } from "./usage-error.ts";

/** A certificate chain and its private key, PEM, read and checked together. */
export interface CertificatePair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads `cert` and `key` and checks that TLS can use them together (PEM that parses, a key that
 * matches the certificate): at startup, so that a hub never listens with a pair it cannot serve,
 * and on every reload, so that a bad new pair is refused while the old one keeps serving.
 * Refusals are `UsageError`s naming the option and the file; the key's content is never shown.
 */
export function readCertificatePair(
  files: { readonly certFile: string; readonly keyFile: string },
  name: OptionNamer,
): CertificatePair {
  const cert = readPem(files.certFile, name("cert"));
  const key = readPem(files.keyFile, name("key"));
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new UsageError(
      `${name("cert")} ${files.certFile} and ${name("key")} ${files.keyFile} are not a certificate and its private key in PEM: ${(error as Error).message}`,
    );
  }
  return { cert, key };
}

function readPem(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UsageError(`${option} ${path} cannot be read (${reason})`);
  }
}
