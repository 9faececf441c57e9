import { type NatsConnection } from '@nats-io/transport-node';

/**
 * Calls `lost` when the connection to NATS drops and `back` when it is re-established, until the
 * connection closes (the scheduler stands down while it cannot reach the event store; the gateway drops
 * what it may have missed word of).
 */
export function watchConnection(nc: NatsConnection, lost: () => void, back: () => void): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') lost();
      else if (status.type === 'reconnect') back();
    }
  })();
}
