// Every expectation can fail. For each revision and each expected result in
// its profile, a self-test profile flips that one value (an errno becomes
// E2BIG, which no uAPI call here returns; a success becomes E2BIG; a pinned
// return value is moved by one; a promised oops becomes an errno) with UNCONFIRMED cleared so the check is
// enforced, and the checks that read the key run on the clean emulator:
// at least one must fail. A key no check fails on is a check that cannot
// fail, and this test names it. (Emulator bug switches are the other
// counterpart: test/mutation.test.ts.)
import t from 'tap';
import { PROFILES } from '../profiles/index.ts';
import type { AbiProfile, Expect, ExpectKey } from '../profiles/types.ts';
import { applicable, runChecks, type CheckDef, type CheckOutcome } from '../harness/core/engine.ts';
import { createTargetSync } from '../harness/core/targets/index.ts';
import { ALL_CHECKS } from '../checks/index.ts';

t.setTimeout(300000);

/** The same promise, made wrong. */
function flipped(e: Expect): Expect {
  // A promised oops becomes a promised errno: the check must then see the crash as wrong.
  const { unconfirmed: _u, crash: _c, ...rest } = e;
  if (e.errno === 0 && e.ret !== undefined) return { ...rest, ret: e.ret + 1 };
  return { ...rest, errno: e.errno === 'E2BIG' ? 'EINVAL' : 'E2BIG' };
}

/** The profile with every UNCONFIRMED mark cleared (the emulator models those values too). */
function enforced(abi: AbiProfile): AbiProfile {
  const expect = Object.fromEntries(Object.entries(abi.expect).map(([k, e]) => [k, { ...e, unconfirmed: undefined }]));
  return { ...abi, expect };
}

/** The checks `defs` on a clean emulator of `abi`, judged by `profile`. */
async function runOn(abi: AbiProfile, profile: AbiProfile, defs: CheckDef[]): Promise<CheckOutcome[]> {
  const target = createTargetSync('emulator', { abi });
  await target.start();
  return runChecks(defs, {
    abi: profile,
    target,
    targetKind: 'emulator',
    allowCrash: true,
    callTimeoutMs: 5000,
    checkTimeoutMs: 20000,
    targetFor: (s) => createTargetSync('emulator', { abi, emulatorSettings: s }),
  });
}

const runFor = (abi: AbiProfile, key: ExpectKey, profile: AbiProfile): Promise<CheckOutcome[]> =>
  runOn(
    abi,
    profile,
    applicable(ALL_CHECKS, abi).filter((d) => d.expects.includes(key)),
  );

const failed = (o: CheckOutcome): boolean => o.assertions.some((a) => !a.ok);

t.test('flipping any expectation of any revision fails a check that reads it', async (t) => {
  let keys = 0;
  for (const [name, abi] of PROFILES) {
    const base = enforced(abi);
    const unenforced: string[] = [];
    const unread: string[] = [];
    for (const [k, e] of Object.entries(abi.expect) as [ExpectKey, Expect | undefined][]) {
      if (!e) continue;
      keys++;
      const mutant: AbiProfile = { ...base, expect: { ...base.expect, [k]: flipped(e) } };
      const outs = await runFor(abi, k, mutant);
      if (outs.length === 0) unread.push(k);
      else if (!outs.some(failed)) unenforced.push(`${k} (${outs.map((o) => o.name).join(', ')})`);
    }
    t.same(unread, [], `${name}: every expectation is read by a check`);
    t.same(unenforced, [], `${name}: every expectation, made wrong, fails a check`);
  }
  t.ok(keys > 1000, `${keys} expectations flipped`);
});

t.test('and the clean profiles (UNCONFIRMED enforced) pass, so a failure above is the flip', async (t) => {
  for (const [name, abi] of PROFILES) {
    const outs = await runOn(abi, enforced(abi), applicable(ALL_CHECKS, abi));
    t.same(
      outs.filter(failed).map((o) => o.name),
      [],
      `${name}: no check fails`,
    );
  }
});
