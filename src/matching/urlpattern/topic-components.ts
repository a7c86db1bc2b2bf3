import { BoundedCache } from "./bounded-cache.ts";

/**
 * The eight component strings a URL pattern is matched against, in the order of
 * `COMPONENT_NAMES`.
 */
export type TopicComponents = readonly [
  protocol: string,
  username: string,
  password: string,
  hostname: string,
  port: string,
  pathname: string,
  search: string,
  hash: string,
];

export const COMPONENT_NAMES = [
  "protocol",
  "username",
  "password",
  "hostname",
  "port",
  "pathname",
  "search",
  "hash",
] as const;

/**
 * A URL that starts with a scheme and "//" never reads its base URL (its parse goes through the
 * authority states whatever the base), and parsing without a base is much cheaper: Node parses
 * the base string again on every call. The base must still be valid, or nothing is a topic.
 */
const AUTHORITY_URL = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
let checkedBase: string | undefined;
let checkedBaseIsValid = false;

function isValidBase(baseUrl: string): boolean {
  if (baseUrl !== checkedBase) {
    checkedBase = baseUrl;
    checkedBaseIsValid = URL.canParse(baseUrl);
  }
  return checkedBaseIsValid;
}

/**
 * Splits a topic as the standard's "match" does for a string input with a base URL string
 * (https://urlpattern.spec.whatwg.org/#url-pattern-match): the topic is parsed as a URL against the
 * base, and each component is read from the URL record — scheme, username, password, serialized
 * host, serialized port (null, so "", for a special scheme's default port), URL path serialization,
 * query and fragment ("" when null). No further canonicalization applies to a parsed URL. Returns
 * undefined when the topic (or the base) is not a URL: such a topic never matches.
 */
export function parseTopic(topic: string, baseUrl: string): TopicComponents | undefined {
  let url: URL;
  try {
    url = AUTHORITY_URL.test(topic) && isValidBase(baseUrl) ? new URL(topic) : new URL(topic, baseUrl);
  } catch {
    return undefined;
  }
  // The getters add the delimiters the record does not hold: "https:", "?q", "#f". An empty
  // query or fragment reads as "" through the getter, which is also the record's value here.
  const { search, hash } = url;
  return [
    url.protocol.slice(0, -1),
    url.username,
    url.password,
    url.hostname,
    url.port,
    url.pathname,
    search === "" ? "" : search.slice(1),
    hash === "" ? "" : hash.slice(1),
  ];
}

/**
 * The hub matches every published topic against every subscribed pattern, one pattern after
 * the other: parsing the topic once for all of them, rather than once per pattern, saves most of
 * the cost of a test. The last topic is remembered, and a few hundred recent ones for the most
 * recent base URL (there is normally one: the hub's); long topics are not kept, so the memory held
 * stays small whatever clients publish. A miss only costs a URL parse.
 */
const CACHE_CAPACITY = 256;
const LONGEST_CACHED_TOPIC = 2048;

let lastTopic: string | undefined;
let lastBase: string | undefined;
let lastComponents: TopicComponents | undefined;
let cacheBase: string | undefined;
let cache = new BoundedCache<string, TopicComponents | null>(CACHE_CAPACITY);

export function parseTopicCached(topic: string, baseUrl: string): TopicComponents | undefined {
  if (topic === lastTopic && baseUrl === lastBase) return lastComponents;
  if (baseUrl !== cacheBase) {
    cache = new BoundedCache(CACHE_CAPACITY);
    cacheBase = baseUrl;
  }
  let components: TopicComponents | undefined;
  const cached = cache.get(topic);
  if (cached !== undefined) {
    components = cached ?? undefined;
  } else {
    components = parseTopic(topic, baseUrl);
    if (topic.length <= LONGEST_CACHED_TOPIC) cache.set(topic, components ?? null);
  }
  lastTopic = topic;
  lastBase = baseUrl;
  lastComponents = components;
  return components;
}

/** A topic's host and path, as URL Patterns see them; undefined when it does not parse as a URL. */
export function topicHostAndPath(
  topic: string,
  baseUrl: string,
): [hostname: string, pathname: string] | undefined {
  const components = parseTopicCached(topic, baseUrl);
  return components === undefined ? undefined : [components[3], components[5]];
}
