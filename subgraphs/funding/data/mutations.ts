/**
 * Writes of the funding subgraph: adding a funded project and amending one. Each returns the
 * change (before/after) for the subscription events (data/events.ts); versions, claims and the audit record are
 * lib/writes.ts's. Amounts arrive as bigint cents from the Money scalar (exact euro, at most two
 * decimals) and are stored as Int64 cents.
 *
 * Published facts the writes keep true:
 * - fact ali-projects-funded: the ALI co-financing call publishes its projects in full (8
 *   projects, €3,851,846 total, €3,219,879 co-financing), so a call with published totals takes
 *   no new project, and the amounts of the 8 estimated parts cannot change one by one (their sum
 *   is the published total);
 * - facts acquisti-on-line-project and sigma-ter-project (and any project an editor enters as
 *   PUBLISHED): published amounts, rate label and provenance do not change (a correction is a
 *   question for the source, not an edit);
 * - fact fourth-supplementary-act, "over €8 million": adding only raises the act's sum, and the
 *   published projects (which alone sum to €8,350,550) cannot be lowered, so the act's total
 *   stays above its lower bound.
 */
import type { Db } from 'mongodb';
import { badInput, userError, ErrorCode } from '../../../lib/errors.ts';
import { checkAllianceId, checkReuseSolutionId } from '../../../lib/domain/registry.ts';
import { formatCents, fromStored, type Cents } from '../../../lib/money.ts';
import { checkEnteredProvenance, checkText, insertAudited, updateVersioned, type Change, type Writer } from '../../../lib/writes.ts';
import type { AddFundedProjectInput, FundedProjectChanges } from '../__generated__/types.ts';
import { AGREEMENTS, CALLS, FUNDED_PROJECTS, type AgreementDoc, type CallDoc, type FundedProjectDoc } from './collections.ts';
import { checkId } from './queries.ts';

const WHAT = 'funded project';
const MAX_TITLE = 200;
const MAX_LABEL = 20;
const MAX_NOTE = 1000;

/** Lower-case title without accents: the sort key (as the seed computes it). */
function titleKey(title: string): string {
  return title.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

function contradicts(argument: string, message: string): never {
  throw userError(ErrorCode.CONTRADICTS_PUBLISHED_FACT, message, { argument });
}

/** Amounts: total > 0, 0 ≤ co-financing ≤ total; BAD_USER_INPUT naming the argument. */
function checkAmounts(total: Cents, cofinancing: Cents, totalArg: string, cofinancingArg: string): void {
  if (total <= 0n) throw badInput(totalArg, `${totalArg} must be more than 0 (got ${formatCents(total)})`);
  if (cofinancing < 0n) throw badInput(cofinancingArg, `${cofinancingArg} must not be negative (got ${formatCents(cofinancing)})`);
  if (cofinancing > total) {
    throw badInput(cofinancingArg, `${cofinancingArg} ${formatCents(cofinancing)} is more than the total value ${formatCents(total)}`);
  }
}

const optionalText = (text: string | null | undefined, argument: string, max: number) =>
  text == null || text.trim() === '' ? null : checkText(text, argument, max);

async function load<T>(db: Db, collection: string, id: string, argument: string, what: string): Promise<T> {
  checkId(id, argument);
  const doc = await db.collection(collection).findOne({ _id: id } as never);
  if (!doc) throw badInput(argument, `"${id}" is not ${what}`);
  return doc as unknown as T;
}

/**
 * A new project under a supplementary act, id "<act>-<beneficiary>" like the seeded ones (one
 * project per act and beneficiary), co-financed by the call's issuer, version 1.
 * MongoDB: 1 find on agreements, 1 on calls, then the insert (lib/writes.ts).
 */
export async function addFundedProject(w: Writer, input: AddFundedProjectInput): Promise<Change<FundedProjectDoc>> {
  const title = checkText(input.title, 'input.title', MAX_TITLE);
  checkAmounts(input.totalValue, input.cofinancing, 'input.totalValue', 'input.cofinancing');
  const provenance = checkEnteredProvenance(input.provenance, 'input.provenance');
  const statedRateLabel = optionalText(input.statedRateLabel, 'input.statedRateLabel', MAX_LABEL);
  const provenanceNote = optionalText(input.provenanceNote, 'input.provenanceNote', MAX_NOTE);
  if ((input.allianceId == null) === (input.reuseSolutionId == null)) {
    throw badInput(input.allianceId == null ? 'input.allianceId' : 'input.reuseSolutionId', 'Name exactly one beneficiary: allianceId or reuseSolutionId');
  }
  const allianceId = input.allianceId == null ? null : checkAllianceId(input.allianceId, 'input.allianceId');
  const reuseSolutionId = input.reuseSolutionId == null ? null : checkReuseSolutionId(input.reuseSolutionId, 'input.reuseSolutionId');

  const agreement = await load<AgreementDoc>(w.db, AGREEMENTS, input.agreementId, 'input.agreementId', 'an agreement');
  if (agreement.kind !== 'SUPPLEMENTARY_ACT') {
    throw badInput('input.agreementId', `"${agreement._id}" is the framework agreement: projects are funded under one of its supplementary acts`);
  }
  const call = await load<CallDoc>(w.db, CALLS, input.callId, 'input.callId', 'a call');
  if (!agreement.respondsToCallIds.includes(call._id)) {
    const calls = agreement.respondsToCallIds.length ? agreement.respondsToCallIds.join(', ') : 'none';
    throw badInput('input.callId', `"${agreement._id}" does not respond to the call "${call._id}" (it responds to: ${calls})`);
  }
  if (call.publishedTotals) {
    const t = call.publishedTotals;
    contradicts(
      'input.callId',
      `The projects of "${call._id}" are published in full (${t.projectCount} projects, total value €${formatCents(t.totalValue)}, ` +
        `co-financing €${formatCents(t.cofinancing)}): another project would contradict them`,
    );
  }
  if (call.kind === 'ALI_PROJECT_COFINANCING' && !allianceId) throw badInput('input.allianceId', `The call "${call._id}" funds projects of an ALI: name allianceId`);
  if (call.kind === 'REUSE_PROJECTS' && !reuseSolutionId) throw badInput('input.reuseSolutionId', `The call "${call._id}" funds reuse projects: name reuseSolutionId`);

  const beneficiary = allianceId ?? reuseSolutionId!;
  return insertAudited<FundedProjectDoc>(w, { collection: FUNDED_PROJECTS, what: WHAT }, {
    _id: `${agreement._id}-${beneficiary}`,
    title,
    titleKey: titleKey(title),
    agreementId: agreement._id,
    callId: call._id,
    beneficiaryType: allianceId ? 'Alliance' : 'ReuseSolution',
    allianceId,
    reuseSolutionId,
    // bigint cents: written as Int64 like the seed's amounts.
    totalValue: input.totalValue,
    cofinancing: input.cofinancing,
    cofinancedBy: call.issuedBy,
    statedRateLabel,
    provenance,
    provenanceNote,
    estimateGroup: null,
  });
}

/** Amends a project at `expectedVersion`; see the header for what published facts forbid. */
export function amendFundedProject(
  w: Writer,
  id: string,
  expectedVersion: number,
  changes: FundedProjectChanges,
): Promise<Change<FundedProjectDoc>> {
  checkId(id, 'id');
  const given = Object.entries(changes).filter(([, v]) => v !== undefined && v !== null);
  if (given.length === 0) throw badInput('changes', 'Name at least one change');
  const set: Partial<FundedProjectDoc> = {};
  if (changes.title != null) {
    set.title = checkText(changes.title, 'changes.title', MAX_TITLE);
    set.titleKey = titleKey(set.title);
  }
  if (changes.provenance != null) set.provenance = checkEnteredProvenance(changes.provenance, 'changes.provenance');
  if (changes.statedRateLabel != null) set.statedRateLabel = optionalText(changes.statedRateLabel, 'changes.statedRateLabel', MAX_LABEL);
  if (changes.provenanceNote != null) set.provenanceNote = optionalText(changes.provenanceNote, 'changes.provenanceNote', MAX_NOTE);
  return updateVersioned<FundedProjectDoc>(w, { collection: FUNDED_PROJECTS, what: WHAT, id, expectedVersion }, (current) => {
    const published = current.provenance === 'PUBLISHED';
    const amountArg = changes.totalValue != null ? 'changes.totalValue' : 'changes.cofinancing';
    if (changes.totalValue != null || changes.cofinancing != null) {
      if (published) contradicts(amountArg, `The amounts of "${id}" are published: they cannot be amended`);
      if (current.estimateGroup) {
        contradicts(
          amountArg,
          `The amounts of "${id}" are one of ${current.estimateGroup.size} parts of a published total (fact ali-projects-funded): changing one part alone would break the total`,
        );
      }
    }
    if (published && changes.statedRateLabel != null) contradicts('changes.statedRateLabel', `The rate label of "${id}" is published: it cannot be amended`);
    if (published && changes.provenance != null && changes.provenance !== 'PUBLISHED') {
      contradicts('changes.provenance', `"${id}" is published: its provenance cannot be changed`);
    }
    if (current.estimateGroup && changes.provenance != null && changes.provenance !== current.provenance) {
      contradicts('changes.provenance', `"${id}" is part of the estimated split of a published total (fact ali-projects-funded): its provenance stays ${current.provenance}`);
    }
    const totalValue = changes.totalValue ?? fromStored(current.totalValue)!;
    const cofinancing = changes.cofinancing ?? fromStored(current.cofinancing)!;
    checkAmounts(totalValue, cofinancing, 'changes.totalValue', 'changes.cofinancing');
    return { ...set, totalValue, cofinancing };
  });
}
