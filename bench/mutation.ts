// Wall time of the mutation run (the clean emulator and every bug switch, in
// process), as test/mutation.test.ts runs it. Prints figures; asserts nothing.
//   npx tsx bench/mutation.ts
import { runMutation } from '../harness/tools/mutation.ts';
import { ALL_CHECKS } from '../checks/index.ts';

const t0 = performance.now();
const report = await runMutation(ALL_CHECKS);
const ms = performance.now() - t0;
const runs = report.total + report.clean.length;
console.log(
  `mutation: ${report.total} switches + ${report.clean.length} clean revisions in ${(ms / 1000).toFixed(2)} s, ${(ms / runs).toFixed(0)} ms per suite run`,
);
