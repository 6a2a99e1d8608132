/**
 * @override: `billing` takes `Account.balance` and the root field `Query.totalBalance` from
 * `legacy`. Legacy still has resolvers for both that answer differently (negative numbers), so a
 * wrong routing shows in the data.
 */
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

const ACCOUNTS = [
  { id: 'c1', plan: 'basic', balance: 100 },
  { id: 'c2', plan: 'pro', balance: 2500 },
];

export const legacy: SubgraphDef = {
  name: 'legacy',
  typeDefs: `${fed2(['@key', '@shareable'])}
    type Query { accounts: [Account!]! totalBalance: Int! @shareable }
    type Account @key(fields: "id") { id: ID! plan: String! balance: Int! @shareable }`,
  resolvers: {
    Query: { accounts: () => ACCOUNTS, totalBalance: () => -1 },
    Account: {
      __resolveReference: (ref: { id: string }) => ACCOUNTS.find((a) => a.id === ref.id) ?? null,
      balance: () => -1,
    },
  },
};

export const billing: SubgraphDef = {
  name: 'billing',
  typeDefs: `${fed2(['@key', '@shareable', '@override'])}
    type Query { totalBalance: Int! @shareable @override(from: "legacy") }
    type Account @key(fields: "id") {
      id: ID!
      balance: Int! @shareable @override(from: "legacy")
      overdrawn: Boolean!
    }`,
  resolvers: {
    Query: { totalBalance: () => ACCOUNTS.reduce((s, a) => s + a.balance, 0) },
    Account: {
      __resolveReference: (ref: { id: string }) => ACCOUNTS.find((a) => a.id === ref.id) ?? null,
      overdrawn: (a: { balance: number }) => a.balance < 0,
    },
  },
};

export const overrideCase: DifferentialCase = {
  name: '@override',
  about: '@override of an entity field and of a root field',
  subgraphs: [legacy, billing],
  operations: [
    { name: 'overridden entity field', query: '{ accounts { id plan balance } }' },
    { name: 'overridden root field', query: '{ totalBalance }' },
    { name: 'overridden and local fields with aliases', query: '{ accounts { b: balance p: plan overdrawn } total: totalBalance }' },
  ],
};
