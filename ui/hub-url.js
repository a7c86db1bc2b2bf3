/**
 * The hub this page talks to: the page is served at `{hubPath}/ui/`, so the hub is the path above
 * it, on the page's own origin (the page's CSP allows no other).
 */

/** The hub's URL for a page at `pageUrl`: `http://host/.well-known/mercure` for `…/mercure/ui/`. */
export function hubUrlOf(pageUrl) {
  return new URL("..", pageUrl).href.replace(/\/$/, "");
}

/** A URL under the hub's `ui/` path (`status`, `dev-token`). */
export function uiEndpoint(hubUrl, name) {
  return `${hubUrl}/ui/${name}`;
}
