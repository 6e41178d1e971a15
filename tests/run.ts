// KVM_RUN: what a vCPU needs before it may run, and what the guest's exits look like.
import type { CheckDef } from '../harness/engine.ts';
import type { Vcpu } from '../harness/dsl.ts';
import { ENTRY, PAGE, RAM_BASE, UNPROTECTED_BASE } from '../fixtures/layout.ts';
import { mmioStoreThenOff } from '../fixtures/payloads.ts';
import { initVcpu, measure, realmWithRam, vcpuFirst } from './realm.ts';

const MULTIPLEXED = ['rme'] as const;

export const checks: CheckDef[] = [
  {
    name: 'run/not-initialised',
    area: 'run',
    description: 'KVM_RUN of a realm vCPU that never had KVM_ARM_VCPU_INIT',
    expects: ['run.not-initialised'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.realmVm();
      const { vcpu } = c.must(await vm.createVcpu(0));
      c.expect(await (vcpu as Vcpu).run(), 'run.not-initialised');
    },
  },
  {
    name: 'run/mmio-to-unprotected-half',
    area: 'run',
    description: 'a realm guest store to the unprotected half exits to the VMM as MMIO',
    expects: ['run.mmio-unprotected'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm, ram } = await realmWithRam(c);
      const early = vcpuFirst(c) ? await initVcpu(c, vm) : undefined;
      c.must(await vm.createRd());
      const v = early ?? (await initVcpu(c, vm));
      c.must(await v.finalizeRec());
      c.must(await ram.poke(ENTRY - RAM_BASE, mmioStoreThenOff(UNPROTECTED_BASE + 0x1000, 'smc')));
      c.must(await vm.populate({ base: ENTRY, size: PAGE, ...measure(c) }));
      c.must(await vm.activate());
      const r = await v.run();
      c.expect(r, 'run.mmio-unprotected');
      const ex = r.exit;
      c.ok(ex?.reason === 'MMIO' && 'physAddr' in ex && ex.physAddr === BigInt(UNPROTECTED_BASE + 0x1000), `exit is MMIO at the unprotected IPA, got ${ex?.reason ?? 'none'}`);
    },
  },
];
