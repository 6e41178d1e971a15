// KVM_ENABLE_CAP on the realm CAP. RME era: the sub-command dispatch (the
// struct pointer, flags, unknown and truncated sub-command numbers, a normal
// VM). RMI era: the CAP is query-only, and every stale realm CAP of the RME
// era fails cleanly.
import type { SubcommandNumbers } from '../profiles/types.ts';
import { BAD_USER_POINTER } from '../harness/core/dsl/index.ts';
import { KVM_ENABLE_CAP, encodeEnableCap } from '../uapi/kvm-uapi.ts';
import { EMULATED_CAP } from '../uapi/kvm.ts';
import { toHex } from '../uapi/wire.ts';
import { realmVmForCreate } from './setup/rme-realm.ts';
import { ENTRY, PAGE, REALM_IPA_BITS } from '../fixtures/layout.ts';
import { populateAt, rmiRealm } from './setup/rmi-realm.ts';
import { RME_ERA, RMI_ERA } from './eras.ts';
import { check } from './table.ts';
import { succeeded } from '../harness/core/calls.ts';

const RME = { generations: RME_ERA };
const RMI = { generations: RMI_ERA };

/** One past the last sub-command of this revision's realm CAP. */
const pastLastSubcmd = (s: SubcommandNumbers | undefined): number => (s ? Math.max(s.CONFIG_REALM, s.CREATE, s.INIT_IPA, s.POPULATE, s.ACTIVATE) : 4) + 1;

export const checks = [
  check('enable-cap', 'bad-struct-pointer', RME, 'ENABLE_CAP whose struct kvm_enable_cap pointer faults', ['cap.bad-struct-pointer'], async (c) => {
    const vm = await c.realmVm();
    c.expect(await vm.ioctl('KVM_ENABLE_CAP(bad pointer)', KVM_ENABLE_CAP, { int: BAD_USER_POINTER }), 'cap.bad-struct-pointer');
  }),
  check(
    'enable-cap',
    'flags-nonzero',
    RME,
    'ENABLE_CAP(realm CAP, CREATE) with flags = 1 is refused before the sub-command runs',
    ['cap.flags-nonzero', 'create.ok'],
    async (c) => {
      const { vm } = await realmVmForCreate(c);
      c.expect(await vm.realmSubcmd('CREATE', null, {}, 1), 'cap.flags-nonzero');
      // positive observability: without the flag the same call now works
      c.expect(await vm.createRd(), 'create.ok', 'the refused call had no effect');
    },
  ),
  check('enable-cap', 'unknown-subcmd', RME, 'ENABLE_CAP(realm CAP) with args[0] one past the last sub-command', ['cap.unknown-subcmd'], async (c) => {
    const vm = await c.realmVm();
    c.expect(await vm.realmSubcmd(pastLastSubcmd(c.abi.subcmd), null), 'cap.unknown-subcmd');
  }),
  // without an RMM the VM is a normal one (R1-VM4): only the static key test keeps CONFIG(RPV) off the NULL params
  check(
    'enable-cap',
    'no-rmm',
    RME,
    'ENABLE_CAP(realm CAP, CONFIG(RPV)) on a host without an RMM is refused at dispatch',
    ['cap.no-rmm'],
    async (c) => {
      const vm = await c.normalVm();
      c.expect(await vm.config({ item: 'RPV', rpv: new Uint8Array(64) }), 'cap.no-rmm');
    },
    { emulatorOnly: 'needs a host without an RMM', emulatorSettings: { rmmPresent: false } },
  ),
  // the realm CAP's dispatch takes its own number only: arm64 enables SYSTEM_SUSPEND for any VM (arm.c, since 6.0)
  check(
    'enable-cap',
    'other-cap-unaffected',
    RME,
    'ENABLE_CAP(KVM_CAP_ARM_SYSTEM_SUSPEND) on a normal VM succeeds on a kernel with the realm CAP',
    [],
    async (c) => {
      const vm = await c.normalVm();
      const r = await vm.enableCap(EMULATED_CAP.KVM_CAP_ARM_SYSTEM_SUSPEND, [0, 0]);
      c.ok(succeeded(r), `${r.label} succeeds (generic arm64 CAP)`);
    },
  ),
  check('enable-cap', 'subcmd-high-bits', RME, 'args[0] = 2^32 + CREATE must not be truncated to CREATE', ['cap.unknown-subcmd'], async (c) => {
    const vm = await c.realmVm();
    const bytes = encodeEnableCap(c.abi.cap.nr, [2n ** 32n + BigInt(c.abi.subcmd?.CREATE ?? 1), 0]);
    c.expect(await vm.ioctl(`KVM_ENABLE_CAP(${c.abi.cap.name}, args[0]=0x100000001)`, KVM_ENABLE_CAP, { buf: { hex: toHex(bytes) } }), 'cap.unknown-subcmd');
  }),
  check(
    'enable-cap',
    'old-cap-fails-cleanly',
    RMI,
    'a v10 VMM: ENABLE_CAP(old realm CAP, CREATE) on each stale CAP number fails, and the realm still populates afterwards',
    ['rmi.old-enable-cap', 'rmi.populate-ok'],
    async (c) => {
      const r = await rmiRealm(c);
      for (const cap of c.abi.staleCaps ?? []) c.expect(await r.vm.enableCap(cap, [1, 0]), 'rmi.old-enable-cap', `stale CAP ${cap}`);
      // never half-work: nothing was created by the refused calls, the RMI path still works
      c.expect(await populateAt(r, ENTRY, PAGE), 'rmi.populate-ok', 'the refused calls left no state behind');
    },
  ),
  check('enable-cap', 'rmi-cap-query-only', RMI, 'ENABLE_CAP(KVM_CAP_ARM_RMI) on a realm VM: the CAP is query-only', ['rmi.enable-cap-rmi'], async (c) => {
    const vm = await c.realmVm(REALM_IPA_BITS);
    c.expect(await vm.enableCap(c.abi.cap.nr, [0, 0]), 'rmi.enable-cap-rmi');
  }),
  // ---- from the StrykerJS triage (bench/stryker-triage.md)
  check(
    'enable-cap',
    'off-allowlist-cap',
    RMI,
    'ENABLE_CAP(ARM_NISV_TO_USER), a CAP upstream arm64 enables: on a realm VM (v14 refuses it, off the allowlist; v12/v13 pass it to upstream), then on a normal VM (enabled)',
    ['rmi.enable-cap-off-allowlist', 'rmi.enable-cap-normal-vm'],
    async (c) => {
      const nisv = EMULATED_CAP.KVM_CAP_ARM_NISV_TO_USER;
      const vm = await c.realmVm(REALM_IPA_BITS);
      c.expect(await vm.enableCap(nisv, [0, 0]), 'rmi.enable-cap-off-allowlist', 'realm VM');
      c.expect(await (await c.normalVm()).enableCap(nisv, [0, 0]), 'rmi.enable-cap-normal-vm', 'normal VM');
    },
  ),
];
