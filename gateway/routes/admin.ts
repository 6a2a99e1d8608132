/**
 * POST /admin/graphql: key, trusted-document and webhook management (gateway/access/admin.ts), for
 * admin keys only; 404 on a gateway without a key store.
 */
import type { Logger } from 'pino';
import { AccessCode } from '../../lib/access.ts';
import { BodyTooLarge, readBody } from '../../lib/http.ts';
import { runAdmin } from '../access/admin.ts';
import type { DocumentStore } from '../access/documents.ts';
import type { KeyStore } from '../access/keys.ts';
import type { WebhookService } from '../webhooks/service.ts';
import type { Admit } from '../http/admission.ts';
import type { Handler } from '../http/handler.ts';
import { httpError, json } from '../http/responses.ts';

export interface AdminDeps {
  readonly admit: Admit;
  readonly keys: KeyStore | undefined;
  readonly documents: DocumentStore | undefined;
  readonly webhooks?: WebhookService | undefined;
  readonly bodyLimitBytes: number;
  /** The gateway's logger: every admin operation is logged, with the admin key's subject. */
  readonly log: Logger;
}

export function adminRoute(deps: AdminDeps): Handler {
  return async (req, res, { requestId }) => {
    const admitted = await deps.admit(req, res);
    if (!admitted) return;
    const { keys, documents } = deps;
    if (!keys || !documents) return httpError(res, 404, 'NOT_FOUND', 'This gateway has no key store (no database configured)');
    if (admitted.caller.role !== 'admin') {
      const anonymous = admitted.caller.role === 'anonymous';
      return httpError(res, anonymous ? 401 : 403, anonymous ? AccessCode.UNAUTHENTICATED : AccessCode.FORBIDDEN, 'Key management needs an admin key');
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return httpError(res, 405, 'METHOD_NOT_ALLOWED', 'Use POST');
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse((await readBody(req, deps.bodyLimitBytes)).toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof BodyTooLarge) return httpError(res, 413, 'PAYLOAD_TOO_LARGE', 'Request body too large');
      return httpError(res, 400, 'BAD_REQUEST', 'The request body is not valid JSON');
    }
    const result = await runAdmin({ keys, documents, webhooks: deps.webhooks }, admitted.caller, body);
    deps.log.info({ requestId, admin: admitted.caller.sub, operation: body['operationName'] ?? null, ok: !result.errors }, 'admin operation');
    return json(res, 200, { ...(result.data !== undefined ? { data: result.data } : {}), ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}) });
  };
}
