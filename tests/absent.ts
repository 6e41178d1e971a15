// A kernel without CCA host support: realm probes must fail cleanly, and a
// realm CAP number that upstream has since reused must not read as "CCA present".
import type { CheckDef } from '../harness/engine.ts';
import { REALM_CAP_NUMBERS } from '../harness/abi/absent.ts';
import { KVM_ARM_VCPU_PSCI_0_2 } from '../harness/kvm-uapi.ts';

const ABSENT = ['absent'] as const;

export const checks: CheckDef[] = [
  ...(['system', 'vm'] as const).map(
    (where): CheckDef => ({
      name: `probing/absent-realm-caps-on-${where}-fd`,
      area: 'probing',
      description: `CHECK_EXTENSION of every realm CAP number on ${where === 'system' ? '/dev/kvm' : 'a VM fd'}`,
      expects: ['absent.realm-caps'],
      generations: ABSENT,
      async run(c) {
        const e = c.expectation('absent.realm-caps');
        const fd = where === 'system' ? await c.kvm() : await c.normalVm();
        for (const cap of REALM_CAP_NUMBERS) {
          const r = await fd.checkExtension(cap.nr);
          if (r.ret === (e.ret ?? 0) && !r.errno) {
            c.ok(true, `CHECK_EXTENSION(${cap.nr}) = ${r.ret}: ${cap.revisions} absent (${e.source})`);
          } else if (cap.upstream && r.ret > 0) {
            // kata's hard-coded 240 reads this as CCA (abi-evolution.md §4.2): it is not
            c.ok(true, `CHECK_EXTENSION(${cap.nr}) = ${r.ret}: upstream ${cap.upstream}, not ${cap.revisions}; a VMM probing only this number would see a false "CCA present"`, 'abi-evolution.md §4.2');
          } else {
            c.ok(false, `CHECK_EXTENSION(${cap.nr}) = ${r.ret}${r.errno ? ` errno ${r.errno}` : ''}, expected ${e.ret ?? 0} on a kernel without CCA (${e.source})`);
          }
        }
      },
    }),
  ),
  {
    name: 'probing/absent-realm-vm-types',
    area: 'probing',
    description: 'KVM_CREATE_VM with the realm types 0x100 and 1<<30 fails',
    expects: ['absent.vm-type-0x100', 'absent.vm-type-bit30'],
    generations: ABSENT,
    async run(c) {
      const k = await c.kvm();
      c.expect((await k.__createVm(0x100)).r, 'absent.vm-type-0x100');
      c.expect((await k.__createVm(0x100 | 40)).r, 'absent.vm-type-0x100', 'with an IPA size');
      c.expect((await k.__createVm(2 ** 30)).r, 'absent.vm-type-bit30');
    },
  },
  {
    name: 'probing/absent-enable-cap-rme',
    area: 'probing',
    description: 'ENABLE_CAP(300, CREATE_RD) on a normal VM fails',
    expects: ['absent.enable-cap-rme'],
    generations: ABSENT,
    async run(c) {
      const vm = await c.normalVm();
      c.expect(await vm.enableCap(300, [1, 0], 0, [], 'KVM_ENABLE_CAP(300, args=[CREATE_RD])'), 'absent.enable-cap-rme');
    },
  },
  ...[7, 8, 9].map(
    (bit): CheckDef => ({
      name: `vcpu/absent-init-rec-bit-${bit}`,
      area: 'vcpu',
      description: `KVM_ARM_VCPU_INIT with PSCI_0_2 and feature bit ${bit} (a REC bit of some revision)`,
      expects: ['absent.vcpu-rec-bits'],
      generations: ABSENT,
      async run(c) {
        const vm = await c.normalVm();
        const vcpu = await vm.createVcpu(0);
        c.expect(await vcpu.init([KVM_ARM_VCPU_PSCI_0_2, bit]), 'absent.vcpu-rec-bits');
        c.must(await vcpu.init([KVM_ARM_VCPU_PSCI_0_2]));
      },
    }),
  ),
];
