import { type Token, tokenize } from "./pattern-parser.ts";

/**
 * "parse a constructor string" (https://urlpattern.spec.whatwg.org/#parse-a-constructor-string):
 * splits a pattern string such as `https://*.example.com/books/:id?*` into the raw pattern strings
 * of its components. A component absent from the result was not written in the pattern; the
 * constructor later inherits it from the base URL or makes it a wildcard.
 *
 * The native `URLPattern` does this too, but only exposes the components re-serialized, and its
 * serializer drops the braces of some groups (`{/page/:n}?` comes back as `/page/:n?`, which means
 * something else), so the split is redone here from the source.
 */
export interface ComponentStrings {
  protocol?: string;
  username?: string;
  password?: string;
  hostname?: string;
  port?: string;
  pathname?: string;
  search?: string;
  hash?: string;
}

type State =
  | "init"
  | "protocol"
  | "authority"
  | "username"
  | "password"
  | "hostname"
  | "port"
  | "pathname"
  | "search"
  | "hash"
  | "done";

/**
 * `protocolMatchesSpecialScheme` compiles a protocol pattern string and tells whether it matches
 * a special scheme ("compute protocol matches a special scheme flag"); it decides whether
 * `https:foo` has an authority and what an omitted pathname defaults to.
 */
export function parseConstructorString(
  input: string,
  protocolMatchesSpecialScheme: (protocol: string) => boolean,
): ComponentStrings {
  return new ConstructorStringParser(input, protocolMatchesSpecialScheme).parse();
}

class ConstructorStringParser {
  private readonly input: string;
  private readonly tokens: Token[];
  private readonly protocolMatchesSpecialScheme: (protocol: string) => boolean;
  private readonly result: ComponentStrings = {};
  private index = 0;
  private increment = 1;
  private componentStart = 0;
  private groupDepth = 0;
  private ipv6BracketDepth = 0;
  private specialScheme = false;
  private state: State = "init";

  constructor(input: string, protocolMatchesSpecialScheme: (protocol: string) => boolean) {
    this.input = input;
    this.tokens = tokenize(input, "lenient");
    this.protocolMatchesSpecialScheme = protocolMatchesSpecialScheme;
  }

  parse(): ComponentStrings {
    while (this.index < this.tokens.length) {
      this.increment = 1;
      if (this.tokens[this.index]!.type === "end") {
        if (this.state === "init") {
          // No protocol: the whole string is a relative pathname, search or hash.
          this.rewind();
          if (this.isHashPrefix()) this.changeState("hash", 1);
          else if (this.isSearchPrefix()) this.changeState("search", 1);
          else this.changeState("pathname", 0);
          this.index += this.increment;
          continue;
        }
        if (this.state === "authority") {
          this.rewindAndSetState("hostname");
          this.index += this.increment;
          continue;
        }
        this.changeState("done", 0);
        break;
      }
      // Delimiters inside "{…}" groups belong to the group, not to the URL structure.
      if (this.isType("open")) {
        this.groupDepth++;
        this.index += this.increment;
        continue;
      }
      if (this.groupDepth > 0) {
        if (this.isType("close")) {
          this.groupDepth--;
        } else {
          this.index += this.increment;
          continue;
        }
      }
      this.step();
      this.index += this.increment;
    }
    // A pattern with a host and no port only matches the default port.
    if (this.result.hostname !== undefined && this.result.port === undefined) this.result.port = "";
    return this.result;
  }

  private step(): void {
    switch (this.state) {
      case "init":
        if (this.isProtocolSuffix()) this.rewindAndSetState("protocol");
        return;
      case "protocol":
        if (this.isProtocolSuffix()) {
          this.specialScheme = this.protocolMatchesSpecialScheme(this.makeComponentString());
          if (this.nextIsAuthoritySlashes()) this.changeState("authority", 3);
          else if (this.specialScheme) this.changeState("authority", 1);
          else this.changeState("pathname", 1);
        }
        return;
      case "authority":
        if (this.isNonSpecialPatternChar(this.index, "@")) this.rewindAndSetState("username");
        else if (this.isPathnameStart() || this.isSearchPrefix() || this.isHashPrefix()) {
          this.rewindAndSetState("hostname");
        }
        return;
      case "username":
        if (this.isNonSpecialPatternChar(this.index, ":")) this.changeState("password", 1);
        else if (this.isNonSpecialPatternChar(this.index, "@")) this.changeState("hostname", 1);
        return;
      case "password":
        if (this.isNonSpecialPatternChar(this.index, "@")) this.changeState("hostname", 1);
        return;
      case "hostname":
        if (this.isNonSpecialPatternChar(this.index, "[")) this.ipv6BracketDepth++;
        else if (this.isNonSpecialPatternChar(this.index, "]")) this.ipv6BracketDepth--;
        else if (this.isNonSpecialPatternChar(this.index, ":") && this.ipv6BracketDepth === 0) {
          this.changeState("port", 1);
        } else if (this.isPathnameStart()) this.changeState("pathname", 0);
        else if (this.isSearchPrefix()) this.changeState("search", 1);
        else if (this.isHashPrefix()) this.changeState("hash", 1);
        return;
      case "port":
        if (this.isPathnameStart()) this.changeState("pathname", 0);
        else if (this.isSearchPrefix()) this.changeState("search", 1);
        else if (this.isHashPrefix()) this.changeState("hash", 1);
        return;
      case "pathname":
        if (this.isSearchPrefix()) this.changeState("search", 1);
        else if (this.isHashPrefix()) this.changeState("hash", 1);
        return;
      case "search":
        if (this.isHashPrefix()) this.changeState("hash", 1);
        return;
      default:
        return;
    }
  }

  /** "change state". */
  private changeState(next: State, skip: number): void {
    const state = this.state;
    if (state !== "init" && state !== "authority" && state !== "done") {
      this.result[state] = this.makeComponentString();
    }
    if (state !== "init" && next !== "done") {
      // Components skipped over before a later one are empty rather than wildcards:
      // `https://example.com?q` has the pathname "/" and no hash wildcard.
      const beforeHost =
        state === "protocol" || state === "authority" || state === "username" || state === "password";
      if (beforeHost && (next === "port" || next === "pathname" || next === "search" || next === "hash")) {
        this.result.hostname ??= "";
      }
      if (
        (beforeHost || state === "hostname" || state === "port") &&
        (next === "search" || next === "hash")
      ) {
        this.result.pathname ??= this.specialScheme ? "/" : "";
      }
      if (
        (beforeHost || state === "hostname" || state === "port" || state === "pathname") &&
        next === "hash"
      ) {
        this.result.search ??= "";
      }
    }
    this.state = next;
    this.index += skip;
    this.componentStart = this.index;
    this.increment = 0;
  }

  private rewind(): void {
    this.index = this.componentStart;
    this.increment = 0;
  }

  private rewindAndSetState(state: State): void {
    this.rewind();
    this.state = state;
  }

  private safeToken(index: number): Token {
    return this.tokens[index] ?? this.tokens[this.tokens.length - 1]!;
  }

  private isType(type: Token["type"]): boolean {
    return this.tokens[this.index]!.type === type;
  }

  /** A delimiter only counts when written as plain (or escaped) text, not as pattern syntax. */
  private isNonSpecialPatternChar(index: number, value: string): boolean {
    const token = this.safeToken(index);
    if (token.value !== value) return false;
    return token.type === "char" || token.type === "escaped-char" || token.type === "invalid-char";
  }

  private isProtocolSuffix(): boolean {
    return this.isNonSpecialPatternChar(this.index, ":");
  }

  private nextIsAuthoritySlashes(): boolean {
    return (
      this.isNonSpecialPatternChar(this.index + 1, "/") && this.isNonSpecialPatternChar(this.index + 2, "/")
    );
  }

  private isPathnameStart(): boolean {
    return this.isNonSpecialPatternChar(this.index, "/");
  }

  private isHashPrefix(): boolean {
    return this.isNonSpecialPatternChar(this.index, "#");
  }

  /** "is a search prefix": a "?" that is not the modifier of the group just before it. */
  private isSearchPrefix(): boolean {
    if (this.isNonSpecialPatternChar(this.index, "?")) return true;
    if (this.tokens[this.index]!.value !== "?") return false;
    if (this.index === 0) return true;
    const previous = this.safeToken(this.index - 1).type;
    return previous !== "name" && previous !== "regexp" && previous !== "close" && previous !== "asterisk";
  }

  /** "make a component string": the input from the component's first token to the current one. */
  private makeComponentString(): string {
    const end = this.tokens[this.index]!.index;
    const start = this.safeToken(this.componentStart).index;
    return this.input.slice(start, end);
  }
}
