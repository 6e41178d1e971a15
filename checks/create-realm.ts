// The realm descriptor (RD) is created. RME era: CREATE_REALM (in each
// state, on a normal VM, before and after the vCPUs, with SVE not
// finalised, twice). RMI era: the first KVM_ARM_RMI_POPULATE creates it, with
// the same vCPU preconditions.
import * as K from '../uapi/kvm-uapi.ts';
import type { CheckContext } from '../harness/core/engine.ts';
import type { CallResult } from '../harness/core/calls.ts';
import { ENTRY, PAGE } from '../fixtures/layout.ts';
import { defaultFeatures, initVcpu, realmVmForCreate, rmeIn, type RmeState } from './setup/rme-realm.ts';
import { populateAt, rmiRealm } from './setup/rmi-realm.ts';
import { RME_AFTER_RFC, RME_ERA, RMI_ERA } from './eras.ts';
import { check, stimuli } from './table.ts';

const RME = { generations: RME_ERA };
const RMI = { generations: RMI_ERA };
/** TF-RMM since August 2024 (tf-rmm-v0.6.0 on) refuses 0 breakpoints/watchpoints, older RMMs accept them. */
const ZERO_DEBUG_COUNTS = {
  emulatorOnly: "depends on the target's RMM (0 breakpoints/watchpoints refused since TF-RMM v0.6.0), which the suite cannot ask",
  emulatorSettings: { rmmZeroDebugCounts: 'reject' as const },
};

// no vCPU is a REC in the realm states: R1-CR1 (vCPUs exist -> EBUSY) would answer first in RFC v1
const createRd = async (c: CheckContext, state: RmeState): Promise<CallResult> => (await rmeIn(c, state)).vm.createRd();

export const checks = [
  ...stimuli<RmeState, null>(
    'create-realm',
    RME,
    [
      { name: 'in-new', description: 'CREATE with the realm in state NEW', state: 'new-no-rec', args: null, expect: 'create.twice' },
      { name: 'in-active', description: 'CREATE with the realm in state ACTIVE', state: 'active-no-rec', args: null, expect: 'create.twice' },
      { name: 'on-normal-vm', description: 'CREATE on a normal VM', state: 'normal-vm', args: null, expect: 'create.normal-vm' },
    ],
    createRd,
  ),
  check(
    'create-realm',
    'after-vcpu',
    RME,
    'CREATE once a vCPU exists and is initialised (the order kvmtool uses from v2 on)',
    ['create.after-vcpu'],
    async (c) => {
      const vm = await c.realmVm();
      // initialised too: a vCPU that was only created leaves the VM's ID registers at 0 (create.before-vcpu-init)
      await initVcpu(c, vm, 0);
      c.expect(await vm.createRd(), 'create.after-vcpu');
    },
  ),
  check(
    'create-realm',
    'before-vcpu-init',
    RME,
    'CREATE with vCPU 0 created but not initialised: the realm gets 0 breakpoints/watchpoints, which the RMM refuses',
    ['create.before-vcpu-init'],
    async (c) => {
      const vm = await c.realmVm();
      await vm.createVcpu(0);
      c.expect(await vm.createRd(), 'create.before-vcpu-init');
    },
    ZERO_DEBUG_COUNTS,
  ),
  check(
    'create-realm',
    'before-vcpu-init',
    RMI,
    'KVM_ARM_RMI_POPULATE before any vCPU is initialised: the RD it creates gets 0 breakpoints/watchpoints, which the RMM refuses',
    ['rmi.populate-before-vcpu-init'],
    async (c) => {
      const r = await rmiRealm(c, { vcpu: false });
      c.expect(await populateAt(r, ENTRY, PAGE), 'rmi.populate-before-vcpu-init');
    },
    ZERO_DEBUG_COUNTS,
  ),
  check(
    'create-realm',
    'ipa-beyond-rmm',
    RME,
    'RFC v1: CREATE_VM(realm | 44) with RMM S2SZ 40 and a 48-bit host succeeds; CREATE_RD then fails in the RMM',
    ['create.ipa-beyond-rmm'],
    async (c) => {
      // R1-VM6: the host limit is what CREATE_VM checks; the RMM sees the S2SZ only in RMI_REALM_CREATE
      const vm = await c.realmVm(44);
      c.expect(await vm.createRd(), 'create.ipa-beyond-rmm');
    },
    { emulatorOnly: 'needs an RMM whose S2SZ is below the host IPA limit', emulatorSettings: { rmmS2sz: 40, hostIpaLimit: 48 } },
  ),
  // positive then negative: after a successful CREATE the same call must fail as the new state requires
  check(
    'create-realm',
    'repeat',
    { ...RME, abis: RME_AFTER_RFC },
    'CREATE succeeds, the same CREATE again is refused',
    ['create.ok', 'create.twice'],
    async (c) => {
      const { vm } = await realmVmForCreate(c);
      c.expect(await vm.createRd(), 'create.ok');
      c.expect(await vm.createRd(), 'create.twice');
    },
  ),
  check(
    'create-realm',
    'sve-not-finalised',
    { ...RME, abis: RME_AFTER_RFC },
    'CREATE while vCPU 0 has SVE not finalised fails; after FINALIZE(SVE) the same call works',
    ['sve.rd-unfinalised', 'create.ok'],
    async (c) => {
      const vm = await c.realmVm();
      const v = await initVcpu(c, vm, 0, [...defaultFeatures(c), K.KVM_ARM_VCPU_SVE]);
      c.expect(await vm.createRd(), 'sve.rd-unfinalised');
      c.must(await v.finalize(K.KVM_ARM_VCPU_SVE));
      c.expect(await vm.createRd(), 'create.ok', 'positive after the cause is fixed');
    },
    { needs: ['sve'] },
  ),
  check(
    'create-realm',
    'sve-not-finalised',
    RMI,
    'POPULATE (RD creation) while vCPU 0 has SVE not finalised fails; after FINALIZE(SVE) the same call works',
    ['sve.rd-unfinalised', 'rmi.populate-ok'],
    async (c) => {
      const r = await rmiRealm(c, { features: [K.KVM_ARM_VCPU_PSCI_0_2, K.KVM_ARM_VCPU_SVE] });
      c.expect(await populateAt(r, ENTRY, PAGE), 'sve.rd-unfinalised');
      c.must(await r.vcpu!.finalize(K.KVM_ARM_VCPU_SVE));
      c.expect(await populateAt(r, ENTRY, PAGE), 'rmi.populate-ok', 'positive after the cause is fixed');
    },
    { needs: ['sve'] },
  ),
  // ---- from the StrykerJS triage (bench/stryker-triage.md)
  check(
    'create-realm',
    'sve-vls-differ',
    RMI,
    'two SVE vCPUs, both finalised, with different vector length sets (VQ 1-2 and VQ 1): the RD the first KVM_RUN makes is refused, and so is the one the next POPULATE makes',
    ['sve.rd-unfinalised'],
    async (c) => {
      const r = await rmiRealm(c, { vcpu: false });
      const vcpus = [];
      for (const [id, vqs] of [
        [0, [1, 2]],
        [1, [1]],
      ] as const) {
        const v = await r.vm.createVcpu(id);
        c.must(await v.init([K.KVM_ARM_VCPU_PSCI_0_2, K.KVM_ARM_VCPU_SVE]));
        c.must(await v.setSveVls(vqs));
        c.must(await v.finalize(K.KVM_ARM_VCPU_SVE));
        c.must(await v.setPc(ENTRY));
        vcpus.push(v);
      }
      c.must(await r.vm.createVgicV3());
      // V14-A7: the first run makes the RD (no POPULATE came before); V14-V9 refuses lengths that differ, the state stays NONE
      c.expect(await vcpus[0]!.run(), 'sve.rd-unfinalised', 'the first KVM_RUN');
      c.expect(await populateAt(r, ENTRY, PAGE), 'sve.rd-unfinalised', 'POPULATE after it');
    },
    { needs: ['sve'] },
  ),
  // RME era (v2..v10): CREATE_REALM asks the RMM for SVE only when the vCPUs have it (realm_init_sve_param,
  // v6 38/43 lore:20241212155610.76522-39-steven.price@arm.com; V10-CR7): no SVE vCPU, no SVE flag
  check(
    'create-realm',
    'no-sve-on-rmm-without-sve',
    { ...RME, abis: RME_AFTER_RFC },
    'CREATE after a vCPU without SVE, on an RMM without SVE: the realm asks for no SVE, so the RMM makes it',
    ['create.after-vcpu'],
    async (c) => {
      const vm = await c.realmVm();
      await initVcpu(c, vm, 0);
      // V10-CR7: a vCPU without SVE counts as vector length 0, so RMI_REALM_CREATE carries no SVE flag (V10-CR8 would refuse one)
      c.expect(await vm.createRd(), 'create.after-vcpu');
    },
    { emulatorOnly: 'needs an RMM feature register without SVE (TF-RMM on a CPU without SVE)', emulatorSettings: { rmmSve: false } },
  ),
  // realm_init_sve_param (v6 38/43, the same in the later postings; V10-CR7): every vCPU must have the same vector length.
  // v8..v10 only: there 'sve.rd-unfinalised' is V10-CR7, which names both causes; v6/v7 pin only the unfinalised one.
  check(
    'create-realm',
    'sve-vls-differ',
    { ...RME, abis: ['v8', 'v9', 'v10'] },
    'CREATE with two SVE vCPUs, both finalised, with different vector length sets (VQ 1-2 and VQ 1) fails',
    ['sve.rd-unfinalised'],
    async (c) => {
      const vm = await c.realmVm();
      for (const [id, vqs] of [
        [0, [1, 2]],
        [1, [1]],
      ] as const) {
        const v = await vm.createVcpu(id);
        c.must(await v.init([...defaultFeatures(c), K.KVM_ARM_VCPU_SVE]));
        c.must(await v.setSveVls(vqs));
        c.must(await v.finalize(K.KVM_ARM_VCPU_SVE));
      }
      // V10-CR7: the vCPUs differ in vector length: -EINVAL before the RMM is asked
      c.expect(await vm.createRd(), 'sve.rd-unfinalised');
    },
    { needs: ['sve'] },
  ),
  check(
    'create-realm',
    'no-sve-on-rmm-without-sve',
    RMI,
    'a realm whose vCPUs have no SVE, on an RMM without SVE: the RD the first POPULATE makes asks for no SVE, so it is made and the page populated',
    ['rmi.populate-ok'],
    async (c) => {
      const r = await rmiRealm(c);
      // V14-PO6: RMI_REALM_CREATE asks for SVE only when the VM's vCPUs have it (V14-V9); an RMM without SVE refuses a request for it
      c.expect(await populateAt(r, ENTRY, PAGE), 'rmi.populate-ok');
    },
    { emulatorOnly: 'needs an RMM feature register without SVE', emulatorSettings: { rmmSve: false } },
  ),
];
