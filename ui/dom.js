/**
 * The page's few DOM helpers. Everything the hub or a publisher sent is written with
 * `textContent`, never parsed as HTML: hostile data shows as text.
 */

/** The element with this id; a missing one is a bug in the page. */
export function byId(id) {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`the page has no #${id}`);
  return node;
}

/** A new element with a class and a text, both optional. */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A textarea's non-empty lines, trimmed. */
export function lines(textarea) {
  return textarea.value
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** Shows a status line; `kind` is "ok", "error" or nothing. */
export function setStatus(node, text, kind) {
  node.textContent = text;
  node.classList.toggle("error", kind === "error");
  node.classList.toggle("ok", kind === "ok");
}

/** An error as one line: the SDK's typed errors carry the hub's status, stable code and detail. */
export function describeError(error) {
  if (error === null || typeof error !== "object") return String(error);
  const parts = [error.name ?? "Error"];
  if (error.status !== undefined) parts.push(String(error.status));
  if (error.code !== undefined) parts.push(error.code);
  const text = error.detail ?? error.message;
  return text ? `${parts.join(" ")}: ${text}` : parts.join(" ");
}
