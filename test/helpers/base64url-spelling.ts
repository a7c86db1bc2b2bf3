/**
 * Other spellings of a base64url string that lenient decoders read as the same bytes: the last
 * character of a group of two or three carries bits that encode nothing (4 and 2 of them), and
 * setting any of them changes the text but not the decoded bytes (RFC 4648 section 3.5).
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Every non-canonical spelling of the canonical unpadded base64url `text`; none when no bit is unused. */
export function nonCanonicalSpellings(text: string): string[] {
  const unusedBits = text.length % 4 === 2 ? 4 : text.length % 4 === 3 ? 2 : 0;
  if (unusedBits === 0) return [];
  const last = ALPHABET.indexOf(text.at(-1)!);
  const mask = (1 << unusedBits) - 1;
  if (last === -1 || (last & mask) !== 0) throw new Error(`${text} is not canonical base64url`);
  const spellings: string[] = [];
  for (let bits = 1; bits <= mask; bits++) spellings.push(text.slice(0, -1) + ALPHABET[last | bits]);
  return spellings;
}
