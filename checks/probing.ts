// KVM_CHECK_EXTENSION: what a VMM asks before it commits to a realm, on
// /dev/kvm, a normal VM and a realm VM, in both eras.
import * as K from '../uapi/kvm-uapi.ts';
import type { CheckContext } from '../harness/core/engine.ts';
import type { CallResult } from '../harness/core/calls.ts';
import { REALM_IPA_BITS } from '../fixtures/layout.ts';
import { RME_AFTER_RFC, RME_ERA, RMI_ERA } from './eras.ts';
import { check, stimuli } from './table.ts';
import { EMULATED_CAP, MORE_ARM64_CAP } from '../uapi/kvm.ts';

/**
 * arm64 CAPs a normal VM answers (the arch part of KVM_CHECK_EXTENSION) that
 * are not on the realm allowlist (V14-CE2): a realm VM must read 0 for each.
 * ARM_EL1_32BIT, the one the suite had, is last.
 */
const HIDDEN_ARM64_CAPS: readonly [number, string][] = [
  [MORE_ARM64_CAP.KVM_CAP_MP_STATE, 'KVM_CAP_MP_STATE'],
  [EMULATED_CAP.KVM_CAP_SET_GUEST_DEBUG, 'KVM_CAP_SET_GUEST_DEBUG'],
  [MORE_ARM64_CAP.KVM_CAP_ONE_REG, 'KVM_CAP_ONE_REG'],
  [EMULATED_CAP.KVM_CAP_ARM_NISV_TO_USER, 'KVM_CAP_ARM_NISV_TO_USER'],
  [EMULATED_CAP.KVM_CAP_ARM_SYSTEM_SUSPEND, 'KVM_CAP_ARM_SYSTEM_SUSPEND'],
  [K.CAP.KVM_CAP_ARM_EL1_32BIT, 'KVM_CAP_ARM_EL1_32BIT'],
];
/** On the allowlist and answered 1 on arm64 (V14-CE2). */
const ALLOWED_CAPS: readonly [number, string][] = [
  [K.CAP.KVM_CAP_IRQCHIP, 'KVM_CAP_IRQCHIP'],
  [K.CAP.KVM_CAP_ARM_PSCI, 'KVM_CAP_ARM_PSCI'],
  [K.CAP.KVM_CAP_ARM_PSCI_0_2, 'KVM_CAP_ARM_PSCI_0_2'],
];

/** Where the question is asked. */
type Fd = 'system' | 'normal-vm' | 'realm-vm' | 'realm-vm-ipa';
/** The CAP asked about: the revision's realm CAP, or an upstream one. */
type Cap = 'realm' | number;

async function checkExtension(c: CheckContext, fd: Fd, cap: Cap): Promise<CallResult> {
  const nr = cap === 'realm' ? c.abi.cap.nr : cap;
  switch (fd) {
    case 'system':
      return (await c.kvm()).checkExtension(nr);
    case 'normal-vm':
      return (await c.normalVm()).checkExtension(nr);
    case 'realm-vm':
      return (await c.realmVm()).checkExtension(nr);
    case 'realm-vm-ipa':
      return (await c.realmVm(REALM_IPA_BITS)).checkExtension(nr);
  }
}

/** KVM_CAP_SET_GUEST_DEBUG (include/uapi/linux/kvm.h). */
const KVM_CAP_SET_GUEST_DEBUG = 23;

export const checks = [
  // every revision whose profile has the key (the realm CAP: both eras; a kernel without CCA: 0)
  ...stimuli<Fd, Cap>(
    'probing',
    {},
    [
      {
        name: 'cap-on-system-fd',
        description: 'CHECK_EXTENSION(realm CAP) on /dev/kvm reports the RMM',
        state: 'system',
        args: 'realm',
        expect: 'probe.cap-on-system-fd',
      },
      {
        name: 'cap-on-normal-vm',
        description: 'CHECK_EXTENSION(realm CAP) on a normal VM fd',
        state: 'normal-vm',
        args: 'realm',
        expect: 'probe.cap-on-normal-vm',
      },
      {
        name: 'cap-on-realm-vm',
        description: 'CHECK_EXTENSION(realm CAP) on a realm VM fd',
        state: 'realm-vm',
        args: 'realm',
        expect: 'probe.cap-on-realm-vm',
      },
      {
        name: 'cap-without-rmm',
        description: 'CHECK_EXTENSION(realm CAP) is 0 when the host has no RMM',
        state: 'system',
        args: 'realm',
        expect: 'probe.cap-no-rmm',
        with: { emulatorOnly: 'needs a host without an RMM', emulatorSettings: { rmmPresent: false } },
      },
    ],
    checkExtension,
  ),
  // RME era after the RFC
  ...stimuli<Fd, Cap>(
    'probing',
    { generations: RME_ERA, abis: RME_AFTER_RFC },
    [
      {
        name: 'realm-hides-guest-debug',
        description: 'CHECK_EXTENSION(SET_GUEST_DEBUG) on a realm VM reads 0',
        state: 'realm-vm',
        args: KVM_CAP_SET_GUEST_DEBUG,
        expect: 'probe.realm-hides-guest-debug',
      },
      {
        name: 'realm-sve-from-rmm',
        description: 'CHECK_EXTENSION(ARM_SVE) on a realm VM reads 0 when the RMM has no SVE (the host has it)',
        state: 'realm-vm',
        args: K.CAP.KVM_CAP_ARM_SVE,
        expect: 'probe.realm-sve-no-rmm-sve',
        with: { emulatorOnly: 'needs an RMM without SVE on a host with SVE', emulatorSettings: { rmmSve: false } },
      },
    ],
    checkExtension,
  ),
  // RMI era: a realm VM answers only an allowlist of CAPs
  ...stimuli<Fd, Cap>(
    'probing',
    { generations: RMI_ERA },
    [
      {
        name: 'cap-allowlisted',
        description: 'CHECK_EXTENSION(ARM_PSCI_0_2) on a realm VM is answered',
        state: 'realm-vm-ipa',
        args: K.CAP.KVM_CAP_ARM_PSCI_0_2,
        expect: 'rmi.cap-allowlisted',
      },
      {
        name: 'cap-not-allowlisted',
        description: 'CHECK_EXTENSION(ARM_EL1_32BIT) on a realm VM reads 0 (allowlist)',
        state: 'realm-vm-ipa',
        args: K.CAP.KVM_CAP_ARM_EL1_32BIT,
        expect: 'rmi.cap-not-allowlisted',
      },
      // V14-CE2: ARM_SVE is on the allowlist only if the RMM has SVE (from the StrykerJS triage)
      {
        name: 'cap-sve-rmm-with-sve',
        description: 'CHECK_EXTENSION(ARM_SVE) on a realm VM, the RMM with SVE: answered 1',
        state: 'realm-vm-ipa',
        args: K.CAP.KVM_CAP_ARM_SVE,
        expect: 'rmi.cap-allowlisted',
        with: { emulatorOnly: 'needs an RMM feature register with SVE', emulatorSettings: { rmmSve: true }, needs: ['sve'] },
      },
      {
        name: 'cap-sve-rmm-without-sve',
        description: 'CHECK_EXTENSION(ARM_SVE) on a realm VM, the RMM without SVE: 0',
        state: 'realm-vm-ipa',
        args: K.CAP.KVM_CAP_ARM_SVE,
        expect: 'rmi.cap-not-allowlisted',
        with: { emulatorOnly: 'needs an RMM feature register without SVE', emulatorSettings: { rmmSve: false }, needs: ['sve'] },
      },
    ],
    checkExtension,
  ),
  // ---- from the StrykerJS triage (bench/stryker-triage.md): every member of a set, the offending one last
  check(
    'probing',
    'caps-hidden-every-member',
    { generations: RMI_ERA },
    'CHECK_EXTENSION on a realm VM: every arm64 CAP off the allowlist that a normal VM has reads 0, every allowlisted one 1',
    ['rmi.cap-not-allowlisted', 'rmi.cap-allowlisted'],
    async (c) => {
      const normal = await c.normalVm(REALM_IPA_BITS);
      const realm = await c.realmVm(REALM_IPA_BITS);
      let judged = 0;
      for (const [cap, name] of HIDDEN_ARM64_CAPS) {
        // only a CAP the host has says anything: a 0 the normal VM also reads proves nothing
        const n = c.must(await normal.checkExtension(cap));
        if (n.ret === 0) continue;
        judged++;
        c.expect(await realm.checkExtension(cap), 'rmi.cap-not-allowlisted', `${name} (a normal VM reads ${n.ret})`);
      }
      c.ok(judged >= 2, `at least two hidden CAPs judged (${judged})`);
      for (const [cap, name] of ALLOWED_CAPS) c.expect(await realm.checkExtension(cap), 'rmi.cap-allowlisted', name);
    },
  ),
  // RME era: only a realm VM hides SET_GUEST_DEBUG (V10-CE2); /dev/kvm and a normal VM of the
  // same kernel answer the generic arm64 1 (kvm_vm_ioctl_check_extension, kvm NULL on /dev/kvm)
  check(
    'probing',
    'guest-debug-hidden-only-on-realm',
    { generations: RME_ERA, abis: RME_AFTER_RFC },
    'CHECK_EXTENSION(SET_GUEST_DEBUG): 1 on /dev/kvm and on a normal VM, 0 on a realm VM of the same kernel',
    ['probe.realm-hides-guest-debug'],
    async (c) => {
      const sys = c.must(await (await c.kvm()).checkExtension(KVM_CAP_SET_GUEST_DEBUG));
      c.ok(sys.ret === 1, `/dev/kvm reads ${sys.ret} (generic arm64: 1)`);
      const normal = c.must(await (await c.normalVm()).checkExtension(KVM_CAP_SET_GUEST_DEBUG));
      c.ok(normal.ret === 1, `a normal VM reads ${normal.ret} (generic arm64: 1)`);
      c.expect(await (await c.realmVm()).checkExtension(KVM_CAP_SET_GUEST_DEBUG), 'probe.realm-hides-guest-debug');
    },
  ),
  check(
    'probing',
    'cap-pmu-v3-v12',
    { abis: ['v12'] },
    "v12: CHECK_EXTENSION(ARM_PMU_V3) on a realm VM is answered as on a normal VM (PMU_V3 is on v12's allowlist; v13 and v14 changed the PMU rules)",
    ['rmi.cap-allowlisted'],
    async (c) => {
      const n = c.must(await (await c.normalVm(REALM_IPA_BITS)).checkExtension(K.CAP.KVM_CAP_ARM_PMU_V3));
      const r = await (await c.realmVm(REALM_IPA_BITS)).checkExtension(K.CAP.KVM_CAP_ARM_PMU_V3);
      // a host without a PMU for guests reads 0 on both: the realm VM answers as the normal one
      if (n.ret > 0) c.expect(r, 'rmi.cap-allowlisted', 'ARM_PMU_V3');
      else c.equal(r.ret, 0, 'ARM_PMU_V3 on a realm VM of a host without PMUv3', 'v12 08/46 (allowlisted: the upstream answer)');
    },
  ),
];
