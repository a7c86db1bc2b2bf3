/**
 * The hub panel: what the hub's `ui/status` says of it, polled every 2 seconds, with deliveries
 * per second computed between two polls from its running total.
 */
import { byId, setStatus } from "./dom.js";
import { uiEndpoint } from "./hub-url.js";

/** How often the panel asks for the hub's status. */
export const STATUS_POLL_MS = 2000;

/** Starts polling the hub at `hubUrl`; `onStatus` receives each status read. */
export function setUpHubPanel(hubUrl, currentToken, onStatus) {
  const status = byId("hub-status");
  let previous;

  const poll = async () => {
    const token = currentToken();
    try {
      const response = await fetch(uiEndpoint(hubUrl, "status"), {
        headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
        cache: "no-store",
      });
      if (response.status === 401 || response.status === 403) {
        setStatus(status, "paste a token to see the hub's status", "error");
        previous = undefined;
        return;
      }
      if (!response.ok) {
        setStatus(status, `the hub answered ${response.status}`, "error");
        return;
      }
      const facts = await response.json();
      const now = performance.now();
      show(
        facts,
        previous === undefined ? undefined : rate(previous, { at: now, deliveries: facts.deliveries }),
      );
      previous = { at: now, deliveries: facts.deliveries };
      setStatus(status, `updated ${new Date().toLocaleTimeString()}`, "ok");
      onStatus(facts);
    } catch (error) {
      setStatus(status, `the hub cannot be reached: ${error.message}`, "error");
    }
  };
  poll();
  setInterval(poll, STATUS_POLL_MS);
}

/** Deliveries per second between two reads of the running total. */
function rate(before, after) {
  const seconds = (after.at - before.at) / 1000;
  if (seconds <= 0 || typeof after.deliveries !== "number" || typeof before.deliveries !== "number")
    return undefined;
  // A restarted hub starts its total again: no negative rate.
  return Math.max(0, (after.deliveries - before.deliveries) / seconds);
}

function show(facts, deliveriesPerSecond) {
  const text = (value) => (value === undefined || value === null ? "–" : String(value));
  byId("hub-version").textContent = text(facts.version);
  byId("hub-dialects").textContent = Array.isArray(facts.dialects) ? facts.dialects.join(", ") : "–";
  byId("hub-transport").textContent = text(facts.transport);
  byId("hub-history").textContent = text(facts.historySize);
  byId("hub-subscribers").textContent = text(facts.subscribers);
  byId("hub-rate").textContent = deliveriesPerSecond === undefined ? "–" : deliveriesPerSecond.toFixed(1);
  byId("hub-subscriptions").textContent =
    facts.subscriptions === undefined ? "–" : facts.subscriptions ? "on" : "off";
}
