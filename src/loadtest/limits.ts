/**
 * The bounds of `quicksilver loadtest`: what it refuses to attempt, each with its reason. A value
 * beyond one is a usage error naming the limit.
 */

/**
 * Subscribers of one run: one source address has about 28,000 ephemeral ports towards one hub
 * address, and this stays below them.
 */
export const MAX_SUBSCRIBERS = 25_000;
/** Subscribers of one generator process: each is a descriptor, and 20,000 is a common limit. */
export const MAX_SUBSCRIBERS_PER_PROCESS = 15_000;
/** Generator processes of one run. */
export const MAX_PROCESSES = 32;
/** Updates per second. */
export const MAX_RATE = 10_000;
/** Length of the publishing phase (ms): one hour. */
export const MAX_DURATION_MS = 3_600_000;
/** Size of an update's data (bytes). */
export const MAX_DATA_BYTES = 1_048_576;
/** Length of a topic (characters). */
export const MAX_TOPIC_LENGTH = 2048;
/** Length of a token (characters). */
export const MAX_TOKEN_LENGTH = 16_384;
/** Publishes in flight at once, over as many keep-alive connections. */
export const MAX_PUBLISH_CONNECTIONS = 64;
/**
 * Publishes sent and not yet answered: beyond them, a publish due is not sent but counted failed,
 * so that a hub that stops answering does not make the test queue requests without end.
 */
export const MAX_PUBLISHES_IN_FLIGHT = 10_000;
/** How long a publish may go unanswered before it counts as failed (ms). */
export const PUBLISH_TIMEOUT_MS = 10_000;
/** How long a subscriber may take to connect (ms). */
export const CONNECT_TIMEOUT_MS = 10_000;
/** How long every subscriber may take to get its response status line (ms). */
export const HEADS_TIMEOUT_MS = 30_000;
/** Warm-up events published, one after the other, before measuring starts anyway. */
export const WARM_UP_ATTEMPTS = 10;
/** How long each warm-up event has to reach every subscriber before the next one (ms). */
export const WARM_UP_WAIT_MS = 2_000;
/** How long deliveries may trail the last publish's answer before the run ends (ms). */
export const DRAIN_TIMEOUT_MS = 10_000;
