/**
 * Named data functions of the reuse subgraph: every MongoDB query it runs lives here.
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
import type { AdoptionFilter } from '../__generated__/types.ts';
import { ADOPTIONS, REUSE_SOLUTIONS, type AdoptionDoc, type ReuseSolutionDoc } from './collections.ts';
import { SOLUTIONS } from './seed.ts';
import { checkProvinceCode, checkIstatCode } from '../../../lib/domain/registry.ts';


/** The one ordering of adoption lists: by Comune, then by id (i.e. by solution within a Comune). */
export const BY_COMUNE: Ordering = ordering('ISTAT_CODE_ASC', ['istatCode', 1], ['_id', 1]);

const SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
// The catalogue is the fixed list the source publishes (fact reuse-solutions); the API creates no solutions.
const SOLUTION_IDS = new Set(SOLUTIONS.map((s) => s._id));

/** A well-formed solution id (a lower-case slug); BAD_USER_INPUT otherwise. */
export function checkSolutionIdFormat(id: string, argument = 'id'): string {
  if (id.length > 100 || !SLUG_RE.test(id)) throw badInput(argument, `"${id}" is not a reuse solution id (a lower-case slug)`);
  return id;
}

/** The id of a solution of the catalogue; BAD_USER_INPUT otherwise. */
export function checkSolutionId(id: string, argument = 'solutionId'): string {
  if (!SOLUTION_IDS.has(id)) throw badInput(argument, `"${id}" is not a reuse solution (${[...SOLUTION_IDS].join(', ')})`);
  return id;
}

/** The MongoDB filter of an adoption list filter, validating every value. */
export function adoptionFilter(filter: AdoptionFilter | null | undefined): Filter<Document> {
  if (!filter) return {};
  const f: Document = {};
  if (filter.solutionId != null) f.solutionId = checkSolutionId(filter.solutionId, 'filter.solutionId');
  if (filter.status != null) f.status = filter.status;
  if (filter.provinceCode != null) f.provinceCode = checkProvinceCode(filter.provinceCode, 'filter.provinceCode');
  if (filter.municipalityIstatCode != null) {
    f.istatCode = checkIstatCode(filter.municipalityIstatCode, 'filter.municipalityIstatCode');
  }
  return f;
}

export interface AdoptionListArgs extends PageArgs {
  readonly filter?: AdoptionFilter | null;
}

/** A page of adoptions, projected to `fields`. */
export function findAdoptions(
  db: Db,
  limits: PageLimits,
  args: AdoptionListArgs,
  fields: readonly string[],
): Promise<Connection<AdoptionDoc>> {
  return findPage(db.collection<AdoptionDoc>(ADOPTIONS), {
    filter: adoptionFilter(args.filter),
    order: BY_COMUNE,
    args,
    limits,
    projection: projectionOf(fields),
  });
}


/** The whole catalogue, in id order. */
export function listSolutions(db: Db, fields: readonly string[]): Promise<ReuseSolutionDoc[]> {
  return db
    .collection<ReuseSolutionDoc>(REUSE_SOLUTIONS)
    .find({}, { projection: projectionOf(fields), sort: { _id: 1 } })
    .toArray();
}
