/**
 * A V8 CPU profile (`node --cpu-prof`) of a gateway under load, summarised: self time by stage of
 * a request, by package or project directory, and by function. Start-up (module loading and
 * compilation) is counted apart: it is not per request.
 */
import path from 'node:path';

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

const root = path.resolve(import.meta.dirname, '..');

/** Where bench/gateways.ts compiles the gateways to (their sources' layout below it). */
const COMPILED = /^\.cache\/bench-gateways\//;

/** Where a function lives: the package, node core, or the project's directory. */
function area(url: string): string {
  if (!url) return '(native/V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node core';
  return url.replace(/^file:\/\//, '').replace(`${root}/`, '').replace(COMPILED, '').split('/').slice(0, 2).join('/');
}

/** The stages of a request, each recognised by where its functions live (first match wins). */
const STAGES: readonly [stage: string, test: (fn: string, url: string) => boolean][] = [
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  ['socket writes (responses and subgraph requests; the kernel\'s loopback TCP work included)', (fn, url) => !url && /^(writev|writeBuffer|writeUtf8String|writeLatin1String)$/.test(fn)],
  ['parsing subgraph answers (JSON.parse)', (fn, url) => fn === 'json' && url.includes('gateway/transport/response.')],
  ['serialising the response (JSON.stringify in Apollo Server)', (fn) => fn === 'prettyJSONStringify'],
  ['response-size ceiling (walk of the answer)', (_fn, url) => url.includes('gateway/executor/ceilings.')],
  ['cost: estimate and actual cost of the answer', (_fn, url) => url.includes('gateway/cost/')],
  ['lean executor: fetch requests, merging, shaping', (_fn, url) => url.includes('gateway/executor/')],
  [
    'subgraph transport (data source, pools, undici, Apollo\'s RemoteGraphQLDataSource)',
    (_fn, url) => /gateway\/transport\/|node_modules\/(undici|node-fetch)\/|datasources\/RemoteGraphQLDataSource/.test(url),
  ],
  ['metrics and logs', (_fn, url) => /gateway\/metrics\.[jt]s|node_modules\/(prom-client|pino|@opentelemetry)/.test(url)],
  [
    'plan lookup and Apollo gateway',
    (_fn, url) => /node_modules\/@apollo\/(gateway|federation-internals|query-planner)\//.test(url),
  ],
  [
    'request pipeline: HTTP route, Apollo Server, parse/validate caches, limits, rate limit',
    (_fn, url) => /node_modules\/(@apollo\/server|graphql|negotiator|zod)\/|\/(lib|gateway)\/[^/]+\.[jt]s$|gateway\/(http|routes|pipeline|access|apollo)\//.test(url),
  ],
  ['Node runtime: event loop, promises, streams, HTTP parsing', () => true],
];

const STARTUP = /^(Module\._load|Module\._compile|compileSourceTextModule|wrapSafe|evaluate|loadESM|import|link|instantiate)$/;

export function summariseProfile(profile: CpuProfile, requests: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const inStartup = (id: number): boolean => {
    for (let q: number | undefined = id; q !== undefined; q = parent.get(q)) if (STARTUP.test(byId.get(q)!.callFrame.functionName)) return true;
    return false;
  };
  const byStage = new Map<string, number>();
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  let startup = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
    if (inStartup(id)) {
      startup += us;
      continue;
    }
    total += us;
    // Native code and builtins (no url) count for the JavaScript that called them, but for the
    // stages recognised by the native function itself (GC, socket writes).
    let owner = id;
    while (!byId.get(owner)!.callFrame.url && parent.has(owner) && !STAGES.slice(0, 2).some(([, test]) => test(f.functionName, f.url))) owner = parent.get(owner)!;
    const o = byId.get(owner)!.callFrame;
    const stage = STAGES.find(([, test]) => test(o.functionName, o.url))![0];
    byStage.set(stage, (byStage.get(stage) ?? 0) + us);
    const a = f.functionName === '(garbage collector)' ? f.functionName : area(f.url);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
    // tsx compiles each project file to one line: the file, not the line, locates its functions
    // there; in the compiled gateway (.js) the line does.
    const file = f.url.replace(`file://${root}/`, '').replace(COMPILED, '');
    const where = f.url.startsWith('file://') && !f.url.includes('node_modules') ? (file.endsWith('.js') ? `${file}:${f.lineNumber + 1}` : file) : `${area(f.url)}:${f.lineNumber + 1}`;
    const name = `${f.functionName || '(anonymous)'} ${f.url ? where : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  }
  const rows = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000 / requests).toFixed(3).padStart(7)} ms/req  ${k}`);
  return [
    `busy ${(total / 1000).toFixed(0)} ms over ${requests} requests: ${(total / 1000 / requests).toFixed(3)} ms/req, profiler included ` +
      `(start-up, not counted: ${(startup / 1000).toFixed(0)} ms)`,
    '',
    'by stage:',
    ...rows(byStage, STAGES.length),
    '',
    'by area:',
    ...rows(byArea, 25),
    '',
    'top functions by self time:',
    ...rows(byFunction, 40),
  ].join('\n');
}
