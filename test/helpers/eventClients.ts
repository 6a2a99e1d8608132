/**
 * Partner clients of the gateway's subscriptions, as the event-log tests need them: an SSE reader
 * that keeps every message with its `id:` (and can send `Last-Event-ID`), and a graphql-ws
 * subscriber that can send `extensions.lastEventId`; plus the writes that make events.
 */
import { createClient, type Client } from 'graphql-ws';
import type { Db } from 'mongodb';
import WebSocket from 'ws';
import { piedmontMunicipalities } from '../../lib/domain/registry.ts';

export interface SseMessage {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: any;
}

export interface SseStream {
  readonly status: number;
  /** Messages with data (`next`, `complete`), in order. */
  readonly messages: SseMessage[];
  /** The last `id:` seen, with or without data (what an EventSource would send back). */
  readonly lastEventId: string | undefined;
  /** The body, when the answer was not a stream. */
  readonly body: any;
  readonly ended: Promise<void>;
  close(): void;
}

/** POSTs a subscription with `Accept: text/event-stream` and reads the stream as an EventSource would. */
export async function sseSubscribe(
  gatewayUrl: string,
  params: { query: string; variables?: Record<string, unknown>; extensions?: Record<string, unknown> },
  headers: Record<string, string>,
): Promise<SseStream> {
  const ac = new AbortController();
  const res = await fetch(`${gatewayUrl}graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(params),
    signal: ac.signal,
  });
  const state: { lastEventId: string | undefined } = { lastEventId: undefined };
  const messages: SseMessage[] = [];
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const body = await res.json();
    return { status: res.status, messages, lastEventId: undefined, body, ended: Promise.resolve(), close: () => {} };
  }
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const i = line.indexOf(':');
            if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).replace(/^ /, '');
          }
          if (fields['id'] !== undefined) state.lastEventId = fields['id'];
          if (fields['event']) messages.push({ event: fields['event'], id: fields['id'], data: fields['data'] ? JSON.parse(fields['data']) : undefined });
        }
      }
    } catch {
      // closed by the test
    }
  })();
  return {
    status: res.status,
    messages,
    get lastEventId() {
      return state.lastEventId;
    },
    body: undefined,
    ended,
    close: () => ac.abort(),
  };
}

export interface WsSubscription {
  readonly results: any[];
  readonly errors: unknown[];
  completed: boolean;
  readonly client: Client;
  close(): Promise<void>;
}

/** One subscription on a fresh graphql-ws connection (no retries). */
export function wsSubscribe(
  gatewayUrl: string,
  params: { query: string; variables?: Record<string, unknown>; extensions?: Record<string, unknown> },
  connectionParams: Record<string, string>,
): WsSubscription {
  const client = createClient({ url: `${gatewayUrl.replace(/^http/, 'ws')}graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams });
  const sub: WsSubscription = {
    results: [],
    errors: [],
    completed: false,
    client,
    close: async () => {
      dispose();
      await client.dispose();
    },
  };
  const dispose = client.subscribe<any, any>(params, {
    next: (r) => void sub.results.push(r),
    error: (e) => void sub.errors.push(e),
    complete: () => void (sub.completed = true),
  });
  return sub;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(what: string | (() => string), check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(10);
  }
}

/** Comuni of `province` that have no adoption of `solutionId` yet, in a stable order. */
export async function freshComuni(reuseDb: Db, solutionId: string, province: string): Promise<string[]> {
  const taken = new Set((await reuseDb.collection('adoptions').find({ solutionId }).toArray()).map((d) => d['istatCode'] as string));
  return piedmontMunicipalities()
    .filter((m) => m.provinceCode === province && !taken.has(m.istatCode))
    .map((m) => m.istatCode);
}
