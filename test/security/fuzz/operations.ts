/**
 * Hostile operations drawn from an API schema, for the security fuzzer: where the differential
 * corpus (test/integration/differential/corpus.ts) draws valid, modest operations to compare two
 * executors, this draws what an attacker sends. Deep nesting, lists with and without `first` (and
 * absurd values of it), many aliases of the same field and of `__typename`, named and inline
 * fragments (cycles included), variables of the wrong type, missing or undeclared, huge strings,
 * control and bidirectional characters, `@include`/`@skip`, unknown and misplaced directives,
 * introspection, subscriptions and mutations, operation names long or wrong, several operations
 * in one document, and now and then a document garbled past parsing or nested thousands deep.
 *
 * Every draw comes from one seeded PRNG (the corpus's `Rng`): the same seed gives the same
 * operation, so a failing case is rerun from its seed and index alone.
 */
import {
  getNamedType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import type { IdPools, Rng } from '../../integration/differential/corpus.ts';
import type { GraphQLParams } from '../../helpers/transports.ts';

/** What a draw used: the run checks that it exercised every one. */
export const FEATURES = [
  'deep',
  'aliasCopies',
  'typenameAliases',
  'namedFragment',
  'fragmentCycle',
  'inlineFragment',
  'variables',
  'wrongVariable',
  'hugeString',
  'oddCharacters',
  'directive',
  'badDirective',
  'introspection',
  'listWithFirst',
  'listWithoutFirst',
  'absurdFirst',
  'subscription',
  'mutation',
  'operationName',
  'severalOperations',
  'garbled',
  'nestedThousands',
] as const;
export type Feature = (typeof FEATURES)[number];

export type OperationKind = 'query' | 'mutation' | 'subscription';

export interface DrawnOperation {
  readonly params: GraphQLParams;
  readonly kind: OperationKind;
  readonly features: ReadonlySet<Feature>;
}

/** Values no page should take: the slicing argument as an attacker would set it. */
const ABSURD_INTS = [0, -1, 1000, 100_000, 2_147_483_647];
const INVALID_INTS = [2_147_483_648, 1e12];
const ODD_STRINGS = ['=HYPERLINK("http://x/"&A1)', '\u202eevil\u202c', 'a\u0000b\u0007c', '\ud83d\ude00'.repeat(20), "'; db.dropDatabase(); //", '{"$gt": ""}', '../../etc/passwd'];
const HUGE_LENGTHS = [2_000, 20_000, 200_000];
/**
 * Fields drawn per operation at most, and characters of aliased copies in all: most documents stay
 * within what a client may send; a compact draw (for GET, whose URL Node limits to 16 KiB) much less.
 */
const BUDGETS = { full: { fields: 300, copiesText: 40_000, huge: HUGE_LENGTHS }, compact: { fields: 40, copiesText: 3_000, huge: [2_000] } };
/** Draws meant to break validation: the rest keep to the schema, so that they get past it to the limits and the subgraphs. */
const INVALID_SHARE = 0.3;

/** The state of one operation being drawn. */
class Draft {
  readonly variableDefs: string[] = [];
  readonly variables: Record<string, unknown> = {};
  readonly fragments: string[] = [];
  readonly features = new Set<Feature>();
  /** Fields drawn so far (copies not counted), and characters of aliased copies. */
  fields = 0;
  copiesText = 0;
  private names = 0;

  constructor(
    readonly schema: GraphQLSchema,
    readonly rng: Rng,
    readonly pools: IdPools,
    readonly maxDepth: number,
    readonly budget: (typeof BUDGETS)[keyof typeof BUDGETS],
    /** Break validation on purpose (unknown arguments and directives, bad literals, fragment cycles...). */
    readonly invalid: boolean,
  ) {}

  fresh(prefix: string): string {
    return `${prefix}${this.names++}`;
  }

  /** A variable of `type` with `value` (undefined: declared, never sent). */
  variable(type: string, value: unknown): string {
    const name = this.fresh('v');
    this.variableDefs.push(`$${name}: ${type}`);
    if (value !== undefined) this.variables[name] = value;
    this.features.add('variables');
    return `$${name}`;
  }
}

/** A string an attacker would send: an id of the seed data, an unknown one, a huge or an odd one. */
function stringValue(d: Draft, name: string, typeName?: string): string {
  const { rng } = d;
  const pool = (typeName ? d.pools[typeName] : undefined) ?? d.pools[name];
  const roll = rng.next();
  if (pool && roll < 0.6) return rng.pick(pool);
  if (roll < 0.75 && !d.features.has('hugeString')) {
    // One huge string an operation: enough to test the limits, without every document at the body limit.
    d.features.add('hugeString');
    return rng.pick(['A', 'é', '\u202e', '{']).repeat(rng.pick(d.budget.huge));
  }
  if (roll < 0.9) {
    d.features.add('oddCharacters');
    return rng.pick(ODD_STRINGS);
  }
  return 'no-such-id';
}

/** A JS value for an input type: usually of that type, sometimes not (`wrong`). */
function inputValue(d: Draft, name: string, type: GraphQLInputType, depth = 0, wrong = d.invalid ? 0.08 : 0): unknown {
  const { rng } = d;
  if (rng.chance(wrong)) {
    d.features.add('wrongVariable');
    return rng.pick<unknown>([null, 'seven', 7, 1.5, true, [], { a: 1 }, [[['x']]], 'x'.repeat(5_000)]);
  }
  const t = isNonNullType(type) ? type.ofType : type;
  if (isListType(t)) return depth > 3 ? [] : Array.from({ length: rng.int(0, 3) }, () => inputValue(d, name, t.ofType, depth + 1));
  if (isEnumType(t)) return !d.invalid || rng.chance(0.9) ? rng.pick(t.getValues()).name : 'NO_SUCH_VALUE';
  if (isInputObjectType(t)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(t.getFields())) if (depth < 3 && (isNonNullType(f.type) || rng.chance(0.4))) out[f.name] = inputValue(d, f.name, f.type, depth + 1);
    return out;
  }
  switch (t.name) {
    case 'Int':
      if (name === 'first' && rng.chance(0.7)) return rng.pick([1, 5, 20, 100, 100, 500, 500]);
      d.features.add('absurdFirst');
      return rng.pick(d.invalid ? [...ABSURD_INTS, ...INVALID_INTS] : ABSURD_INTS);
    case 'Float':
      return rng.pick([0, 1.5, -1e308, 1e308]);
    case 'Boolean':
      return rng.chance(0.5);
    default:
      return stringValue(d, name);
  }
}

/** A GraphQL literal of a JS value (enum names bare where the type is an enum). */
function literal(type: GraphQLInputType | undefined, value: unknown): string {
  const t = type && isNonNullType(type) ? type.ofType : type;
  if (Array.isArray(value)) return `[${value.map((v) => literal(t && isListType(t) ? t.ofType : undefined, v)).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = t && isInputObjectType(t) ? t.getFields() : {};
    return `{ ${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${literal(fields[k]?.type, v)}`)
      .join(', ')} }`;
  }
  if (t && isEnumType(t) && typeof value === 'string') return value;
  return JSON.stringify(value);
}

function argumentsText(d: Draft, field: GraphQLField<unknown, unknown>): string {
  const parts: string[] = [];
  for (const arg of field.args as readonly GraphQLArgument[]) {
    const required = isNonNullType(arg.type) && arg.defaultValue === undefined;
    if (!required && !d.rng.chance(arg.name === 'first' ? 0.6 : 0.3)) {
      if (arg.name === 'first') d.features.add('listWithoutFirst');
      continue;
    }
    if (arg.name === 'first') d.features.add('listWithFirst');
    // Through a variable now and then (its value checked only when the request runs, so often of
    // the wrong type), declared with the argument's type or, in an invalid draw, another one.
    if (d.rng.chance(0.25)) {
      const value = arg.name === 'id' && d.rng.chance(0.7) ? stringValue(d, arg.name, getNamedType(field.type).name) : inputValue(d, arg.name, arg.type, 0, 0.15);
      const declared = !d.invalid || d.rng.chance(0.7) ? String(arg.type) : d.rng.pick(['String', 'Int!', '[ID]', 'Boolean']);
      parts.push(`${arg.name}: ${d.variable(declared, d.rng.chance(0.05) ? undefined : value)}`);
    } else {
      const value = arg.name === 'id' ? stringValue(d, arg.name, getNamedType(field.type).name) : inputValue(d, arg.name, arg.type);
      parts.push(`${arg.name}: ${literal(arg.type, value)}`);
    }
  }
  if (d.invalid && d.rng.chance(0.05)) {
    d.features.add('wrongVariable');
    parts.push(`noSuchArgument: ${d.rng.chance(0.5) ? '$undeclared' : '1'}`);
  }
  return parts.length ? `(${parts.join(', ')})` : '';
}

/** Directives for a field or fragment, sometimes: conditions, or ones that do not belong. */
function directives(d: Draft): string {
  const { rng } = d;
  if (!rng.chance(0.12)) return '';
  if (d.invalid && rng.chance(0.4)) {
    d.features.add('badDirective');
    const bad = rng.pick(['@noSuchDirective', '@deprecated', '@include', '@skip(if: "yes")', '@defer', '@cost(weight: "1")']);
    return ` ${rng.chance(0.2) ? Array.from({ length: rng.int(5, 80) }, () => '@skip(if: false)').join(' ') : bad}`;
  }
  d.features.add('directive');
  const name = rng.pick(['include', 'skip']);
  const arg = rng.chance(0.5) ? d.variable('Boolean!', rng.chance(0.5)) : String(rng.chance(0.5));
  return ` @${name}(if: ${arg})`;
}

/** `__typename`, alone or in many aliased copies (each copy is a value in the answer). */
function typename(d: Draft): string {
  if (!d.rng.chance(0.06)) return '__typename';
  d.features.add('typenameAliases');
  return Array.from({ length: d.rng.int(2, 60) }, (_, i) => `t${i}: __typename`).join(' ');
}

/** One field with its arguments, directives and selection; now and then in many aliased copies. */
function fieldText(d: Draft, field: GraphQLField<unknown, unknown>, depth: number): string | undefined {
  const named = getNamedType(field.type);
  let sub = '';
  if (!isLeafType(named)) {
    sub = selectionSet(d, named as GraphQLCompositeType, depth + 1);
    if (!sub) return undefined;
  }
  const one = `${field.name}${argumentsText(d, field)}${directives(d)}${sub ? ` ${sub}` : ''}`;
  d.fields++;
  const copies = Math.min(d.rng.pick([2, 3, 5, 10, 16, 31, 61]), Math.floor((d.budget.copiesText - d.copiesText) / one.length));
  if (!d.rng.chance(0.08) || copies < 2) return d.rng.chance(0.1) ? `${d.fresh('a')}: ${one}` : one;
  d.features.add('aliasCopies');
  d.copiesText += copies * one.length;
  const prefix = d.fresh('c');
  return Array.from({ length: copies }, (_, i) => `${prefix}_${i}: ${one}`).join(' ');
}

/** Selections of an object or interface type (fields, `__typename`, fragments). */
function fieldSelections(d: Draft, type: GraphQLObjectType | GraphQLCompositeType, depth: number, atRoot: boolean): string[] {
  const { rng } = d;
  const fields = isObjectType(type) || isInterfaceType(type) ? Object.values(type.getFields()) : [];
  const leaves = fields.filter((f) => isLeafType(getNamedType(f.type)));
  const composites = fields.filter((f) => !isLeafType(getNamedType(f.type)));
  const deeper = depth < d.maxDepth && d.fields < d.budget.fields;
  // Past the chosen depth only leaves; on the way down at least one composite when there is one.
  const one = atRoot && type === d.schema.getSubscriptionType() && !d.invalid;
  const wantComposites = !deeper ? 0 : one ? 1 : atRoot ? rng.int(1, rng.chance(0.1) ? 20 : 2) : rng.int(1, 2);
  const wantLeaves = one ? 0 : atRoot ? rng.int(0, 1) : rng.int(deeper && composites.length ? 0 : 1, 5);
  const out: string[] = [];
  for (const field of [...rng.sample(leaves, wantLeaves), ...rng.sample(composites, wantComposites)]) {
    const text = fieldText(d, field, depth);
    if (text) out.push(text);
  }
  if (rng.chance(atRoot ? 0.02 : 0.15) || (out.length === 0 && !atRoot)) out.push(typename(d));
  if (depth > 6) d.features.add('deep');
  if (!atRoot && depth < d.maxDepth && rng.chance(0.1)) {
    const inner = fieldSelections(d, type, depth + 1, false);
    if (rng.chance(0.5)) {
      d.features.add('inlineFragment');
      out.push(`... on ${type.name}${directives(d)} { ${inner.join(' ')} }`);
    } else {
      d.features.add('namedFragment');
      const name = d.fresh('F');
      // A fragment that spreads itself: refused by validation (NoFragmentCycles), never expanded.
      const cycle = d.invalid && rng.chance(0.3) ? ` ...${name}` : '';
      if (cycle) d.features.add('fragmentCycle');
      d.fragments.push(`fragment ${name} on ${type.name} { ${inner.join(' ')}${cycle} }`);
      out.push(`...${name}${directives(d)}`);
    }
  }
  return out;
}

function selectionSet(d: Draft, type: GraphQLCompositeType, depth: number): string {
  const out = fieldSelections(d, type, depth, false);
  if (isAbstractType(type)) {
    for (const member of d.rng.sample(d.schema.getPossibleTypes(type), d.rng.int(1, 3))) {
      d.features.add('inlineFragment');
      out.push(`... on ${member.name} { ${fieldSelections(d, member, depth, false).join(' ')} }`);
    }
  }
  return out.length ? `{ ${out.join(' ')} }` : '';
}

/** Introspection at the root: the schema's types, or one type, with `ofType` chains of any depth. */
function introspection(d: Draft): string {
  d.features.add('introspection');
  const ofType = (n: number): string => (n === 0 ? 'name' : `name kind ofType { ${ofType(n - 1)} }`);
  const typeRef = `type { ${ofType(d.rng.int(0, 12))} }`;
  if (d.rng.chance(0.5)) {
    const types = Object.keys(d.schema.getTypeMap());
    return `__type(name: ${JSON.stringify(d.rng.pick([...types, 'NoSuchType']))}) { name kind fields { name ${typeRef} args { name } } possibleTypes { name } }`;
  }
  return `__schema { queryType { name } types { name kind fields(includeDeprecated: true) { name ${typeRef} } enumValues { name } inputFields { name } } directives { name } }`;
}

/** Text that does not parse, or parses only to something recursive parsers choke on. */
function garble(d: Draft, text: string): string {
  const { rng } = d;
  if (rng.chance(0.3)) {
    d.features.add('nestedThousands');
    const n = rng.pick([200, 1_000, 3_000]);
    return rng.chance(0.5) ? `${'{a'.repeat(n)}${'}'.repeat(n)}` : `{ municipality(istatCode: ${'['.repeat(n)}${']'.repeat(n)}) { name } }`;
  }
  d.features.add('garbled');
  const at = rng.int(0, text.length);
  switch (rng.int(0, 3)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return `${text.slice(0, at)}${rng.pick(['{', '}', '(', '"', '$', '...', '@', '\u0000', '#', ':'])}${text.slice(at)}`;
    case 2:
      return `${text}\n${text}`;
    default:
      return text.replace(/[{}]/g, (c) => (rng.chance(0.1) ? '' : c));
  }
}

function kindOf(rng: Rng, schema: GraphQLSchema): OperationKind {
  const roll = rng.next();
  if (roll < 0.08 && schema.getSubscriptionType()) return 'subscription';
  if (roll < 0.13 && schema.getMutationType()) return 'mutation';
  return 'query';
}

/** Names an operation, sometimes with a name only an attacker would choose; and picks `operationName`. */
function naming(d: Draft, body: string, kind: OperationKind): { text: string; operationName?: string } {
  const { rng } = d;
  const vars = d.variableDefs.length ? `(${d.variableDefs.join(', ')})` : '';
  const several = rng.chance(0.04);
  const long = d.budget === BUDGETS.full ? 60_000 : 2_000;
  const name = rng.chance(0.1) ? `N${'x'.repeat(rng.pick([1, 200, long]))}` : several || rng.chance(0.5) ? d.fresh('Fuzz') : '';
  if (name) d.features.add('operationName');
  let text = [`${kind}${name ? ` ${name}` : ''}${vars} ${body}`, ...d.fragments].join('\n');
  if (several) {
    d.features.add('severalOperations');
    text += `\nquery Other { __typename }`;
  }
  if (!several && !rng.chance(0.15)) return { text };
  return { text, operationName: !d.invalid && name ? name : rng.pick(['Other', 'NoSuchOperation', '']) };
}

/** Draws one hostile operation over `schema`; `compact` for a transport that carries little (GET). */
export function drawOperation(schema: GraphQLSchema, rng: Rng, pools: IdPools, compact = false): DrawnOperation {
  const depthRoll = rng.next();
  const maxDepth = depthRoll < 0.5 ? rng.int(1, 5) : depthRoll < 0.85 ? rng.int(6, 12) : rng.int(13, 20);
  const d = new Draft(schema, rng, pools, maxDepth, compact ? BUDGETS.compact : BUDGETS.full, rng.chance(INVALID_SHARE));
  const kind = kindOf(rng, schema);
  if (kind !== 'query') d.features.add(kind);
  const root = kind === 'query' ? schema.getQueryType()! : kind === 'mutation' ? schema.getMutationType()! : schema.getSubscriptionType()!;
  const selections = fieldSelections(d, root, 0, true);
  if (kind === 'query' && rng.chance(0.1)) selections.push(introspection(d));
  if (selections.length === 0) selections.push('__typename');
  const { text, operationName } = naming(d, `{ ${selections.join(' ')} }`, kind);
  const query = rng.chance(0.05) ? garble(d, text) : text;
  // Now and then a variable nobody declared, or a variables value that is not an object.
  const variables = rng.chance(0.03) ? { ...d.variables, undeclared: 'x'.repeat(rng.pick(d.budget.huge)) } : d.variables;
  const params: GraphQLParams = {
    query,
    ...(Object.keys(variables).length ? { variables } : {}),
    ...(operationName !== undefined ? { operationName } : {}),
  };
  return { params, kind, features: d.features };
}
