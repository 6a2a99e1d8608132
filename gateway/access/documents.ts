/**
 * Trusted documents: the operations a front-end app registered at build time (an Apollo persisted
 * query manifest, or the `persisted-documents.json` of GraphQL Code Generator's client preset),
 * stored in the gateway's database (collection `trustedDocuments`). A key bound to an app may run
 * only those operations: by id (`extensions.persistedQuery.sha256Hash`, as Apollo Client's
 * persisted-query link sends it, or `documentId`, as GraphQL Code Generator's and Relay's clients
 * do), or by sending a registered text. A SHA-256 id is the same id bare (`3f2a…`, the APQ form) or
 * prefixed (`sha256:3f2a…`, the trusted-documents form), in either case. A text matches a
 * registered one when both print the same once parsed, leaving out unaliased `__typename` fields
 * (Apollo Client adds them to every selection set; a manifest may or may not have them); the text
 * as sent is what runs.
 */
import type { Collection, Db } from 'mongodb';
import { printExecutableGraphQLDocument } from '@graphql-tools/documents';
import { GraphQLError, Kind, parse, visit } from 'graphql';
import { ensureIndexes, type CollectionSpec } from '../../lib/mongo.ts';
import { NAME_RE } from './keys.ts';

export interface TrustedDocument {
  /** `<app>:<id>` */
  _id: string;
  app: string;
  id: string;
  body: string;
  name: string | null;
  registeredAt: Date;
}

const DOCUMENT_COLLECTIONS: readonly CollectionSpec[] = [
  { name: 'trustedDocuments', indexes: [{ key: { app: 1, id: 1 }, name: 'app_id' }] },
];

const ID_RE = /^[A-Za-z0-9:_-]{1,128}$/;
const SHA256_ID = /^(?:sha256:)?([0-9a-f]{64})$/i;

/** The one form of an id: a SHA-256 one as bare lowercase hex, any other as it is. */
function canonicalId(id: string): string {
  const m = SHA256_ID.exec(id);
  return m ? m[1]!.toLowerCase() : id;
}

/**
 * A document's text as trusted documents compare it: without unaliased `__typename` fields, printed
 * in the trusted-documents normal form (selections, arguments and variables sorted, as GraphQL Code
 * Generator prints its persisted documents); undefined if it does not parse.
 */
function normalizedDocument(text: string): string | undefined {
  try {
    return printExecutableGraphQLDocument(visit(parse(text), { Field: (f) => (f.name.value === '__typename' && !f.alias ? null : undefined) }));
  } catch {
    return undefined;
  }
}

function manifestError(why: string, argument = 'manifest'): GraphQLError {
  return new GraphQLError(argument === 'manifest' ? `Not a persisted-operation manifest: ${why}` : why, { extensions: { code: 'BAD_USER_INPUT', argument } });
}

/**
 * Operations of a manifest file: Apollo's format, or `{ "<hash>": "<document>" }`. Every entry
 * must be an executable document with at least one operation (a lone fragment or SDL could never
 * run); an id may repeat only with the same text.
 */
function readManifest(json: unknown): { id: string; body: string; name: string | null }[] {
  const bad = manifestError;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not a JSON object');
  const m = json as Record<string, unknown>;
  let ops: { id: string; body: string; name: string | null }[];
  if (m['format'] === 'apollo-persisted-query-manifest') {
    if (m['version'] !== 1 || !Array.isArray(m['operations'])) throw bad('expected version 1 with an operations array');
    ops = (m['operations'] as unknown[]).map((o, i) => {
      const op = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
      if (typeof op['id'] !== 'string' || typeof op['body'] !== 'string') throw bad(`operation ${i} needs string id and body`);
      return { id: op['id'], body: op['body'], name: typeof op['name'] === 'string' ? op['name'] : null };
    });
  } else {
    ops = Object.entries(m).map(([id, body]) => {
      if (typeof body !== 'string') throw bad(`entry ${id} is not a document string`);
      return { id, body, name: null };
    });
  }
  const seen = new Map<string, string>();
  for (const op of ops) {
    if (!ID_RE.test(op.id)) throw bad(`id ${JSON.stringify(op.id)} is not a hash-like id`);
    let doc;
    try {
      doc = parse(op.body);
    } catch (err) {
      throw bad(`operation ${op.id} does not parse: ${(err as Error).message}`);
    }
    const kinds = doc.definitions.map((d) => d.kind);
    if (!kinds.includes(Kind.OPERATION_DEFINITION) || kinds.some((k) => k !== Kind.OPERATION_DEFINITION && k !== Kind.FRAGMENT_DEFINITION)) {
      throw bad(`operation ${op.id} is not an executable document with an operation`);
    }
    const earlier = seen.get(op.id);
    if (earlier !== undefined && earlier !== op.body) throw bad(`id ${op.id} is given twice with different texts`);
    seen.set(op.id, op.body);
    // A `{ id: text }` manifest names no operation: the document does.
    op.name ??= doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)?.name?.value ?? null;
  }
  return ops;
}

export class DocumentStore {
  private readonly docs: Collection<TrustedDocument>;
  private readonly cache = new Map<string, { byId: Map<string, string>; bodies: Set<string>; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly cacheMs: number,
  ) {
    this.docs = db.collection<TrustedDocument>('trustedDocuments');
  }

  async init(): Promise<void> {
    await ensureIndexes(this.db, DOCUMENT_COLLECTIONS);
  }

  /**
   * Registers a manifest's operations for `app` (adding to what it has); returns how many were new.
   * All or nothing: a malformed manifest, or an id already registered with another text, stores
   * nothing (an id names one operation for good, as in a GraphOS persisted query list).
   */
  async register(app: string, manifest: unknown, now = new Date()): Promise<{ added: number; total: number }> {
    if (!NAME_RE.test(app)) throw manifestError('app: 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit (as a key\'s documents)', 'app');
    const ops = readManifest(manifest).map((o) => ({ ...o, id: canonicalId(o.id) }));
    const existing = new Map((await this.docs.find({ app }, { projection: { id: 1, body: 1 } }).toArray()).map((d) => [canonicalId(d.id), d.body]));
    const conflict = ops.find((o) => existing.has(o.id) && existing.get(o.id) !== o.body);
    if (conflict) throw manifestError(`id ${conflict.id} is already registered for app "${app}" with another text`);
    // A manifest may repeat an id (with the same text): keep one.
    const unique = [...new Map(ops.filter((o) => !existing.has(o.id)).map((o) => [o.id, o])).values()];
    let added = 0;
    if (unique.length > 0) {
      // Upserts, so two registrations of the same manifest at once both succeed.
      const r = await this.docs.bulkWrite(
        unique.map((o) => ({
          updateOne: {
            filter: { _id: `${app}:${o.id}` },
            update: { $setOnInsert: { app, id: o.id, body: o.body, name: o.name, registeredAt: now } },
            upsert: true,
          },
        })),
        { ordered: false },
      );
      added = r.upsertedCount;
    }
    this.cache.delete(app);
    return { added, total: existing.size + added };
  }

  async list(app: string): Promise<TrustedDocument[]> {
    return this.docs.find({ app }).sort({ name: 1, id: 1 }).toArray();
  }

  private async load(app: string) {
    const now = Date.now();
    const hit = this.cache.get(app);
    if (hit && hit.until > now) return hit;
    const docs = await this.docs.find({ app }, { projection: { id: 1, body: 1 } }).toArray();
    const bodies = new Set(docs.flatMap((d) => normalizedDocument(d.body) ?? []));
    const entry = { byId: new Map(docs.map((d) => [canonicalId(d.id), d.body])), bodies, until: now + this.cacheMs };
    this.cache.set(app, entry);
    return entry;
  }

  /** The registered text for an id (bare or `sha256:`-prefixed alike), or null. */
  async byId(app: string, id: string): Promise<string | null> {
    return (await this.load(app)).byId.get(canonicalId(id)) ?? null;
  }

  /** Whether a text is one of the app's registered ones, once both are normalised ({@link normalizedDocument}). */
  async isRegistered(app: string, body: string): Promise<boolean> {
    const normalized = normalizedDocument(body);
    return normalized !== undefined && (await this.load(app)).bodies.has(normalized);
  }

  /** Removes an app's documents (one id's, or all); returns how many. */
  async remove(app: string, id?: string): Promise<number> {
    const docs = await this.docs.find({ app }, { projection: { id: 1 } }).toArray();
    const ids = docs.filter((d) => id === undefined || canonicalId(d.id) === canonicalId(id)).map((d) => d._id);
    if (ids.length === 0) return 0;
    const r = await this.docs.deleteMany({ _id: { $in: ids } });
    this.cache.delete(app);
    return r.deletedCount;
  }
}

/**
 * Rewrites a GraphQL request body for a trusted-documents key: the registered text replaces the
 * id; a text must itself be registered. Returns the body to run, or an error message.
 */
export async function resolveTrusted(
  store: DocumentStore,
  app: string,
  body: Record<string, unknown>,
): Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; message: string }> {
  const extensions = (typeof body['extensions'] === 'object' && body['extensions'] !== null ? body['extensions'] : {}) as Record<string, unknown>;
  const pq = extensions['persistedQuery'] as { sha256Hash?: unknown } | undefined;
  const id = typeof body['documentId'] === 'string' ? body['documentId'] : typeof pq?.sha256Hash === 'string' ? pq.sha256Hash : undefined;
  const { persistedQuery: _pq, ...otherExtensions } = extensions;
  const { documentId: _d, ...rest } = body;
  if (id !== undefined) {
    const text = await store.byId(app, id);
    if (text === null) return { ok: false, message: `Operation ${id} is not registered for app "${app}"` };
    const sent = typeof body['query'] === 'string' ? body['query'] : undefined;
    if (sent !== undefined && normalizedDocument(sent) !== normalizedDocument(text)) return { ok: false, message: `The query sent does not match registered operation ${id}` };
    return { ok: true, body: { ...rest, query: sent ?? text, extensions: otherExtensions } };
  }
  if (typeof body['query'] === 'string') {
    if (await store.isRegistered(app, body['query'])) return { ok: true, body: { ...rest, extensions: otherExtensions } };
    return { ok: false, message: `This key runs only the operations registered for app "${app}"; this one is not` };
  }
  return { ok: false, message: 'Send a registered operation id (extensions.persistedQuery.sha256Hash or documentId)' };
}
