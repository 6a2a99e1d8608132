/**
 * Change events of the reuse subgraph, for GraphQL subscriptions: the event of each audited change
 * of an adoption (lib/events.ts: logged with the write, published after it, replayed from the log),
 * which events a subscription's arguments select, and the change-stream feed for writes made
 * outside the API. Events travel as JSON, so the event holds the adoption document as written.
 */
import type { ChangeFeed, EventSource } from '../../../lib/events.ts';
import { checkProvinceCode } from '../../../lib/domain/registry.ts';
import type { AdoptionEventKind, AdoptionStatus, SubscriptionAdoptionChangedArgs } from '../__generated__/types.ts';
import { ADOPTIONS, type AdoptionDoc } from './collections.ts';
import { checkSolutionId } from './queries.ts';

/** The topic of `Subscription.adoptionChanged`. */
export const ADOPTION_CHANGED = 'reuse.adoptionChanged';

/** An adoption event as published, and as `AdoptionEvent` resolves it. */
export interface AdoptionEventPayload {
  kind: AdoptionEventKind;
  adoption: AdoptionDoc;
  previousStatus: AdoptionStatus | null;
  /** ISO 8601, UTC. */
  at: string;
}

/** registerAdoption (a create: REGISTERED) and changeAdoptionStatus (STATUS_CHANGED), from the audit record. */
export const adoptionEvents: EventSource<AdoptionDoc> = {
  topic: ADOPTION_CHANGED,
  collection: ADOPTIONS,
  payload: (change): AdoptionEventPayload => ({
    kind: change.before === null ? 'REGISTERED' : 'STATUS_CHANGED',
    adoption: change.after,
    previousStatus: change.before?.status ?? null,
    at: change.at.toISOString(),
  }),
};

/** The selection of one subscription, its arguments checked first (BAD_USER_INPUT naming the argument). */
export function adoptionEventFilter(args: Partial<SubscriptionAdoptionChangedArgs>): (payload: unknown) => boolean {
  const solutionId = args.solutionId == null ? null : checkSolutionId(args.solutionId, 'solutionId');
  const provinceCode = args.provinceCode == null ? null : checkProvinceCode(args.provinceCode, 'provinceCode');
  const status = args.status ?? null;
  return (payload) => {
    const a = (payload as AdoptionEventPayload).adoption;
    return (
      (solutionId === null || a.solutionId === solutionId) &&
      (provinceCode === null || a.istatCode.slice(0, 3) === provinceCode) &&
      (status === null || a.status === status)
    );
  };
}

/** Adoptions written outside the API (change streams): no previous status is known. */
export const changeFeeds: readonly ChangeFeed[] = [
  {
    collection: ADOPTIONS,
    toEvent: (doc, operation) => ({
      topic: ADOPTION_CHANGED,
      payload: {
        kind: operation === 'insert' ? 'REGISTERED' : 'STATUS_CHANGED',
        adoption: doc as AdoptionDoc,
        previousStatus: null,
        at: new Date().toISOString(),
      } satisfies AdoptionEventPayload,
    }),
  },
];
