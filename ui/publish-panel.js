/**
 * The publish panel: sends one update with the SDK's publish and shows the hub's answer (the
 * update's id, or the refusal's status, stable code and detail), and the same publish as curl.
 */
import { curlCommand } from "./curl.js";
import { byId, describeError, lines, setStatus } from "./dom.js";
import { publish } from "./vendor/client.js";

/** Wires the panel to the hub at `hubUrl`, publishing with `currentToken()`. */
export function setUpPublishPanel(hubUrl, currentToken) {
  const form = byId("publish-form");
  const result = byId("pub-result");
  const curl = byId("pub-curl");

  const read = () => {
    const retry = byId("pub-retry").value.trim();
    return {
      topics: lines(byId("pub-topics")),
      data: byId("pub-data").value,
      private: byId("pub-private").checked,
      id: byId("pub-id").value.trim(),
      type: byId("pub-type").value.trim(),
      retry: retry === "" ? undefined : Number(retry),
    };
  };
  const refreshCurl = () => {
    curl.value = curlCommand(hubUrl, read(), currentToken() !== undefined);
  };
  form.addEventListener("input", refreshCurl);
  byId("token").addEventListener("input", refreshCurl);
  refreshCurl();

  byId("pub-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(curl.value);
    } catch {
      // No clipboard (an insecure origin, a refusal): select it for the user to copy.
      curl.select();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    refreshCurl();
    const fields = read();
    if (fields.topics.length === 0) {
      setStatus(result, "give at least one topic", "error");
      return;
    }
    const update = { topic: fields.topics, data: fields.data, private: fields.private };
    if (fields.id) update.id = fields.id;
    if (fields.type) update.type = fields.type;
    if (fields.retry !== undefined) update.retry = fields.retry;
    const token = currentToken();
    setStatus(result, "publishing…");
    try {
      // No retry: a debugging page shows the hub's first answer.
      const { id } = await publish(hubUrl, update, { retries: 0, ...(token === undefined ? {} : { token }) });
      setStatus(result, `published: ${id}`, "ok");
    } catch (error) {
      setStatus(result, `refused: ${describeError(error)}`, "error");
    }
  });
}
