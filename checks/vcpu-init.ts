// KVM_CREATE_VCPU and KVM_ARM_VCPU_INIT on a realm: the REC feature bit (RME
// era) and its removal (RMI era), AArch32, the feature-bit limit, one feature
// set per VM, vCPUs made late, and SVE_VLS frozen once the RD exists.
import * as K from '../uapi/kvm-uapi.ts';
import type { CheckContext } from '../harness/core/engine.ts';
import { describeOutcome, succeeded, type CallResult } from '../harness/core/calls.ts';
import { getProfile } from '../profiles/index.ts';
import { defaultFeatures, initVcpu, realmIn } from './setup/rme-realm.ts';
import { populateAt, rmiRealm } from './setup/rmi-realm.ts';
import { ENTRY, PAGE, REALM_IPA_BITS } from '../fixtures/layout.ts';
import { NO_CCA, RME_AFTER_RFC, RME_ERA, RMI_ERA } from './eras.ts';
import { check, stimuli, type Row } from './table.ts';
import { ERRNO, errnoName } from '../uapi/errno.ts';

/** KVM_ARM_VCPU_HAS_EL2 (arch/arm64/include/uapi/asm/kvm.h). */
const HAS_EL2 = 7;

const RME = { generations: RME_ERA };
const RMI = { generations: RMI_ERA };
const PSCI = K.KVM_ARM_VCPU_PSCI_0_2;
/** KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_FW | 0: the PSCI version firmware register. */
const KVM_REG_ARM_PSCI_VERSION = 0x6030000000140000n;
/** ARM64_SYS_REG(3, 3, 9, 12, 0): PMCR_EL0. */
const KVM_REG_ARM_PMCR_EL0 = 0x603000000013dce0n;
/** The REC feature bit of the last RME-era revision (v10's profile holds it). */
const oldRecFeature = (): number => getProfile('v10')!.recFeature!;

/** vCPU 0 of a fresh VM: a realm VM (RME: no IPA size; RMI: with RAM, no vCPU yet), or a normal VM. */
type VmKind = 'realm-vm' | 'normal-vm' | 'rmi-realm';
/** The features, from the revision's profile (its REC bit, its feature limit). */
type Features = (c: CheckContext) => number[];

async function vcpuInit(c: CheckContext, kind: VmKind, features: Features): Promise<CallResult> {
  const vm = kind === 'normal-vm' ? await c.normalVm() : kind === 'realm-vm' ? await c.realmVm() : (await rmiRealm(c, { vcpu: false })).vm;
  const vcpu = await vm.createVcpu(0);
  return vcpu.init(features(c));
}

const RME_ROWS: Row<VmKind, Features>[] = [
  // the first vCPU of a realm VM, as a VMM initialises it before CREATE (v2+)
  {
    name: 'rec-bit',
    description: 'KVM_ARM_VCPU_INIT with PSCI_0_2 and the REC feature bit on a realm VM',
    state: 'realm-vm',
    args: (c) => [PSCI, c.abi.recFeature ?? 0],
    expect: 'vcpu.init-rec-bit',
  },
  {
    name: 'psci-on-realm',
    description: 'KVM_ARM_VCPU_INIT with PSCI_0_2 alone on a realm VM',
    state: 'realm-vm',
    args: () => [PSCI],
    expect: 'vcpu.init-psci',
  },
];

const RME_AFTER_RFC_ROWS: Row<VmKind, Features>[] = [
  {
    name: 'rec-bit-on-normal-vm',
    description: 'KVM_ARM_VCPU_INIT with PSCI_0_2 and the REC bit on a normal VM',
    state: 'normal-vm',
    args: (c) => [PSCI, c.abi.recFeature ?? 0],
    expect: 'vcpu.init-rec-normal-vm',
  },
  {
    name: 'rec-bit-el1-32bit',
    description: 'KVM_ARM_VCPU_INIT with the REC bit and EL1_32BIT',
    state: 'realm-vm',
    args: (c) => [PSCI, K.KVM_ARM_VCPU_EL1_32BIT, c.abi.recFeature ?? 0],
    expect: 'vcpu.init-rec-el1-32bit',
  },
  // the same on a host that runs AArch32 at EL1: only the realm code refuses the pair (V10-V2)
  {
    name: 'rec-bit-el1-32bit-aarch32-host',
    description: 'KVM_ARM_VCPU_INIT with the REC bit and EL1_32BIT on a host with AArch32 EL1',
    state: 'realm-vm',
    args: (c) => [PSCI, K.KVM_ARM_VCPU_EL1_32BIT, c.abi.recFeature ?? 0],
    expect: 'vcpu.init-rec-el1-32bit',
    with: { emulatorOnly: 'needs a host whose CPUs run AArch32 at EL1', emulatorSettings: { hostEl1_32bit: true } },
  },
  {
    name: 'past-max-features',
    description: 'KVM_ARM_VCPU_INIT with the bit at KVM_VCPU_MAX_FEATURES',
    state: 'realm-vm',
    args: (c) => [PSCI, c.abi.maxVcpuFeatures],
    expect: 'vcpu.init-past-max',
  },
];

const RMI_ROWS: Row<VmKind, Features>[] = [
  {
    name: 'old-rec-bit',
    description: 'KVM_ARM_VCPU_INIT with PSCI_0_2 and bit 9 (the removed REC bit)',
    state: 'rmi-realm',
    args: () => [PSCI, oldRecFeature()],
    expect: 'rmi.init-old-rec-bit',
  },
  {
    name: 'el1-32bit',
    description: 'KVM_ARM_VCPU_INIT with EL1_32BIT on a realm VM',
    state: 'rmi-realm',
    args: () => [PSCI, K.KVM_ARM_VCPU_EL1_32BIT],
    expect: 'rmi.el1-32bit',
  },
];

export const checks = [
  ...stimuli('vcpu-init', RME, RME_ROWS, vcpuInit),
  ...stimuli('vcpu-init', { ...RME, abis: RME_AFTER_RFC }, RME_AFTER_RFC_ROWS, vcpuInit),
  ...stimuli('vcpu-init', RMI, RMI_ROWS, vcpuInit),

  // one feature set per VM (upstream since 6.7)
  check(
    'vcpu-init',
    'second-vcpu-other-features',
    { ...RME, abis: RME_AFTER_RFC },
    'KVM_ARM_VCPU_INIT of vCPU 1 with no features after vCPU 0 had the default ones (PSCI_0_2, REC where VCPU_INIT takes it)',
    ['vcpu.init-differs-from-first'],
    async (c) => {
      const vm = await c.realmVm();
      await initVcpu(c, vm, 0);
      const vcpu = await vm.createVcpu(1);
      c.expect(await vcpu.init([]), 'vcpu.init-differs-from-first');
    },
  ),
  check(
    'vcpu-init',
    'second-vcpu-other-features',
    RMI,
    'KVM_ARM_VCPU_INIT of vCPU 1 with other features than vCPU 0 (none after PSCI_0_2)',
    ['vcpu.init-differs-from-first'],
    async (c) => {
      const r = await rmiRealm(c);
      const vcpu = await r.vm.createVcpu(1);
      c.expect(await vcpu.init([]), 'vcpu.init-differs-from-first');
    },
  ),

  // one EL1 register width per VM (G10): on a normal VM, so every revision and a kernel without the series answer it
  check(
    'vcpu-init',
    'second-vcpu-other-width',
    { generations: [...RME_ERA, ...RMI_ERA, ...NO_CCA] },
    'KVM_ARM_VCPU_INIT of vCPUs 1 and 2 as AArch64 after vCPU 0 was initialised AArch32 (EL1_32BIT), then vCPU 1 as AArch32',
    ['vcpu.init-other-width'],
    async (c) => {
      const vm = await c.normalVm();
      const [v0, v1, v2] = [await vm.createVcpu(0), await vm.createVcpu(1), await vm.createVcpu(2)];
      // vCPU 0 fixes the width (a host without AArch32 EL1 refuses this set-up step: blocked, not failed)
      c.must(await v0.init([PSCI, K.KVM_ARM_VCPU_EL1_32BIT]));
      // G10: each vCPU of the other width is refused, the last one too
      c.expect(await v1.init([PSCI]), 'vcpu.init-other-width');
      c.expect(await v2.init([PSCI]), 'vcpu.init-other-width');
      // the refusals left vCPU 1 uninitialised and the width as it was: as AArch32 it is accepted
      c.must(await v1.init([PSCI, K.KVM_ARM_VCPU_EL1_32BIT]));
    },
    // a host without AArch32 EL1 (most arm64 servers) skips it; the emulator models one with it
    { needs: ['el1_32bit'], emulatorSettings: { hostEl1_32bit: true } },
  ),

  // vCPUs made after the realm is active
  check(
    'vcpu-init',
    'created-after-activate',
    { ...RME, abis: RME_AFTER_RFC },
    'a vCPU created after ACTIVATE (vGIC not initialised) is allowed but can never become a REC or run',
    ['vcpu.create-after-activate', 'rec.after-activate-new-vcpu', 'run.vcpu-after-activate'],
    async (c) => {
      const { vm } = await realmIn(c, 'ACTIVE', { irqchip: false });
      const { r, vcpu } = await vm.__createVcpu(1);
      c.expect(r, 'vcpu.create-after-activate');
      if (!vcpu) return;
      c.must(await vcpu.init(defaultFeatures(c)));
      c.expect(await vcpu.finalizeRec(), 'rec.after-activate-new-vcpu');
      c.expect(await vcpu.run(), 'run.vcpu-after-activate');
    },
  ),
  check(
    'vcpu-init',
    'created-after-vgic-init',
    { ...RME, abis: RME_AFTER_RFC },
    'KVM_CREATE_VCPU once the in-kernel vGIC is initialised',
    ['vcpu.create-after-vgic-init'],
    async (c) => {
      const { vm } = await realmIn(c, 'ACTIVE');
      c.expect((await vm.__createVcpu(1)).r, 'vcpu.create-after-vgic-init');
    },
  ),

  // SVE_VLS is part of the realm's parameters: frozen once the RD exists
  check(
    'vcpu-init',
    'sve-vls-before-and-after-rd',
    { ...RME, abis: RME_AFTER_RFC },
    'SVE_VLS is writable before CREATE; a vCPU made after CREATE cannot set it',
    ['sve.vls-before-rd', 'sve.vls-after-rd'],
    async (c) => {
      const vm = await c.realmVm();
      const v0 = await initVcpu(c, vm, 0, [...defaultFeatures(c), K.KVM_ARM_VCPU_SVE]);
      c.expect(await v0.setSveVls([1]), 'sve.vls-before-rd');
      c.must(await v0.finalize(K.KVM_ARM_VCPU_SVE));
      c.must(await vm.createRd());
      const v1 = await initVcpu(c, vm, 1, [...defaultFeatures(c), K.KVM_ARM_VCPU_SVE]);
      c.expect(await v1.setSveVls([1]), 'sve.vls-after-rd');
    },
    { needs: ['sve'] },
  ),
  check(
    'vcpu-init',
    'sve-vls-before-and-after-rd',
    RMI,
    'SVE_VLS is writable before the RD exists; once the first POPULATE made the RD, a new vCPU cannot set it',
    ['sve.vls-before-rd', 'sve.vls-after-rd'],
    async (c) => {
      const r = await rmiRealm(c, { vcpu: false });
      const v0 = await r.vm.createVcpu(0);
      c.must(await v0.init([PSCI, K.KVM_ARM_VCPU_SVE]));
      c.expect(await v0.setSveVls([1]), 'sve.vls-before-rd');
      c.must(await v0.finalize(K.KVM_ARM_VCPU_SVE));
      c.must(await populateAt(r, ENTRY, PAGE));
      const v1 = await r.vm.createVcpu(1);
      c.must(await v1.init([PSCI, K.KVM_ARM_VCPU_SVE]));
      c.expect(await v1.setSveVls([1]), 'sve.vls-after-rd');
    },
    { needs: ['sve'] },
  ),
  // ---- from the StrykerJS triage (bench/stryker-triage.md): every member of a set, the offending one last
  check(
    'vcpu-init',
    'realm-core-regs-every-member',
    { abis: [...RME_AFTER_RFC, 'v12', 'v13', 'v14'] },
    'SET_ONE_REG on a realm vCPU, register by register: x0, x30 and PC are taken, SP and PSTATE (either side of PC) refused',
    ['vcpu.realm-reg-allowed', 'vcpu.realm-reg-refused'],
    async (c) => {
      // RMI era: any realm vCPU (V14-V6); RME era (v2+): a vCPU of a realm VM (V10-R1)
      const vcpu = c.abi.generation === 'rmi' ? (await rmiRealm(c)).vcpu! : await initVcpu(c, await c.realmVm(REALM_IPA_BITS));
      for (const [id, name] of [
        [K.coreRegX(0), 'X0'],
        [K.coreRegX(30), 'X30'],
        [K.CORE_REG_PC, 'PC'],
      ] as const) {
        c.expect(await vcpu.setReg(id, 0x80000000, name), 'vcpu.realm-reg-allowed', name);
      }
      // the core offsets around PC: SP (just below) and PSTATE (just above); and a firmware
      // register whose index (0) is a core offset the list allows: only core registers are
      // matched by offset, any other kind is refused (v10 22/43,
      // lore:20250820145606.180644-23-steven.price@arm.com; V10-R1, V14-V6)
      for (const [id, name] of [
        [K.coreRegX(31), 'SP'],
        [K.CORE_REG_PC + 2n, 'PSTATE'],
        [KVM_REG_ARM_PSCI_VERSION, 'PSCI_VERSION'],
        // v14 took PMCR_EL0 off the list (V14-V6); v2..v13 keep it (V10-R1; v12 37/46, v13 38/48)
        ...(c.abi.name === 'v14' ? ([[KVM_REG_ARM_PMCR_EL0, 'PMCR_EL0']] as const) : []),
      ] as const) {
        c.expect(await vcpu.setReg(id, 0x3c5, name), 'vcpu.realm-reg-refused', name);
      }
    },
  ),
  check(
    'vcpu-init',
    'realm-pmcr-passes-filter',
    { abis: [...RME_AFTER_RFC, 'v12', 'v13'] },
    "SET_ONE_REG(PMCR_EL0) on a realm vCPU without a PMU: the realm register filter lets it through, and the hidden PMU register is -ENOENT (not the filter's -EINVAL)",
    [],
    async (c) => {
      const vcpu = c.abi.generation === 'rmi' ? (await rmiRealm(c)).vcpu! : await initVcpu(c, await c.realmVm(REALM_IPA_BITS));
      const r = await vcpu.setReg(KVM_REG_ARM_PMCR_EL0, 0, 'PMCR_EL0');
      // validate_realm_set_reg lists PMCR_EL0 (v2 33/43 on; v10 22/43, lore:20250820145606.180644-23-steven.price@arm.com;
      // v12 37/46, lore:20251217101125.91098-38-steven.price@arm.com; v13 38/48); then the sys_regs lookup
      // hides PMU registers of a vCPU without KVM_ARM_VCPU_PMU_V3 (pmu_visibility): -ENOENT
      c.ok(
        r.error === undefined && r.ret === -1 && r.errno === ERRNO.ENOENT,
        `SET_ONE_REG(PMCR_EL0) on a realm vCPU without PMU_V3 ${describeOutcome(r)}, want -1 ENOENT`,
        'V10-R1; v12 37/46, v13 38/48 (PMCR_EL0 on the realm list); sys_regs.c pmu_visibility',
      );
    },
  ),
  check(
    'vcpu-init',
    'normal-vm-core-regs',
    RMI,
    'SET_ONE_REG of SP and PSTATE on a vCPU of a normal VM of an RMI-era kernel: taken (only realm vCPUs are limited)',
    [],
    async (c) => {
      const v = await (await c.normalVm()).createVcpu(0);
      c.must(await v.init([PSCI]));
      for (const [id, value, name] of [
        [K.coreRegX(31), 0x80001000, 'SP'],
        [K.CORE_REG_PC + 2n, 0x3c5, 'PSTATE'],
      ] as const) {
        const r = await v.setReg(id, value, name);
        c.ok(
          succeeded(r),
          `SET_ONE_REG(${name}) on a normal VM: ${r.label} ${succeeded(r) ? 'succeeded' : 'failed'}`,
          'UP (the core registers of a normal vCPU); V14-V6 limits realm vCPUs only',
        );
      }
    },
  ),
  // bits 7 and 8 (HAS_EL2, HAS_EL2_E2H0) below KVM_VCPU_MAX_FEATURES are the host's nested virtualisation,
  // which kvm_vcpu_init_check_features refuses without it: only the REC bit belongs to the realm code
  check(
    'vcpu-init',
    'nested-virt-bit-not-the-rec-bit',
    { generations: RME_ERA, abis: RME_AFTER_RFC },
    'KVM_ARM_VCPU_INIT with HAS_EL2 (bit 7) on a normal VM of a host without nested virtualisation is -EINVAL',
    [],
    async (c) => {
      const vcpu = await (await c.normalVm()).createVcpu(0);
      const r = await vcpu.init([K.KVM_ARM_VCPU_PSCI_0_2, HAS_EL2]);
      const want = HAS_EL2 < c.abi.maxVcpuFeatures ? 'EINVAL' : 'ENOENT';
      c.ok(!succeeded(r) && errnoName(r.errno) === want, `${r.label}: ${want} (${want === 'EINVAL' ? 'no nested virtualisation' : 'G8'})`);
    },
    { emulatorOnly: 'needs a host without nested virtualisation' },
  ),
  // V10-R1 restricts SET on a realm vCPU only: a read of SP is answered, and a normal VM of the same kernel sets SP
  check(
    'vcpu-init',
    'realm-reg-limit-is-set-on-realm-only',
    { generations: RME_ERA, abis: RME_AFTER_RFC },
    'GET_ONE_REG(SP) on a realm vCPU is answered; SET_ONE_REG(SP) on a normal-VM vCPU of the same kernel succeeds',
    ['vcpu.realm-reg-get'],
    async (c) => {
      const realm = await initVcpu(c, await c.realmVm(REALM_IPA_BITS));
      c.expect(await realm.getReg(K.coreRegX(31), 'SP'), 'vcpu.realm-reg-get');
      const normal = await initVcpu(c, await c.normalVm(), 0, [K.KVM_ARM_VCPU_PSCI_0_2]);
      const r = await normal.setReg(K.coreRegX(31), 0x80000000, 'SP');
      c.ok(succeeded(r), `${r.label} on a normal VM succeeds (generic arm64)`);
    },
  ),
];
