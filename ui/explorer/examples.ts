/**
 * Ready example operations answering the analysts' main questions. Each is a `.graphql` file in
 * examples/, opened in a tab of its own from the Examples panel (test/e2e/browser/explorer.test.ts
 * runs every one through the gateway).
 */
import smallComuniInAliCuneo from './examples/smallComuniInAliCuneo.graphql';
import cnipaCofinancedProjects from './examples/cnipaCofinancedProjects.graphql';
import fundingByAlliance from './examples/fundingByAlliance.graphql';
import fundingByProvince from './examples/fundingByProvince.graphql';
import fundingBySource from './examples/fundingBySource.graphql';
import smallComuniCoverage from './examples/smallComuniCoverage.graphql';
import reuseAdoption from './examples/reuseAdoption.graphql';
import fourthSupplementaryAct from './examples/fourthSupplementaryAct.graphql';

export interface Example {
  /** Stable id, used as the list item's `data-example`. */
  readonly id: string;
  readonly title: string;
  /** The question it answers, shown under the title. */
  readonly question: string;
  /** The operation; its variables have defaults, shown in its comments. */
  readonly query: string;
}

export const EXAMPLES: readonly Example[] = [
  {
    id: 'small-comuni-ali-cuneo',
    title: 'Small Comuni in ALI Cuneo',
    question: 'How many small Comuni are members of ALI Cuneo, and which are the largest?',
    query: smallComuniInAliCuneo,
  },
  {
    id: 'cnipa-cofinanced-projects',
    title: 'Projects co-financed by CNIPA',
    question: 'Which projects did CNIPA co-finance, and at what rate (computed vs. stated)?',
    query: cnipaCofinancedProjects,
  },
  {
    id: 'funding-by-alliance',
    title: 'Funding by ALI',
    question: 'Total value and CNIPA co-financing of the projects of each ALI.',
    query: fundingByAlliance,
  },
  {
    id: 'funding-by-province',
    title: 'Funding by province',
    question: 'The same totals per province; the reuse projects are region-wide.',
    query: fundingByProvince,
  },
  {
    id: 'funding-by-source',
    title: 'Funding by source',
    question: 'Funds per funding source, with the amount each source made available where published.',
    query: fundingBySource,
  },
  {
    id: 'small-comuni-coverage',
    title: 'Coverage of small Comuni by province',
    question: 'What share of each province’s small Comuni are ALI members?',
    query: smallComuniCoverage,
  },
  {
    id: 'reuse-adoption',
    title: 'Adoption of the reuse solutions',
    question: 'How many Comuni adopted each of the three reuse solutions, by status (sample data)?',
    query: reuseAdoption,
  },
  {
    id: 'fourth-supplementary-act',
    title: '4th Supplementary Act',
    question: 'Who signed the 4th Supplementary Act, which resolution approved it, what it funds.',
    query: fourthSupplementaryAct,
  },
];
