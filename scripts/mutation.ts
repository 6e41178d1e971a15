// npm run mutation [-- BUG...]: the suite against every emulator bug switch,
// in-process. Prints each switch with the checks that caught it and the kill
// rate; exit 1 if a switch is not caught or the clean emulator fails a check.
import { formatMutation, runMutation } from '../harness/tools/mutation.ts';
import { ALL_CHECKS } from '../checks/index.ts';

const t0 = performance.now();
const report = await runMutation(ALL_CHECKS, { only: process.argv.slice(2) });
for (const l of formatMutation(report)) process.stdout.write(`${l}\n`);
process.stdout.write(`# ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
process.exitCode = report.ok ? 0 : 1;
