// Success values are pinned (docs/spec/uapi.md#success-values): a kernel that
// answers a "0 on success" ioctl with a positive value fails the check, even
// where the profile names no value. The target is the emulator behind a
// wrapper that turns every successful KVM_ENABLE_CAP into a return of 1 (the
// RFC v1 series did return raw positive RMI status codes in one path: R1-PO10).
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
import { applicable, runChecks } from '../harness/core/engine.ts';
import * as K from '../uapi/kvm-uapi.ts';
import type { Target } from '../harness/core/target.ts';
import { interceptedEmulator } from './lib/intercept.ts';
import { ALL_CHECKS } from '../checks/index.ts';

/** The emulator, except that a successful ENABLE_CAP returns 1. */
function positiveSuccess(abiName: string): Target {
  return interceptedEmulator(abiName, async (req, call) => {
    const r = await call();
    return req.op === 'ioctl' && req.req === K.KVM_ENABLE_CAP && r.ret === 0 ? { ...r, ret: 1 } : r;
  });
}

for (const abiName of ['rfc-v1', 'v7', 'v10']) {
  t.test(`${abiName}: an ENABLE_CAP success that returns 1 fails the checks that expect its success`, async (t) => {
    const abi = getProfile(abiName)!;
    const defs = applicable(ALL_CHECKS, abi).filter((d) => d.expects.includes('create.ok'));
    t.ok(defs.length > 0, 'checks expect create.ok');
    const target = positiveSuccess(abiName);
    await target.start();
    const out = await runChecks(defs, {
      abi,
      target,
      targetKind: 'emulator',
      allowCrash: false,
      callTimeoutMs: 5000,
      checkTimeoutMs: 30000,
      afterwards: false,
    });
    await target.stop();
    const judged = out.flatMap((o) => o.assertions).filter((a) => (a.call ?? '').includes('CREATE') && a.expected?.errno === '0');
    t.ok(judged.length > 0, 'a CREATE success was judged');
    t.ok(
      judged.every((a) => !a.ok && a.message.includes('= 1, expected 0')),
      'each says it expected exactly 0',
    );
  });
}
