/**
 * The funding subgraph's per-request DataLoaders. `createLoaders` is called for every request by
 * `createData` (context.ts), never at module scope.
 */
import type { Db } from 'mongodb';
import { entityLoader, groupLoader } from '../../../lib/loaders.ts';
import type { PageLimits } from '../../../lib/pagination.ts';
import {
  AGREEMENTS,
  CALLS,
  FUNDED_PROJECTS,
  FUNDING_SOURCES,
  type AgreementDoc,
  type CallDoc,
  type FundedProjectDoc,
  type FundingSourceDoc,
} from './collections.ts';

export function createLoaders(db: Db, _limits: PageLimits) {
  const projects = db.collection<FundedProjectDoc>(FUNDED_PROJECTS);
  const byTitle = { titleKey: 1, _id: 1 };
  return {
    fundingSource: entityLoader<FundingSourceDoc>(db.collection(FUNDING_SOURCES)),
    agreement: entityLoader<AgreementDoc>(db.collection(AGREEMENTS)),
    call: entityLoader<CallDoc>(db.collection(CALLS)),
    project: entityLoader<FundedProjectDoc>(projects),
    projectsByAlliance: groupLoader<FundedProjectDoc>(projects, 'allianceId', { sort: byTitle }),
    projectsByReuseSolution: groupLoader<FundedProjectDoc>(projects, 'reuseSolutionId', { sort: byTitle }),
    projectsByAgreement: groupLoader<FundedProjectDoc>(projects, 'agreementId', { sort: byTitle }),
    projectsByCall: groupLoader<FundedProjectDoc>(projects, 'callId', { sort: byTitle }),
    callsByFundingSource: groupLoader<CallDoc>(db.collection(CALLS), 'fundingSourceId'),
    actsByFramework: groupLoader<AgreementDoc>(db.collection(AGREEMENTS), 'frameworkId', { sort: { ordinal: 1, _id: 1 } }),
  };
}
