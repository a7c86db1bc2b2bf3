import { InvalidMatcherError, type TopicRoute } from "../matcher.ts";
import { type CanonicalComponent, encoderFor } from "./canonicalize.ts";
import { parseConstructorString } from "./constructor-parser.ts";
import { type ComponentPatterns, processPatternInit } from "./pattern-init.ts";
import {
  DEFAULT_OPTIONS,
  HOSTNAME_OPTIONS,
  PATHNAME_OPTIONS,
  type Part,
  type PatternOptions,
  PatternSyntaxError,
  parsePatternString,
} from "./pattern-parser.ts";
import { BUDGET_EXHAUSTED, compileRegexp, type RegexpProgram } from "./regexp-engine.ts";
import { generateRegexpAndNames } from "./regexp-source.ts";
import { COMPONENT_NAMES, parseTopicCached, type TopicComponents } from "./topic-components.ts";

/**
 * URL Pattern matching (https://urlpattern.spec.whatwg.org/) with the standard's semantics but
 * without V8's backtracking regular expressions: subscribers choose the patterns, and a pattern
 * such as `/*a*a*a*a*a*a*a*b` takes V8 seconds on a short topic.
 *
 * The native `URLPattern` constructor validates the pattern (it compiles but never runs its
 * regular expressions) and canonicalizes fixed text (`canonicalize.ts`). The standard's constructor
 * steps are then replayed here — split the string (`constructor-parser.ts`), inherit from the base
 * URL (`pattern-init.ts`), parse each component (`pattern-parser.ts`) and generate its regular
 * expression (`regexp-source.ts`) — and the expressions run on our linear-time engine
 * (`regexp-engine.ts`). The native component getters are not used: Node re-serializes some groups
 * without their braces, which changes their meaning.
 */
export interface UrlPatternProgram {
  test(topic: string): boolean;
}

/**
 * Evaluation budget of one `test`, in engine steps. The engine is linear, so this only caps the
 * product (topic length × program size) that very long topics and very large patterns could
 * reach; a test that exhausts it answers "no match", as draft-dunglas-mercure-08 requires. Typical
 * patterns use a few steps per topic character.
 */
export const STEP_BUDGET = 2_000_000;

/** Indexes of components in `TopicComponents` (and in a compiled pattern's matchers). */
const HOSTNAME = COMPONENT_NAMES.indexOf("hostname");
const PATHNAME = COMPONENT_NAMES.indexOf("pathname");

/** The special schemes of the URL Standard, probed to choose the pathname options. */
const SPECIAL_SCHEMES = ["ftp", "file", "http", "https", "ws", "wss"];

/** How one component is matched, cheapest first. */
type ComponentMatcher =
  | { readonly kind: "any" }
  | { readonly kind: "exact"; readonly value: string }
  | { readonly kind: "prefix"; readonly value: string }
  | {
      readonly kind: "regexp";
      readonly program: RegexpProgram;
      readonly source: string;
      /** The fixed text every match begins with (possibly ""): checked before the program runs. */
      readonly literalPrefix: string;
    };

/**
 * Compiles `pattern` (absolute, or relative to `baseUrl`, the hub's URL) as
 * `new URLPattern(pattern, baseUrl)` would, for topics resolved against `baseUrl`.
 * Throws `InvalidMatcherError` with `urlpattern_syntax` for what the standard rejects, and
 * `urlpattern_unsupported` for regular expression features a linear-time engine cannot run.
 */
export function compileUrlPattern(pattern: string, baseUrl: string): CompiledUrlPattern {
  try {
    new URLPattern(pattern, baseUrl);
  } catch (error) {
    throw new InvalidMatcherError(
      "urlpattern_syntax",
      `${JSON.stringify(pattern)} is not a valid URL pattern: ${(error as Error).message}`,
    );
  }
  try {
    const strings = parseConstructorString(pattern, (protocol) =>
      matchesSpecialScheme(compileComponent(protocol, DEFAULT_OPTIONS, "protocol")),
    );
    return new CompiledUrlPattern(baseUrl, compileComponents(processPatternInit(strings, baseUrl)));
  } catch (error) {
    // The native constructor accepted the pattern, so this is a disagreement between it and us;
    // refusing the pattern is the safe answer.
    if (!(error instanceof PatternSyntaxError)) throw error;
    throw new InvalidMatcherError("urlpattern_syntax", `${JSON.stringify(pattern)}: ${error.message}`);
  }
}

/** "initialize" of the URLPattern constructor: compiles each component with its options and callback. */
function compileComponents(patterns: ComponentPatterns): ComponentMatcher[] {
  const protocol = compileComponent(patterns.protocol, DEFAULT_OPTIONS, "protocol");
  // The pathname is hierarchical ("/" delimits segments and prefixes groups) when the protocol
  // component matches a special scheme; otherwise it is read as an opaque path.
  const special = matchesSpecialScheme(protocol);
  // "hostname pattern is an IPv6 address".
  const ipv6 = patterns.hostname.length >= 2 && /^(?:\[|\{\[|\\\[)/.test(patterns.hostname);
  return [
    protocol,
    compileComponent(patterns.username, DEFAULT_OPTIONS, "username"),
    compileComponent(patterns.password, DEFAULT_OPTIONS, "password"),
    compileComponent(patterns.hostname, HOSTNAME_OPTIONS, ipv6 ? "ipv6-hostname" : "hostname"),
    compileComponent(patterns.port, DEFAULT_OPTIONS, "port"),
    special
      ? compileComponent(patterns.pathname, PATHNAME_OPTIONS, "pathname")
      : compileComponent(patterns.pathname, DEFAULT_OPTIONS, "opaque-pathname"),
    compileComponent(patterns.search, DEFAULT_OPTIONS, "search"),
    compileComponent(patterns.hash, DEFAULT_OPTIONS, "hash"),
  ];
}

/** "compile a component", with the fast paths for a lone wildcard and for fixed text. */
function compileComponent(
  patternString: string,
  options: PatternOptions,
  component: CanonicalComponent,
): ComponentMatcher {
  const parts: Part[] = parsePatternString(patternString, options, encoderFor(component));
  // Fast paths. "." in `(.*)` skips line terminators, but URL components never hold one (the URL
  // parser drops tabs and newlines and percent-encodes every other control or non-ASCII code
  // point), so a trailing full wildcard matches any rest of the component.
  const fixed = parts.findIndex((part) => part.type !== "fixed-text" || part.modifier !== "none");
  const text = (fixed === -1 ? parts : parts.slice(0, fixed)).map((part) => part.value).join("");
  if (fixed === -1) return { kind: "exact", value: text };
  const last = parts[fixed]!;
  if (
    fixed === parts.length - 1 &&
    last.type === "full-wildcard" &&
    last.modifier === "none" &&
    last.suffix === ""
  ) {
    // `*` alone, or a literal beginning such as `/books/*`.
    return text + last.prefix === "" ? { kind: "any" } : { kind: "prefix", value: text + last.prefix };
  }
  const { source } = generateRegexpAndNames(parts, options);
  return { kind: "regexp", program: compileRegexp(source), source, literalPrefix: text };
}

/** "protocol component matches a special scheme". */
function matchesSpecialScheme(protocol: ComponentMatcher): boolean {
  return SPECIAL_SCHEMES.some((scheme) => matchesComponent(protocol, scheme));
}

function matchesComponent(matcher: ComponentMatcher, value: string): boolean {
  switch (matcher.kind) {
    case "any":
      return true;
    case "exact":
      return matcher.value === value;
    case "prefix":
      return value.startsWith(matcher.value);
    case "regexp":
      return matcher.program.test(value);
  }
}

/** A compiled pattern. Besides `test`, it exposes what tests and diagnostics need. */
export class CompiledUrlPattern implements UrlPatternProgram {
  readonly baseUrl: string;
  /** Engine steps taken by the last `test` (0 when it needed no regular expression). */
  lastSteps = 0;
  /** Whether the last `test` answered false because it ran out of its step budget. */
  budgetExhausted = false;
  // String comparisons run before regular expressions: they are cheaper and usually decisive.
  private readonly exactIndexes: readonly number[];
  private readonly exactValues: readonly string[];
  private readonly prefixIndexes: readonly number[];
  private readonly prefixValues: readonly string[];
  private readonly regexpIndexes: readonly number[];
  private readonly programs: readonly RegexpProgram[];
  private readonly matchers: readonly ComponentMatcher[];

  constructor(baseUrl: string, matchers: readonly ComponentMatcher[]) {
    this.baseUrl = baseUrl;
    this.matchers = matchers;
    const exactIndexes: number[] = [];
    const exactValues: string[] = [];
    const prefixIndexes: number[] = [];
    const prefixValues: string[] = [];
    const regexpIndexes: number[] = [];
    const programs: RegexpProgram[] = [];
    matchers.forEach((matcher, index) => {
      if (matcher.kind === "exact") {
        exactIndexes.push(index);
        exactValues.push(matcher.value);
      } else if (matcher.kind === "prefix") {
        prefixIndexes.push(index);
        prefixValues.push(matcher.value);
      } else if (matcher.kind === "regexp") {
        regexpIndexes.push(index);
        programs.push(matcher.program);
        // Most topics a pattern sees do not match it, and most of those already differ in this
        // fixed beginning (`/books/` of `/books/:id`): a string comparison rules them out.
        if (matcher.literalPrefix !== "") {
          prefixIndexes.push(index);
          prefixValues.push(matcher.literalPrefix);
        }
      }
    });
    this.exactIndexes = exactIndexes;
    this.exactValues = exactValues;
    this.prefixIndexes = prefixIndexes;
    this.prefixValues = prefixValues;
    this.regexpIndexes = regexpIndexes;
    this.programs = programs;
  }

  /**
   * The host and the fixed beginning of the path that every matching topic has, when the pattern
   * fixes its host: what an index needs to find the pattern from a topic without testing it.
   */
  route(): TopicRoute | undefined {
    const hostname = this.matchers[HOSTNAME]!;
    if (hostname.kind !== "exact") return undefined;
    const pathname = this.matchers[PATHNAME]!;
    const pathPrefix =
      pathname.kind === "any" ? "" : pathname.kind === "regexp" ? pathname.literalPrefix : pathname.value;
    return { baseUrl: this.baseUrl, hostname: hostname.value, pathPrefix };
  }

  /** Total number of engine instructions over all components. */
  get programSize(): number {
    return this.programs.reduce((total, program) => total + program.size, 0);
  }

  /**
   * Per component, how it is matched: "*" (anything), "\"text\"" (exactly), "\"text\"…" (starts
   * with) or the regular expression the standard generates.
   */
  describe(): Record<(typeof COMPONENT_NAMES)[number], string> {
    const entries = this.matchers.map((matcher, index) => {
      let text: string;
      if (matcher.kind === "any") text = "*";
      else if (matcher.kind === "exact") text = JSON.stringify(matcher.value);
      else if (matcher.kind === "prefix") text = JSON.stringify(matcher.value) + "…";
      else text = matcher.source;
      return [COMPONENT_NAMES[index]!, text] as const;
    });
    return Object.fromEntries(entries) as Record<(typeof COMPONENT_NAMES)[number], string>;
  }

  test(topic: string): boolean {
    this.lastSteps = 0;
    this.budgetExhausted = false;
    const components = parseTopicCached(topic, this.baseUrl);
    if (components === undefined) return false;
    return this.testComponents(components);
  }

  /** Matches components split by `parseTopic`, within `budget` engine steps. */
  testComponents(components: TopicComponents, budget = STEP_BUDGET): boolean {
    this.lastSteps = 0;
    this.budgetExhausted = false;
    const exactIndexes = this.exactIndexes;
    for (let i = 0; i < exactIndexes.length; i++) {
      if (components[exactIndexes[i]!] !== this.exactValues[i]) return false;
    }
    const prefixIndexes = this.prefixIndexes;
    for (let i = 0; i < prefixIndexes.length; i++) {
      if (!components[prefixIndexes[i]!]!.startsWith(this.prefixValues[i]!)) return false;
    }
    const regexpIndexes = this.regexpIndexes;
    let steps = 0;
    for (let i = 0; i < regexpIndexes.length; i++) {
      const program = this.programs[i]!;
      const result = program.run(components[regexpIndexes[i]!]!, budget - steps);
      steps += program.steps;
      if (result !== 1) {
        this.lastSteps = steps;
        // An exhausted budget also means "no match": the draft's rule for an evaluation limit.
        this.budgetExhausted = result === BUDGET_EXHAUSTED;
        return false;
      }
    }
    this.lastSteps = steps;
    return true;
  }
}
