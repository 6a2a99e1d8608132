/**
 * Composition of the subgraph SDLs in schema/ into the supergraph with @apollo/composition.
 */
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { SUBGRAPH_NAMES, configSpec, type SubgraphName } from './config.ts';
import { subgraphSdl } from './subgraph.ts';

/** The URL each subgraph has in the committed supergraph: its default port on localhost. */
function defaultSubgraphUrl(name: SubgraphName): string {
  const key = `${name.toUpperCase()}_PORT` as 'ALLIANCES_PORT';
  return `http://localhost:${configSpec[key].default}/graphql`;
}

export type CompositionResult = { ok: true; supergraphSdl: string } | { ok: false; errors: string[] };

/** Composes the subgraph SDLs (by default the files in schema/) into a supergraph. */
export function composeSupergraph(
  urls: Partial<Record<SubgraphName, string>> = {},
  sdlOf: (name: SubgraphName) => string = subgraphSdl,
): CompositionResult {
  let services;
  try {
    services = SUBGRAPH_NAMES.map((name) => ({ name, url: urls[name] ?? defaultSubgraphUrl(name), typeDefs: parse(sdlOf(name)) }));
  } catch (err) {
    return { ok: false, errors: [(err as Error).message] };
  }
  const result = composeServices(services);
  if (result.errors) return { ok: false, errors: result.errors.map((e) => e.message) };
  return { ok: true, supergraphSdl: result.supergraphSdl };
}
