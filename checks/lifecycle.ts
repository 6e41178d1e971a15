// Lifecycle: the valid orders real VMMs use, replayed as scenarios that must
// succeed end to end, up to a vCPU run after activation.
import { fileURLToPath } from 'node:url';
import type { CheckDef } from '../harness/core/engine.ts';
import { loadScenarioDir, scenarioCheck } from '../harness/core/steps.ts';
import { initVcpu, measure, realmWithRam, vcpuFirst } from './setup/rme-realm.ts';
import { RME_ERA } from './eras.ts';
import { ENTRY, PAGE, RAM_BASE } from '../fixtures/layout.ts';
import { systemOffSmc } from '../fixtures/payloads.ts';
import { KVM_SYSTEM_EVENT_SHUTDOWN } from '../uapi/kvm-uapi.ts';

const ORDERS = fileURLToPath(new URL('../fixtures/launch-orders/', import.meta.url));

export const checks: CheckDef[] = [
  ...loadScenarioDir(ORDERS).map((sc) => scenarioCheck(sc, 'lifecycle', 'lifecycle')),
  {
    name: 'lifecycle/minimal-order',
    area: 'lifecycle',
    description: 'CREATE, vCPU with REC, POPULATE the entry page, ACTIVATE, KVM_RUN to the guest SYSTEM_OFF',
    expects: ['create.ok', 'rec.ok', 'populate.ok', 'activate.ok', 'run.ok'],
    generations: RME_ERA,
    async run(c) {
      // Each step judged against its own expectation (not just required), so each can fail.
      const { vm, ram } = await realmWithRam(c);
      // v2+: the vCPU is initialised before CREATE, as kvmtool does (vcpuFirst); RFC v1: after (R1-CR1)
      const early = vcpuFirst(c) ? await initVcpu(c, vm) : undefined;
      c.expect(await vm.createRd(), 'create.ok');
      c.must(await ram.poke(ENTRY - RAM_BASE, systemOffSmc()));
      const vcpu = early ?? (await initVcpu(c, vm));
      c.expect(await vcpu.finalizeRec(), 'rec.ok');
      c.expect(await vm.populate({ base: ENTRY, size: PAGE, ...measure(c) }), 'populate.ok');
      if (c.abi.firstRunNeedsIrqchip) c.must(await vm.createVgicV3());
      c.expect(await vm.activate(), 'activate.ok');
      const r = await vcpu.run();
      c.expect(r, 'run.ok');
      const ex = r.exit;
      c.ok(
        ex?.reason === 'SYSTEM_EVENT' && 'type' in ex && ex.type === KVM_SYSTEM_EVENT_SHUTDOWN,
        `KVM_RUN exits with SYSTEM_EVENT(SHUTDOWN), got ${ex?.reason ?? 'none'}`,
        'R1-V9',
      );
    },
  },
];
