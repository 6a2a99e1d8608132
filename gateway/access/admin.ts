/**
 * /admin/graphql: key and webhook management for admin keys (the same operations as `npm run keys`
 * and `npm run webhooks`), a small schema of the gateway's own (gateway/access/admin.graphql), not
 * part of the supergraph.
 */
import { readFileSync } from 'node:fs';
import { buildSchema, graphql, GraphQLError, type ExecutionResult } from 'graphql';
import type { Caller } from '../../lib/access.ts';
import type { DocumentStore } from './documents.ts';
import type { KeyInfo, KeyStore } from './keys.ts';
import type { WebhookService } from '../webhooks/service.ts';
import { webhookResolvers } from '../webhooks/resolvers.ts';

const schema = buildSchema(readFileSync(new URL('admin.graphql', import.meta.url), 'utf8'));

function view(k: KeyInfo) {
  return {
    ...k,
    createdAt: k.createdAt.toISOString(),
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

export interface AdminRequest {
  readonly query?: unknown;
  readonly variables?: unknown;
  readonly operationName?: unknown;
}

export interface AdminStores {
  readonly keys: KeyStore;
  readonly documents: DocumentStore;
  readonly webhooks?: WebhookService | undefined;
}

/** Runs one admin operation; the caller must already be known to be an admin. */
export async function runAdmin({ keys, documents, webhooks }: AdminStores, caller: Caller, req: AdminRequest): Promise<ExecutionResult> {
  if (typeof req.query !== 'string') return { errors: [new GraphQLError('Missing query', { extensions: { code: 'BAD_REQUEST' } })] };
  const rootValue = {
    apiKeys: async () => (await keys.list()).map(view),
    trustedDocuments: async ({ app }: { app: string }) => documents.list(app),
    createApiKey: async ({ input }: { input: { name: string; role: string; subgraphs?: string[] | null; expires?: string | null; documents?: string | null } }) => {
      const { key, info } = await keys.create({
        name: input.name,
        role: input.role,
        subgraphs: input.subgraphs ?? undefined,
        expires: input.expires ?? undefined,
        documents: input.documents ?? undefined,
      });
      return { key, apiKey: view(info) };
    },
    revokeApiKey: async ({ name }: { name: string }) => view(await keys.revoke(name)),
    registerTrustedDocuments: async ({ app, manifest }: { app: string; manifest: string }) => {
      let json: unknown;
      try {
        json = JSON.parse(manifest);
      } catch {
        throw new GraphQLError('manifest: not JSON', { extensions: { code: 'BAD_USER_INPUT', argument: 'manifest' } });
      }
      return documents.register(app, json);
    },
    ...webhookResolvers(webhooks),
  };
  return graphql({
    schema,
    source: req.query,
    rootValue,
    contextValue: { caller },
    variableValues: typeof req.variables === 'object' && req.variables !== null ? (req.variables as Record<string, unknown>) : undefined,
    operationName: typeof req.operationName === 'string' ? req.operationName : undefined,
  });
}
