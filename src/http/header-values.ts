import type { HttpRequest } from "./exchange.ts";

/**
 * Every value the request sent for one header (`name` in lower case), in order, as
 * `req.headersDistinct[name]` gives them. That getter builds the whole table of every header on
 * first use; a publish only needs one or two, and this scans the raw list instead.
 */
export function headerValues(req: HttpRequest, name: string): string[] | undefined {
  const raw = req.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i]!;
    if (field.length === name.length && field.toLowerCase() === name) values.push(raw[i + 1]!);
  }
  return values.length === 0 ? undefined : values;
}
