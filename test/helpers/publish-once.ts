import { request } from "node:http";

/** What became of one publish. */
export type PublishOutcome =
  | { readonly kind: "answered"; readonly status: number; readonly body: string }
  /** The connection was refused: nothing was sent (the hub is down, or stopped listening). */
  | { readonly kind: "refused" }
  /** Sent, and the connection failed before a whole answer: the publish may or may not be stored. */
  | { readonly kind: "cut"; readonly error: string };

/**
 * Publishes `id` on a connection of its own, closed after the answer: a failure then says for
 * sure whether the request was sent (a pooled keep-alive connection may be closed by the hub
 * just as a request leaves on it, which is neither).
 */
export function publishOnce(
  hubUrl: string,
  token: string,
  fields: { topic: string; id: string; data: string },
): Promise<PublishOutcome> {
  const body = new URLSearchParams(fields).toString();
  return new Promise((resolve) => {
    let connected = false;
    const req = request(
      hubUrl,
      {
        method: "POST",
        agent: false,
        headers: {
          Authorization: `Bearer ${token}`,
          "Content-Type": "application/x-www-form-urlencoded",
          "Content-Length": Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ kind: "answered", status: res.statusCode ?? 0, body: text }));
        res.on("error", (error) => resolve({ kind: "cut", error: error.message }));
      },
    );
    req.on("socket", (socket) => socket.once("connect", () => (connected = true)));
    req.on("error", (error: NodeJS.ErrnoException) => {
      resolve(connected ? { kind: "cut", error: error.message } : { kind: "refused" });
    });
    req.end(body);
  });
}
