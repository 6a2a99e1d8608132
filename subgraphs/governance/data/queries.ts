/**
 * Named data functions of the governance subgraph: every MongoDB query it runs lives here.
 */
import type { Db, Document, Filter } from 'mongodb';
import { badInput } from '../../../lib/errors.ts';
import { projectionOf } from '../../../lib/loaders.ts';
import {
  findPage,
  ordering,
  type Connection,
  type Ordering,
  type PageArgs,
  type PageLimits,
} from '../../../lib/pagination.ts';
import {
  COMMITTEES,
  FACILITATORS,
  INSTITUTIONS,
  type CommitteeDoc,
  type FacilitatorDoc,
  type InstitutionDoc,
} from './collections.ts';
import { checkAllianceId } from '../../../lib/domain/registry.ts';


/** Newest meeting first; `_id` makes the keyset total. */
export const MEETING_ORDER: Ordering = ordering('DATE_DESC', ['date', -1], ['_id', 1]);
const FACILITATOR_ORDER: Ordering = ordering('NAME_ASC', ['name', 1], ['_id', 1]);

const SLUG_RE = /^[a-z][a-z0-9-]{0,63}$/;

/** Institution and committee ids are lower-case slugs ("cnipa", "steering-committee"). */
export function checkSlug(id: string, argument = 'id'): string {
  if (!SLUG_RE.test(id)) throw badInput(argument, `"${id}" is not a valid id (lower-case letters, digits and dashes)`);
  return id;
}

/** All institutions, in the order the source names them. */
export function listInstitutions(db: Db, fields: readonly string[]): Promise<InstitutionDoc[]> {
  return db.collection<InstitutionDoc>(INSTITUTIONS).find({}, { projection: projectionOf(fields), sort: { position: 1 } }).toArray();
}

/** Both committees, Steering Committee first. */
export function listCommittees(db: Db, fields: readonly string[]): Promise<CommitteeDoc[]> {
  return db.collection<CommitteeDoc>(COMMITTEES).find({}, { projection: projectionOf(fields), sort: { position: 1 } }).toArray();
}

export interface FacilitatorListArgs extends PageArgs {
  readonly allianceId?: string | null;
}

/** A page of facilitators by name, optionally only those serving one ALI. */
export function findFacilitators(
  db: Db,
  limits: PageLimits,
  args: FacilitatorListArgs,
  fields: readonly string[],
): Promise<Connection<FacilitatorDoc>> {
  const filter: Filter<Document> = args.allianceId != null ? { allianceIds: checkAllianceId(args.allianceId) } : {};
  return findPage(db.collection<FacilitatorDoc>(FACILITATORS), {
    filter,
    order: FACILITATOR_ORDER,
    args,
    limits,
    projection: projectionOf(fields),
  });
}

