// npm test runs the suite once per emulator bug switch (issue 2): every switch
// must be caught by at least one named check, and the clean emulator must pass.
import t from 'tap';
import { formatMutation, runMutation } from '../harness/tools/mutation.ts';
import { listEmulatorBugs } from '../harness/core/targets/index.ts';
import { ALL_CHECKS } from '../checks/index.ts';

// The whole catalogue runs before the first test: on a loaded 2-core machine that is over 30 s.
t.setTimeout(900000); // every switch on every revision it has: minutes on a loaded 2-core machine
// Each switch's run of a revision stops at its first catch (the checks of its `breaks` keys first):
// caught or not is the same as with the whole suite, in a fraction of the time.
const report = await runMutation(ALL_CHECKS, { firstCatch: true });

t.test('the clean emulator fails no check', async (t) => {
  t.ok(report.clean.length > 0, 'at least one revision ran');
  for (const c of report.clean) {
    t.notOk(c.untestable, `${c.abi} has a profile`);
    t.same(c.failed, [], `clean ${c.abi}: ${c.checks} checks`);
  }
});

t.test('every bug switch is caught by a named check', async (t) => {
  t.equal(report.total, listEmulatorBugs().length, 'one result per switch in the catalogue');
  t.ok(report.total >= 12, `the catalogue has ${report.total} switches`);
  for (const s of report.switches) {
    const by = s.runs.flatMap((r) => r.failed);
    t.ok(s.caught, `${s.bug.name} [${s.bug.revisions.join(', ')}] caught by ${by.join(', ') || 'nothing'}`);
  }
  t.equal(report.caught, report.total);
  t.match(formatMutation(report).at(-1), new RegExp(`^kill rate: ${report.total}/${report.total} switches caught \\(100\\.0%\\)$`));
});

t.test('a switch no check catches fails the run', async (t) => {
  // A switch whose revision has no profile cannot be caught: it must count as a hole, not pass.
  const r = await runMutation(ALL_CHECKS, { bugs: [{ name: 'imaginary', description: 'x', revisions: ['v99'], source: 'test' }] });
  t.equal(r.ok, false);
  t.equal(r.caught, 0);
  t.match(formatMutation(r).join('\n'), /NOT CAUGHT {2}imaginary \[v99\][\s\S]*v99: no ABI profile for v99[\s\S]*kill rate: 0\/1 switches caught \(0\.0%\)/);
});
// Its speed is a figure of bench/mutation.ts, not an assertion here.
