// "Who is viewing this document?": the page's side of the presence example. No framework, no build.
//
// 1. POST /login: the application's server puts a subscriber token in an HttpOnly cookie (we never
//    see it) and tells us the hub's URL, the document's topic and where its viewers are listed.
// 2. GET the list of viewers from the hub's subscription API. Its Link header carries the id of the
//    last event the list reflects.
// 3. Open one EventSource that subscribes to the document (that subscription *is* our presence:
//    the hub announces it to the other viewers) and to the viewers' arrivals and departures, from
//    that id on: nothing that changed between 2 and 3 is missed.

const doc = new URLSearchParams(location.search).get("doc") ?? "welcome";
/** The document's viewers: subscription id → display name. One entry per open page. */
let viewers = new Map();

const $ = (selector) => document.querySelector(selector);
$("#doc").textContent = doc;
$("#join").addEventListener("submit", (event) => {
  event.preventDefault();
  $("#open").disabled = true;
  $("#name").disabled = true;
  join($("#name").value.trim());
});

/** Logs in, lists, follows; on any failure (or a lost stream) starts over after a pause. */
async function join(name) {
  try {
    const session = await login(name);
    const cursor = await loadViewers(session);
    follow(session, cursor, () => retry(name));
  } catch (error) {
    if (error.final) {
      showStatus(error.message, "error");
      $("#open").disabled = false;
      $("#name").disabled = false;
      return;
    }
    showStatus(`${error.message}; retrying…`, "error");
    retry(name);
  }
}

function retry(name) {
  setTimeout(() => join(name), 2000);
}

async function login(name) {
  const response = await fetch("/login", { method: "POST", body: new URLSearchParams({ name, doc }) });
  if (!response.ok) {
    const error = new Error(`login refused: ${await response.text()}`);
    error.final = response.status === 400; // a name the server does not take: ask for another one
    throw error;
  }
  // { hub, topic, viewers: the list's path on the hub, viewerEvents: the URL Pattern of its events }
  return response.json();
}

/**
 * Reads every page of the list. Returns the cursor of the first page: replaying the events after
 * it over all the pages gives the current list, because each event states a subscription's state.
 */
async function loadViewers(session) {
  const list = new Map();
  let cursor;
  let url = new URL(session.viewers, session.hub);
  while (url !== undefined) {
    // credentials: "include" sends the cookie cross-origin; the hub allows this page's origin.
    const response = await fetch(url, { credentials: "include" });
    if (!response.ok) throw new Error(`the hub refused the list (${response.status})`);
    const links = parseLinks(response.headers.get("Link"));
    cursor ??= links.find((link) => hasRel(link, "mercure"))?.["last-event-id"];
    for (const subscription of (await response.json()).subscriptions) apply(list, subscription);
    const next = links.find((link) => hasRel(link, "next"));
    url = next === undefined ? undefined : new URL(next.href, url);
  }
  viewers = list;
  render();
  return cursor ?? "earliest";
}

/** One stream: the document (our presence) and its viewers' subscription events after `cursor`. */
function follow(session, cursor, onLost) {
  const url = new URL(session.hub);
  url.searchParams.append("match", session.topic);
  url.searchParams.append("match_urlpattern", session.viewerEvents);
  url.searchParams.set("last_event_id", cursor);
  const source = new EventSource(url, { withCredentials: true });
  source.addEventListener("open", () => showStatus("Live."));
  // Subscription events come as `event: mercure`; the document's own updates would be `message`.
  source.addEventListener("mercure", (event) => {
    apply(viewers, JSON.parse(event.data));
    render();
  });
  // EventSource would reconnect by itself, but with the same cookie: once the token expires (the
  // hub ends the stream then) that fails for good. Starting over logs in again for a fresh token,
  // and lists again, which also covers a hub that restarted and forgot its history.
  source.addEventListener("error", () => {
    source.close();
    showStatus("Connection lost; reconnecting…", "error");
    onLost();
  });
}

function apply(list, subscription) {
  if (subscription.type !== "subscription") return;
  if (subscription.active) list.set(subscription.id, subscription.payload?.name ?? "someone");
  else list.delete(subscription.id);
}

function render() {
  const names = [...viewers.values()].sort((a, b) => a.localeCompare(b));
  // textContent, never innerHTML: the names come from other users.
  $("#viewers").replaceChildren(
    ...names.map((name) => {
      const item = document.createElement("li");
      item.textContent = name;
      return item;
    }),
  );
  $("#count").textContent = String(names.length);
  $("#presence").hidden = false;
}

function showStatus(text, state = "ok") {
  $("#status").textContent = text;
  $("#status").dataset.state = state;
}

/** An RFC 8288 Link header as [{ href, rel, "last-event-id", … }]. */
function parseLinks(header) {
  const links = [];
  const link = /<([^>]*)>((?:\s*;\s*[^\s;,=]+(?:\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s;,]*))?)*)/g;
  const parameter = /;\s*([^\s;,=]+)(?:\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;,]*)))?/g;
  for (const [, href, parameters] of (header ?? "").matchAll(link)) {
    const entry = { href };
    for (const [, name, quoted, token] of parameters.matchAll(parameter)) {
      entry[name.toLowerCase()] ??= quoted === undefined ? (token ?? "") : quoted.replace(/\\(.)/g, "$1");
    }
    links.push(entry);
  }
  return links;
}

function hasRel(link, rel) {
  return (link.rel ?? "").split(/\s+/).includes(rel);
}
