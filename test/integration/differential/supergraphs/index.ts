/** Every edge-case supergraph of the differential suite, in the order the test runs them. */
import type { DifferentialCase } from '../harness.ts';
import { errorsCase } from './errors.ts';
import { downCase, http500Case } from './failures.ts';
import { interfacesCase } from './interfaces.ts';
import { keysCase } from './keys.ts';
import { fragmentsAliasesCase, introspectionCase, requestErrorsCase, skipIncludeCase, typenameCase } from './operations.ts';
import { mutationsCase } from './mutations.ts';
import { overrideCase } from './override.ts';
import { providesCase } from './provides.ts';
import { requiresCase } from './requires.ts';
import { requiresArgumentsCase } from './requiresArguments.ts';
import { requiresConflictsCase } from './requiresConflicts.ts';
import { resolvableKeysCase } from './resolvableKeys.ts';
import { unionsCase } from './unions.ts';
import { unresolvableFieldsCase } from './unresolvableFields.ts';

export const CASES: readonly DifferentialCase[] = [
  keysCase,
  requiresCase,
  providesCase,
  overrideCase,
  interfacesCase,
  unionsCase,
  skipIncludeCase,
  fragmentsAliasesCase,
  requestErrorsCase,
  mutationsCase,
  typenameCase,
  errorsCase,
  downCase,
  http500Case,
  introspectionCase,
  // Where stock Apollo's query planner answers wrong and ours does not (gateway/apollo/planner.ts).
  resolvableKeysCase,
  unresolvableFieldsCase,
  requiresArgumentsCase,
  requiresConflictsCase,
];
