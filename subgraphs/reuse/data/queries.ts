/**
 * Named data functions of the reuse subgraph: every MongoDB query it runs lives here.
 */
import type { Db, Document, Filter } from 'mongodb';
import { badInput } from '../../../lib/errors.ts';
import { projectionOf } from '../../../lib/loaders.ts';
import {
  findPage,
  findPagesByParent,
  ordering,
  type Connection,
  type Ordering,
  type PageArgs,
  type PageLimits,
} from '../../../lib/pagination.ts';
import { PROVINCES } from '../../../lib/domain/registry.ts';
import type { AdoptionFilter } from '../__generated__/types.ts';
import { ADOPTIONS, REUSE_SOLUTIONS, type AdoptionDoc, type ReuseSolutionDoc } from './collections.ts';
import { SOLUTIONS } from './seed.ts';

/** The one ordering of adoption lists: by Comune, then by id (i.e. by solution within a Comune). */
export const BY_COMUNE: Ordering = ordering('ISTAT_CODE_ASC', ['istatCode', 1], ['_id', 1]);

const ISTAT_CODE_RE = /^\d{6}$/;
const SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const PROVINCE_CODES = new Set(PROVINCES.map((p) => p.code));
// The catalogue is the fixed list the source publishes (F15); the API creates no solutions.
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

export function checkProvinceCode(code: string, argument = 'provinceCode'): string {
  if (!PROVINCE_CODES.has(code)) {
    throw badInput(argument, `"${code}" is not the ISTAT code of a Piedmont province (${[...PROVINCE_CODES].join(', ')})`);
  }
  return code;
}

export function checkIstatCode(code: string, argument = 'istatCode'): string {
  if (!ISTAT_CODE_RE.test(code)) throw badInput(argument, `"${code}" is not an ISTAT municipality code (six digits)`);
  return code;
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

/** Key of one solution's page of adoptions in a batch: the solution and everything that shapes the page. */
export interface SolutionPageKey {
  readonly solutionId: string;
  readonly args: AdoptionListArgs;
  readonly fields: readonly string[];
}

/**
 * Pages of adoptions of many solutions: per distinct (arguments, fields), one `find` — a plain
 * page query for a single solution, `findPagesByParent` for several. `totalCount` goes to `count`.
 */
export async function adoptionPagesBySolution(
  db: Db,
  limits: PageLimits,
  keys: readonly SolutionPageKey[],
  count: (key: SolutionCountKey) => Promise<number>,
): Promise<(Connection<AdoptionDoc> | Error)[]> {
  const collection = db.collection<AdoptionDoc>(ADOPTIONS);
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const g = JSON.stringify([k.args, k.fields]);
    groups.set(g, [...(groups.get(g) ?? []), i]);
  });
  const out: (Connection<AdoptionDoc> | Error)[] = new Array(keys.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const first = keys[indexes[0]!]!;
      try {
        const query = {
          filter: adoptionFilter(first.args.filter),
          order: BY_COMUNE,
          args: first.args,
          limits,
          projection: projectionOf(first.fields),
        };
        const solutionIds = [...new Set(indexes.map((i) => keys[i]!.solutionId))];
        const pages =
          solutionIds.length === 1
            ? [await findPage(collection, { ...query, filter: { $and: [{ solutionId: solutionIds[0] }, query.filter] } })]
            : await findPagesByParent(collection, 'solutionId', solutionIds, query);
        for (const i of indexes) {
          const { solutionId, args } = keys[i]!;
          // totalCount through the batched counter: one aggregation for all solutions, not one count each.
          out[i] = { ...pages[solutionIds.indexOf(solutionId)]!, totalCount: () => count({ solutionId, filter: args.filter ?? null }) };
        }
      } catch (err) {
        for (const i of indexes) out[i] = err as Error;
      }
    }),
  );
  return out;
}

/** Key of one solution's adoption count in a batch. */
export interface SolutionCountKey {
  readonly solutionId: string;
  readonly filter: AdoptionFilter | null;
}

/**
 * Adoption counts of many solutions: one aggregation per distinct filter, a single `$sum`
 * accumulator grouped by solution (FerretDB 1.24 computes only the first accumulator).
 */
export async function countAdoptionsBySolution(db: Db, keys: readonly SolutionCountKey[]): Promise<(number | Error)[]> {
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const g = JSON.stringify(k.filter);
    groups.set(g, [...(groups.get(g) ?? []), i]);
  });
  const out: (number | Error)[] = new Array(keys.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      try {
        const ids = [...new Set(indexes.map((i) => keys[i]!.solutionId))];
        const rows = await db
          .collection(ADOPTIONS)
          .aggregate<{ _id: string; n: number | bigint }>([
            { $match: { $and: [{ solutionId: { $in: ids } }, adoptionFilter(keys[indexes[0]!]!.filter)] } },
            { $group: { _id: '$solutionId', n: { $sum: 1 } } },
          ])
          .toArray();
        const bySolution = new Map(rows.map((r) => [r._id, Number(r.n)]));
        for (const i of indexes) out[i] = bySolution.get(keys[i]!.solutionId) ?? 0;
      } catch (err) {
        for (const i of indexes) out[i] = err as Error;
      }
    }),
  );
  return out;
}

/** The whole catalogue, in id order. */
export function listSolutions(db: Db, fields: readonly string[]): Promise<ReuseSolutionDoc[]> {
  return db
    .collection<ReuseSolutionDoc>(REUSE_SOLUTIONS)
    .find({}, { projection: projectionOf(fields), sort: { _id: 1 } })
    .toArray();
}
