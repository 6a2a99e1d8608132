/**
 * Writes of the reuse subgraph: registering a Comune's adoption of a reuse solution and moving it
 * through its lifecycle. Each returns the change (before/after) for the subscription events (data/events.ts);
 * versions, claims and the audit record are lib/writes.ts's.
 */
import { badInput } from '../../../lib/errors.ts';
import { checkMunicipality } from '../../../lib/domain/registry.ts';
import { checkDate, checkEnteredProvenance, insertAudited, updateVersioned, type Change, type Writer } from '../../../lib/writes.ts';
import type { AdoptionStatus, MutationChangeAdoptionStatusArgs, RegisterAdoptionInput } from '../__generated__/types.ts';
import { ADOPTIONS, type AdoptionDoc } from './collections.ts';
import { checkSolutionId } from './queries.ts';

const WHAT = 'adoption';

/** startedOn agrees with the status: none while PLANNED, and within the date bounds. */
function checkStart(status: AdoptionStatus, startedOn: string | null | undefined, argument: string): string | null {
  if (startedOn == null) return null;
  if (status === 'PLANNED') throw badInput(argument, `${argument} must be empty while the adoption is PLANNED (it has not started)`);
  return checkDate(startedOn, argument);
}

/**
 * A new adoption, id "<solution>:<ISTAT code>" like the seeded ones, version 1. Any Comune of
 * Piedmont may adopt (reuse is open to every Entity; membership lives in another subgraph).
 */
export function registerAdoption(w: Writer, input: RegisterAdoptionInput): Promise<Change<AdoptionDoc>> {
  const solutionId = checkSolutionId(input.solutionId, 'input.solutionId');
  const comune = checkMunicipality(input.municipalityIstatCode, 'input.municipalityIstatCode');
  const status = input.status ?? 'PLANNED';
  const startedOn = checkStart(status, input.startedOn, 'input.startedOn');
  const provenance = checkEnteredProvenance(input.provenance, 'input.provenance');
  return insertAudited<AdoptionDoc>(w, { collection: ADOPTIONS, what: WHAT }, {
    _id: `${solutionId}:${comune.istatCode}`,
    solutionId,
    istatCode: comune.istatCode,
    provinceCode: comune.provinceCode,
    status,
    startedOn,
    provenance,
  });
}

/**
 * Moves an adoption to `status` (another one: the same status is BAD_USER_INPUT). A started
 * adoption cannot return to PLANNED; `startedOn` sets or corrects the start date.
 */
export function changeAdoptionStatus(w: Writer, args: MutationChangeAdoptionStatusArgs): Promise<Change<AdoptionDoc>> {
  const { id, status, expectedVersion } = args;
  if (args.startedOn != null) checkStart(status, args.startedOn, 'startedOn');
  return updateVersioned<AdoptionDoc>(w, { collection: ADOPTIONS, what: WHAT, id, expectedVersion }, (current) => {
    if (current.status === status && args.startedOn == null) throw badInput('status', `The adoption "${id}" is ${status} already`);
    if (status === 'PLANNED' && current.status !== 'PLANNED') {
      throw badInput('status', `The adoption "${id}" has started (${current.status}): it cannot return to PLANNED`);
    }
    return { status, startedOn: args.startedOn ?? current.startedOn ?? null };
  });
}
