/**
 * Composition of the subgraph SDLs in schema/ into the supergraph with @apollo/composition.
 */
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { SUBGRAPH_NAMES, configSpec, type SubgraphName } from './config.ts';
import { subgraphSdl } from './subgraph.ts';

/** The URL each subgraph has in the committed supergraph: its default port on localhost. */
export function defaultSubgraphUrl(name: SubgraphName): string {
  const key = `${name.toUpperCase()}_PORT` as 'ALLIANCES_PORT';
  return `http://localhost:${configSpec[key].default}/graphql`;
}

export type CompositionResult = { ok: true; supergraphSdl: string } | { ok: false; errors: string[] };

export function composeSupergraph(urls: Partial<Record<SubgraphName, string>> = {}): CompositionResult {
  const result = composeServices(
    SUBGRAPH_NAMES.map((name) => ({
      name,
      url: urls[name] ?? defaultSubgraphUrl(name),
      typeDefs: parse(subgraphSdl(name)),
    })),
  );
  if (result.errors) return { ok: false, errors: result.errors.map((e) => e.message) };
  return { ok: true, supergraphSdl: result.supergraphSdl };
}
