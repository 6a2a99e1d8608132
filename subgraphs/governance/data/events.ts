/**
 * Change events of the governance subgraph, for GraphQL subscriptions: the event of each audited
 * change of a meeting (lib/events.ts: logged with the write, published after it, replayed from the
 * log), which events a subscription's arguments select, and the change-stream feed for writes made
 * outside the API. Events travel as JSON: the meeting document as written.
 */
import type { ChangeFeed, EventSource } from '../../../lib/events.ts';
import type { MeetingEventKind, SubscriptionMeetingRecordedArgs } from '../__generated__/types.ts';
import { MEETINGS, type MeetingDoc } from './collections.ts';
import { checkSlug } from './queries.ts';

/** The topic of `Subscription.meetingRecorded`. */
export const MEETING_RECORDED = 'governance.meetingRecorded';

/** A meeting event as published, and as `MeetingEvent` resolves it. */
export interface MeetingEventPayload {
  kind: MeetingEventKind;
  meeting: MeetingDoc;
  /** ISO 8601, UTC. */
  at: string;
}

/** recordMeeting (a create: RECORDED) and amendMeeting (AMENDED), from the audit record. */
export const meetingEvents: EventSource<MeetingDoc> = {
  topic: MEETING_RECORDED,
  collection: MEETINGS,
  payload: (change): MeetingEventPayload => ({ kind: change.before === null ? 'RECORDED' : 'AMENDED', meeting: change.after, at: change.at.toISOString() }),
};

/** The selection of one subscription, its argument checked first (BAD_USER_INPUT naming it). */
export function meetingEventFilter(args: Partial<SubscriptionMeetingRecordedArgs>): (payload: unknown) => boolean {
  const committeeId = args.committeeId == null ? null : checkSlug(args.committeeId, 'committeeId');
  return (payload) => committeeId === null || (payload as MeetingEventPayload).meeting.committeeId === committeeId;
}

/** Meetings written outside the API (change streams). */
export const changeFeeds: readonly ChangeFeed[] = [
  {
    collection: MEETINGS,
    toEvent: (doc, operation) => ({
      topic: MEETING_RECORDED,
      payload: { kind: operation === 'insert' ? 'RECORDED' : 'AMENDED', meeting: doc as MeetingDoc, at: new Date().toISOString() } satisfies MeetingEventPayload,
    }),
  },
];
