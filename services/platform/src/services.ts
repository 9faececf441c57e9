import { authService } from '@pier/auth';
import { clustersService } from '@pier/clusters';
import { gatewayService } from '@pier/gateway';
import { type PierService } from '@pier/nest';
import { routerService } from '@pier/router';
import { schedulerService } from '@pier/scheduler';

/** Every control-plane service, in the order they start: each one's dependencies before it. */
export const CONTROL_PLANE: readonly PierService[] = [
  clustersService,
  authService,
  schedulerService,
  routerService,
  gatewayService,
];

/**
 * The services named in `PIER_SERVICES` (comma-separated; all when unset or empty), in start order.
 * Throws naming the unknown ones.
 */
export function selectServices(
  list: string | undefined,
  all: readonly PierService[] = CONTROL_PLANE,
): readonly PierService[] {
  const names = (list ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.length === 0) return all;
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `PIER_SERVICES: no service named ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`,
    );
  }
  return all.filter((s) => names.includes(s.name));
}
