import { mintToken } from "../auth/mint.ts";
import { hubPathOf } from "../http/router.ts";
import { uiPathOf } from "../http/ui-route.ts";
import { DEV_ISSUER, type ServeConfig } from "./resolve-config.ts";
import type { RunningHub } from "./start-hub.ts";

const DAY_SECONDS = 86_400;

/** What `serve --dev` prints: ready-to-paste tokens and the commands that use them. */
export async function devBanner(
  config: ServeConfig,
  running: Pick<RunningHub, "hubUrl" | "resourceIdentifier">,
): Promise<string> {
  const lines = [
    "",
    `  Quicksilver development hub: ${running.hubUrl}`,
    "  Not for production: anonymous subscribers, localhost CORS, and tokens printed below.",
    "",
  ];
  if (config.ui)
    lines.push(`  Web page: ${new URL(`${uiPathOf(hubPathOf(running.hubUrl))}/`, running.hubUrl)}`, "");
  if (config.devSecret === undefined) {
    lines.push("  Keys come from your configuration: mint tokens with `quicksilver token`.", "");
    return lines.join("\n") + "\n";
  }
  const common = {
    issuer: DEV_ISSUER,
    audience: running.resourceIdentifier,
    key: config.devSecret,
    ttlSeconds: DAY_SECONDS,
  };
  const publisher = await mintToken({ ...common, publish: ["*"], subscribe: ["*"] });
  const subscriber = await mintToken({ ...common, subscribe: ["*"] });
  lines.push(
    "  Publisher token (publish and subscribe on every topic, valid 24 h):",
    `    ${publisher}`,
    "",
    "  Subscriber token (subscribe on every topic, private updates included, valid 24 h):",
    `    ${subscriber}`,
    "",
    "  Subscribe (in another terminal):",
    `    curl -N '${running.hubUrl}?match=*' -H 'Authorization: Bearer ${subscriber}'`,
    "",
    "  Publish:",
    `    curl '${running.hubUrl}' -H 'Authorization: Bearer ${publisher}' \\`,
    "      -d 'topic=https://example.com/books/1' --data-urlencode 'data={\"title\":\"Hello\"}'",
    "",
  );
  return lines.join("\n") + "\n";
}
