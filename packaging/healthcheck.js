#!/usr/bin/env node
// The container's health check: asks the hub inside the same container whether it is ready to
// serve (GET /readyz) and exits 0 if so, 1 if not. Written for node's own fetch because slim
// images carry no curl or wget. The port is the one the hub listens on: MERCURE_LISTEN, else
// SERVER_NAME (read in the order the hub reads them), else the image's default.
const address = process.env.MERCURE_LISTEN || process.env.SERVER_NAME || ":3000";
const port = /:(\d+)\/?$/.exec(address.trim())?.[1] ?? "80";

try {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
