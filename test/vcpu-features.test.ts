// Checks that need an optional vCPU feature (SVE) skip with a reason on a
// target whose KVM does not offer it, and run where it does. The emulator's
// host answers KVM_CHECK_EXTENSION(KVM_CAP_ARM_SVE) from its settings.
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
import { applicable, probeVcpuFeatures, runChecks } from '../harness/core/engine.ts';
import { EmulatorTarget } from '../harness/core/targets/emulator.ts';
import { ktapLine } from '../harness/tools/report/ktap.ts';
import { ALL_CHECKS } from '../checks/index.ts';

for (const rev of ['v7', 'v14']) {
  t.test(`${rev}: the SVE checks`, async (t) => {
    const abi = getProfile(rev)!;
    // the checks that run on the target given (a check with its own emulator settings gets its own target)
    const sve = applicable(ALL_CHECKS, abi).filter((c) => c.needs?.includes('sve') && !c.emulatorSettings);
    t.ok(sve.length >= 2, `checks that need SVE: ${sve.map((c) => c.name).join(', ')}`);
    for (const hostSve of [false, true]) {
      const target = new EmulatorTarget({ abi, host: { sve: hostSve } });
      await target.start();
      t.same(
        [...(await probeVcpuFeatures(target, 1000))],
        [
          ['sve', hostSve],
          ['el1_32bit', false],
        ],
        `probe reads sve=${String(hostSve)} (and no AArch32 EL1, the default host)`,
      );
      const outs = await runChecks(sve, { abi, target, targetKind: 'emulator', allowCrash: true, callTimeoutMs: 1000, checkTimeoutMs: 5000 });
      await target.stop();
      if (hostSve)
        t.same(
          outs.map((o) => o.status),
          sve.map(() => 'pass'),
          'run where the vCPU has SVE',
        );
      else {
        t.same(
          outs.map((o) => o.status),
          sve.map(() => 'skip'),
        );
        t.match(ktapLine(outs[0]!, 1), /^ok 1 - \S+ # SKIP needs SVE: the target's vCPU has none \(KVM_CHECK_EXTENSION\(KVM_CAP_ARM_SVE\) = 0\)\n$/);
      }
    }
  });
}
