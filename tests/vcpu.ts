// vCPU: the REC feature bit, FINALIZE(REC) preconditions.
import type { CheckDef } from '../harness/engine.ts';
import type { Vcpu } from '../harness/dsl.ts';
import { KVM_ARM_VCPU_PSCI_0_2 } from '../harness/kvm-uapi.ts';
import { defaultFeatures, realmIn } from './realm.ts';

const MULTIPLEXED = ['rme'] as const;

export const checks: CheckDef[] = [
  {
    name: 'vcpu/init-with-rec-bit',
    area: 'vcpu',
    description: 'KVM_ARM_VCPU_INIT with PSCI_0_2 and the REC feature bit on a realm VM',
    expects: ['vcpu.init-rec-bit'],
    generations: MULTIPLEXED,
    async run(c) {
      // the first vCPU of a realm VM, as a VMM initialises it before CREATE (v2+)
      const vm = await c.realmVm();
      const { vcpu } = c.must(await vm.createVcpu(0));
      c.expect(await (vcpu as Vcpu).init([KVM_ARM_VCPU_PSCI_0_2, c.abi.recFeature ?? 0]), 'vcpu.init-rec-bit');
    },
  },
  {
    name: 'vcpu/init-psci-on-realm',
    area: 'vcpu',
    description: 'KVM_ARM_VCPU_INIT with PSCI_0_2 alone on a realm VM',
    expects: ['vcpu.init-psci'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.realmVm();
      const { vcpu } = c.must(await vm.createVcpu(0));
      c.expect(await (vcpu as Vcpu).init([KVM_ARM_VCPU_PSCI_0_2]), 'vcpu.init-psci');
    },
  },
  {
    name: 'vcpu/rec-ok',
    area: 'vcpu',
    description: 'FINALIZE(REC) after CREATE on an initialised PSCI 0.2 vCPU',
    expects: ['rec.ok'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vcpu } = await realmIn(c, 'NEW', { rec: false, features: defaultFeatures(c) });
      c.expect(await vcpu!.finalizeRec(), 'rec.ok');
    },
  },
  {
    name: 'vcpu/rec-not-initialised',
    area: 'vcpu',
    description: 'FINALIZE(REC) on a vCPU that never had KVM_ARM_VCPU_INIT',
    expects: ['rec.not-initialised'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW', { rec: false });
      const { vcpu } = c.must(await vm.createVcpu(1));
      c.expect(await (vcpu as Vcpu).finalizeRec(), 'rec.not-initialised');
    },
  },
  {
    name: 'vcpu/finalize-bad-pointer',
    area: 'vcpu',
    description: 'FINALIZE whose feature pointer faults',
    expects: ['rec.bad-pointer'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vcpu } = await realmIn(c, 'NEW', { rec: false, features: defaultFeatures(c) });
      c.expect(await vcpu!.finalize(c.abi.recFeature ?? 0, true), 'rec.bad-pointer');
    },
  },
  {
    name: 'vcpu/rec-without-psci',
    area: 'vcpu',
    description: 'FINALIZE(REC) on a vCPU initialised without PSCI_0_2',
    expects: ['rec.no-psci'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vcpu } = await realmIn(c, 'NEW', { rec: false, features: [] });
      c.expect(await vcpu!.finalizeRec(), 'rec.no-psci');
    },
  },
  {
    name: 'vcpu/rec-twice',
    area: 'vcpu',
    description: 'FINALIZE(REC) twice on one vCPU',
    expects: ['rec.ok', 'rec.twice'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vcpu } = await realmIn(c, 'NEW', { rec: false, features: defaultFeatures(c) });
      c.expect(await vcpu!.finalizeRec(), 'rec.ok');
      c.expect(await vcpu!.finalizeRec(), 'rec.twice');
    },
  },
];
