/**
 * Named data functions of the reuse subgraph: every MongoDB query it runs lives here.
 */
import type { Db, Document, Filter } from 'mongodb';
import { badInput } from '../../../lib/errors.ts';
import { groupByKeys, projectionOf, type EntityKey } from '../../../lib/loaders.ts';
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
 * page query for a single solution, `findPagesByParent` for several.
 */
export async function adoptionPagesBySolution(
  db: Db,
  limits: PageLimits,
  keys: readonly SolutionPageKey[],
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
        for (const i of indexes) out[i] = pages[solutionIds.indexOf(keys[i]!.solutionId)]!;
      } catch (err) {
        for (const i of indexes) out[i] = err as Error;
      }
    }),
  );
  return out;
}

/**
 * Adoptions of many Comuni (Municipality.adoptions for a whole `_entities` fetch): one `find`
 * with `istatCode: {$in}` whose projection is the union of the fields asked, grouped back per Comune.
 */
export async function adoptionsOfMunicipalities(db: Db, keys: readonly EntityKey<string>[]): Promise<AdoptionDoc[][]> {
  const codes = [...new Set(keys.map((k) => k.id))];
  const whole = keys.some((k) => k.fields === null);
  const docs = await db
    .collection<AdoptionDoc>(ADOPTIONS)
    .find(
      { istatCode: { $in: codes } },
      {
        sort: { istatCode: 1, _id: 1 },
        ...(whole ? {} : { projection: projectionOf(['istatCode', ...keys.flatMap((k) => k.fields ?? [])]) }),
      },
    )
    .toArray();
  return groupByKeys(
    keys.map((k) => k.id),
    docs,
    (d) => d.istatCode,
  );
}

/** The whole catalogue, in id order. */
export function listSolutions(db: Db, fields: readonly string[]): Promise<ReuseSolutionDoc[]> {
  return db
    .collection<ReuseSolutionDoc>(REUSE_SOLUTIONS)
    .find({}, { projection: projectionOf(fields), sort: { _id: 1 } })
    .toArray();
}
