/**
 * Change events of the governance subgraph, for GraphQL subscriptions: what a mutation publishes on the bus, which
 * events a subscription's arguments select, and the change-stream feed for writes made outside
 * the API. The bus carries JSON (lib/events.ts): the meeting document as written.
 */
import { publishAfterWrite, type ChangeFeed, type EventBus } from '../../../lib/events.ts';
import type { Change } from '../../../lib/writes.ts';
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

/** Publishes the event of a successful recordMeeting (RECORDED) or amendMeeting (AMENDED). */
export function publishMeetingChange(bus: EventBus, kind: MeetingEventKind, change: Change<MeetingDoc>): Promise<void> {
  const payload: MeetingEventPayload = { kind, meeting: change.after, at: new Date().toISOString() };
  return publishAfterWrite(bus, MEETING_RECORDED, payload);
}

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
