/**
 * The gateway's routes: which handler answers which path. Each route is built from what it needs
 * by its own module (`(deps) => handler`) and wired in gateway/runtime.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler, RequestScope } from '../http/handler.ts';
import { httpError } from '../http/responses.ts';

export interface Routes {
  /** GET /health (./health.ts). */
  readonly health: Handler;
  /** GET /ready (./ready.ts). */
  readonly ready: Handler;
  /** GET /metrics (./metrics.ts). */
  readonly metrics: Handler;
  /** /graphql: HTTP and SSE (./graphql.ts); WebSocket upgrades go to gateway/subscriptions/. */
  readonly graphql: Handler;
  /** POST /admin/graphql (./admin.ts). */
  readonly admin: Handler;
  /** /analytics/... (./analytics.ts). */
  readonly analytics: Handler;
  /** The web pages and their assets (./ui.ts); false for a path that is none of them. */
  readonly ui: (req: IncomingMessage, res: ServerResponse, scope: RequestScope) => Promise<boolean>;
}

export function createRouter(routes: Routes): Handler {
  const exact = new Map<string, Handler>([
    ['/health', routes.health],
    ['/ready', routes.ready],
    ['/metrics', routes.metrics],
    ['/graphql', routes.graphql],
    ['/admin/graphql', routes.admin],
  ]);
  return async (req, res, scope) => {
    const { pathname } = scope.url;
    const route = exact.get(pathname);
    if (route) return route(req, res, scope);
    if (pathname.startsWith('/analytics/')) return routes.analytics(req, res, scope);
    if (await routes.ui(req, res, scope)) return;
    return httpError(res, 404, 'NOT_FOUND', `No route ${pathname}; GraphQL is at /graphql`);
  };
}
