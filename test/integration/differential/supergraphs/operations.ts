/**
 * Operation-level features over the supergraphs above: @skip/@include (literal and with variables,
 * on fields, inline fragments and fragment spreads, on fields that need a fetch of their own),
 * fragments and aliases (aliases colliding with field names of other subgraphs, one field under
 * several aliases and arguments), `__typename` everywhere, and introspection.
 */
import type { DifferentialCase } from '../harness.ts';
import { interfacesSubgraphs } from './interfaces.ts';
import { keysSubgraphs } from './keys.ts';
import { unionsSubgraphs } from './unions.ts';

const CONDITIONAL = `query Conditional($withStock: Boolean!, $withoutReviews: Boolean!, $deep: Boolean = true) {
  products {
    id
    inStock @include(if: $withStock)
    reviews @skip(if: $withoutReviews) { body product @include(if: $deep) { name } }
    ... on Product @include(if: $deep) { name }
    ...Price @skip(if: $withStock)
  }
}
fragment Price on Product { price reviewCount }`;

export const skipIncludeCase: DifferentialCase = {
  name: '@skip and @include',
  about: 'conditions with variables and literals, on fields, inline fragments and spreads, on fields needing their own fetch',
  subgraphs: keysSubgraphs,
  operations: [
    { name: 'all included', query: CONDITIONAL, variables: { withStock: true, withoutReviews: false } },
    { name: 'all excluded', query: CONDITIONAL, variables: { withStock: false, withoutReviews: true, deep: false } },
    { name: 'mixed, default variable used', query: CONDITIONAL, variables: { withStock: false, withoutReviews: false } },
    {
      name: 'literal conditions, skip wins over include',
      query: '{ products { id name @skip(if: true) @include(if: true) inStock @include(if: false) reviewCount @skip(if: false) } }',
    },
    {
      name: 'the same field included on one path and skipped on another',
      query: 'query ($a: Boolean!) { products { id inStock @include(if: $a) ... { inStock } } }',
      variables: { a: false },
    },
    {
      name: 'condition on a root field',
      query: 'query ($s: Boolean!) { products @skip(if: $s) { id } lowStock { sku } }',
      variables: { s: true },
    },
    {
      name: 'every root field skipped',
      query: 'query ($s: Boolean!) { products @skip(if: $s) { id } }',
      variables: { s: true },
    },
  ],
};

export const fragmentsAliasesCase: DifferentialCase = {
  name: 'fragments and aliases',
  about: 'named and inline fragments, nested spreads, aliases that collide with fields of other subgraphs',
  subgraphs: keysSubgraphs,
  operations: [
    {
      name: 'aliases named after fields of another subgraph',
      query: '{ products { inStock: name name: inStock reviews: reviewCount reviewCount: reviews { body } } }',
    },
    {
      name: 'one field under several aliases and arguments',
      query: '{ products { id good: reviews(minStars: 4) { stars } all: reviews { stars } bad: reviews(minStars: 0) { body } } }',
    },
    {
      name: 'aliased root fields hitting different subgraphs',
      query: '{ a: products { id } b: lowStock { name } c: topReviews(first: 1) { body } d: product(id: "p2") { inStock } }',
    },
    {
      name: 'aliased key fields and aliased __typename',
      query: '{ lowStock { key: sku v: variant { c: code } t: __typename reviews { id } } }',
    },
    {
      name: 'nested named fragments across subgraphs',
      query: `{ products { ...A } }
        fragment A on Product { id ...B inStock }
        fragment B on Product { name reviews { ...C } }
        fragment C on Review { body product { ...D } }
        fragment D on Product { sku }`,
    },
    {
      name: 'the same field from a fragment and directly, with different sub-selections',
      query: '{ products { reviews { id } ... on Product { reviews { body } } ...R } } fragment R on Product { reviews { stars product { inStock } } }',
    },
    {
      name: 'aliases named after Object.prototype members',
      query: '{ products { constructor: name toString: inStock valueOf: reviews { hasOwnProperty: body } } }',
      // The lean merge reads response names without own-property checks: such names go to stock.
      executor: { stock: 'unsupported', detail: /^response name constructor$/ },
    },
    {
      name: 'operation name picks one of several operations',
      query: 'query One { products { id } } query Two { lowStock { inStock name } }',
      operationName: 'Two',
    },
  ],
};

export const requestErrorsCase: DifferentialCase = {
  name: 'request errors',
  about: 'what is refused before planning: syntax, validation, variables, operation name',
  subgraphs: keysSubgraphs,
  // Refused before planning: no executor runs them.
  operations: [
    { name: 'syntax error', query: '{ products { id ', executor: 'none' },
    { name: 'unknown field', query: '{ products { id nope } }', executor: 'none' },
    { name: 'missing required variable', query: 'query ($id: ID!) { product(id: $id) { id } }', variables: {}, executor: 'none' },
    { name: 'variable of the wrong type', query: 'query ($n: Int) { topReviews(first: $n) { id } }', variables: { n: 'two' }, executor: 'none' },
  ],
  stockWrong: [
    {
      operation: { name: 'unknown operation name', query: 'query A { products { id } }', operationName: 'B', executor: 'none' },
      why:
        'an operation name the document does not define is the client\'s mistake, but stock lets it reach the gateway ' +
        'executor, which fails with HTTP 500 INVALID_GRAPHQL; ours refuses it before planning with 400 OPERATION_RESOLUTION_FAILURE',
      stock: { status: 500, errors: [{ message: 'Unknown operation named "B".', code: 'INVALID_GRAPHQL' }] },
      right: [{ status: 400, errors: [{ message: 'Unknown operation named "B".', code: 'OPERATION_RESOLUTION_FAILURE' }] }],
    },
    {
      operation: { name: 'several operations, no name', query: 'query A { products { id } } query B { lowStock { sku } }', executor: 'none' },
      why: 'the same for a document with several operations and no operation name: stock answers 500, ours 400',
      stock: { status: 500, errors: [{ message: /Must provide operation name/, code: 'INVALID_GRAPHQL' }] },
      right: [{ status: 400, errors: [{ message: /Must provide operation name/, code: 'OPERATION_RESOLUTION_FAILURE' }] }],
    },
  ],
};

export const typenameCase: DifferentialCase = {
  name: '__typename',
  about: '__typename at the root, on entities, interfaces, unions and interfaceObjects, aliased and repeated',
  subgraphs: [...interfacesSubgraphs, ...unionsSubgraphs],
  operations: [
    { name: 'root only', query: '{ __typename }' },
    { name: 'root with data, aliased', query: '{ q: __typename media { __typename } again: __typename }' },
    { name: 'interface implementations', query: '{ media { __typename t: __typename ... on Book { __typename } } }' },
    { name: 'interfaceObject root field', query: '{ topRated { __typename } }' },
    { name: 'union members', query: '{ search(term: "a") { __typename ... on Person { __typename id } } }' },
  ],
};

const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name } } }';

/** Pure introspection is answered by our access plugin from the caller's view (`none`); mixed with data it goes to stock. */
export const introspectionCase: DifferentialCase = {
  name: 'introspection',
  about: '__schema, __type, introspection mixed with data; @inaccessible hidden',
  subgraphs: interfacesSubgraphs,
  // Our schema has Node, Query.node and nodeId on every entity besides (gateway/node/), which stock
  // has not: introspection is compared on the supergraph as it is.
  oursOptions: { globalObjectIds: false },
  operations: [
    { name: '__schema type names', query: '{ __schema { queryType { name } mutationType { name } types { name kind } } }', executor: 'none' },
    {
      name: '__type of an interface',
      query: `{ __type(name: "Media") { kind name possibleTypes { name } fields { name args { name } type { ${TYPE_REF} } } } }`,
      executor: 'none',
    },
    { name: '__type hides the @inaccessible field', query: '{ __type(name: "Book") { fields { name } interfaces { name } } }', executor: 'none' },
    { name: '__type of an unknown type', query: '{ __type(name: "Nope") { name } }', executor: 'none' },
    {
      name: 'introspection mixed with data',
      query: '{ __type(name: "Movie") { name } media { id } __typename }',
      executor: { stock: 'unsupported', detail: /^introspection$/ },
    },
    {
      name: 'directives and enums',
      query: '{ __schema { directives { name locations args { name } } } __type(name: "__TypeKind") { enumValues { name } } }',
      executor: 'none',
    },
    {
      name: 'full type list with fields',
      query: `{ __schema { types { name fields(includeDeprecated: true) { name isDeprecated type { ${TYPE_REF} } } } } }`,
      executor: 'none',
    },
  ],
};
