/**
 * API keys: random, shown once, stored only as a SHA-256 hash in the gateway's own database
 * (collection `apiKeys`), with a role, optional subgraph scope, optional expiry and revocation.
 * Verification is cached for `cacheMs`, so a key revoked by another process (the CLI, another
 * gateway instance) stops working within that time, without a restart.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { GraphQLError } from 'graphql';
import { ROLES, type Caller, type Role } from '../../lib/access.ts';
import { isDuplicateKey } from '../../lib/drivers.ts';
import { ensureIndexes, type CollectionSpec } from '../../lib/mongo.ts';
import { ErrorCode, pickCodes } from '../../lib/errors.ts';

/** What a key grants, as stored. */
export interface ApiKeyRecord {
  /** The key's unique name (e.g. the partner or app). */
  _id: string;
  /** SHA-256 of the key, hex. */
  hash: string;
  /** First characters of the key, to recognise it in lists. */
  prefix: string;
  role: Exclude<Role, 'anonymous'>;
  /** Subgraphs a partner reads or an editor writes; null: the role's default. */
  subgraphs: string[] | null;
  /** Trusted-documents app: the key may run only operations registered for it. */
  documents: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export type KeyStatus = 'active' | 'expired' | 'revoked';

export interface KeyInfo {
  readonly name: string;
  readonly prefix: string;
  readonly role: ApiKeyRecord['role'];
  readonly subgraphs: readonly string[] | null;
  readonly documents: string | null;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly status: KeyStatus;
}

export interface CreateKeyInput {
  readonly name: string;
  readonly role: string;
  readonly subgraphs?: readonly string[] | undefined;
  /** YYYY-MM-DD: the key stops working at 00:00 UTC that day. */
  readonly expires?: string | undefined;
  readonly documents?: string | undefined;
}

/** A verified key: the caller it makes, and its trusted-documents app if any. */
export interface VerifiedKey {
  readonly caller: Caller;
  readonly documents: string | null;
}

const KeyErrorCode = pickCodes(ErrorCode.BAD_USER_INPUT, ErrorCode.KEY_EXISTS, ErrorCode.NOT_FOUND);

function keyError(code: string, message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...(argument ? { argument } : {}) } });
}

export const KEY_PREFIX = 'ali_';
/** A key's name, and a trusted-documents app's name (gateway/access/documents.ts). */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const KEY_RE = /^ali_[A-Za-z0-9_-]{43}$/;

/** What is stored of a key: its SHA-256, hex. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The caller a key's record makes (read and write scopes by role). */
function callerOf(record: Pick<ApiKeyRecord, '_id' | 'role' | 'subgraphs'>): Caller {
  const scoped = record.subgraphs ?? null;
  switch (record.role) {
    case 'partner':
      return { sub: record._id, role: 'partner', read: scoped ?? [], write: [] };
    case 'editor':
      return { sub: record._id, role: 'editor', read: '*', write: scoped ?? [] };
    default:
      return { sub: record._id, role: record.role, read: scoped ?? '*', write: [] };
  }
}

function statusOf(r: Pick<ApiKeyRecord, 'expiresAt' | 'revokedAt'>, now = Date.now()): KeyStatus {
  if (r.revokedAt) return 'revoked';
  if (r.expiresAt && r.expiresAt.getTime() <= now) return 'expired';
  return 'active';
}

function info(r: ApiKeyRecord): KeyInfo {
  return {
    name: r._id,
    prefix: r.prefix,
    role: r.role,
    subgraphs: r.subgraphs,
    documents: r.documents ?? null,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    revokedAt: r.revokedAt,
    status: statusOf(r),
  };
}

const KEY_COLLECTIONS: readonly CollectionSpec[] = [
  { name: 'apiKeys', indexes: [{ key: { hash: 1 }, name: 'hash_unique', unique: true }] },
];

export class KeyStore {
  private readonly keys: Collection<ApiKeyRecord>;
  private readonly cache = new Map<string, { value: (VerifiedKey & { expiresAt: Date | null }) | null; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly opts: { cacheMs: number; knownSubgraphs?: () => readonly string[] },
  ) {
    this.keys = db.collection<ApiKeyRecord>('apiKeys');
  }

  async init(): Promise<void> {
    await ensureIndexes(this.db, KEY_COLLECTIONS);
  }

  /** Creates a key; the returned `key` is the only time it is ever available. */
  async create(input: CreateKeyInput, now = new Date()): Promise<{ key: string; info: KeyInfo }> {
    const record = this.validate(input, now);
    const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const full: ApiKeyRecord = { ...record, hash: hashKey(key), prefix: key.slice(0, 10) };
    try {
      await this.keys.insertOne(full);
    } catch (err) {
      if (isDuplicateKey(err)) throw keyError(KeyErrorCode.KEY_EXISTS, `A key named "${input.name}" already exists`, 'name');
      throw err;
    }
    return { key, info: info(full) };
  }

  async list(): Promise<KeyInfo[]> {
    const all = await this.keys.find({}, { projection: { hash: 0 } }).sort({ _id: 1 }).toArray();
    return all.map((r) => info(r as ApiKeyRecord));
  }

  /** Revokes the named key (idempotent: revoking twice keeps the first date). */
  async revoke(name: string, now = new Date()): Promise<KeyInfo> {
    const existing = await this.keys.findOne({ _id: name });
    if (!existing) throw keyError(KeyErrorCode.NOT_FOUND, `No key named "${name}"`, 'name');
    if (!existing.revokedAt) {
      await this.keys.updateOne({ _id: name, revokedAt: null }, { $set: { revokedAt: now } });
      existing.revokedAt = now;
    }
    this.cache.delete(existing.hash);
    return info(existing);
  }

  /** The caller a presented key makes, or null if it is unknown, revoked or expired. */
  async verify(key: string): Promise<VerifiedKey | null> {
    if (!KEY_RE.test(key)) return null;
    const hash = hashKey(key);
    const now = Date.now();
    const hit = this.cache.get(hash);
    let value = hit && hit.until > now ? hit.value : undefined;
    if (value === undefined) {
      const r = await this.keys.findOne({ hash });
      value = r && !r.revokedAt ? { caller: Object.freeze(callerOf(r)), documents: r.documents ?? null, expiresAt: r.expiresAt } : null;
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, { value, until: now + this.opts.cacheMs });
    }
    if (!value || (value.expiresAt && value.expiresAt.getTime() <= now)) return null;
    return value;
  }

  /** The caller a key makes, by the key's name (webhooks run as a key): null if it is unknown, revoked or expired. */
  async verifyName(name: string, now = Date.now()): Promise<VerifiedKey | null> {
    const r = await this.keys.findOne({ _id: name });
    if (!r || statusOf(r, now) !== 'active') return null;
    return { caller: Object.freeze(callerOf(r)), documents: r.documents ?? null };
  }

  private validate(input: CreateKeyInput, now: Date): Omit<ApiKeyRecord, 'hash' | 'prefix'> {
    if (!NAME_RE.test(input.name)) {
      throw keyError(KeyErrorCode.BAD_USER_INPUT, 'name: 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit', 'name');
    }
    const roles = ROLES.filter((r) => r !== 'anonymous');
    if (!(roles as readonly string[]).includes(input.role)) {
      throw keyError(KeyErrorCode.BAD_USER_INPUT, `role: one of ${roles.join(', ')}`, 'role');
    }
    const role = input.role as ApiKeyRecord['role'];
    let subgraphs: string[] | null = null;
    if (input.subgraphs && input.subgraphs.length > 0) {
      const known = this.opts.knownSubgraphs?.();
      const unknown = known ? input.subgraphs.filter((s) => !known.includes(s)) : [];
      if (unknown.length > 0) {
        throw keyError(KeyErrorCode.BAD_USER_INPUT, `subgraphs: unknown ${unknown.join(', ')} (known: ${known!.join(', ')})`, 'subgraphs');
      }
      subgraphs = [...new Set(input.subgraphs)].sort();
    }
    if ((role === 'partner' || role === 'editor') && !subgraphs) {
      throw keyError(KeyErrorCode.BAD_USER_INPUT, `subgraphs: a ${role} key must name the subgraphs it ${role === 'partner' ? 'reads' : 'writes'}`, 'subgraphs');
    }
    if (role === 'admin' && subgraphs) {
      throw keyError(KeyErrorCode.BAD_USER_INPUT, 'subgraphs: an admin key is not scoped', 'subgraphs');
    }
    let expiresAt: Date | null = null;
    if (input.expires !== undefined && input.expires !== '') {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(input.expires);
      const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
      if (!d || d.toISOString().slice(0, 10) !== input.expires) {
        throw keyError(KeyErrorCode.BAD_USER_INPUT, 'expires: a date as YYYY-MM-DD', 'expires');
      }
      if (d.getTime() <= now.getTime()) throw keyError(KeyErrorCode.BAD_USER_INPUT, 'expires: must be in the future', 'expires');
      expiresAt = d;
    }
    let documents: string | null = null;
    if (input.documents !== undefined && input.documents !== '') {
      if (!NAME_RE.test(input.documents)) throw keyError(KeyErrorCode.BAD_USER_INPUT, 'documents: an app name like a key name', 'documents');
      documents = input.documents;
    }
    return { _id: input.name, role, subgraphs, documents, createdAt: now, expiresAt, revokedAt: null };
  }
}
