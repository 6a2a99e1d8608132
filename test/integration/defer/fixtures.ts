/**
 * Two small subgraphs for the @defer tests, in-process on port 0, and our gateway over them (lean
 * executor): `alliances` answers at once; `funding` (the slow part of an ALI page: totals and
 * projects per alliance) waits while {@link DeferFixture.hold} holds it, so a test can check what
 * a client received before the deferred subgraph answered.
 */
import { startGateway, type GatewayOptions, type RunningGateway } from '../../../gateway/runtime.ts';
import { compose, fed2, startSubgraphs, type RunningSubgraphs, type SubgraphDef } from '../differential/harness.ts';

const ALLIANCES = [
  { id: 'a1', name: 'ALI Torino Nord', province: 'TO' },
  { id: 'a2', name: 'ALI Langhe', province: 'CN' },
  { id: 'a3', name: 'ALI Ossola', province: 'VB' },
];
const FUNDING: Record<string, { total: number; projects: { id: string; title: string; partnerId: string }[] }> = {
  a1: { total: 120_000, projects: [{ id: 'p1', title: 'Sportello digitale', partnerId: 'a2' }] },
  a2: { total: 80_000, projects: [] },
  a3: { total: 0, projects: [{ id: 'p2', title: 'Fascicolo elettronico', partnerId: 'a1' }, { id: 'p3', title: 'Open data', partnerId: 'a3' }] },
};

export interface DeferFixture {
  readonly gateway: RunningGateway;
  readonly url: string;
  /** Holds every funding answer until the returned function is called. */
  hold(): () => void;
  /** Entities the funding subgraph was asked for since the last take. */
  fundingRequests(): number;
  /** The same, counting again from 0. */
  takeFundingRequests(): number;
  stop(): Promise<void>;
}

export async function startDeferFixture(options: Partial<GatewayOptions> = {}): Promise<DeferFixture> {
  let gate: Promise<void> = Promise.resolve();
  let fundingRequests = 0;
  const waitGate = () => gate;
  const alliances: SubgraphDef = {
    name: 'alliances',
    typeDefs: `${fed2(['@key'])}
      type Query { alliances: [Alliance!]! alliance(id: ID!): Alliance }
      type Alliance @key(fields: "id") { id: ID! name: String! province: String! }`,
    resolvers: {
      Query: { alliances: () => ALLIANCES, alliance: (_: unknown, { id }: { id: string }) => ALLIANCES.find((a) => a.id === id) ?? null },
      Alliance: { __resolveReference: (ref: { id: string }) => ALLIANCES.find((a) => a.id === ref.id) ?? null },
    },
  };
  const funding: SubgraphDef = {
    name: 'funding',
    typeDefs: `${fed2(['@key'])}
      type Alliance @key(fields: "id") {
        id: ID!
        fundingTotal: Int!
        projects: [Project!]!
        "Fails for the alliance of Ossola (a3)."
        audit: String
        "Null for a3, although non-null: the error nulls the nearest nullable parent."
        auditor: String!
      }
      type Project { id: ID! title: String! partner: Alliance! }`,
    resolvers: {
      Alliance: {
        __resolveReference: async (ref: { id: string }) => {
          fundingRequests++;
          await waitGate();
          return FUNDING[ref.id] ? { id: ref.id } : null;
        },
        fundingTotal: (a: { id: string }) => FUNDING[a.id]!.total,
        projects: (a: { id: string }) => FUNDING[a.id]!.projects,
        audit: (a: { id: string }) => {
          if (a.id === 'a3') throw new Error(`audit of ${a.id} is unavailable`);
          return `audit of ${a.id}`;
        },
        auditor: (a: { id: string }) => (a.id === 'a3' ? null : 'Regione Piemonte'),
      },
      Project: { partner: (p: { partnerId: string }) => ({ id: p.partnerId }) },
    },
  };
  const subgraphs: RunningSubgraphs = await startSubgraphs([alliances, funding]);
  const supergraphSdl = compose([alliances, funding].map((s) => ({ name: s.name, typeDefs: s.typeDefs, url: subgraphs.urls[s.name]! })));
  let gateway: RunningGateway;
  try {
    gateway = await startGateway({ supergraph: { sdl: supergraphSdl }, port: 0, host: '127.0.0.1', ...options });
  } catch (err) {
    await subgraphs.stop();
    throw err;
  }
  return {
    gateway,
    url: `${gateway.url}graphql`,
    hold() {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        release();
        gate = Promise.resolve();
      };
    },
    fundingRequests: () => fundingRequests,
    takeFundingRequests() {
      const n = fundingRequests;
      fundingRequests = 0;
      return n;
    },
    async stop() {
      await gateway.stop(0);
      await subgraphs.stop();
    },
  };
}
