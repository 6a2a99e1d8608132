/**
 * Ready example operations answering the analysts' main questions. Each is a `.graphql` file in
 * examples/, opened in a tab of its own from the Examples panel (test/e2e/browser/explorer.test.ts
 * runs every one through the gateway). Their titles and questions are in the message catalogues
 * (ui/i18n); the operations, GraphQL and their comments, are the same in every language.
 */
import type { Messages } from '../i18n/index.ts';
import smallComuniInAliCuneo from './examples/smallComuniInAliCuneo.graphql';
import cnipaCofinancedProjects from './examples/cnipaCofinancedProjects.graphql';
import fundingByAlliance from './examples/fundingByAlliance.graphql';
import fundingByProvince from './examples/fundingByProvince.graphql';
import fundingBySource from './examples/fundingBySource.graphql';
import smallComuniCoverage from './examples/smallComuniCoverage.graphql';
import reuseAdoption from './examples/reuseAdoption.graphql';
import fourthSupplementaryAct from './examples/fourthSupplementaryAct.graphql';
import alliancesFundingDeferred from './examples/alliancesFundingDeferred.graphql';

export type ExampleId = keyof Messages['explorer']['exampleTexts'];

export interface Example {
  /** Stable id, used as the list item's `data-example`; names its title and question in the catalogues. */
  readonly id: ExampleId;
  /** The operation; its variables have defaults, shown in its comments. */
  readonly query: string;
}

export const EXAMPLES: readonly Example[] = [
  { id: 'small-comuni-ali-cuneo', query: smallComuniInAliCuneo },
  { id: 'cnipa-cofinanced-projects', query: cnipaCofinancedProjects },
  { id: 'funding-by-alliance', query: fundingByAlliance },
  { id: 'funding-by-province', query: fundingByProvince },
  { id: 'funding-by-source', query: fundingBySource },
  { id: 'small-comuni-coverage', query: smallComuniCoverage },
  { id: 'reuse-adoption', query: reuseAdoption },
  { id: 'alliances-funding-deferred', query: alliancesFundingDeferred },
  { id: 'fourth-supplementary-act', query: fourthSupplementaryAct },
];
