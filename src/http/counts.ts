/**
 * Counts by key that keep no entry for a key whose count is zero: a map of client addresses or
 * subjects then holds only those with something open, however many came and went.
 */
export function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

export function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left <= 0) counts.delete(key);
  else counts.set(key, left);
}
