/** What the pools of forked load processes (generators, churners, publish clients) share. */
import type { ChildProcess } from "node:child_process";

/** Asks each child to close (`{ op: "close" }`) and resolves once all have exited. */
export function closeAll(children: readonly ChildProcess[]): Promise<void> {
  return Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.send({ op: "close" });
        }),
    ),
  ).then(() => {});
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** `total` in `parts` near-equal whole shares, the larger ones first. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}
