// Reproducers from outside (bug reports, mails): declarative scenario files in
// fixtures/scenarios/, each run as the check "scenario/<name>". A reproducer
// becomes a regression check by adding one file; see harness/core/steps.ts for the format.
import { fileURLToPath } from 'node:url';
import type { CheckDef } from '../harness/core/engine.ts';
import { loadScenarioDir, scenarioCheck } from '../harness/core/steps.ts';

const DIR = fileURLToPath(new URL('../fixtures/scenarios/', import.meta.url));

/** Loaded at import: a malformed file throws ScenarioError (file:line: problem), which the CLI reports with exit 2. */
export const checks: CheckDef[] = loadScenarioDir(process.env.KVM_CCA_SCENARIO_DIR || DIR).map((sc) => ({
  ...scenarioCheck(sc, 'scenario', 'scenario'),
  area: 'scenario',
}));
