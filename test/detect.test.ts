// --abi auto on the emulator: every revision the emulator models must be
// identified (v2/v3/v4/v6 as one group with the same observable ABI), the
// absent kernel as 'absent'; a revision the emulator does not model yet is a
// todo, not a pass.
import t from 'tap';
import { ALL_REVISIONS, getProfile } from '../profiles/index.ts';
import type { AbiName, AbiProfile } from '../profiles/types.ts';
import { detectAbi, formatDetection } from '../harness/tools/detect.ts';
import { EmulatorTarget } from '../harness/core/targets/emulator.ts';

const GROUP: readonly AbiName[] = ['v2', 'v3', 'v4', 'v6'];

async function detectOn(p: AbiProfile, rmm?: { present: boolean }) {
  const target = new EmulatorTarget({ abi: p, ...(rmm ? { rmm } : {}) });
  await target.start();
  const s = await target.session();
  try {
    return await detectAbi(s);
  } finally {
    await s.close();
    await target.stop();
  }
}

for (const name of [...ALL_REVISIONS, 'absent' as const]) {
  const p = getProfile(name)!;
  let supported = true;
  try {
    new EmulatorTarget({ abi: p });
  } catch {
    supported = false;
  }
  t.test(`detects ${name}`, { todo: supported ? false : `the emulator does not model ${name} yet` }, async (t) => {
    const d = await detectOn(p);
    t.notOk(d.ambiguous, formatDetection(d));
    if (GROUP.includes(name)) {
      t.equal(d.abi, 'v6', 'the group runs its newest profile');
      t.same(d.group, GROUP, 'and says which revisions it cannot tell apart');
    } else t.equal(d.abi, name, d.reason);
    t.ok(d.evidence.length >= 9, 'every probe is in the evidence');
  });
}

t.test('a CAP number alone is never trusted', async (t) => {
  // RFC v1 without an RMM: CAP 300 reads 0 and realm type 0x100 makes a normal VM (R1-VM4): ambiguous, exit 2
  const d = await detectOn(getProfile('rfc-v1')!, { present: false });
  t.ok(d.ambiguous, d.reason);
  t.match(formatDetection(d), /refusing to guess/);
});
