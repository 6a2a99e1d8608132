/**
 * Change events of the funding subgraph, for GraphQL subscriptions: the event of each audited change
 * of a funded project (lib/events.ts: logged with the write, published after it, replayed from the
 * log), which events a subscription's arguments select, and the change-stream feed for writes made
 * outside the API. Events travel as JSON: amounts as strings of cents, read back as bigint cents
 * here, so the project resolves exactly as a stored one.
 */
import type { Document } from 'mongodb';
import type { ChangeFeed, EventSource } from '../../../lib/events.ts';
import { checkAllianceId, checkReuseSolutionId } from '../../../lib/domain/registry.ts';
import type { FundedProjectEventKind, SubscriptionFundedProjectChangedArgs } from '../__generated__/types.ts';
import { FUNDED_PROJECTS, type FundedProjectDoc } from './collections.ts';
import { checkId } from './queries.ts';

/** The topic of `Subscription.fundedProjectChanged`. */
export const FUNDED_PROJECT_CHANGED = 'funding.fundedProjectChanged';

/** A funded-project event as `FundedProjectEvent` resolves it. */
export interface FundedProjectEventPayload {
  kind: FundedProjectEventKind;
  project: FundedProjectDoc;
  /** ISO 8601, UTC. */
  at: string;
}

/** As the bus carries it: the amounts as strings of cents. */
type WireProject = Omit<FundedProjectDoc, 'totalValue' | 'cofinancing'> & { totalValue: string; cofinancing: string };

/** addFundedProject (a create: ADDED) and amendFundedProject (AMENDED), from the audit record. */
export const fundedProjectEvents: EventSource<FundedProjectDoc> = {
  topic: FUNDED_PROJECT_CHANGED,
  collection: FUNDED_PROJECTS,
  payload: (change): FundedProjectEventPayload => ({ kind: change.before === null ? 'ADDED' : 'AMENDED', project: change.after, at: change.at.toISOString() }),
};

/** The event as a subscription receives it (live or replayed), amounts back to bigint cents. */
export function fundedProjectEventFromBus(payload: unknown): FundedProjectEventPayload {
  const e = payload as { kind: FundedProjectEventKind; project: WireProject; at: string };
  return { ...e, project: { ...e.project, totalValue: BigInt(e.project.totalValue), cofinancing: BigInt(e.project.cofinancing) } };
}

/** The selection of one subscription, its arguments checked first (BAD_USER_INPUT naming the argument). */
export function fundedProjectEventFilter(args: Partial<SubscriptionFundedProjectChangedArgs>): (payload: unknown) => boolean {
  const agreementId = args.agreementId == null ? null : checkId(args.agreementId, 'agreementId');
  const allianceId = args.allianceId == null ? null : checkAllianceId(args.allianceId, 'allianceId');
  const reuseSolutionId = args.reuseSolutionId == null ? null : checkReuseSolutionId(args.reuseSolutionId, 'reuseSolutionId');
  return (payload) => {
    const p = (payload as { project: WireProject }).project;
    return (
      (agreementId === null || p.agreementId === agreementId) &&
      (allianceId === null || p.allianceId === allianceId) &&
      (reuseSolutionId === null || p.reuseSolutionId === reuseSolutionId)
    );
  };
}

/** Projects written outside the API (change streams). */
export const changeFeeds: readonly ChangeFeed[] = [
  {
    collection: FUNDED_PROJECTS,
    toEvent: (doc: Document, operation) => ({
      topic: FUNDED_PROJECT_CHANGED,
      payload: {
        kind: operation === 'insert' ? 'ADDED' : 'AMENDED',
        project: doc as FundedProjectDoc,
        at: new Date().toISOString(),
      } satisfies FundedProjectEventPayload,
    }),
  },
];
