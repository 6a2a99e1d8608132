/**
 * Everything the gateway takes from Apollo's packages that they do not publish, in one place:
 * the files of @apollo/gateway's and @apollo/query-graphs' `dist/` it imports from (and the two
 * exports ./planner.ts replaces, checked replaceable), and the private fields of an
 * `ApolloGateway` it reads (`GatewayInternals`). Neither is covered by semver, so this module is
 * written for exact versions and checks them when it is loaded (process start-up): another
 * version, a file or export gone, or a second copy of a package under @apollo/gateway, and it
 * throws an {@link ApolloInternalsError} that says what to re-check. The private fields are
 * checked when a gateway is handed over ({@link gatewayInternals}) and once its supergraph has
 * loaded. An upgrade of @apollo/gateway changes this module and nothing else (unless a re-check
 * below finds that stock behaviour changed).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { NamedType, Schema, SelectionSet } from '@apollo/federation-internals';
import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';
import type { OperationContext } from '@apollo/gateway/dist/operationContext.js';
import type { OpenTelemetryConfig } from '@apollo/gateway/dist/utilities/opentelemetry.js';
import type { QueryPlan, QueryPlanCache, QueryPlanner } from '@apollo/query-planner';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import type { GraphQLSchema } from 'graphql';

export type { OperationContext } from '@apollo/gateway/dist/operationContext.js';
export type { OpenTelemetryConfig } from '@apollo/gateway/dist/utilities/opentelemetry.js';

/** The packages this module reaches into, and the exact versions it was written for. */
export const WRITTEN_FOR = {
  '@apollo/gateway': '2.14.4',
  '@apollo/query-planner': '2.14.4',
  '@apollo/query-graphs': '2.14.4',
  '@apollo/federation-internals': '2.14.4',
} as const;

export type ApolloPackage = keyof typeof WRITTEN_FOR;

/**
 * The `dist/` files imported here, and what is taken from each: @apollo/gateway's as this project
 * resolves it, @apollo/query-graphs' as @apollo/query-planner resolves it (the copy the planner calls).
 */
const DEEP_IMPORTS = {
  '@apollo/gateway/dist/utilities/opentelemetry.js': [
    'OpenTelemetryAttributeNames',
    'OpenTelemetrySpanNames',
    'operationContextSpanAttributes',
    'recordExceptions',
    'requestContextSpanAttributes',
    'tracer',
  ],
  '@apollo/gateway/dist/datasources/types.js': ['GraphQLDataSourceRequestKind'],
  '@apollo/gateway/dist/dataRewrites.js': ['applyRewrites', 'isObjectOfType'],
  '@apollo/gateway/dist/executeQueryPlan.js': ['generateHydratedPaths'],
  '@apollo/gateway/dist/resultShaping.js': ['computeResponse'],
  '@apollo/query-graphs/dist/graphPath.js': ['getLocallySatisfiableKey'],
} as const;

type DeepImport = keyof typeof DEEP_IMPORTS;

/**
 * Exports that ./planner.ts replaces, with the module through which Apollo's callers reach them:
 * the query planner calls `getLocallySatisfiableKey` through @apollo/query-graphs' index (a
 * getter re-reading graphPath.js' export), @apollo/gateway's executor calls `applyRewrites`
 * through dataRewrites.js' exports. Each must be a writable property there, read at every call.
 */
const REPLACED = [
  { file: '@apollo/query-graphs/dist/graphPath.js', name: 'getLocallySatisfiableKey', via: '@apollo/query-graphs' },
  { file: '@apollo/gateway/dist/dataRewrites.js', name: 'applyRewrites', via: '@apollo/gateway/dist/dataRewrites.js' },
] as const;

/**
 * The private state of an ApolloGateway that gateway/executor and gateway/subscriptions read
 * (field names of @apollo/gateway 2.14.4, dist/index.js).
 */
export interface GatewayInternals {
  readonly schema?: GraphQLSchema;
  readonly apiSchema?: Schema;
  readonly supergraphSchema?: GraphQLSchema;
  readonly queryPlanStore: QueryPlanCache;
  readonly queryPlanner?: QueryPlanner;
  readonly serviceMap: Readonly<Record<string, { readonly dataSource: GraphQLDataSource & { readonly url?: string } }>>;
  readonly config: { readonly debug?: boolean; readonly __exposeQueryPlanExperimental?: boolean; readonly telemetry?: OpenTelemetryConfig };
  readonly logger: { debug(message: string): void; warn(message: string): void };
  readonly recursiveSelectionsLimitDisabled: boolean;
  readonly nonLocalSelectionsLimitDisabled: boolean;
  readonly experimental_didResolveQueryPlan?: (options: {
    queryPlan: QueryPlan;
    serviceMap: Record<string, GraphQLDataSource>;
    requestContext: GatewayGraphQLRequestContext;
    operationContext: OperationContext;
  }) => void;
}

/** Fields the ApolloGateway constructor sets (present from the start). */
const CONSTRUCTED_FIELDS = [
  'queryPlanStore',
  'serviceMap',
  'config',
  'logger',
  'recursiveSelectionsLimitDisabled',
  'nonLocalSelectionsLimitDisabled',
  'experimental_didResolveQueryPlan',
] as const satisfies readonly (keyof GatewayInternals)[];

/** Fields set when a supergraph is loaded (`updateWithSupergraphSdl`, `updateWithSchemaAndNotify`). */
const LOADED_FIELDS = ['schema', 'apiSchema', 'supergraphSchema', 'queryPlanner'] as const satisfies readonly (keyof GatewayInternals)[];

// ---------------------------------------------------------------------------------------------
// The check.

/** What is installed, as far as this module cares. */
export interface InstalledApollo {
  /** Version of each package as this project (@apollo/query-graphs: as @apollo/query-planner) resolves it; undefined: not found. */
  readonly versions: Readonly<Record<ApolloPackage, string | undefined>>;
  /** Packages @apollo/gateway or @apollo/query-planner resolve to another copy than this module does (their directories). */
  readonly ownCopies: readonly string[];
  /** `dist/` files that failed to load, `file#export` names missing from those that loaded, and exports that cannot be replaced. */
  readonly missing: readonly string[];
}

/** Thrown at start-up when the installed Apollo packages are not those this module was written for. */
export class ApolloInternalsError extends Error {
  override readonly name = 'ApolloInternalsError';
}

const HERE = 'gateway/apollo/internals.ts';

function recheckAdvice(): string {
  return [
    `Re-check against the installed sources, then set WRITTEN_FOR in ${HERE}:`,
    '  - the private ApolloGateway fields in GatewayInternals (dist/index.js: the constructor, updateWithSupergraphSdl, updateWithSchemaAndNotify, `executor`);',
    `  - the dist/ files and exports in DEEP_IMPORTS (${Object.keys(DEEP_IMPORTS).join(', ')});`,
    '  - the ports of stock code: gateway/executor/index.ts (the `executor`), plan.ts, requires.ts and results.ts (dist/executeQueryPlan.js), shape.ts (dist/resultShaping.js);',
    '  - the corrections of gateway/apollo/planner.ts: getLocallySatisfiableKey (query-graphs dist/graphPath.js) and its callers in query-planner dist/buildPlan.js, applyRewrites (gateway dist/dataRewrites.js);',
    '  - then run the differential suite (npx vitest run test/integration/differential) and the executor tests.',
  ].join('\n');
}

/** What is wrong with an installation for this module, one line each; empty when nothing is. */
export function apolloInternalsProblems(installed: InstalledApollo): string[] {
  const problems: string[] = [];
  for (const [pkg, expected] of Object.entries(WRITTEN_FOR) as [ApolloPackage, string][]) {
    const found = installed.versions[pkg];
    if (found !== expected) problems.push(`${pkg} ${found ?? '(not found)'} is installed; this module was written for ${expected}`);
  }
  for (const dir of installed.ownCopies) problems.push(`Apollo's packages use their own copy of ${dir}, not the one this module imports`);
  for (const name of installed.missing) problems.push(`${name} is missing`);
  return problems;
}

/** Throws an {@link ApolloInternalsError} listing the problems and what to re-check, if there are any. */
export function checkApolloInternals(installed: InstalledApollo): void {
  const problems = apolloInternalsProblems(installed);
  if (problems.length === 0) return;
  throw new ApolloInternalsError(
    `${HERE} reads what the installed Apollo packages do not publish, and they are not the ones it was written for:\n` +
      `${problems.map((p) => `  - ${p}`).join('\n')}\n${recheckAdvice()}`,
  );
}

// ---------------------------------------------------------------------------------------------
// What is installed, read at load.

const require = createRequire(import.meta.url);

function packageVersion(from: NodeJS.Require, pkg: string): { version: string; file: string } | undefined {
  try {
    const file = from.resolve(`${pkg}/package.json`);
    return { version: (from(file) as { version: string }).version, file };
  } catch {
    return undefined;
  }
}

/** A `require` resolving as a package's own code does (from its package.json), or undefined when it is not found. */
function requireFrom(from: NodeJS.Require, pkg: string): NodeJS.Require | undefined {
  const found = packageVersion(from, pkg);
  return found && createRequire(found.file);
}

/** @apollo/query-graphs is the query planner's dependency, not ours: it is resolved as the planner resolves it. */
const fromPlanner = requireFrom(requireFrom(require, '@apollo/gateway') ?? require, '@apollo/query-planner') ?? require;
const resolverOf = (specifier: string) => (specifier.startsWith('@apollo/query-graphs') ? fromPlanner : require);

/** Whether `name` is a writable own property of `module` that `via` reads afresh (being `module`, or through a getter). */
function replaceable(module: Record<string, unknown>, name: string, via: Record<string, unknown>): boolean {
  if (!Object.getOwnPropertyDescriptor(module, name)?.writable) return false;
  return via === module || typeof Object.getOwnPropertyDescriptor(via, name)?.get === 'function';
}

function loadDeepImports(): { modules: Map<DeepImport, Record<string, unknown>>; missing: string[] } {
  const modules = new Map<DeepImport, Record<string, unknown>>();
  const missing: string[] = [];
  for (const [file, names] of Object.entries(DEEP_IMPORTS) as [DeepImport, readonly string[]][]) {
    let loaded: Record<string, unknown>;
    try {
      loaded = resolverOf(file)(file) as Record<string, unknown>;
    } catch {
      missing.push(file);
      continue;
    }
    modules.set(file, loaded);
    for (const name of names) if (loaded[name] === undefined) missing.push(`${file}#${name}`);
  }
  for (const { file, name, via } of REPLACED) {
    const module = modules.get(file);
    let through: Record<string, unknown> = {};
    try {
      through = resolverOf(via)(via) as Record<string, unknown>;
    } catch {
      // reported below as not replaceable
    }
    if (module && !replaceable(module, name, through)) missing.push(`${file}#${name} as a writable export read through ${via}`);
  }
  return { modules, missing };
}

const deep = loadDeepImports();

/** The installation as this module finds it at load (the start-up check reads it; so does its test). */
export function installedApollo(): InstalledApollo {
  const fromGateway = requireFrom(require, '@apollo/gateway');
  const versions = {} as Record<ApolloPackage, string | undefined>;
  const ownCopies = new Set<string>();
  for (const pkg of Object.keys(WRITTEN_FOR) as ApolloPackage[]) {
    const ours = packageVersion(resolverOf(pkg), pkg);
    versions[pkg] = ours?.version;
    for (const from of [fromGateway, fromPlanner]) {
      const theirs = from && packageVersion(from, pkg);
      if (ours && theirs && theirs.file !== ours.file) ownCopies.add(path.dirname(theirs.file));
    }
  }
  return { versions, ownCopies: [...ownCopies], missing: deep.missing };
}

checkApolloInternals(installedApollo());

// ---------------------------------------------------------------------------------------------
// The deep imports, re-exported (loaded and checked above).

const otel = deep.modules.get('@apollo/gateway/dist/utilities/opentelemetry.js') as typeof import('@apollo/gateway/dist/utilities/opentelemetry.js');
const types = deep.modules.get('@apollo/gateway/dist/datasources/types.js') as typeof import('@apollo/gateway/dist/datasources/types.js');
const execution = deep.modules.get('@apollo/gateway/dist/executeQueryPlan.js') as typeof import('@apollo/gateway/dist/executeQueryPlan.js');
const shaping = deep.modules.get('@apollo/gateway/dist/resultShaping.js') as typeof import('@apollo/gateway/dist/resultShaping.js');

export const { OpenTelemetryAttributeNames, OpenTelemetrySpanNames, operationContextSpanAttributes, recordExceptions, requestContextSpanAttributes, tracer } = otel;
export const { GraphQLDataSourceRequestKind } = types;
export const { generateHydratedPaths } = execution;
export const { computeResponse } = shaping;

type DataRewrites = typeof import('@apollo/gateway/dist/dataRewrites.js');

/** @apollo/gateway's dist/dataRewrites.js, whose `applyRewrites` ./planner.ts replaces (checked replaceable above). */
export const dataRewrites = deep.modules.get('@apollo/gateway/dist/dataRewrites.js') as {
  applyRewrites: DataRewrites['applyRewrites'];
  readonly isObjectOfType: DataRewrites['isObjectOfType'];
};

/** Apollo's `applyRewrites` as the stock executor calls it: through its module, so with ./planner.ts' replacement. */
export const applyRewrites: DataRewrites['applyRewrites'] = (schema, rewrites, value) => dataRewrites.applyRewrites(schema, rewrites, value);

/** What `getLocallySatisfiableKey` reads of a query graph (the subgraph schemas by name) and of a vertex. */
export interface KeyChoiceGraph {
  readonly sources: ReadonlyMap<string, Schema>;
}
export interface KeyChoiceVertex {
  readonly type: NamedType;
  readonly source: string;
}

/** @apollo/query-graphs' dist/graphPath.js, whose `getLocallySatisfiableKey` ./planner.ts replaces (checked replaceable above). */
export const graphPath = deep.modules.get('@apollo/query-graphs/dist/graphPath.js') as {
  getLocallySatisfiableKey: (graph: KeyChoiceGraph, vertex: KeyChoiceVertex) => SelectionSet | undefined;
};

// ---------------------------------------------------------------------------------------------
// The private fields of a gateway.

const checkedGateways = new WeakMap<ApolloGateway, GatewayInternals>();

function missingFields(gateway: ApolloGateway, fields: readonly string[]): string[] {
  return fields.filter((field) => !(field in gateway));
}

function fieldsError(missing: readonly string[], when: string): ApolloInternalsError {
  return new ApolloInternalsError(
    `@apollo/gateway ${WRITTEN_FOR['@apollo/gateway']}: ApolloGateway has no private field ${missing.join(', ')} ${when}.\n${recheckAdvice()}`,
  );
}

/**
 * The gateway's private state, once its fields are checked: those the constructor sets now, those
 * a supergraph load sets on every load (a missing one is then reported through the gateway's
 * logger, as Apollo reports a failing `onSchemaLoadOrUpdate` listener). Throws
 * {@link ApolloInternalsError} when a constructor field is missing.
 */
export function gatewayInternals(gateway: ApolloGateway): GatewayInternals {
  const known = checkedGateways.get(gateway);
  if (known) return known;
  const missing = missingFields(gateway, CONSTRUCTED_FIELDS);
  if (missing.length > 0) throw fieldsError(missing, 'after construction');
  gateway.onSchemaLoadOrUpdate(() => {
    const unloaded = missingFields(gateway, LOADED_FIELDS);
    if (unloaded.length > 0) throw fieldsError(unloaded, 'after loading a supergraph');
  });
  const internals = gateway as unknown as GatewayInternals;
  checkedGateways.set(gateway, internals);
  return internals;
}
