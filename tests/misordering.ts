// Misordering: every sub-command, FINALIZE(REC) and KVM_RUN in each realm
// state where it is wrong, and on a normal VM.
import type { CheckContext, CheckDef } from '../harness/engine.ts';
import type { ExpectKey } from '../harness/abi/types.ts';
import type { CallResult } from '../harness/calls.ts';
import type { Vm } from '../harness/dsl.ts';
import { PAGE, RAM_BASE } from '../fixtures/layout.ts';
import { KVM_ARM_VCPU_PSCI_0_2 } from '../harness/kvm-uapi.ts';
import { initVcpu, measure, realmIn, type RealmState } from './realm.ts';

const MULTIPLEXED = ['rme'] as const;

type Op = 'CONFIG' | 'CREATE' | 'INIT_IPA' | 'POPULATE' | 'ACTIVATE';

function op(c: CheckContext, vm: Vm, o: Op): Promise<CallResult> {
  switch (o) {
    case 'CONFIG':
      return vm.config({ item: 'HASH_ALGO', algo: c.abi.hashAlgos?.SHA256 ?? 0 });
    case 'CREATE':
      return vm.createRd();
    case 'INIT_IPA':
      return vm.initIpa({ base: RAM_BASE + 0x100000, size: PAGE });
    case 'POPULATE':
      return vm.populate({ base: RAM_BASE + 0x1000, size: PAGE, ...measure(c) });
    case 'ACTIVATE':
      return vm.activate();
  }
}

const CASES: [Op, RealmState | 'normal', ExpectKey][] = [
  ['CONFIG', 'NEW', 'config.after-create'],
  ['CREATE', 'NEW', 'create.twice'],
  ['CREATE', 'ACTIVE', 'create.twice'],
  ['CREATE', 'normal', 'create.normal-vm'],
  ['INIT_IPA', 'NONE', 'init.before-create'],
  ['INIT_IPA', 'ACTIVE', 'init.after-activate'],
  ['INIT_IPA', 'normal', 'init.normal-vm'],
  ['POPULATE', 'NONE', 'populate.before-create'],
  ['POPULATE', 'ACTIVE', 'populate.after-activate'],
  ['POPULATE', 'normal', 'populate.normal-vm'],
  ['ACTIVATE', 'NONE', 'activate.before-create'],
  ['ACTIVATE', 'ACTIVE', 'activate.twice'],
];

export const checks: CheckDef[] = [
  ...CASES.map(
    ([o, state, key]): CheckDef => ({
      name: `misordering/${o.toLowerCase().replace('_', '-')}-${state === 'normal' ? 'on-normal-vm' : `in-${state.toLowerCase()}`}`,
      area: 'misordering',
      description: `${o} ${state === 'normal' ? 'on a normal VM' : `with the realm in state ${state}`}`,
      expects: [key],
      generations: MULTIPLEXED,
      async run(c) {
        // no vCPU for CREATE: R1-CR1 (vCPUs exist -> EBUSY) would answer first
        const vm = state === 'normal' ? await c.normalVm() : (await realmIn(c, state, { rec: o !== 'CREATE' })).vm;
        c.expect(await op(c, vm, o), key);
      },
    }),
  ),
  {
    name: 'misordering/create-after-vcpu',
    area: 'misordering',
    description: 'CREATE once a vCPU exists and is initialised (the order kvmtool uses from v2 on)',
    expects: ['create.after-vcpu'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.realmVm();
      // initialised too: a vCPU that was only created leaves the VM's ID registers at 0 (create.before-vcpu-init)
      await initVcpu(c, vm, 0);
      c.expect(await vm.createRd(), 'create.after-vcpu');
    },
  },
  {
    name: 'misordering/create-before-vcpu-init',
    area: 'misordering',
    description: 'CREATE with vCPU 0 created but not initialised: the realm gets 0 breakpoints/watchpoints, which the RMM refuses',
    expects: ['create.before-vcpu-init'],
    generations: MULTIPLEXED,
    // the answer is the RMM's: TF-RMM since August 2024 (tf-rmm-v0.6.0 on) refuses, older RMMs accept
    emulatorOnly: "depends on the target's RMM (0 breakpoints/watchpoints refused since TF-RMM v0.6.0), which the suite cannot ask",
    emulatorSettings: { rmmZeroDebugCounts: 'reject' },
    async run(c) {
      const vm = await c.realmVm();
      c.must(await vm.createVcpu(0));
      c.expect(await vm.createRd(), 'create.before-vcpu-init');
    },
  },
  {
    name: 'misordering/populate-state-beats-alignment',
    area: 'misordering',
    description: 'POPULATE before CREATE with an unaligned base: the state check comes first',
    expects: ['populate.state-beats-alignment'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NONE');
      c.expect(await vm.populate({ base: RAM_BASE + 0x10, size: PAGE, ...measure(c) }), 'populate.state-beats-alignment');
    },
  },
  {
    name: 'misordering/init-ipa-wrap-beats-state',
    area: 'misordering',
    description: 'INIT_IPA before CREATE with base + size wrapping: the wrap check comes first',
    expects: ['init.wrap-before-create'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NONE');
      c.expect(await vm.initIpa({ base: RAM_BASE, size: 2n ** 64n - BigInt(PAGE) }), 'init.wrap-before-create');
    },
  },
  {
    name: 'misordering/rec-before-create',
    area: 'misordering',
    description: 'FINALIZE(REC) before the RD exists',
    expects: ['rec.before-create'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.realmVm();
      const v = await initVcpu(c, vm);
      c.expect(await v.finalizeRec(), 'rec.before-create');
    },
  },
  {
    name: 'misordering/rec-after-activate',
    area: 'misordering',
    description: 'FINALIZE(REC) of a vCPU created after ACTIVATE',
    expects: ['rec.after-activate'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'ACTIVE');
      const v = await initVcpu(c, vm, 1);
      c.expect(await v.finalizeRec(), 'rec.after-activate');
    },
  },
  {
    name: 'misordering/rec-on-normal-vm',
    area: 'misordering',
    description: 'FINALIZE(REC) on a vCPU of a normal VM',
    expects: ['rec.normal-vm'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.normalVm();
      // PSCI only: a normal VM refuses the REC bit at INIT already (V10-V1)
      const v = await initVcpu(c, vm, 0, [KVM_ARM_VCPU_PSCI_0_2]);
      c.expect(await v.finalizeRec(), 'rec.normal-vm');
    },
  },
  {
    name: 'misordering/run-rec-before-activate',
    area: 'misordering',
    description: 'KVM_RUN of a finalised REC while the realm is NEW',
    expects: ['run.before-activate'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vcpu } = await realmIn(c, 'NEW');
      c.expect(await vcpu!.run(), 'run.before-activate');
    },
  },
  {
    name: 'misordering/run-before-create',
    area: 'misordering',
    description: 'KVM_RUN of an initialised realm vCPU before CREATE',
    expects: ['run.before-activate'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.realmVm();
      const v = await initVcpu(c, vm);
      c.expect(await v.run(), 'run.before-activate');
    },
  },
  {
    name: 'misordering/run-without-rec',
    area: 'misordering',
    description: 'KVM_RUN after ACTIVATE of a vCPU that was initialised but never finalised as a REC',
    expects: ['run.no-rec'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      const v = await initVcpu(c, vm, 1);
      c.must(await vm.activate());
      c.expect(await v.run(), 'run.no-rec');
    },
  },
  {
    name: 'misordering/run-vcpu-created-after-activate',
    area: 'misordering',
    description: 'a vCPU created after ACTIVATE can never run',
    expects: ['run.vcpu-after-activate', 'rec.after-activate'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'ACTIVE');
      const v = await initVcpu(c, vm, 1);
      c.expect(await v.finalizeRec(), 'rec.after-activate');
      c.expect(await v.run(), 'run.vcpu-after-activate');
    },
  },
];
