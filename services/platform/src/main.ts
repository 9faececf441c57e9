import 'reflect-metadata';
import { startServices } from '@pier/nest';
import { selectServices } from './services';

/**
 * `node services/platform/dist/main.js`: the control plane in one process — clusters, auth, scheduler,
 * router and gateway, or those named in `PIER_SERVICES` — each as it runs alone (its own port, logger and
 * NATS connection; they talk over NATS only), so any of them can move to a process of its own for
 * scale-out (`services/<name>/dist/main.js`) without a change.
 */
let services;
try {
  services = selectServices(process.env.PIER_SERVICES);
} catch (error) {
  process.stderr.write(`pier-platform: ${(error as Error).message}\n`);
  process.exit(2);
}
void startServices('pier-platform', services);
