/**
 * The gateway's own web pages, served from ui/dist (built by `npm run build:ui`): the GraphQL
 * explorer at / and /explorer, the dashboard at /dashboard, and their assets under /ui/<page>/.
 * Nothing is loaded from another host.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const dist = path.resolve(import.meta.dirname, '..', 'ui', 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** Page routes → built page folder. */
const PAGES: Record<string, string> = { '/': 'explorer', '/explorer': 'explorer', '/dashboard': 'dashboard' };

// Pages may only talk to this gateway: a strict policy makes any other host a browser error.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; worker-src 'self' blob:";

/** Serves a UI route; returns false when `pathname` is not one. */
export async function serveUi(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  let file: string | undefined;
  const page = PAGES[pathname];
  if (page) file = path.join(dist, page, 'index.html');
  else if (pathname.startsWith('/ui/')) {
    const resolved = path.resolve(dist, `.${pathname.slice(3)}`);
    if (!resolved.startsWith(dist + path.sep)) return false; // no path traversal
    file = resolved;
  } else return false;
  if (!existsSync(file)) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(page ? `The ${page} page is not built: run npm run build:ui` : 'Not found');
    return true;
  }
  const body = await readFile(file);
  res.writeHead(200, {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'content-security-policy': CSP,
    'cache-control': page ? 'no-cache' : 'public, max-age=3600',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
