/** Demand control: the cost directives of a supergraph, the estimated and the actual cost of an operation. */
export { costDirectivesOrNone, NO_COST_DIRECTIVES, readCostDirectives, unsizedListFields } from './directives.ts';
export { CostError, type CostOptions } from './analysis.ts';
export { costVariables, estimateCost, MAX_COST_NODES } from './estimate.ts';
export { ActualCost } from './actual.ts';
export { collectFields, fragmentsOf, type Fragments } from './selections.ts';
