/**
 * Writes of the governance subgraph: recording a committee meeting with its decisions, and
 * amending it. Each returns the change (before/after) for the subscription events (data/events.ts); versions,
 * claims and the audit record are lib/writes.ts's.
 */
import type { Db } from 'mongodb';
import { badInput } from '../../../lib/errors.ts';
import { checkDate, checkEnteredProvenance, checkText, insertAudited, updateVersioned, type Change, type Writer } from '../../../lib/writes.ts';
import type { DecisionInput, MeetingChanges, RecordMeetingInput } from '../__generated__/types.ts';
import { COMMITTEES, MEETINGS, type MeetingDoc } from './collections.ts';
import { checkSlug } from './queries.ts';

const WHAT = 'meeting';
const MAX_TITLE = 200;
const MAX_DECISIONS = 50;
const MAX_DECISION = 1000;

function decisionsOf(decisions: readonly DecisionInput[], argument: string): MeetingDoc['decisions'] {
  if (decisions.length > MAX_DECISIONS) throw badInput(argument, `A meeting records at most ${MAX_DECISIONS} decisions`);
  return decisions.map((d, i) => ({ number: i + 1, summary: checkText(d.summary, `${argument}[${i}].summary`, MAX_DECISION) }));
}

/** BAD_USER_INPUT naming `argument` unless the committee exists (MongoDB: 1 find). */
async function checkCommittee(db: Db, id: string, argument: string): Promise<string> {
  checkSlug(id, argument);
  if (!(await db.collection(COMMITTEES).findOne({ _id: id } as never, { projection: { _id: 1 } }))) {
    throw badInput(argument, `"${id}" is not a committee`);
  }
  return id;
}

/** A new meeting, id "<committee>:<date>" like the seeded ones (one per committee and day), version 1. */
export async function recordMeeting(w: Writer, input: RecordMeetingInput): Promise<Change<MeetingDoc>> {
  const date = checkDate(input.date, 'input.date');
  const title = checkText(input.title, 'input.title', MAX_TITLE);
  const decisions = decisionsOf(input.decisions ?? [], 'input.decisions');
  const provenance = checkEnteredProvenance(input.provenance, 'input.provenance');
  const committeeId = await checkCommittee(w.db, input.committeeId, 'input.committeeId');
  return insertAudited<MeetingDoc>(w, { collection: MEETINGS, what: WHAT }, {
    _id: `${committeeId}:${date}`,
    committeeId,
    date,
    title,
    decisions,
    provenance,
  });
}

/** Replaces the title and/or the decisions of a meeting at `expectedVersion`. */
export function amendMeeting(w: Writer, id: string, expectedVersion: number, changes: MeetingChanges): Promise<Change<MeetingDoc>> {
  const set: Partial<MeetingDoc> = {};
  if (changes.title != null) set.title = checkText(changes.title, 'changes.title', MAX_TITLE);
  if (changes.decisions != null) set.decisions = decisionsOf(changes.decisions, 'changes.decisions');
  if (Object.keys(set).length === 0) throw badInput('changes', 'Name at least one change (title or decisions)');
  return updateVersioned<MeetingDoc>(w, { collection: MEETINGS, what: WHAT, id, expectedVersion }, () => set);
}
