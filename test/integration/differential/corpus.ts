/**
 * A generated corpus of operations over our real supergraph's API schema, for the differential
 * test: a seeded PRNG walks the schema from `Query`, choosing fields, arguments (small `first`,
 * ids taken from the seed data, enum values), aliases (often named after another field of the
 * same type), inline fragments, named fragments, `__typename`, and @include/@skip with variables
 * or literals, to a bounded depth. The same seed gives the same operations; every operation is
 * valid against the schema (invalid drafts are redrawn).
 *
 * Tuned so that nearly every operation answers with data and no errors (a comparison of two
 * identical errors says little about the executor): one operation in `unknownIdEvery` asks for an
 * id that does not exist (the error paths still get compared), and an alias never takes the name
 * of an ID field of its type (the entity keys here): a client alias that shadows a key the plan
 * needs (`id: provenance` on an entity) cannot be planned as asked, and is refused with
 * UNRESOLVABLE_FIELD (supergraphs/resolvableKeys.ts).
 */
import { printSchema, Supergraph } from '@apollo/federation-internals';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isUnionType,
  Lexer,
  parse,
  Source,
  TokenKind,
  validate,
  visit,
  type GraphQLArgument,
  type GraphQLError,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type GraphQLUnionType,
} from 'graphql';
import { allianceDocs, municipalityDocs, provinceDocs } from '../../../subgraphs/alliances/data/seed.ts';
import { agreements, aliProjects, calls, fundingSources, reuseProjects } from '../../../subgraphs/funding/data/seed.ts';
import { committeeDocs, institutionDocs } from '../../../subgraphs/governance/data/seed.ts';
import { SOLUTIONS } from '../../../subgraphs/reuse/data/seed.ts';

export interface CorpusOperation {
  readonly name: string;
  readonly query: string;
  readonly variables?: Record<string, unknown>;
}

/** Valid values for id-like arguments: by `Type.id` (`Alliance`, …) or by argument/input field name. */
export type IdPools = Readonly<Record<string, readonly string[]>>;

export interface CorpusOptions {
  readonly seed: number;
  readonly count: number;
  /** Deepest nesting of composite fields below the root (default 4). */
  readonly maxDepth?: number;
  /** One operation in this many asks for an id that does not exist (default 50). */
  readonly unknownIdEvery?: number;
  /** Largest operation in lexical tokens (default 450; the gateway refuses anonymous ones above 1,000). */
  readonly maxTokens?: number;
  /** Most aliases and directives in one operation (defaults 10 and 8; anonymous limits 15 and 10). */
  readonly maxAliases?: number;
  readonly maxDirectives?: number;
}

/** The ids of the seed data, by the type they identify and by the argument names that take them. */
export function seedIdPools(): IdPools {
  const alliances = allianceDocs().map((d) => d._id);
  const provinces = provinceDocs().map((d) => d._id);
  // Every 97th Comune: a spread over the provinces, stable across runs.
  const municipalities = municipalityDocs()
    .map((d) => d._id)
    .sort()
    .filter((_, i) => i % 97 === 0);
  const solutions = SOLUTIONS.map((s) => s._id);
  const agreementIds = agreements.map((a) => a._id);
  const callIds = calls.map((c) => c._id);
  return {
    Alliance: alliances,
    Province: provinces,
    Municipality: municipalities,
    FundingSource: fundingSources.map((f) => f._id),
    Agreement: agreementIds,
    Call: callIds,
    FundedProject: [...aliProjects(), ...reuseProjects()].map((p) => p._id),
    Institution: institutionDocs().map((d) => d._id),
    Committee: committeeDocs().map((d) => d._id),
    ReuseSolution: solutions,
    code: provinces,
    provinceCode: provinces,
    istatCode: municipalities,
    municipalityIstatCode: municipalities,
    allianceId: alliances,
    agreementId: agreementIds,
    callId: callIds,
    reuseSolutionId: solutions,
    solutionId: solutions,
    nameStartsWith: ['a', 'mon', 'tor', 'ca', 'zz'],
  };
}

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** `n` distinct items in random order. */
  sample<T>(items: readonly T[], n: number): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, Math.min(n, copy.length));
  }
}

const UNKNOWN_ID = 'no-such-id';
const NO_VALUE = Symbol('no value');

/** The state of one operation being drawn. */
class Draft {
  readonly variableDefs: string[] = [];
  readonly variables: Record<string, unknown> = {};
  readonly fragments: string[] = [];
  private names = 0;
  /** Whether an unknown id was used. */
  usedUnknownId = false;

  constructor(
    readonly rng: Rng,
    readonly pools: IdPools,
    readonly maxDepth: number,
    /** Give the first id argument an id that does not exist. */
    readonly wantsUnknownId: boolean,
  ) {}

  fresh(prefix: string): string {
    return `${prefix}${this.names++}`;
  }

  variable(type: string, value: unknown): string {
    const name = this.fresh('v');
    this.variableDefs.push(`$${name}: ${type}`);
    this.variables[name] = value;
    return `$${name}`;
  }
}

function typeString(type: GraphQLInputType): string {
  return String(type);
}

/** A GraphQL literal for a JS value of an input type. */
function literal(type: GraphQLInputType, value: unknown): string {
  const t = isNonNullType(type) ? type.ofType : type;
  if (isListType(t)) return `[${(value as unknown[]).map((v) => literal(t.ofType, v)).join(', ')}]`;
  if (isEnumType(t)) return String(value);
  if (isInputObjectType(t)) {
    const fields = t.getFields();
    return `{ ${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${literal(fields[k]!.type, v)}`)
      .join(', ')} }`;
  }
  return JSON.stringify(value);
}

/** A value for an argument or input field, or NO_VALUE when there is no sensible one. */
function valueFor(d: Draft, name: string, type: GraphQLInputType, returnType: GraphQLNamedType | undefined): unknown {
  const t = isNonNullType(type) ? type.ofType : type;
  const { rng } = d;
  if (isListType(t)) {
    const inner = getNamedType(t);
    if (isEnumType(inner)) return rng.sample(inner.getValues().map((v) => v.name), rng.int(1, 2));
    return NO_VALUE;
  }
  if (isEnumType(t)) return rng.pick(t.getValues()).name;
  if (isInputObjectType(t)) {
    const fields = Object.values(t.getFields());
    const required = fields.filter((f) => isNonNullType(f.type));
    const chosen = [...required, ...rng.sample(fields.filter((f) => !isNonNullType(f.type)), 1)];
    const out: Record<string, unknown> = {};
    for (const f of chosen) {
      const v = valueFor(d, f.name, f.type, undefined);
      if (v === NO_VALUE) {
        if (isNonNullType(f.type)) return NO_VALUE;
        continue;
      }
      out[f.name] = v;
    }
    return out;
  }
  switch (t.name) {
    case 'Int':
      return name === 'first' ? rng.int(1, 3) : name === 'decimals' ? rng.int(0, 4) : rng.int(1, 3);
    case 'Boolean':
      return rng.chance(0.5);
    case 'ID':
    case 'String': {
      const pool = (name === 'id' && returnType ? d.pools[returnType.name] : undefined) ?? d.pools[name];
      if (!pool || pool.length === 0) return NO_VALUE;
      if (name === 'nameStartsWith' || !d.wantsUnknownId || d.usedUnknownId) return rng.pick(pool);
      d.usedUnknownId = true;
      return UNKNOWN_ID;
    }
    default:
      return NO_VALUE;
  }
}

function argumentsText(d: Draft, field: GraphQLField<unknown, unknown>, atRoot: boolean): string | undefined {
  const parts: string[] = [];
  const returnType = getNamedType(field.type);
  for (const arg of field.args as readonly GraphQLArgument[]) {
    const required = isNonNullType(arg.type) && arg.defaultValue === undefined;
    // Always a small page: the gateway's cost estimate assumes 20 for a paginated field without `first`.
    const wanted = required || arg.name === 'first' || (arg.name !== 'after' && d.rng.chance(0.35));
    if (!wanted) continue;
    const value = valueFor(d, arg.name, arg.type, returnType);
    if (value === NO_VALUE) {
      if (required) return undefined;
      continue;
    }
    // Now and then through a variable, more often at the root.
    const asVariable = d.rng.chance(atRoot ? 0.3 : 0.1);
    parts.push(`${arg.name}: ${asVariable ? d.variable(typeString(arg.type), value) : literal(arg.type, value)}`);
  }
  return parts.length ? `(${parts.join(', ')})` : '';
}

/** A directive for a field or fragment, sometimes: literal or with a Boolean variable. */
function condition(d: Draft): string {
  if (!d.rng.chance(0.12)) return '';
  const name = d.rng.pick(['include', 'skip']);
  const value = d.rng.chance(0.5);
  const arg = d.rng.chance(0.7) ? d.variable('Boolean!', value) : String(value);
  return ` @${name}(if: ${arg})`;
}

/** Selections of an object type; `used` holds the response names already taken at this level. */
function objectSelections(d: Draft, type: GraphQLObjectType, depth: number, used: Set<string>, atRoot = false): string[] {
  const { rng } = d;
  const fields = Object.values(type.getFields());
  const leaves = fields.filter((f) => isLeafType(getNamedType(f.type)));
  const composites = fields.filter((f) => !isLeafType(getNamedType(f.type)));
  const out: string[] = [];
  const wantLeaves = atRoot ? 0 : rng.int(1, Math.min(4, leaves.length));
  const wantComposites = depth >= d.maxDepth ? 0 : atRoot ? rng.int(1, 3) : rng.int(0, depth < 2 ? 2 : 1);
  const chosen = [...rng.sample(leaves, wantLeaves), ...rng.sample(composites, wantComposites)];
  for (const field of chosen) {
    const args = argumentsText(d, field, atRoot);
    if (args === undefined) continue;
    let sub = '';
    const named = getNamedType(field.type);
    if (!isLeafType(named)) {
      sub = selectionSet(d, named as GraphQLObjectType | GraphQLUnionType, depth + 1);
      if (!sub) continue;
    }
    // Aliases: often another field's name of this type, so response names cross subgraphs.
    let responseName = field.name;
    if (rng.chance(0.18) || used.has(field.name)) {
      const candidates = fields.filter((f) => !used.has(f.name) && f.name !== field.name && getNamedType(f.type).name !== 'ID').map((f) => f.name);
      responseName = candidates.length && rng.chance(0.6) ? rng.pick(candidates) : d.fresh('a');
    }
    if (used.has(responseName)) continue;
    used.add(responseName);
    const alias = responseName === field.name ? '' : `${responseName}: `;
    out.push(`${alias}${field.name}${args}${condition(d)}${sub ? ` ${sub}` : ''}`);
  }
  if (!atRoot && rng.chance(0.15) && !used.has('__typename')) {
    used.add('__typename');
    out.push('__typename');
  }
  // Part of the level through an inline fragment or a named fragment on the same type.
  if (!atRoot && out.length > 0 && depth < d.maxDepth && rng.chance(0.2)) {
    const inner = objectSelections(d, type, depth, used);
    if (inner.length) {
      if (rng.chance(0.5)) {
        out.push(`... on ${type.name}${condition(d)} { ${inner.join(' ')} }`);
      } else {
        const name = d.fresh('F');
        d.fragments.push(`fragment ${name} on ${type.name} { ${inner.join(' ')} }`);
        out.push(`...${name}${condition(d)}`);
      }
    }
  }
  return out;
}

function selectionSet(d: Draft, type: GraphQLObjectType | GraphQLUnionType, depth: number): string {
  const used = new Set<string>();
  if (isUnionType(type)) {
    const out: string[] = [];
    if (d.rng.chance(0.7)) {
      used.add('__typename');
      out.push('__typename');
    }
    // Members share `used`: a response name means one thing at a level (no conflicting merges).
    for (const member of d.rng.sample(type.getTypes(), d.rng.int(1, type.getTypes().length))) {
      const inner = objectSelections(d, member, depth, used);
      if (inner.length) out.push(`... on ${member.name} { ${inner.join(' ')} }`);
    }
    return out.length ? `{ ${out.join(' ')} }` : '';
  }
  const out = objectSelections(d, type, depth, used);
  return out.length ? `{ ${out.join(' ')} }` : '';
}

function tokenCount(text: string): number {
  const lexer = new Lexer(new Source(text));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n++;
  return n;
}

/** Draws `count` valid operations over `schema`'s Query type, the same ones for the same seed. */
export function generateCorpus(schema: GraphQLSchema, pools: IdPools, opts: CorpusOptions): CorpusOperation[] {
  const rng = new Rng(opts.seed);
  const query = schema.getQueryType();
  if (!query) throw new Error('schema has no Query type');
  const ops: CorpusOperation[] = [];
  const unknownIdEvery = opts.unknownIdEvery ?? 50;
  /** Operations that asked for an unknown id so far; one is due at the middle of every `unknownIdEvery` (until a draft has an id argument). */
  let unknownIds = 0;
  let drafts = 0;
  while (ops.length < opts.count) {
    if (++drafts > opts.count * 20) throw new Error(`only ${ops.length} valid operations in ${drafts} drafts`);
    const due = Math.floor((ops.length + Math.floor(unknownIdEvery / 2)) / unknownIdEvery);
    const d = new Draft(rng, pools, opts.maxDepth ?? 4, unknownIds < due);
    const root = objectSelections(d, query, 0, new Set(), true);
    if (root.length === 0) continue;
    const name = `C${opts.seed}_${ops.length}`;
    const vars = d.variableDefs.length ? `(${d.variableDefs.join(', ')})` : '';
    const text = [`query ${name}${vars} { ${root.join(' ')} }`, ...d.fragments].join('\n');
    if (tokenCount(text) > (opts.maxTokens ?? 450)) continue;
    let errors: readonly GraphQLError[];
    let aliases = 0;
    let directives = 0;
    try {
      const document = parse(text);
      errors = validate(schema, document);
      visit(document, {
        Field: (node) => void (node.alias && aliases++),
        Directive: () => void directives++,
      });
    } catch (err) {
      errors = [err as GraphQLError];
    }
    if (errors.length || aliases > (opts.maxAliases ?? 10) || directives > (opts.maxDirectives ?? 8)) continue;
    if (d.usedUnknownId) unknownIds++;
    ops.push({ name, query: text, ...(d.variableDefs.length ? { variables: d.variables } : {}) });
  }
  return ops;
}

/**
 * The API schema (what clients see) of a supergraph, built with this module's `graphql` (printed
 * and rebuilt: federation-internals may load another copy of graphql under vitest).
 */
export function apiSchemaOf(supergraphSdl: string): GraphQLSchema {
  return buildSchema(printSchema(Supergraph.build(supergraphSdl).apiSchema()));
}
