/**
 * A plain `fetch` reader of a multipart GraphQL answer (`multipart/mixed; boundary="-"`, as Apollo
 * Server writes incremental delivery), payload by payload as the bytes arrive, and the merge of
 * incremental payloads (either format) into the one result they stand for. Free of vitest: the
 * benchmark (bench/defer.ts) times its payloads with the same reader.
 */
export type Payload = Record<string, any>;

/** The JSON payloads of a multipart body, each as soon as its part is complete. */
export async function* multipartPayloads(res: Response): AsyncGenerator<Payload, void, undefined> {
  const type = res.headers.get('content-type') ?? '';
  if (!/^multipart\/mixed; boundary="-"/.test(type)) throw new Error(`not a multipart answer: HTTP ${res.status}, content-type ${type || 'none'}`);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      // A part is complete once the next delimiter (`\r\n---`) follows it.
      for (let end = buffer.indexOf('\r\n---', 1); end !== -1; end = buffer.indexOf('\r\n---', 1)) {
        const part = buffer.slice(0, end);
        buffer = buffer.slice(end);
        const body = part.indexOf('\r\n\r\n');
        if (body !== -1) yield JSON.parse(part.slice(body + 4)) as Payload;
      }
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function mergeAt(target: Payload, path: readonly (string | number)[], data: Payload): void {
  let at: any = target;
  for (const key of path) at = at[key];
  const into = (t: any, s: any): void => {
    for (const [k, v] of Object.entries(s)) {
      if (v && typeof v === 'object' && t[k] && typeof t[k] === 'object') into(t[k], v);
      else t[k] = v;
    }
  };
  into(at, data);
}

/** The result an incremental answer stands for: every part's data merged in at its path, every error kept. */
export function mergePayloads(payloads: readonly Payload[]): { data: Payload | null; errors: Payload[] } {
  const [initial, ...rest] = payloads;
  const data = structuredClone(initial!['data']) as Payload | null;
  const errors: Payload[] = [...(initial!['errors'] ?? [])];
  const paths = new Map<string, readonly (string | number)[]>();
  for (const p of initial!['pending'] ?? []) paths.set(p.id, p.path);
  for (const payload of rest) {
    for (const p of payload['pending'] ?? []) paths.set(p.id, p.path);
    for (const item of payload['incremental'] ?? []) {
      const path = item.path ?? paths.get(item.id);
      if (item.data && data) mergeAt(data, path, item.data);
      errors.push(...(item.errors ?? []));
    }
    for (const done of payload['completed'] ?? []) errors.push(...(done.errors ?? []));
  }
  return { data, errors };
}

/** Errors without what differs between a merged and an incremental answer (stack traces). */
export function comparable(errors: readonly Payload[] | undefined): Payload[] {
  return (errors ?? []).map((e) => ({ message: e['message'], path: e['path'], code: e['extensions']?.code })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
