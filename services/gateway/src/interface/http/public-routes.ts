import { type RouteSpec } from './api-route';

/**
 * The only operations that need no credentials. Declaring a route `public` anywhere else fails the
 * gateway's start (see `assertPublicRoutes`) and the route-matrix test.
 */
export const PUBLIC_OPERATIONS: readonly string[] = ['getOpenApi', 'login', 'refreshSession'];

export function assertPublicRoutes(routes: readonly RouteSpec[]): void {
  const declared = routes
    .filter((r) => r.access.kind === 'public')
    .map((r) => r.operationId)
    .sort();
  const listed = [...PUBLIC_OPERATIONS].sort();
  if (JSON.stringify(declared) !== JSON.stringify(listed)) {
    throw new Error(
      `public routes ${JSON.stringify(declared)} differ from PUBLIC_OPERATIONS ${JSON.stringify(listed)}`,
    );
  }
}
