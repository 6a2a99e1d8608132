/**
 * Clients of the gateway's subscriptions for the tests of this folder: graphql-ws clients that
 * record how they closed, subscriptions that collect their results, and waits on conditions.
 */
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import type { RunningGateway } from '../../../gateway/runtime.ts';

export type Result = FormattedExecutionResult<Record<string, any>, unknown>;

export async function waitFor(what: string | (() => string), check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Closed = { code: number; reason: string };

/**
 * A graphql-ws client of the gateway that records how its socket closed and how often it
 * connected; never retries. `lazy: false` keeps the socket open between operations.
 */
export function wsClient(gateway: RunningGateway, params?: Record<string, string>, lazy = true): Client & { closes: Closed[]; connects: number } {
  const closes: Closed[] = [];
  const state = { connects: 0 };
  const client = createClient({
    url: `${gateway.url.replace(/^http/, 'ws')}graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy,
    onNonLazyError: () => {},
    ...(params ? { connectionParams: params } : {}),
    on: {
      closed: (e) => void closes.push({ code: (e as Closed).code, reason: String((e as Closed).reason) }),
      connected: () => void state.connects++,
    },
  });
  return Object.defineProperties(Object.assign(client, { closes }), { connects: { get: () => state.connects } }) as Client & { closes: Closed[]; connects: number };
}

export interface Subscription {
  readonly results: Result[];
  readonly errors: unknown[];
  readonly done: Promise<void>;
  completed: boolean;
  dispose(): void;
}

export function subscribe(client: Client, query: string, variables?: Record<string, unknown>): Subscription {
  let dispose = () => {};
  const sub: Subscription = {
    results: [],
    errors: [],
    completed: false,
    done: new Promise<void>((resolve) => {
      dispose = client.subscribe<Record<string, any>, unknown>(
        { query, ...(variables ? { variables } : {}) },
        {
          next: (r) => void sub.results.push(r),
          error: (e) => {
            sub.errors.push(e);
            resolve();
          },
          complete: () => {
            sub.completed = true;
            resolve();
          },
        },
      );
    }),
    dispose: () => dispose(),
  };
  return sub;
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A GraphQL POST to the gateway. */
export async function postJson(gateway: RunningGateway, query: string, variables: Record<string, unknown>, headers: Record<string, string>) {
  const res = await fetch(`${gateway.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}
