import { canRead, type Grants } from "../auth/grants.ts";
import type { Update } from "./update.ts";

/**
 * Whether a stream with these grants may receive the update. Routing matchers never widen access:
 * a private update needs a subscribe grant on one of its topics, checked against the current
 * token, for replayed updates too (draft, "Subscribers").
 */
export function mayRead(grants: Grants | undefined, update: Pick<Update, "topics" | "private">): boolean {
  return !update.private || canRead(grants, update.topics);
}
