/**
 * The `@defer` directive in the schema Apollo Server validates operations against. Apollo Gateway
 * builds its API schema without it (`toGraphQLJSSchema()` leaves `includeDefer` off), so
 * graphql-js validation would refuse every `@defer` as an unknown directive before any planner
 * sees it. With it, the lean executor's planner (`incrementalDelivery.enableDefer`, set in
 * gateway/runtime.ts) plans deferred fragments, and stock's planner drops them: on the stock
 * executor `@defer` is ignored, as the incremental delivery RFC lets a server do, and the answer
 * is the ordinary one. Introspection, answered from each caller's view of the gateway's own
 * schema (gateway/access/contracts.ts), does not list the directive.
 */
import type { ApolloGateway } from '@apollo/gateway';
import { DirectiveLocation, GraphQLBoolean, GraphQLDirective, GraphQLNonNull, GraphQLString, type GraphQLSchema } from 'graphql';

/** `directive @defer(if: Boolean! = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT`, as graphql-js 17 and federation-internals declare it. */
const DEFER = new GraphQLDirective({
  name: 'defer',
  description: 'Delivers the fragment after the rest of the response, when the client accepts incremental delivery.',
  locations: [DirectiveLocation.FRAGMENT_SPREAD, DirectiveLocation.INLINE_FRAGMENT],
  args: {
    if: { type: new GraphQLNonNull(GraphQLBoolean), defaultValue: true, description: 'Deferred when true (the default).' },
    label: { type: GraphQLString, description: 'Names the fragment in the payloads that deliver it.' },
  },
});

/** Each API schema with @defer, made once (every listener of one supergraph load gets the same object). */
const withDefer = new WeakMap<GraphQLSchema, GraphQLSchema>();

/**
 * The schema with @defer among its directives and everything else as it is, types in the same
 * order: a copy of the schema object with its
 * directive list (graphql-js 16's `_directives`, what `getDirectives()` returns) extended.
 * Rebuilding it (`new GraphQLSchema(schema.toConfig())`) would reorder the types.
 */
function withDeferDirective(schema: GraphQLSchema): GraphQLSchema {
  if (schema.getDirective('defer')) return schema;
  let out = withDefer.get(schema);
  if (!out) {
    out = Object.assign(Object.create(Object.getPrototypeOf(schema) as object) as GraphQLSchema, schema);
    (out as unknown as { _directives: readonly GraphQLDirective[] })._directives = [...schema.getDirectives(), DEFER];
    if (out.getDirectives().at(-1) !== DEFER) throw new Error('withDeferDirective: this graphql-js keeps its directives elsewhere');
    withDefer.set(schema, out);
  }
  return out;
}

/**
 * Hands every `onSchemaLoadOrUpdate` listener registered from now on (Apollo Server's, when it
 * starts) the API schema with @defer. Call before Apollo Server starts.
 */
export function useDeferDirective(gateway: ApolloGateway): void {
  const register = gateway.onSchemaLoadOrUpdate.bind(gateway);
  gateway.onSchemaLoadOrUpdate = (listener) => register((context) => listener({ ...context, apiSchema: withDeferDirective(context.apiSchema) }));
}
