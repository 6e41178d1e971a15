// Generic KVM sanity: a normal VM runs guest code to an MMIO exit. It runs
// unchanged on the emulator and on a real kernel, and proves the encoders,
// pointer fix-ups, kvm_run decoding and errno capture on that target.
import type { CheckDef } from '../harness/core/engine.ts';
import { KVM_API_VERSION, KVM_ARM_VCPU_PSCI_0_2, KVM_SYSTEM_EVENT_SHUTDOWN } from '../uapi/kvm-uapi.ts';
import { MMIO_ADDR } from '../fixtures/layout.ts';
import { mmioStoreThenOff } from '../fixtures/payloads.ts';

const GUEST_RAM = 0x40000000;

export const checks: CheckDef[] = [
  {
    name: 'generic/api-version',
    area: 'generic',
    description: 'KVM_GET_API_VERSION is 12',
    expects: [],
    async run(c) {
      const k = await c.kvm();
      const r = await k.apiVersion();
      c.equal(r.ret, KVM_API_VERSION, `${r.label} returns the stable API version`, 'include/uapi/linux/kvm.h KVM_API_VERSION');
    },
  },
  {
    name: 'generic/normal-vm-mmio-exit',
    area: 'generic',
    description: 'normal VM, 64 KiB memslot, PSCI 0.2 vCPU: a guest store to an unbacked IPA exits as MMIO, then SYSTEM_OFF',
    expects: [],
    async run(c) {
      const vm = await c.normalVm();
      const mem = await vm.memslot({ slot: 0, gpa: GUEST_RAM, size: 0x10000 });
      c.must(await mem.poke(0, mmioStoreThenOff(MMIO_ADDR, 'hvc')));
      const v = await vm.createVcpu(0);
      c.must(await v.init([KVM_ARM_VCPU_PSCI_0_2]));
      c.must(await v.setPc(GUEST_RAM));
      const r1 = await v.run();
      const src = 'qemu-target-notes.md (Debian 6.1 answers)';
      c.ok(r1.ret === 0, `${r1.label} returns 0 (got ${r1.ret}${r1.error ? ` ${r1.error}` : ''})`, src);
      const e1 = r1.exit;
      if (c.ok(e1?.reason === 'MMIO', `first exit is MMIO (got ${e1?.reason ?? 'none'})`) && e1 && 'physAddr' in e1) {
        c.equal(e1.physAddr, BigInt(MMIO_ADDR), 'MMIO phys_addr');
        c.equal(e1.len, 4, 'MMIO len');
        c.equal(e1.isWrite, true, 'MMIO is_write');
        c.equal(e1.data[0], 0x42, 'MMIO data[0]');
      }
      const r2 = await v.run();
      const e2 = r2.exit;
      c.ok(
        e2?.reason === 'SYSTEM_EVENT' && 'type' in e2 && e2.type === KVM_SYSTEM_EVENT_SHUTDOWN,
        `second exit is SYSTEM_EVENT(SHUTDOWN) (got ${e2?.reason ?? 'none'})`,
      );
    },
  },
];
