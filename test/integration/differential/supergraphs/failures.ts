/**
 * Partial failures: one subgraph answers, the other is down (connection refused) or answers HTTP
 * 500 with a body that is not GraphQL. What the fields of the failed fetch become is where our
 * gateway deliberately differs from stock (see the stock-wrong cases in the test).
 */
import type { DifferentialCase, Expected, ExpectedError, FailingSubgraphDef, StockWrongCase } from '../harness.ts';
import { orders, users } from './errors.ts';

const usersFailing = (fails: FailingSubgraphDef['fails']): FailingSubgraphDef => ({ name: users.name, typeDefs: users.typeDefs, fails });

const ops = {
  entityList: { name: 'failed entity fetch under a nullable field in a list', query: '{ orders { id backupBuyer { name } } }' },
  entityNonNull: { name: 'failed entity fetch under a non-null field', query: '{ order(id: "o1") { id buyer { name } } }' },
  root: { name: 'failed root fetch next to a good one', query: '{ user(id: "u1") { name } order(id: "o1") { id total } }' },
} as const;

const entityListData = { orders: [{ id: 'o1', backupBuyer: null }, { id: 'o2', backupBuyer: null }, { id: 'o3', backupBuyer: null }] };
const entityNonNullData = { order: null };
const rootData = { user: null, order: { id: 'o1', total: 10 } };

/** A right error for a failed fetch: on the failed field's path, coded, no internal URL in the message. */
const failed = (path: (string | number)[]): ExpectedError => ({ message: /^(?!.*https?:\/\/).+$/, path, code: 'SUBGRAPH_UNAVAILABLE' });

const WHY =
  "stock's error for a failed subgraph fetch has no path (the client cannot tell the failure's nulls from real nulls) " +
  'and the generic INTERNAL_SERVER_ERROR code';

function failureCases(stockMessage: string | RegExp, extraWhy: string): StockWrongCase[] {
  const stockError = [{ message: stockMessage, code: 'INTERNAL_SERVER_ERROR' }];
  const right = (data: unknown, ...alternatives: ExpectedError[][]): Expected[] =>
    alternatives.map((errors) => ({ status: 200, data, errors }));
  return [
    {
      operation: ops.entityList,
      why: WHY + extraWhy,
      stock: { status: 200, data: entityListData, errors: stockError },
      right: right(
        entityListData,
        // One error for the whole fetch, `@` standing for every element (Apollo Router's form, and ours) …
        [failed(['orders', '@', 'backupBuyer'])],
        // … or one per element that needed the fetch (o3 has no backup buyer).
        [failed(['orders', 0, 'backupBuyer']), failed(['orders', 1, 'backupBuyer'])],
      ),
    },
    {
      operation: ops.entityNonNull,
      why: WHY + extraWhy,
      stock: { status: 200, data: entityNonNullData, errors: stockError },
      right: right(entityNonNullData, [failed(['order', 'buyer'])]),
    },
    {
      operation: ops.root,
      why: WHY + extraWhy,
      stock: { status: 200, data: rootData, errors: stockError },
      right: right(rootData, [failed(['user'])]),
    },
  ];
}

export const downCase: DifferentialCase = {
  name: 'subgraph down',
  about: 'a subgraph refusing connections while another answers',
  subgraphs: [orders, usersFailing('down')],
  operations: [{ name: 'only the live subgraph', query: '{ orders { id total backupBuyer { id } } }' }],
  stockWrong: failureCases(
    /^request to http:\/\/127\.0\.0\.1:\d+\/graphql failed, reason: connect ECONNREFUSED/,
    ', and its message gives away the internal URL of the subgraph',
  ),
};

export const http500Case: DifferentialCase = {
  name: 'subgraph answering HTTP 500',
  about: 'a subgraph answering 500 with a non-GraphQL body while another answers',
  subgraphs: [orders, usersFailing('http500')],
  operations: [{ name: 'only the live subgraph', query: '{ order(id: "o2") { id buyer { id } } }' }],
  stockWrong: failureCases('500: Internal Server Error', ''),
};
