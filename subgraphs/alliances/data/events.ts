/**
 * Change events of the alliances subgraph, for GraphQL subscriptions: the event of each audited
 * change of a Comune's membership (lib/events.ts: logged with the write, published after it,
 * replayed from the log), which events a subscription's arguments select, and the change-stream
 * feed for writes made outside the API. Events travel as JSON: the Comune's document and the two
 * ALI ids.
 */
import type { ChangeFeed, EventSource } from '../../../lib/events.ts';
import { checkAllianceId, checkProvinceCode } from '../../../lib/domain/registry.ts';
import type { MembershipEventKind, SubscriptionMembershipChangedArgs } from '../__generated__/types.ts';
import { MUNICIPALITIES, type MunicipalityDoc } from './collections.ts';

/** The topic of `Subscription.membershipChanged`. */
export const MEMBERSHIP_CHANGED = 'alliances.membershipChanged';

/** A membership event as published. */
export interface MembershipEventPayload {
  kind: MembershipEventKind;
  municipality: MunicipalityDoc;
  /** The ALI after the change; null when the Comune left. */
  allianceId: string | null;
  /** The ALI before the change; null when it was no member (or unknown: change streams). */
  previousAllianceId: string | null;
  /** ISO 8601, UTC. */
  at: string;
}

/** JOINED, LEFT or UPDATED (the same ALI, re-stated with another provenance or note). */
function membershipKind(before: string | null, after: string | null): MembershipEventKind {
  if (after === null) return 'LEFT';
  return before === after ? 'UPDATED' : 'JOINED';
}

/** changeMembership, from the audit record. */
export const membershipEvents: EventSource<MunicipalityDoc> = {
  topic: MEMBERSHIP_CHANGED,
  collection: MUNICIPALITIES,
  payload: (change): MembershipEventPayload => {
    const previousAllianceId = change.before?.allianceId ?? null;
    return {
      kind: membershipKind(previousAllianceId, change.after.allianceId),
      municipality: change.after,
      allianceId: change.after.allianceId,
      previousAllianceId,
      at: change.at.toISOString(),
    };
  },
};

/**
 * The selection of one subscription, its arguments checked first (BAD_USER_INPUT naming the
 * argument). allianceId matches the ALI after or before the change, so its subscribers also see
 * the Comuni that leave it.
 */
export function membershipEventFilter(args: Partial<SubscriptionMembershipChangedArgs>): (payload: unknown) => boolean {
  const allianceId = args.allianceId == null ? null : checkAllianceId(args.allianceId, 'allianceId');
  const provinceCode = args.provinceCode == null ? null : checkProvinceCode(args.provinceCode, 'provinceCode');
  return (payload) => {
    const e = payload as MembershipEventPayload;
    return (
      (allianceId === null || e.allianceId === allianceId || e.previousAllianceId === allianceId) &&
      (provinceCode === null || e.municipality.provinceCode === provinceCode)
    );
  };
}

/**
 * Comuni written outside the API (change streams): without the previous document, a Comune with
 * an ALI is reported JOINED and one without LEFT (previousAlliance unknown: null).
 */
export const changeFeeds: readonly ChangeFeed[] = [
  {
    collection: MUNICIPALITIES,
    toEvent: (doc) => {
      const m = doc as MunicipalityDoc;
      return {
        topic: MEMBERSHIP_CHANGED,
        payload: {
          kind: membershipKind(null, m.allianceId),
          municipality: m,
          allianceId: m.allianceId,
          previousAllianceId: null,
          at: new Date().toISOString(),
        } satisfies MembershipEventPayload,
      };
    },
  },
];
