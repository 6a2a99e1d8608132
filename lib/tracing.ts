/**
 * OpenTelemetry traces across the gateway and the subgraphs, off unless an OTLP endpoint is
 * configured (OTEL_EXPORTER_OTLP_ENDPOINT). When on: the Node SDK with the OTLP/HTTP trace
 * exporter and the http and undici instrumentations, so every incoming request gets a server span,
 * every outgoing request a client span and a W3C `traceparent` header, and the spans Apollo Gateway
 * creates through `@opentelemetry/api` (gateway.request, gateway.plan, gateway.fetch, …) join them.
 * The gateway and every subgraph call {@link startTracing} with their own service name, before
 * they start serving, and `stop()` it on shutdown after their servers have stopped.
 *
 * Load order does not matter for what this project uses: `http`/`https` loaded before the call are
 * patched in place (see {@link patchLoadedBuiltins}), undici and fetch() are observed through
 * diagnostics channels, and Apollo's tracers delegate to the SDK once it is registered.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

export interface TracingOptions {
  /** `service.name` of every span this process exports, e.g. `ali-gateway`, `ali-funding`. */
  readonly serviceName: string;
  /**
   * OTLP/HTTP base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT), e.g. `http://collector:4318`; spans go
   * to `<endpoint>/v1/traces`. Undefined: tracing off, and the SDK is not even loaded.
   */
  readonly otlpEndpoint: string | undefined;
  /** Incoming request paths that get no span (probes and scrapes). Default `/health`, `/ready`, `/metrics`. */
  readonly ignorePaths?: readonly string[];
}

export interface Tracing {
  /** Flushes the spans not yet exported and stops tracing (once every caller has stopped). Idempotent. */
  stop(): Promise<void>;
}

/**
 * One SDK per process: OpenTelemetry's tracer provider, propagator and module patches are
 * process-wide. When several services run in one process (`npm start`), later callers share the
 * first caller's SDK, and so its service name; the SDK stops when the last of them stops.
 */
type SdkState =
  | { readonly phase: 'off' }
  | { readonly phase: 'on'; readonly started: Promise<() => Promise<void>>; users: number };

let sdkState: SdkState = { phase: 'off' };

const TRACING_OFF: Tracing = { stop: async () => {} };

export async function startTracing(options: TracingOptions): Promise<Tracing> {
  if (options.otlpEndpoint === undefined) return TRACING_OFF;
  if (sdkState.phase === 'off') {
    sdkState = { phase: 'on', started: startSdk(options, options.otlpEndpoint), users: 0 };
  }
  const state = sdkState;
  state.users += 1;
  let shutdown: () => Promise<void>;
  try {
    shutdown = await state.started;
  } catch (err) {
    state.users -= 1;
    if (sdkState === state) sdkState = { phase: 'off' };
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        state.users -= 1;
        if (state.users > 0) return;
        if (sdkState === state) sdkState = { phase: 'off' };
        await shutdown();
      })();
      return stopped;
    },
  };
}

/** `<endpoint>/v1/traces`, as the OTLP specification builds the traces URL from OTEL_EXPORTER_OTLP_ENDPOINT. */
export function otlpTracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

async function startSdk(options: TracingOptions, endpoint: string): Promise<() => Promise<void>> {
  // Loaded only here, so a service without an endpoint never pays for the SDK.
  const [{ NodeSDK, api }, { OTLPTraceExporter }, { HttpInstrumentation }, { UndiciInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-undici'),
  ]);
  const ignored = new Set(options.ignorePaths ?? ['/health', '/ready', '/metrics']);
  const instrumentations = [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (req) => ignored.has((req.url ?? '/').split('?')[0]!),
    }),
    // fetch() and the undici package (both publish undici's diagnostics channels).
    new UndiciInstrumentation(),
  ];
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    traceExporter: new OTLPTraceExporter({ url: otlpTracesUrl(endpoint) }),
    instrumentations,
    // Traces only: without these the SDK also starts OTLP metric and log exporters by default.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  patchLoadedBuiltins();
  return async () => {
    try {
      await sdk.shutdown();
    } finally {
      for (const instrumentation of instrumentations) instrumentation.disable();
      // Unregister the globals so that a later startTracing in this process can register its own.
      api.trace.disable();
      api.propagation.disable();
      api.context.disable();
    }
  };
}

/**
 * The http instrumentation patches `http`/`https` when they are next `require`d after it is
 * enabled; a service whose modules loaded them earlier (Apollo Server, the gateway's fetcher) would
 * keep unpatched functions. Requiring them here patches the shared module objects in place, and
 * syncBuiltinESMExports refreshes the named ESM exports (`import { request } from 'node:http'`).
 */
function patchLoadedBuiltins(): void {
  const require = createRequire(import.meta.url);
  require('node:http');
  require('node:https');
  syncBuiltinESMExports();
}
