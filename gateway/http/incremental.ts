/**
 * Sending a multipart (`@defer`) answer over HTTP: Apollo Server's chunks as they come, each one
 * written only once the previous one has left (back-pressure: a slow client holds the parts in
 * the gateway's result tree, never in socket buffers), and, when the client goes away, the
 * deferred parts stopped at once (`cancel`: the fetches still in flight are aborted) rather than
 * when the next part is ready.
 */
import type { ServerResponse } from 'node:http';
import type { HTTPGraphQLResponse } from '@apollo/server';

/** Writes and resolves once the chunk has been handed to the socket (false: the response is gone). */
function write(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.destroyed || !res.writable) return Promise.resolve(false);
  return new Promise((resolve) => res.write(chunk, (err) => resolve(!err)));
}

/** Sends Apollo Server's chunked answer; `cancel` stops the deferred parts behind it. */
export async function sendChunked(res: ServerResponse, response: HTTPGraphQLResponse, cancel: (() => void) | undefined): Promise<void> {
  if (response.body.kind !== 'chunked') throw new Error('sendChunked: not a chunked answer');
  const chunks = response.body.asyncIterator;
  const headers = Object.fromEntries(response.headers);
  let done = false;
  const gone = () => {
    if (!done) cancel?.();
  };
  res.once('close', gone);
  // Proxies must pass each part on as it comes.
  res.writeHead(response.status ?? 200, { ...headers, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  try {
    for await (const chunk of chunks) if (!(await write(res, chunk))) break;
    done = !res.destroyed;
  } finally {
    res.off('close', gone);
    if (!done) cancel?.();
    await chunks.return?.();
  }
  if (!res.destroyed) res.end();
}
