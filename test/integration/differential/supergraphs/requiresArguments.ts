/**
 * `@requires` on a field with arguments that the client also selects with other arguments: the
 * `moderation` subgraph's `Thread.lastSpeaker` requires `messages(last: 3) { senderId }`, and the
 * client asks `messages(last: 1)`, literally, through a variable, or through named fragments, in
 * nested lists (boards → threads → messages). Each must get its own messages: the requirement
 * three, the client the number it asked for.
 */
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

interface Message {
  id: string;
  thread: string;
  senderId: string;
}

/** Oldest first; `messages(last: n)` are the newest n, oldest first. */
const MESSAGES: Message[] = [
  { id: 'm1', thread: 't1', senderId: 'ada' },
  { id: 'm2', thread: 't1', senderId: 'bob' },
  { id: 'm3', thread: 't1', senderId: 'cyd' },
  { id: 'm4', thread: 't1', senderId: 'ada' },
  { id: 'm5', thread: 't2', senderId: 'bob' },
  { id: 'm6', thread: 't2', senderId: 'cyd' },
  { id: 'm7', thread: 't3', senderId: 'dan' },
];
const BOARDS = [
  { id: 'general', threads: ['t1', 't2'] },
  { id: 'random', threads: ['t3'] },
];
const MEMBERS: Record<string, string> = { ada: 'Ada', bob: 'Bob', cyd: 'Cyd', dan: 'Dan' };

const last = (thread: string, n: number) => MESSAGES.filter((m) => m.thread === thread).slice(-Math.max(n, 0));

/** Owns boards, threads and who sent each message. */
export const threads: SubgraphDef = {
  name: 'threads',
  typeDefs: `${fed2(['@key', '@shareable'])}
    type Query { boards: [Board!]! }
    type Board { id: ID! threads: [Thread!]! }
    type Thread @key(fields: "id") { id: ID! messages(last: Int!): [Message!]! @shareable }
    type Message @key(fields: "id") { id: ID! senderId: ID! }`,
  resolvers: {
    Query: { boards: () => BOARDS.map((b) => ({ id: b.id, threads: b.threads.map((id) => ({ id })) })) },
    Thread: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      messages: (t: { id: string }, { last: n }: { last: number }) => last(t.id, n),
    },
    Message: { __resolveReference: (ref: { id: string }) => MESSAGES.find((m) => m.id === ref.id) ?? null },
  },
};

/** Knows the last speaker of a thread from the senders of its last three messages. */
export const moderation: SubgraphDef = {
  name: 'moderation',
  typeDefs: `${fed2(['@key', '@shareable', '@external', '@requires'])}
    type Thread @key(fields: "id") {
      id: ID!
      messages(last: Int!): [Message!]! @shareable
      "The sender of the newest of the last three messages, when all three are known."
      lastSpeaker: Member @requires(fields: "messages(last: 3) { senderId }")
    }
    type Message @key(fields: "id") { id: ID! senderId: ID! @external }
    type Member { id: ID! name: String! }`,
  resolvers: {
    Thread: {
      __resolveReference: (ref: { id: string; messages?: { senderId: string }[] }) => ref,
      messages: (t: { id: string }, { last: n }: { last: number }) => last(t.id, n).map((m) => ({ id: m.id })),
      lastSpeaker: (t: { messages?: { senderId: string }[] }) => {
        // Only the required three: fewer (a short thread) or more means the input is not the requirement.
        const newest = t.messages?.length === 3 ? t.messages[2] : undefined;
        return newest ? { id: newest.senderId, name: MEMBERS[newest.senderId] } : null;
      },
    },
  },
};

const threadsOf = (shape: (thread: string) => Record<string, unknown>) => ({
  boards: BOARDS.map((b) => ({ threads: b.threads.map(shape) })),
});
const speakers: Record<string, { name: string } | null> = { t1: { name: 'Ada' }, t2: null, t3: null };
const ids = (thread: string, n: number) => last(thread, n).map((m) => ({ id: m.id }));
/** What stock answers: the three required messages, whatever the client asked. */
const required = (thread: string) => ids(thread, 3);

const RECENT = `query Recent($last: Int = 1) { boards { threads { lastSpeaker { name } messages(last: $last) { id } } } }`;

export const requiresArgumentsCase: DifferentialCase = {
  name: '@requires with arguments, selected by the client with others',
  about: 'a required field with arguments that the client selects with other arguments, literal, variable or in named fragments, in nested lists',
  subgraphs: [threads, moderation],
  operations: [
    { name: 'requirement alone', query: '{ boards { threads { id lastSpeaker { id name } } } }' },
    { name: 'client field alone', query: '{ boards { threads { messages(last: 2) { id senderId } } } }' },
    { name: 'client field with the very arguments of the requirement', query: '{ boards { threads { lastSpeaker { name } messages(last: 3) { id } } } }' },
  ],
  stockWrong: [
    {
      operation: { name: 'literal argument', query: '{ boards { threads { lastSpeaker { name } messages(last: 1) { id } } } }' },
      why:
        "the planner merges the requirement messages(last: 3) into the client's messages(last: 1) (same response name, " +
        'arguments ignored): the client gets the three required messages',
      stock: { status: 200, data: threadsOf((t) => ({ lastSpeaker: speakers[t], messages: required(t) })) },
      right: [{ status: 200, data: threadsOf((t) => ({ lastSpeaker: speakers[t], messages: ids(t, 1) })) }],
    },
    {
      operation: { name: 'argument variable, default value', query: RECENT },
      why: 'the same merge with the argument a variable left to its default (1)',
      stock: { status: 200, data: threadsOf((t) => ({ lastSpeaker: speakers[t], messages: required(t) })) },
      right: [{ status: 200, data: threadsOf((t) => ({ lastSpeaker: speakers[t], messages: ids(t, 1) })) }],
    },
    {
      operation: { name: 'argument variable, given', query: RECENT, variables: { last: 2 } },
      why: 'the same merge with the variable given (2)',
      stock: { status: 200, data: threadsOf((t) => ({ lastSpeaker: speakers[t], messages: required(t) })) },
      right: [{ status: 200, data: threadsOf((t) => ({ lastSpeaker: speakers[t], messages: ids(t, 2) })) }],
    },
    {
      operation: {
        name: 'argument variable in two named fragments',
        query:
          'query Recent($last: Int = 1) { boards { threads { lastSpeaker { name } ...A ...B } } } ' +
          'fragment A on Thread { messages(last: $last) { id } } fragment B on Thread { messages(last: $last) { id } }',
      },
      why: 'the same merge when the client selects the field through two named fragments',
      stock: { status: 200, data: threadsOf((t) => ({ lastSpeaker: speakers[t], messages: required(t) })) },
      right: [{ status: 200, data: threadsOf((t) => ({ lastSpeaker: speakers[t], messages: ids(t, 1) })) }],
    },
  ],
};
