/**
 * Writes of the alliances subgraph: a Comune joining or leaving its ALI. Returns the change
 * (before/after) for the subscription events (data/events.ts); versions, claims and the audit
 * record are lib/writes.ts's.
 *
 * Domain rules: an ALI serves the Comuni of its province (one ALI per province: fact
 * ali-established), so a Comune joins its province's ALI or none; moving to another province's
 * ALI is refused. The published totals (facts member-comuni: 1,072 members, small-member-comuni:
 * 1,004 small) describe the seeded, derived membership; once an editor records a change, the
 * network totals count the recorded membership (they are computed, never stored).
 */
import { badInput } from '../../../lib/errors.ts';
import { checkAllianceId, checkIstatCode, PROVINCES } from '../../../lib/domain/registry.ts';
import { checkEnteredProvenance, checkText, updateVersioned, type Change, type Writer } from '../../../lib/writes.ts';
import type { MutationChangeMembershipArgs } from '../__generated__/types.ts';
import { MUNICIPALITIES, type MunicipalityDoc } from './collections.ts';

const MAX_NOTE = 500;

/** Sets or clears the membership of the Comune `istatCode` at `expectedVersion`. */
export function changeMembership(w: Writer, args: MutationChangeMembershipArgs): Promise<Change<MunicipalityDoc>> {
  const { istatCode, expectedVersion } = args;
  checkIstatCode(istatCode, 'istatCode');
  const allianceId = args.allianceId == null ? null : checkAllianceId(args.allianceId, 'allianceId');
  let provenance: MunicipalityDoc['membershipProvenance'] = null;
  let note: string | null = null;
  if (allianceId) {
    if (args.provenance == null) throw badInput('provenance', 'Joining an ALI needs the provenance of the membership (PUBLISHED, ESTIMATED or SAMPLE)');
    provenance = checkEnteredProvenance(args.provenance, 'provenance');
    note = args.note == null ? null : checkText(args.note, 'note', MAX_NOTE);
  } else if (args.provenance != null || args.note != null) {
    throw badInput(args.provenance != null ? 'provenance' : 'note', 'Leaving the network records no membership: give no provenance or note');
  }
  return updateVersioned<MunicipalityDoc>(
    w,
    { collection: MUNICIPALITIES, what: 'municipality', id: istatCode, idArgument: 'istatCode', expectedVersion },
    (current) => {
      if (allianceId === null && current.allianceId === null) throw badInput('allianceId', `${current.name} is not a member of any ALI`);
      if (allianceId !== null) {
        const own = PROVINCES.find((p) => p.code === current.provinceCode)?.allianceId;
        if (allianceId !== own) {
          throw badInput('allianceId', `${current.name} is in province ${current.provinceCode}: it can join only ${own} (one ALI per province, fact ali-established)`);
        }
        // Re-stating a membership may change its provenance (e.g. confirm a DERIVED one); an identical one changes nothing.
        if (current.allianceId === allianceId && current.membershipProvenance === provenance && (current.membershipNote ?? null) === note) {
          throw badInput('allianceId', `${current.name} is a member of ${allianceId} already, with that provenance and note`);
        }
      }
      return { allianceId, membershipProvenance: provenance, membershipNote: note };
    },
  );
}
