/** Compression of the gateway's GraphQL answers: br, then gzip, for bodies worth it and clients that accept it. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

/** Below this many bytes the answer goes as it is (compression would cost more than it saves). */
const MIN_COMPRESSED_BYTES = 1024;

/**
 * Sends `body`, compressed when it is at least 1 KiB and the client accepts br or gzip. The body is
 * encoded to UTF-8 once, and its length read from that: counting the bytes of a large answer
 * separately costs as much as encoding it, and a string handed to the socket is encoded into a
 * buffer sized for the worst case, three bytes per character (allocation profiles: the largest
 * allocation per request).
 */
export async function sendCompressed(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: string): Promise<void> {
  const accept = String(req.headers['accept-encoding'] ?? '');
  let payload = Buffer.from(body, 'utf8');
  if (payload.length >= MIN_COMPRESSED_BYTES) {
    if (/\bbr\b/.test(accept)) {
      payload = await brotli(payload, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } });
      headers['content-encoding'] = 'br';
    } else if (/\bgzip\b/.test(accept)) {
      payload = await gzip(payload, { level: 6 });
      headers['content-encoding'] = 'gzip';
    }
    headers.vary = headers.vary ? `${headers.vary}, Accept-Encoding` : 'Accept-Encoding';
  }
  headers['content-length'] = String(payload.length);
  res.writeHead(status, headers);
  res.end(payload);
}
