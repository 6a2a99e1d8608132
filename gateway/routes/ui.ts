/**
 * The gateway's own web pages, served from ui/dist (built by `npm run build:ui`): the GraphQL
 * explorer at / and /explorer, the dashboard at /dashboard, and their assets under /ui/<page>/.
 * Nothing is loaded from another host, and a strict Content-Security-Policy makes the browser
 * refuse anything that would be.
 */
import { stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestScope } from '../http/handler.ts';

const dist = path.resolve(import.meta.dirname, '..', '..', 'ui', 'dist');

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

const HOST_RE = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * Pages may only talk to this gateway: scripts, styles, fonts and connections from this origin
 * only (fonts and icons are inlined as data: URLs), WebSockets (GraphQL subscriptions) only to
 * this host. Inline styles are allowed because GraphiQL's editor and dialogs set them.
 */
function contentSecurityPolicy(req: IncomingMessage): string {
  const host = req.headers.host;
  const sockets = host && HOST_RE.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Serves a UI route; returns false when `pathname` is not one. */
async function serveUi(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const route = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  let file: string | undefined;
  const page = PAGES[route];
  if (page) file = path.join(dist, page, 'index.html');
  else if (route.startsWith('/ui/')) {
    const resolved = path.resolve(dist, `.${route.slice(3)}`);
    if (!resolved.startsWith(dist + path.sep)) return false; // no path traversal
    file = resolved;
  } else return false;

  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(page ? `The ${page} page is not built: run npm run build:ui` : 'Not found');
    return true;
  }
  // Bundles keep their names across builds: browsers revalidate every time (cheap, 304) rather
  // than pair a new page with an old cached bundle.
  const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const headers: Record<string, string> = {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'content-security-policy': contentSecurityPolicy(req),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
    etag,
    vary: 'Accept-Encoding',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  // The build writes a gzip copy of every large bundle (scripts/build-ui.ts).
  let body: Buffer | undefined;
  if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    body = await readFile(`${file}.gz`).catch(() => undefined);
    if (body) headers['content-encoding'] = 'gzip';
  }
  body ??= await readFile(file);
  headers['content-length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}

/** The pages and their assets, for GET and HEAD; answers false for any other request (the router's 404). */
export function uiRoute(): (req: IncomingMessage, res: ServerResponse, scope: RequestScope) => Promise<boolean> {
  return (req, res, { url }) => serveUi(req, res, url.pathname);
}
