// v2..v10 (multiplexed CAP after the RFC): what is new against RFC v1 — the
// MEASURE flag and 32-byte args with reserved words, guest_memfd memslots,
// CONFIG reduced to RPV/HASH, the REC bit at VCPU_INIT (v5 unusable), the
// irqchip needed at the first run, vCPUs after ACTIVATE, SVE frozen at
// CREATE, the PSCI complete ioctl (V10-PS*), the failure-ordering pairs of
// conditions.md §5 (v10 column) and positive-then-negative repeats.
import type { CheckContext, CheckDef } from '../harness/engine.ts';
import type { ExpectKey } from '../harness/abi/types.ts';
import type { AbiName } from '../harness/abi/types.ts';
import type { Vcpu } from '../harness/dsl.ts';
import { BAD_USER_POINTER } from '../harness/dsl.ts';
import * as K from '../harness/kvm-uapi.ts';
import { PSCI_COMPLETE_0XD2 } from '../harness/abi/v10.ts';
import { PAGE, RAM2_BASE, RAM_BASE, RAM_SIZE } from '../fixtures/layout.ts';
import { defaultFeatures, initVcpu, measure, realmIn, realmVmForCreate } from './realm.ts';

const MULTIPLEXED = ['rme'] as const;
/** Everything here is new after RFC v1; the RFC profile keeps its own checks untouched. */
const V2_V10: readonly AbiName[] = ['v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10'];
const MID = RAM_BASE + 0x100000;
const KVM_CAP_SET_GUEST_DEBUG = 23;

function check(name: string, area: CheckDef['area'], description: string, expects: ExpectKey[], run: (c: CheckContext) => Promise<void>, extra: Partial<CheckDef> = {}): CheckDef {
  return { name: `mux/${name}`, area, description, expects, generations: MULTIPLEXED, abis: V2_V10, ...extra, run };
}

const recBits = (c: CheckContext): number[] => (c.abi.recInInit && c.abi.recFeature !== undefined ? [c.abi.recFeature] : []);

export const checks: CheckDef[] = [
  // ---- probing
  check('probing/realm-hides-guest-debug', 'probing', 'CHECK_EXTENSION(SET_GUEST_DEBUG) on a realm VM reads 0', ['probe.realm-hides-guest-debug'], async (c) => {
    const vm = await c.realmVm();
    c.expect(await vm.checkExtension(KVM_CAP_SET_GUEST_DEBUG), 'probe.realm-hides-guest-debug');
  }),
  ...[2, 3, 4].map((cfg) =>
    check(`config/removed-item-${cfg}`, 'config', `CONFIG with cfg = ${cfg} (the RFC's ${['SVE', 'DBG', 'PMU'][cfg - 2]}), moved to ID registers in v2`, ['config.removed-items'], async (c) => {
      const vm = await c.realmVm();
      c.expect(await vm.config({ item: 'RAW', cfg }), 'config.removed-items');
    }),
  ),

  // ---- populate: MEASURE, flags, reserved words, guest_memfd
  check('populate/measured-and-unmeasured', 'populate', 'POPULATE with MEASURE and with flags 0 both populate; each page then refuses a second populate (the RIM difference is not visible from the host uAPI)', ['populate.measure', 'populate.unmeasured', 'populate.twice'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    c.expect(await vm.populate({ base: MID, size: PAGE, flags: 1 }), 'populate.measure');
    c.expect(await vm.populate({ base: MID + PAGE, size: PAGE, flags: 0 }), 'populate.unmeasured');
    c.expect(await vm.populate({ base: MID, size: PAGE, flags: 0 }), 'populate.twice');
    c.expect(await vm.populate({ base: MID + PAGE, size: PAGE, flags: 1 }), 'populate.twice');
  }),
  ...[
    ['unknown-flag-bit1', 2],
    ['unknown-flag-bit31', 0x80000001],
  ].map(([n, flags]) =>
    check(`populate/${n}`, 'populate', `POPULATE with flags ${(flags as number).toString(16)}: only MEASURE is defined`, ['populate.unknown-flag'], async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.populate({ base: MID, size: PAGE, flags: flags as number }), 'populate.unknown-flag');
    }),
  ),
  check('populate/reserved-ignored', 'populate', 'POPULATE with non-zero reserved words: not checked in v2..v11 (documents the gap, abi-evolution.md §4.7)', ['populate.reserved-ignored'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    c.expect(await vm.populate({ base: MID, size: PAGE, flags: 1, reserved: [1, 0xffffffff, 7] }), 'populate.reserved-ignored');
  }),
  check('populate/no-guest-memfd', 'populate', 'POPULATE into a memslot without guest_memfd', ['populate.no-guest-memfd'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    c.must(await vm.memslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE }));
    c.expect(await vm.populate({ base: RAM2_BASE, size: PAGE, flags: 1 }), 'populate.no-guest-memfd');
  }),
  check('ipa-ranges/init-reserved-ignored', 'ipa-ranges', 'INIT_IPA/INIT_RIPAS with non-zero reserved words: ignored', ['init.reserved-ignored'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    c.expect(await vm.initIpa({ base: MID, size: PAGE, reserved: [1, 2, 3, 4] }), 'init.reserved-ignored');
  }),

  // ---- ordering pairs (§5, v10 column)
  check('ordering/cap-flags-beat-subcmd', 'ordering', 'ENABLE_CAP with flags = 1 and an unknown sub-command', ['cap.flags-before-subcmd'], async (c) => {
    const vm = await c.realmVm();
    c.expect(await vm.realmSubcmd(7, null, {}, 1), 'cap.flags-before-subcmd');
  }),
  check('ordering/init-fault-beats-state', 'ordering', 'INIT before CREATE with a faulting args pointer: the copy comes first', ['init.fault-before-state'], async (c) => {
    const { vm } = await realmIn(c, 'NONE');
    c.expect(await vm.realmSubcmd('INIT_IPA', BAD_USER_POINTER, { args: 'bad pointer' }), 'init.fault-before-state');
  }),
  check('ordering/populate-fault-beats-state', 'ordering', 'POPULATE before CREATE with a faulting args pointer: the copy comes first', ['populate.fault-before-state'], async (c) => {
    const { vm } = await realmIn(c, 'NONE');
    c.expect(await vm.realmSubcmd('POPULATE', BAD_USER_POINTER, { args: 'bad pointer' }), 'populate.fault-before-state');
  }),
  check('ordering/populate-state-beats-zero-size', 'ordering', 'POPULATE of size 0 before CREATE: the state is checked before the size-0 shortcut', ['populate.zero-size-before-create'], async (c) => {
    const { vm } = await realmIn(c, 'NONE');
    c.expect(await vm.populate({ base: MID, size: 0, ...measure(c) }), 'populate.zero-size-before-create');
  }),
  check('ordering/rec-uninit-beats-state', 'ordering', 'FINALIZE(REC) of an uninitialised vCPU before CREATE', ['rec.uninit-before-create'], async (c) => {
    const vm = await c.realmVm();
    const { vcpu } = c.must(await vm.createVcpu(0));
    c.expect(await (vcpu as Vcpu).finalizeRec(), 'rec.uninit-before-create');
  }),
  check('ordering/rec-state-beats-psci', 'ordering', 'FINALIZE(REC) of a vCPU without PSCI_0_2 before CREATE: the state wins', ['rec.no-psci-before-create'], async (c) => {
    const vm = await c.realmVm();
    const v = await initVcpu(c, vm, 0, recBits(c));
    c.expect(await v.finalizeRec(), 'rec.no-psci-before-create');
  }),
  check('ordering/rd-unfinalised-sve', 'ordering', 'CREATE while vCPU 0 has SVE not finalised fails; after FINALIZE(SVE) the same call works', ['sve.rd-unfinalised', 'create.ok'], async (c) => {
    const vm = await c.realmVm();
    const v = await initVcpu(c, vm, 0, [...defaultFeatures(c), K.KVM_ARM_VCPU_SVE]);
    c.expect(await vm.createRd(), 'sve.rd-unfinalised');
    c.must(await v.finalize(K.KVM_ARM_VCPU_SVE));
    c.expect(await vm.createRd(), 'create.ok', 'positive after the cause is fixed');
  }, { needs: ['sve'] }),
  // positive then negative: after each successful call, the same call must now fail as the new state requires
  check('ordering/repeat-create', 'ordering', 'CREATE succeeds, the same CREATE again is refused', ['create.ok', 'create.twice'], async (c) => {
    const { vm } = await realmVmForCreate(c);
    c.expect(await vm.createRd(), 'create.ok');
    c.expect(await vm.createRd(), 'create.twice');
  }),
  check('ordering/repeat-activate', 'ordering', 'ACTIVATE succeeds, the same ACTIVATE again is refused', ['activate.ok', 'activate.twice'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    c.expect(await vm.activate(), 'activate.ok');
    c.expect(await vm.activate(), 'activate.twice');
  }),
  check('ordering/repeat-config-after-create', 'ordering', 'CONFIG(HASH) succeeds before CREATE and is refused after it', ['config.hash-sha256', 'create.ok', 'config.after-create'], async (c) => {
    const { vm } = await realmVmForCreate(c);
    const algo = c.abi.hashAlgos?.SHA256 ?? 0;
    c.expect(await vm.config({ item: 'HASH_ALGO', algo }), 'config.hash-sha256');
    c.expect(await vm.createRd(), 'create.ok');
    c.expect(await vm.config({ item: 'HASH_ALGO', algo }), 'config.after-create');
  }),

  // ---- vCPU: the REC bit, vCPUs after ACTIVATE, SVE frozen at CREATE
  check('vcpu/init-rec-bit-normal-vm', 'vcpu', 'KVM_ARM_VCPU_INIT with PSCI_0_2 and the REC bit on a normal VM', ['vcpu.init-rec-normal-vm'], async (c) => {
    const vm = await c.normalVm();
    const { vcpu } = c.must(await vm.createVcpu(0));
    c.expect(await (vcpu as Vcpu).init([K.KVM_ARM_VCPU_PSCI_0_2, c.abi.recFeature ?? 0]), 'vcpu.init-rec-normal-vm');
  }),
  check('vcpu/init-rec-bit-el1-32bit', 'vcpu', 'KVM_ARM_VCPU_INIT with the REC bit and EL1_32BIT', ['vcpu.init-rec-el1-32bit'], async (c) => {
    const vm = await c.realmVm();
    const { vcpu } = c.must(await vm.createVcpu(0));
    c.expect(await (vcpu as Vcpu).init([K.KVM_ARM_VCPU_PSCI_0_2, K.KVM_ARM_VCPU_EL1_32BIT, c.abi.recFeature ?? 0]), 'vcpu.init-rec-el1-32bit');
  }),
  check('vcpu/init-past-max-features', 'vcpu', 'KVM_ARM_VCPU_INIT with the bit at KVM_VCPU_MAX_FEATURES', ['vcpu.init-past-max'], async (c) => {
    const vm = await c.realmVm();
    const { vcpu } = c.must(await vm.createVcpu(0));
    c.expect(await (vcpu as Vcpu).init([K.KVM_ARM_VCPU_PSCI_0_2, c.abi.maxVcpuFeatures]), 'vcpu.init-past-max');
  }),
  check('vcpu/rec-without-rec-bit', 'vcpu', 'FINALIZE(REC) on a realm vCPU initialised without the REC bit', ['rec.no-rec-bit'], async (c) => {
    const { vcpu } = await realmIn(c, 'NEW', { rec: false, features: [K.KVM_ARM_VCPU_PSCI_0_2] });
    c.expect(await vcpu!.finalizeRec(), 'rec.no-rec-bit');
  }),
  // The realm's only vCPU lacks the REC bit: a second vCPU with other features than the first
  // cannot be initialised (one feature set per VM since 6.7; seen on the cca-host/v7 stack)
  check('run/without-rec-bit', 'run', 'KVM_RUN after ACTIVATE of a realm whose vCPU was initialised without the REC bit', ['run.no-rec-bit'], async (c) => {
    const { vcpu } = await realmIn(c, 'ACTIVE', { rec: false, features: [K.KVM_ARM_VCPU_PSCI_0_2] });
    c.expect(await vcpu!.run(), 'run.no-rec-bit');
  }),
  check('vcpu/second-vcpu-other-features', 'vcpu', 'KVM_ARM_VCPU_INIT of vCPU 1 with no features after vCPU 0 had the default ones (PSCI_0_2, REC where VCPU_INIT takes it)', ['vcpu.init-differs-from-first'], async (c) => {
    const vm = await c.realmVm();
    await initVcpu(c, vm, 0);
    const { vcpu } = c.must(await vm.createVcpu(1));
    c.expect(await (vcpu as Vcpu).init([]), 'vcpu.init-differs-from-first');
  }),
  check('vcpu/created-after-activate', 'vcpu', 'a vCPU created after ACTIVATE (vGIC not initialised) is allowed but can never become a REC or run', ['vcpu.create-after-activate', 'rec.after-activate-new-vcpu', 'run.vcpu-after-activate'], async (c) => {
    const { vm } = await realmIn(c, 'ACTIVE', { irqchip: false });
    const { r, vcpu } = await vm.createVcpu(1);
    c.expect(r, 'vcpu.create-after-activate');
    if (!vcpu) return;
    c.must(await vcpu.init(defaultFeatures(c)));
    c.expect(await vcpu.finalizeRec(), 'rec.after-activate-new-vcpu');
    c.expect(await vcpu.run(), 'run.vcpu-after-activate');
  }),
  check('vcpu/created-after-vgic-init', 'vcpu', 'KVM_CREATE_VCPU once the in-kernel vGIC is initialised', ['vcpu.create-after-vgic-init'], async (c) => {
    const { vm } = await realmIn(c, 'ACTIVE');
    c.expect((await vm.createVcpu(1)).r, 'vcpu.create-after-vgic-init');
  }),
  check('vcpu/sve-vls-before-and-after-create', 'vcpu', 'SVE_VLS is writable before CREATE; a vCPU made after CREATE cannot set it', ['sve.vls-before-rd', 'sve.vls-after-rd'], async (c) => {
    const vm = await c.realmVm();
    const v0 = await initVcpu(c, vm, 0, [...defaultFeatures(c), K.KVM_ARM_VCPU_SVE]);
    c.expect(await v0.setSveVls([1]), 'sve.vls-before-rd');
    c.must(await v0.finalize(K.KVM_ARM_VCPU_SVE));
    c.must(await vm.createRd());
    const v1 = await initVcpu(c, vm, 1, [...defaultFeatures(c), K.KVM_ARM_VCPU_SVE]);
    c.expect(await v1.setSveVls([1]), 'sve.vls-after-rd');
  }, { needs: ['sve'] }),
  check('run/no-irqchip-then-fixed', 'run', 'first KVM_RUN of an active realm without an irqchip fails; with the vGIC added it runs to SYSTEM_OFF', ['run.no-irqchip', 'run.ok'], async (c) => {
    const { vm, vcpu } = await realmIn(c, 'ACTIVE', { irqchip: false });
    c.expect(await vcpu!.run(), 'run.no-irqchip');
    c.must(await vm.createVgicV3());
    const r = await vcpu!.run();
    c.expect(r, 'run.ok', 'retried every run (V10-V14)');
    c.ok(r.exit?.reason === 'SYSTEM_EVENT', `exits with SYSTEM_EVENT, got ${r.exit?.reason ?? 'none'}`, 'V10-V14');
  }),

  // ---- PSCI complete (V10-PS*)
  check('psci/normal-vm', 'vcpu', 'PSCI complete ioctl on a normal-VM vCPU', ['psci.normal-vm'], async (c) => {
    const vm = await c.normalVm();
    const v = await initVcpu(c, vm, 0, [K.KVM_ARM_VCPU_PSCI_0_2]);
    c.expect(await v.psciComplete({ targetMpidr: 0, psciStatus: 0 }), 'psci.normal-vm');
  }),
  check('psci/not-a-rec', 'vcpu', 'PSCI complete ioctl on a realm vCPU that is not a REC', ['psci.no-rec-bit'], async (c) => {
    const { vcpu } = await realmIn(c, 'NEW', { rec: false, features: [K.KVM_ARM_VCPU_PSCI_0_2] });
    c.expect(await vcpu!.psciComplete({ targetMpidr: 0, psciStatus: 0 }), 'psci.no-rec-bit');
  }),
  check('psci/bad-pointer', 'vcpu', 'PSCI complete ioctl on a REC whose struct pointer faults', ['psci.bad-pointer'], async (c) => {
    const { vcpu } = await realmIn(c, 'NEW');
    c.expect(await vcpu!.psciComplete({ targetMpidr: 0, psciStatus: 0 }, { badPointer: true }), 'psci.bad-pointer');
  }),
  check('psci/unknown-target', 'vcpu', 'PSCI complete ioctl naming an MPIDR no vCPU has', ['psci.unknown-target'], async (c) => {
    const { vcpu } = await realmIn(c, 'NEW');
    c.expect(await vcpu!.psciComplete({ targetMpidr: 0xff00, psciStatus: 0 }), 'psci.unknown-target');
  }),
  check('psci/not-pending', 'vcpu', 'PSCI complete ioctl for a REC with no PSCI request pending (the RMM refuses)', ['psci.not-pending'], async (c) => {
    const { vcpu } = await realmIn(c, 'NEW');
    c.expect(await vcpu!.psciComplete({ targetMpidr: 0, psciStatus: 0, padding: [1, 2, 3] }), 'psci.not-pending', 'padding is not checked (V10-PS5), so the RMM answer decides');
  }),
  check('psci/old-number', 'vcpu', "the v2..v7 PSCI complete number 0x4018AED2 on a v8+ kernel", ['psci.old-number'], async (c) => {
    const { vcpu } = await realmIn(c, 'NEW');
    c.expect(await vcpu!.psciComplete({ targetMpidr: 0, psciStatus: 0 }, { req: PSCI_COMPLETE_0XD2 }), 'psci.old-number');
  }),
];

