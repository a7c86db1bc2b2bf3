import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A self-signed certificate for localhost and 127.0.0.1, with its key, in files of a temp dir. */
export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** The certificate, PEM: what a client trusts (`ca`). */
  readonly pem: Buffer;
  /** SHA-256 fingerprint, as `getPeerCertificate().fingerprint256` shows it. */
  readonly fingerprint: string;
}

/** A directory of certificates for one test file; `remove()` deletes it. */
export interface CertificateDir {
  readonly dir: string;
  /** Writes a new P-256 certificate and key into `<name>.crt` and `<name>.key`, replacing them. */
  generate(name: string): TestCertificate;
  remove(): void;
}

export function certificateDir(): CertificateDir {
  const dir = mkdtempSync(join(tmpdir(), "quicksilver-tls-"));
  return {
    dir,
    generate(name) {
      const certFile = join(dir, `${name}.crt`);
      const keyFile = join(dir, `${name}.key`);
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName=DNS:localhost,IP:127.0.0.1",
          "-days",
          "1",
          "-keyout",
          keyFile,
          "-out",
          certFile,
        ],
        { stdio: "ignore" },
      );
      const pem = readFileSync(certFile);
      return { certFile, keyFile, pem, fingerprint: new X509Certificate(pem).fingerprint256 };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
