/**
 * The strict shape of a token: a JWS in compact serialization (RFC 7515 section 7.1), three
 * segments of unpadded base64url (section 2), each in the one spelling an encoder produces.
 *
 * jose decodes base64url leniently, as `atob` does: the last character of a segment whose length
 * is not a multiple of 4 carries bits that encode nothing (2 of them when the segment ends in a
 * group of three characters, as an HS256 signature does, 4 in a group of two), and setting them
 * changes the text but not the bytes. A token would then have several spellings that all verify,
 * while everything that recognizes a token by its text (the verified-token cache, a revocation or
 * replay list keyed by the token, the logs) would take them for different tokens. RFC 4648
 * section 3.5 lets a decoder refuse such text; the hub refuses it, before the cache is consulted.
 */
import { InvalidTokenError } from "./errors.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const SEGMENTS = ["header", "payload", "signature"] as const;

/**
 * Throws `InvalidTokenError` unless `token` is three canonical base64url segments, the header and
 * payload not empty. The signature may be empty, so that an unsecured (`alg: none`) token is
 * refused by the signature check, which says why in the log.
 */
export function checkJwsShape(token: string): void {
  const segments = token.split(".");
  if (segments.length !== 3) {
    throw new InvalidTokenError(
      "token_malformed",
      `not a JWS compact serialization: ${segments.length} segments`,
    );
  }
  for (let index = 0; index < 3; index++) {
    const segment = segments[index]!;
    const name = SEGMENTS[index]!;
    if (segment === "" && name !== "signature") {
      throw new InvalidTokenError("token_malformed", `the ${name} is empty`);
    }
    if (!BASE64URL.test(segment)) {
      throw new InvalidTokenError(
        "token_malformed",
        `the ${name} holds characters outside unpadded base64url`,
      );
    }
    if (segment.length % 4 === 1) {
      throw new InvalidTokenError(
        "token_malformed",
        `the ${name} is ${segment.length} characters: no base64url has that length`,
      );
    }
    if (!hasCanonicalEnd(segment)) {
      throw new InvalidTokenError(
        "token_noncanonical",
        `the ${name} is not canonical base64url: its last character sets bits that encode nothing`,
      );
    }
  }
}

/** Whether the bits of the last character that encode nothing are zero (RFC 4648 section 3.5). */
function hasCanonicalEnd(segment: string): boolean {
  const remainder = segment.length % 4;
  if (remainder === 0) return true;
  const unused = remainder === 2 ? 0b1111 : 0b11;
  return (ALPHABET.indexOf(segment.at(-1)!) & unused) === 0;
}
