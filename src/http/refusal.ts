import { type ProblemCode, ProtocolError } from "../protocol/problems.ts";

export interface RefusalOptions {
  /**
   * Headers the answer carries besides the problem's own: an RFC 6750 `WWW-Authenticate`
   * challenge, `Retry-After`, `Allow`, `Link`. Never `Connection` (see `bodyUnread`).
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The request was refused from its headers, before any body was read. Over HTTP/1.1 a body
   * still arriving would be read as the next request: the connection is closed after the answer
   * (`Connection: close`). HTTP/2 has nothing to close: the stream ends with the answer.
   */
  readonly bodyUnread?: boolean;
  /**
   * Whether the answer carries the CORS headers of the request's origin (the default). The
   * router's own answers (no such resource, method not allowed, shutting down) have none.
   */
  readonly cors?: boolean;
  /**
   * The limit that refused the request, by the camelCase name of its option
   * (`maxConnectionsPerClient`, `publishRate`): what a count of refusals is labelled with.
   */
  readonly limit?: string;
}

/**
 * A request the hub refuses: the problem to answer with, and what the answer needs besides.
 * Routes decide and throw; the router answers every refusal in one place (`answerError` in
 * router.ts), which adds the CORS headers and closes an HTTP/1.1 connection whose body was not
 * read. A bare `ProtocolError` thrown on the way (a parser, the form reader, the hub) is answered
 * the same way, as a refusal with no headers of its own.
 */
export class HttpRefusal extends ProtocolError {
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyUnread: boolean;
  readonly cors: boolean;
  readonly limit: string | undefined;

  constructor(code: ProblemCode, detail: string, options: RefusalOptions = {}) {
    super(code, detail);
    this.name = "HttpRefusal";
    this.headers = options.headers ?? {};
    this.bodyUnread = options.bodyUnread === true;
    this.cors = options.cors !== false;
    this.limit = options.limit;
  }
}
