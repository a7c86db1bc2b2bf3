/**
 * Running totals over every stream of a hub, kept up to date as bytes are queued and written, so
 * that reading them (a metrics scrape) costs nothing and never walks the streams. One shared
 * object: no field per connection.
 */
export class DeliveryTally {
  /** Bytes queued for subscribers, or held while their replay is sent, and not yet written. */
  waitingBytes = 0;
  /** Bytes handed to subscribers' sockets (events and keep-alives). */
  writtenBytes = 0;
  /** Updates offered to streams since the hub started, one per stream offered each. */
  deliveries = 0;
}
