/**
 * The gateway's node:http request listener, the order every request goes through: request id,
 * access log line, CORS, refusal while draining, preflight, then the router (gateway/routes/).
 * What escapes a route is logged and answered 500, but for a client that went away mid-body,
 * which is only worth a debug line.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ClientAborted } from '../../lib/http.ts';
import { REQUEST_ID_HEADER } from '../context.ts';
import { answerPreflight, applyCors } from './cors.ts';
import type { Drain } from './draining.ts';
import { requestIdOf } from './requestId.ts';
import { httpError } from './responses.ts';

/** What the front knows of a request when it hands it to a route. */
export interface RequestScope {
  readonly url: URL;
  readonly requestId: string;
  /** Logger bound to this request (`requestId` on every line). */
  readonly log: Logger;
}

/** A route: answers one request. */
export type Handler = (req: IncomingMessage, res: ServerResponse, scope: RequestScope) => Promise<void> | void;

export interface RequestListenerDeps {
  readonly log: Logger;
  /** CORS_ORIGINS. */
  readonly corsOrigins: string;
  readonly drain: Drain;
  readonly route: Handler;
}

export function createRequestListener(deps: RequestListenerDeps): RequestListener {
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const requestId = requestIdOf(req.headers);
    const log = deps.log.child({ requestId });
    res.setHeader(REQUEST_ID_HEADER, requestId);
    applyCors(req, res, deps.corsOrigins);
    const url = new URL(req.url ?? '/', 'http://gateway');
    res.on('finish', () => {
      log.info({ method: req.method, path: url.pathname, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'request');
    });
    if (deps.drain.refuse(res)) return;
    if (req.method === 'OPTIONS') return answerPreflight(res);
    return deps.route(req, res, { url, requestId, log });
  }
  return (req, res) => {
    deps.drain.track(res);
    handle(req, res).catch((err: unknown) => {
      if (err instanceof ClientAborted) {
        deps.log.debug({ method: req.method, url: req.url }, 'client aborted the request mid-body');
        return void res.destroy();
      }
      deps.log.error({ err }, 'unhandled gateway error');
      if (!res.headersSent) httpError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      else res.destroy();
    });
  };
}
