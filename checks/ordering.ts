// Failure ordering (conditions.md §5): a call with two faults at once gets
// the errno of the check the posted code makes first. RME era: the v10
// column; RMI era: the v14 column.
import { BAD_USER_POINTER } from '../harness/core/dsl/index.ts';
import { ENTRY, PAGE, RAM_BASE } from '../fixtures/layout.ts';
import { initVcpu, measure, realmIn } from './setup/rme-realm.ts';
import { MEASURE, populateAt, rmiRealm } from './setup/rmi-realm.ts';
import { RME_AFTER_RFC, RME_ERA, RMI_ERA } from './eras.ts';
import { check } from './table.ts';

const RME = { generations: RME_ERA };
const RME_V2 = { generations: RME_ERA, abis: RME_AFTER_RFC };
const RMI = { generations: RMI_ERA };
const MID = RAM_BASE + 0x100000;

const recBits = (c: { abi: { recInInit?: boolean; recFeature?: number } }): number[] =>
  c.abi.recInInit && c.abi.recFeature !== undefined ? [c.abi.recFeature] : [];

export const checks = [
  // ---- RME era
  check('ordering', 'cap-flags-beat-subcmd', RME_V2, 'ENABLE_CAP with flags = 1 and an unknown sub-command', ['cap.flags-before-subcmd'], async (c) => {
    const vm = await c.realmVm();
    c.expect(await vm.realmSubcmd(7, null, {}, 1), 'cap.flags-before-subcmd');
  }),
  check(
    'ordering',
    'init-fault-beats-state',
    RME_V2,
    'INIT before CREATE with a faulting args pointer: the copy comes first',
    ['init.fault-before-state'],
    async (c) => {
      const { vm } = await realmIn(c, 'NONE');
      c.expect(await vm.realmSubcmd('INIT_IPA', BAD_USER_POINTER, { args: 'bad pointer' }), 'init.fault-before-state');
    },
  ),
  check(
    'ordering',
    'init-wrap-beats-state',
    RME,
    'INIT_IPA before CREATE with base + size wrapping: the wrap check comes first',
    ['init.wrap-before-create'],
    async (c) => {
      const { vm } = await realmIn(c, 'NONE');
      c.expect(await vm.initIpa({ base: RAM_BASE, size: 2n ** 64n - BigInt(PAGE) }), 'init.wrap-before-create');
    },
  ),
  check(
    'ordering',
    'populate-fault-beats-state',
    RME_V2,
    'POPULATE before CREATE with a faulting args pointer: the copy comes first',
    ['populate.fault-before-state'],
    async (c) => {
      const { vm } = await realmIn(c, 'NONE');
      c.expect(await vm.realmSubcmd('POPULATE', BAD_USER_POINTER, { args: 'bad pointer' }), 'populate.fault-before-state');
    },
  ),
  check(
    'ordering',
    'populate-state-beats-zero-size',
    RME_V2,
    'POPULATE of size 0 before CREATE: the state is checked before the size-0 shortcut',
    ['populate.zero-size-before-create'],
    async (c) => {
      const { vm } = await realmIn(c, 'NONE');
      c.expect(await vm.populate({ base: MID, size: 0, ...measure(c) }), 'populate.zero-size-before-create');
    },
  ),
  check(
    'ordering',
    'populate-state-beats-alignment',
    RME,
    'POPULATE before CREATE with an unaligned base: the state check comes first',
    ['populate.state-beats-alignment'],
    async (c) => {
      const { vm } = await realmIn(c, 'NONE');
      c.expect(await vm.populate({ base: RAM_BASE + 0x10, size: PAGE, ...measure(c) }), 'populate.state-beats-alignment');
    },
  ),
  check('ordering', 'rec-uninit-beats-state', RME_V2, 'FINALIZE(REC) of an uninitialised vCPU before CREATE', ['rec.uninit-before-create'], async (c) => {
    const vm = await c.realmVm();
    const vcpu = await vm.createVcpu(0);
    c.expect(await vcpu.finalizeRec(), 'rec.uninit-before-create');
  }),
  check(
    'ordering',
    'rec-state-beats-psci',
    RME_V2,
    'FINALIZE(REC) of a vCPU without PSCI_0_2 before CREATE: the state wins',
    ['rec.no-psci-before-create'],
    async (c) => {
      const vm = await c.realmVm();
      const v = await initVcpu(c, vm, 0, recBits(c));
      c.expect(await v.finalizeRec(), 'rec.no-psci-before-create');
    },
  ),

  // ---- RMI era
  check(
    'ordering',
    'populate-normal-vm-beats-fault',
    RMI,
    'POPULATE on a normal VM with a faulting pointer: the VM check comes first',
    ['rmi.populate-normal-vm-bad-pointer'],
    async (c) => {
      const vm = await c.normalVm();
      c.expect(await vm.rmiPopulate({ base: MID, size: PAGE }, { badPointer: true }), 'rmi.populate-normal-vm-bad-pointer');
    },
  ),
  check(
    'ordering',
    'populate-invalid-beats-state',
    RMI,
    'after the first run, POPULATE with reserved != 0: the argument check precedes the state (EINVAL, not EBUSY)',
    ['rmi.run-ok', 'rmi.populate-invalid-after-run', 'rmi.populate-after-run'],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      c.must(await populateAt(r, ENTRY, PAGE));
      c.expect(await r.vcpu!.run(), 'rmi.run-ok');
      c.expect(await populateAt(r, MID, PAGE, MEASURE, { reserved: 1 }), 'rmi.populate-invalid-after-run');
      c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-after-run', 'the same call with valid arguments');
    },
  ),
  check(
    'ordering',
    'run-uninit-beats-irqchip',
    RMI,
    'first KVM_RUN of an uninitialised vCPU without an irqchip: -ENOEXEC comes first',
    ['rmi.run-uninit-no-irqchip'],
    async (c) => {
      const r = await rmiRealm(c, { vcpu: false });
      const vcpu = await r.vm.createVcpu(0);
      c.expect(await vcpu.run(), 'rmi.run-uninit-no-irqchip');
    },
  ),
];
