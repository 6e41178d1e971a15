// docs/check-renames.tsv: every check of today is the new name of some old
// one, every new name in it is a check of today, and the verdict comparison
// and baseline conversion of scripts/check-renames.ts work on small inputs.
import t from 'tap';
import { ALL_CHECKS } from '../checks/index.ts';
import { PROFILES } from '../profiles/index.ts';
import { applicable } from '../harness/core/engine.ts';
import { compareVerdicts, loadRenames, renameBaseline, verdicts } from '../scripts/check-renames.ts';

const renames = loadRenames();
const today = new Set([...PROFILES.values()].flatMap((p) => applicable(ALL_CHECKS, p).map((c) => c.name)));

t.test('the table maps onto the checks of today, and covers them all', async (t) => {
  const targets = new Set(renames.values());
  t.same(
    [...targets].filter((n) => !today.has(n)),
    [],
    'every new name is a check',
  );
  t.same(
    [...today].filter((n) => !targets.has(n)),
    [],
    'every check has a row (new checks get one with old = new)',
  );
  t.same(
    [...renames.keys()].filter((k) => /^(mux|rmi)\//.test(renames.get(k)!)),
    [],
    'no new name keeps an era prefix',
  );
  t.equal(renames.get('mux/psci/bad-pointer'), 'psci-complete/bad-pointer');
  t.equal(renames.get('rmi/psci/bad-pointer'), 'psci-complete/bad-pointer', 'both eras, one name');
});

t.test('verdicts are compared by mapped name, directive included', async (t) => {
  const before =
    'KTAP version 1\n1..1\n  1..3\n  ok 1 - v7/misordering/create-in-new\n  ok 2 - v7/mux/psci/not-pending # TODO unread\n  not ok 3 - v7/config/rpv\nok 1 - v7\n';
  const same = '  1..3\n  ok 1 - v7/psci-complete/not-pending # TODO unread\n  not ok 2 - v7/config/rpv\n  ok 3 - v7/create-realm/in-new\n';
  t.same(compareVerdicts(verdicts(before, renames), verdicts(same)), [], 'the order of checks does not matter');
  const other = same.replace('ok 3 - v7/create-realm/in-new', 'not ok 3 - v7/create-realm/in-new').replace('# TODO unread', '# TODO other');
  t.same(compareVerdicts(verdicts(before, renames), verdicts(other)), [
    '~ v7/create-realm/in-new: before "ok", after "not ok"',
    '~ v7/psci-complete/not-pending: before "ok # TODO unread", after "ok # TODO other"',
  ]);
  t.same(compareVerdicts(verdicts(before, renames), verdicts(same.replace(/.*config\/rpv\n/, ''))), ['- v7/config/rpv: only before (not ok)']);
});

t.test('a baseline is converted; what cannot be mapped is named', async (t) => {
  const r = renameBaseline('# known\nv7/ipa-ranges/init-wrap  RMM bug\nrmi/populate/reserved kernel=6.1* x\nv7/ipa-ranges/init-*  splat=WARN* y\n', renames);
  t.equal(r.text, '# known\nv7/init-ripas/wrap  RMM bug\npopulate/reserved kernel=6.1* x\nv7/ipa-ranges/init-*  splat=WARN* y\n');
  t.same(r.unmapped, ['v7/ipa-ranges/init-*']);
});
