/**
 * Where a subscriber's bytes go. The hub core knows nothing of HTTP: the http adapter implements
 * this over a response (and the tests over whatever they like).
 */
export interface StreamSink {
  /** Sends the response head; `anchor` is the Mercure-Last-Event-ID value when a cursor was sent. */
  start(anchor: string | undefined): void;
  /**
   * Writes the frames (`bytes` long in all) at once; false means the socket is backed up and
   * `onDrain` will fire when it is not.
   */
  write(frames: readonly Buffer[], bytes: number): boolean;
  onDrain(callback: () => void): void;
  /** Calls back once when the client goes away (or the stream ends for any reason). */
  onClose(callback: () => void): void;
  /**
   * Ends the stream cleanly, then closes the connection once what was written has left (a stream
   * is the connection's last response). A client that has not taken it all within `graceMs` is
   * cut: one that reads nothing would otherwise keep its connection open forever.
   */
  end(graceMs: number): void;
  /** Drops the connection at once (a slow consumer: it reconnects with its cursor). */
  destroy(): void;
}
