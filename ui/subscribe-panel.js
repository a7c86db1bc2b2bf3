/**
 * The subscribe panel: a subscription with the matchers, authorization and cursor the form gives,
 * and a live log of what arrives (events, the hub's replay anchor, gaps), with pause, clear and a
 * text filter.
 */
import { byId, describeError, element, lines, setStatus } from "./dom.js";
import { subscribe } from "./vendor/client.js";

/** The log keeps this many entries, dropping the oldest: a busy hub cannot fill the tab's memory. */
export const MAX_LOG_ENTRIES = 1000;

/** Wires the panel to the hub at `hubUrl`, sending `currentToken()` when asked to. */
export function setUpSubscribePanel(hubUrl, currentToken) {
  const form = byId("subscribe-form");
  const stopButton = byId("sub-stop");
  const resumeButton = byId("sub-resume");
  const status = byId("sub-status");
  const log = byId("sub-log");
  const filter = byId("sub-filter");
  const pause = byId("sub-pause");
  const lastIdField = byId("sub-last-id");

  let subscription;
  /** Entries that arrived while paused, shown on resume. */
  let held = [];

  const show = (entry) => {
    if (pause.checked) {
      held.push(entry);
      return;
    }
    applyFilter(entry, filter.value);
    log.append(entry);
    while (log.childElementCount > MAX_LOG_ENTRIES) log.firstElementChild.remove();
  };

  const start = (lastEventId) => {
    stop();
    // Its own connection; the hub says which matchers each event matched, and whether it is private.
    const options = { share: false, reportMatchers: true };
    const match = lines(byId("sub-match"));
    const matchUrlPattern = lines(byId("sub-pattern"));
    if (match.length > 0) options.match = match;
    if (matchUrlPattern.length > 0) options.matchUrlPattern = matchUrlPattern;
    const auth = form.elements["sub-auth"].value;
    if (auth === "header") {
      const token = currentToken();
      if (token === undefined) {
        setStatus(status, "paste a token, or choose the cookie or no authorization", "error");
        return;
      }
      options.token = token;
    } else if (auth === "cookie") {
      options.credentials = "include";
    }
    if (lastEventId) options.lastEventId = lastEventId;
    try {
      subscription = subscribe(hubUrl, options);
    } catch (error) {
      setStatus(status, describeError(error), "error");
      return;
    }
    const current = subscription;
    const mine = (handler) => (event) => {
      if (subscription === current) handler(event);
    };
    setStatus(status, "connecting…");
    stopButton.disabled = false;
    resumeButton.disabled = true;
    current.on(
      "open",
      mine(({ anchor }) => {
        setStatus(status, "connected", "ok");
        show(notice(`connected; Mercure-Last-Event-ID: ${anchor ?? "(none sent)"}`, "anchor"));
      }),
    );
    current.on(
      "gap",
      mine(({ requested, anchor }) =>
        show(notice(`gap: the hub did not find ${requested}; it resumed from ${anchor}`, "gap")),
      ),
    );
    current.on(
      "message",
      mine((message) => show(eventEntry(message))),
    );
    current.on(
      "reconnecting",
      mine(({ attempt, delayMs, error }) =>
        setStatus(
          status,
          `reconnecting (attempt ${attempt}, in ${delayMs} ms): ${describeError(error)}`,
          "error",
        ),
      ),
    );
    current.on(
      "close",
      mine(({ error }) => {
        setStatus(status, error ? `closed: ${describeError(error)}` : "stopped", error ? "error" : undefined);
        stopButton.disabled = true;
        resumeButton.disabled = current.lastEventId === undefined;
        lastIdField.value = current.lastEventId ?? lastIdField.value;
      }),
    );
  };

  const stop = () => {
    if (subscription === undefined) return;
    const ending = subscription;
    ending.close();
    stopButton.disabled = true;
    resumeButton.disabled = ending.lastEventId === undefined;
    if (ending.lastEventId !== undefined) lastIdField.value = ending.lastEventId;
    setStatus(status, "stopped");
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    start(lastIdField.value.trim());
  });
  stopButton.addEventListener("click", stop);
  resumeButton.addEventListener("click", () => start(lastIdField.value.trim()));
  byId("sub-clear").addEventListener("click", () => {
    log.replaceChildren();
    held = [];
  });
  pause.addEventListener("change", () => {
    if (pause.checked) return;
    const waiting = held;
    held = [];
    for (const entry of waiting) show(entry);
  });
  filter.addEventListener("input", () => {
    for (const entry of log.children) applyFilter(entry, filter.value);
  });
}

/** Hides an entry whose text does not contain the filter (case-insensitive). */
function applyFilter(entry, text) {
  const wanted = text.trim().toLowerCase();
  entry.classList.toggle("hidden", wanted !== "" && !entry.textContent.toLowerCase().includes(wanted));
}

/**
 * A log entry for an update: its arrival time, id, type, whether it is private, the matchers it
 * matched (events carry no topics: these say which of the subscription's brought it), and its data
 * (pretty when JSON). Privacy and matchers are shown when the hub reports them.
 */
function eventEntry({ id, type, raw, matched, private: isPrivate }) {
  const entry = element("li", "event");
  entry.dataset.id = id;
  const meta = element("div", "meta");
  meta.append(
    element("span", "time", new Date().toLocaleTimeString()),
    element("span", "id", `id: ${id}`),
    element("span", "type", `type: ${type}`),
  );
  if (isPrivate !== undefined) meta.append(element("span", "privacy", isPrivate ? "private" : "public"));
  if (matched !== undefined && matched.length > 0) {
    meta.append(element("span", "matched", `matched: ${matched.map((matcher) => matcher.value).join(", ")}`));
  }
  entry.append(meta, element("pre", "data", pretty(raw)));
  return entry;
}

/** A log entry about the connection rather than an update. */
function notice(text, kind) {
  const entry = element("li", `notice ${kind}`);
  entry.append(element("span", "time", new Date().toLocaleTimeString()), document.createTextNode(` ${text}`));
  return entry;
}

/** JSON indented, anything else as it came. */
function pretty(raw) {
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}
