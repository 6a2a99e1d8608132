/**
 * The gateway's answers as sent (gateway/http/compression.ts), over a real loopback server: the
 * exact byte length of answers that are not ASCII, small answers sent as they are, large ones
 * compressed with what the client accepts and only then.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendCompressed } from '../../gateway/http/compression.ts';

let server: http.Server;
let port: number;
/** What the next request is answered with. */
let body = '';

beforeAll(async () => {
  server = http.createServer((req, res) => void sendCompressed(req, res, 200, { 'content-type': 'application/json' }, body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The raw answer to one GET: headers and the bytes on the wire. */
function get(acceptEncoding?: string): Promise<{ headers: http.IncomingHttpHeaders; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: acceptEncoding ? { 'accept-encoding': acceptEncoding } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('sendCompressed', () => {
  it('sends a small answer as it is, its content-length in bytes of UTF-8, not in characters', async () => {
    body = JSON.stringify({ data: { name: 'Città di Ivrea — “Eporedia” 🏔' } });
    const { headers, bytes } = await get('gzip, br');
    expect(headers['content-encoding']).toBeUndefined();
    expect(headers['vary']).toBeUndefined();
    expect(Number(headers['content-length'])).toBe(Buffer.byteLength(body));
    expect(Number(headers['content-length'])).toBeGreaterThan(body.length);
    expect(bytes.toString('utf8')).toBe(body);
  });

  it('compresses an answer of 1 KiB of UTF-8 or more, counted in bytes: 600 accented letters are 1,200 bytes', async () => {
    body = JSON.stringify({ s: 'è'.repeat(600) });
    expect(body.length).toBeLessThan(1024);
    const { headers, bytes } = await get('gzip');
    expect(headers['content-encoding']).toBe('gzip');
    expect(headers['vary']).toBe('Accept-Encoding');
    expect(Number(headers['content-length'])).toBe(bytes.length);
    expect(zlib.gunzipSync(bytes).toString('utf8')).toBe(body);
  });

  it('prefers br, and sends a large answer as it is to a client that accepts neither', async () => {
    body = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `Comune n. ${i} — Piemonte` })) });
    const br = await get('gzip, deflate, br');
    expect(br.headers['content-encoding']).toBe('br');
    expect(zlib.brotliDecompressSync(br.bytes).toString('utf8')).toBe(body);
    const plain = await get();
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers['vary']).toBe('Accept-Encoding');
    expect(Number(plain.headers['content-length'])).toBe(Buffer.byteLength(body));
    expect(plain.bytes.toString('utf8')).toBe(body);
  });
});
