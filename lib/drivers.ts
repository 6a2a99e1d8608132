/**
 * The MongoDB and Redis drivers, loaded on first use rather than at start-up: a gateway without
 * MONGODB_URI or REDIS_URL never loads them (each alone adds about 20 MB to a bare Node 20
 * process; an idle gateway, which shares much of what they load, takes 8 MB less without them).
 * Both are CommonJS packages, loaded synchronously, so that the code using them keeps its shape;
 * the types come from the packages as usual (`import type`).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let mongodbModule: typeof import('mongodb') | undefined;
let ioredisModule: typeof import('ioredis') | undefined;

/** The official MongoDB driver. */
export function mongodb(): typeof import('mongodb') {
  return (mongodbModule ??= require('mongodb') as typeof import('mongodb'));
}

/** ioredis. */
export function ioredis(): typeof import('ioredis') {
  return (ioredisModule ??= require('ioredis') as typeof import('ioredis'));
}

/** Whether an error is the MongoDB server's duplicate-key error (E11000). */
export function isDuplicateKey(err: unknown): boolean {
  return err instanceof mongodb().MongoServerError && err.code === 11000;
}
