/**
 * A minimal typed event emitter: the SDK runs where `node:events` does not exist. A handler that
 * throws does not stop the others nor the stream; its error is rethrown on its own, as an
 * `EventTarget` reports a listener's error.
 */
export class Emitter<Events extends object> {
  readonly #handlers = new Map<keyof Events, Set<(payload: never) => void>>();

  /** Calls `handler` for each `event`; returns the function that stops it. */
  on<K extends keyof Events>(event: K, handler: (payload: Events[K]) => void): () => void {
    let handlers = this.#handlers.get(event);
    if (handlers === undefined) {
      handlers = new Set();
      this.#handlers.set(event, handlers);
    }
    // A wrapper per call, so that registering one function twice gives two independent handlers.
    const wrapped = (payload: never) => handler(payload);
    handlers.add(wrapped);
    return () => {
      handlers.delete(wrapped);
    };
  }

  /** Calls every handler of `event` registered now, in the order they were registered. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const handlers = this.#handlers.get(event);
    if (handlers === undefined) return;
    for (const handler of [...handlers]) {
      try {
        (handler as (payload: Events[K]) => void)(payload);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Whether anything listens to `event`. */
  has(event: keyof Events): boolean {
    return (this.#handlers.get(event)?.size ?? 0) > 0;
  }
}
