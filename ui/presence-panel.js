/**
 * The presence panel: the live list of a topic's subscriptions, through the SDK's presence (the
 * hub must run with its subscription API on). Optionally the page subscribes to the topic too,
 * to be on the list itself.
 */
import { byId, describeError, element, setStatus } from "./dom.js";
import { presence, subscribe } from "./vendor/client.js";

/** Wires the panel to the hub at `hubUrl`, with `currentToken()`. */
export function setUpPresencePanel(hubUrl, currentToken) {
  const form = byId("presence-form");
  const stopButton = byId("presence-stop");
  const status = byId("presence-status");
  const list = byId("presence-list");
  let watching;

  const stop = () => {
    if (watching === undefined) return;
    watching.viewers.close();
    watching.being?.close();
    watching = undefined;
    stopButton.disabled = true;
    setStatus(status, "stopped");
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    stop();
    const topic = byId("presence-topic").value.trim();
    const token = currentToken();
    const auth = token === undefined ? {} : { token };
    try {
      const being = byId("presence-join").checked
        ? subscribe(hubUrl, { match: topic, share: false, ...auth })
        : undefined;
      const viewers = presence(hubUrl, topic, auth);
      const current = { viewers, being };
      watching = current;
      stopButton.disabled = false;
      setStatus(status, "listing…");
      viewers.on("change", (subscribers) => {
        if (watching !== current) return;
        render(list, subscribers);
        setStatus(status, `${subscribers.size} subscription(s)`, "ok");
      });
      viewers.on("error", (error) => {
        if (watching === current) setStatus(status, describeError(error), "error");
      });
      viewers.on("close", ({ error }) => {
        if (watching === current && error) setStatus(status, `closed: ${describeError(error)}`, "error");
      });
    } catch (error) {
      setStatus(status, describeError(error), "error");
    }
  });
  stopButton.addEventListener("click", stop);
}

/** One row a subscription: what its token says of it, and who (the connection's id). */
function render(list, subscribers) {
  const rows = [...subscribers.values()].map((subscription) => {
    const row = element("tr", "subscription");
    row.title = subscription.id;
    row.append(
      element(
        "td",
        "payload",
        subscription.payload === undefined ? "" : JSON.stringify(subscription.payload),
      ),
      element("td", "subscriber", subscription.subscriber),
    );
    return row;
  });
  list.replaceChildren(...rows);
}
