// A kernel without CCA host support: realm probes must fail cleanly, and a
// realm CAP number that upstream has since reused must not read as "CCA present".
import type { CheckDef } from '../harness/core/engine.ts';
import { REALM_CAP_NUMBERS } from '../profiles/absent.ts';
import { getProfile, PROFILES } from '../profiles/index.ts';
import { KVM_ARM_VCPU_PSCI_0_2 } from '../uapi/kvm-uapi.ts';
import { NO_CCA } from './eras.ts';
import { check } from './table.ts';

const ABSENT = { generations: NO_CCA };
/** The RME era's realm CAP and CREATE_RD sub-command, from RFC v1's profile. */
const rme = getProfile('rfc-v1');
const RME_CAP = rme!.cap.nr;
const CREATE_RD = rme!.subcmd!.CREATE;
/** The realm VM types of both eras: RFC..v13 (v13's profile) and v14. */
const OLD_REALM_TYPE = getProfile('v13')!.vmTypeRealm;
const V14_REALM_TYPE = getProfile('v14')?.vmTypeRealm ?? 2 ** 30;
/** The REC feature bits some revision had (RFC v1: 7, v2..v7: 8, v8..v10: 9), from the profiles. */
const REC_BITS = [...new Set([...PROFILES.values()].map((p) => p.recFeature).filter((b): b is number => b !== undefined))].sort((x, y) => x - y);

export const checks: CheckDef[] = [
  ...(['system', 'vm'] as const).map((where) =>
    check(
      'absent',
      `realm-caps-on-${where}-fd`,
      ABSENT,
      `CHECK_EXTENSION of every realm CAP number on ${where === 'system' ? '/dev/kvm' : 'a VM fd'}`,
      ['absent.realm-caps'],
      async (c) => {
        const e = c.expectation('absent.realm-caps');
        const fd = where === 'system' ? await c.kvm() : await c.normalVm();
        for (const cap of REALM_CAP_NUMBERS) {
          const r = await fd.checkExtension(cap.nr);
          if (r.ret === (e.ret ?? 0) && !r.errno) {
            c.ok(true, `CHECK_EXTENSION(${cap.nr}) = ${r.ret}: ${cap.revisions} absent (${e.source})`);
          } else if (cap.upstream && r.ret > 0) {
            // kata's hard-coded 240 reads this as CCA (abi-evolution.md §4.2): it is not
            c.ok(
              true,
              `CHECK_EXTENSION(${cap.nr}) = ${r.ret}: upstream ${cap.upstream}, not ${cap.revisions}; a VMM probing only this number would see a false "CCA present"`,
              'abi-evolution.md §4.2',
            );
          } else {
            c.ok(
              false,
              `CHECK_EXTENSION(${cap.nr}) = ${r.ret}${r.errno ? ` errno ${r.errno}` : ''}, expected ${e.ret ?? 0} on a kernel without CCA (${e.source})`,
            );
          }
        }
      },
    ),
  ),
  check(
    'absent',
    'realm-vm-types',
    ABSENT,
    'KVM_CREATE_VM with the realm types 0x100 and 1<<30 fails',
    ['absent.vm-type-0x100', 'absent.vm-type-bit30'],
    async (c) => {
      const k = await c.kvm();
      c.expect((await k.__createVm(OLD_REALM_TYPE)).r, 'absent.vm-type-0x100');
      c.expect((await k.__createVm(OLD_REALM_TYPE | 40)).r, 'absent.vm-type-0x100', 'with an IPA size');
      c.expect((await k.__createVm(V14_REALM_TYPE)).r, 'absent.vm-type-bit30');
    },
  ),
  check('absent', 'enable-cap-rme', ABSENT, 'ENABLE_CAP(300, CREATE_RD) on a normal VM fails', ['absent.enable-cap-rme'], async (c) => {
    const vm = await c.normalVm();
    c.expect(await vm.enableCap(RME_CAP, [CREATE_RD, 0], 0, [], `KVM_ENABLE_CAP(${RME_CAP}, args=[CREATE_RD])`), 'absent.enable-cap-rme');
  }),
  ...REC_BITS.map((bit) =>
    check(
      'absent',
      `init-rec-bit-${bit}`,
      ABSENT,
      `KVM_ARM_VCPU_INIT with PSCI_0_2 and feature bit ${bit} (a REC bit of some revision)`,
      ['absent.vcpu-rec-bits'],
      async (c) => {
        const vm = await c.normalVm();
        const vcpu = await vm.createVcpu(0);
        c.expect(await vcpu.init([KVM_ARM_VCPU_PSCI_0_2, bit]), 'absent.vcpu-rec-bits');
        c.must(await vcpu.init([KVM_ARM_VCPU_PSCI_0_2]));
      },
    ),
  ),
];
