/**
 * The curl command for a publish, to copy into a terminal. The token is written `$TOKEN`, never
 * its value: the line may be pasted into a ticket or a chat.
 */

/** Quotes for a POSIX shell: single quotes, each inner one closed, escaped and reopened. */
export function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** `curl` publishing `update` ({ topics, data, private, id, type, retry }) to `hubUrl`. */
export function curlCommand(hubUrl, update, withToken) {
  const parts = ["curl", shellQuote(hubUrl)];
  if (withToken) parts.push('-H "Authorization: Bearer $TOKEN"');
  const field = (name, value) => parts.push(`--data-urlencode ${shellQuote(`${name}=${value}`)}`);
  for (const topic of update.topics) field("topic", topic);
  if (update.data !== "") field("data", update.data);
  if (update.private) field("private", "on");
  if (update.id) field("id", update.id);
  if (update.type) field("type", update.type);
  if (update.retry !== undefined) field("retry", String(update.retry));
  return parts.join(" \\\n  ");
}
