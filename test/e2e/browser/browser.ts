/**
 * Headless Chromium for the page tests (Debian's /usr/bin/chromium, or CHROMIUM_PATH; never a
 * downloaded browser), with a page that records every request and console error and refuses
 * any request that would leave this machine.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const ARTIFACTS = path.resolve(import.meta.dirname, '..', '..', 'artifacts');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface WatchedPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every URL the page requested, in order. */
  readonly requests: string[];
  /** Requests to another host, refused before they left. */
  readonly blocked: string[];
  /** Console messages of type error and uncaught page errors. */
  readonly errors: string[];
  /** WebSockets the page opened. */
  readonly sockets: string[];
}

const isLocal = (url: string): boolean => {
  if (url.startsWith('data:') || url.startsWith('blob:')) return true;
  try {
    const { hostname } = new URL(url);
    return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
  } catch {
    return false;
  }
};

/** A fresh context (no stored state) and page, watched. */
export async function watchedPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  const requests: string[] = [];
  const blocked: string[] = [];
  const errors: string[] = [];
  const sockets: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('websocket', (socket) => sockets.push(socket.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.fallback();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  return { context, page, requests, blocked, errors, sockets };
}

/** Requests that went (or tried to go) anywhere but this machine. */
export const foreignRequests = (watched: WatchedPage): string[] => [
  ...watched.blocked,
  ...watched.requests.filter((u) => !isLocal(u)),
  ...watched.sockets.filter((u) => !isLocal(u)),
];

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}
