// Probing: what a VMM asks before it commits to a realm (CHECK_EXTENSION,
// KVM_CREATE_VM types, ENABLE_CAP dispatch on the realm CAP).
import type { CheckDef } from '../harness/engine.ts';
import { BAD_USER_POINTER } from '../harness/dsl.ts';
import { KVM_ENABLE_CAP, encodeEnableCap } from '../harness/kvm-uapi.ts';
import { toHex } from '../harness/wire.ts';
import { realmVmForCreate } from './realm.ts';

const MULTIPLEXED = ['rme'] as const;

export const checks: CheckDef[] = [
  {
    name: 'probing/cap-on-system-fd',
    area: 'probing',
    description: 'CHECK_EXTENSION(realm CAP) on /dev/kvm reports the RMM',
    expects: ['probe.cap-on-system-fd'],
    async run(c) {
      const k = await c.kvm();
      c.expect(await k.checkExtension(c.abi.cap.nr), 'probe.cap-on-system-fd');
    },
  },
  {
    name: 'probing/cap-on-normal-vm',
    area: 'probing',
    description: 'CHECK_EXTENSION(realm CAP) on a normal VM fd',
    expects: ['probe.cap-on-normal-vm'],
    async run(c) {
      const vm = await c.normalVm();
      c.expect(await vm.checkExtension(c.abi.cap.nr), 'probe.cap-on-normal-vm');
    },
  },
  {
    name: 'probing/cap-on-realm-vm',
    area: 'probing',
    description: 'CHECK_EXTENSION(realm CAP) on a realm VM fd',
    expects: ['probe.cap-on-realm-vm'],
    async run(c) {
      const vm = await c.realmVm();
      c.expect(await vm.checkExtension(c.abi.cap.nr), 'probe.cap-on-realm-vm');
    },
  },
  {
    name: 'probing/cap-without-rmm',
    area: 'probing',
    description: 'CHECK_EXTENSION(realm CAP) is 0 when the host has no RMM',
    expects: ['probe.cap-no-rmm'],
    emulatorOnly: 'needs a host without an RMM',
    emulatorSettings: { rmmPresent: false },
    async run(c) {
      const k = await c.kvm();
      c.expect(await k.checkExtension(c.abi.cap.nr), 'probe.cap-no-rmm');
    },
  },
  ...(
    [
      ['realm-default-ipa', 'vm.realm-default-ipa', 0, 'realm type with IPA bits 0 (default size)'],
      ['realm-ipa-40', 'vm.realm-ipa-40', 40, 'realm type with a 40-bit IPA'],
      ['realm-ipa-too-large', 'vm.realm-ipa-too-large', 63, 'realm type with a 63-bit IPA'],
      ['realm-ipa-too-small', 'vm.realm-ipa-too-small', 31, 'realm type with a 31-bit IPA'],
    ] as const
  ).map(
    ([n, key, ipa, what]): CheckDef => ({
      name: `probing/${n}`,
      area: 'probing',
      description: `KVM_CREATE_VM with the ${what}`,
      expects: [key],
      async run(c) {
        const k = await c.kvm();
        c.expect((await k.createVm(c.abi.vmTypeRealm | ipa)).r, key);
      },
    }),
  ),
  {
    name: 'probing/realm-ipa-beyond-rmm',
    area: 'probing',
    description: 'CREATE_VM(realm | 44) with RMM S2SZ 40 and a 48-bit host: the RMM limit applies at CREATE_VM',
    expects: ['vm.realm-ipa-beyond-rmm'],
    emulatorOnly: 'needs an RMM whose S2SZ is below the host IPA limit',
    emulatorSettings: { rmmS2sz: 40, hostIpaLimit: 48 },
    async run(c) {
      const k = await c.kvm();
      c.expect((await k.createVm(c.abi.vmTypeRealm + 44)).r, 'vm.realm-ipa-beyond-rmm');
    },
  },
  {
    name: 'probing/realm-ipa-beyond-rmm-at-create',
    area: 'probing',
    description: 'RFC v1: CREATE_VM(realm | 44) with RMM S2SZ 40 and a 48-bit host succeeds; CREATE_RD then fails in the RMM',
    expects: ['create.ipa-beyond-rmm'],
    emulatorOnly: 'needs an RMM whose S2SZ is below the host IPA limit',
    emulatorSettings: { rmmS2sz: 40, hostIpaLimit: 48 },
    async run(c) {
      // R1-VM6: the host limit is what CREATE_VM checks; the RMM sees the S2SZ only in RMI_REALM_CREATE
      const vm = await c.realmVm(44);
      c.expect(await vm.createRd(), 'create.ipa-beyond-rmm');
    },
  },
  {
    name: 'probing/vm-type-stray-bits',
    area: 'probing',
    description: 'KVM_CREATE_VM with a bit set outside the type field and the IPA byte',
    expects: ['vm.type-stray-bits'],
    async run(c) {
      const k = await c.kvm();
      // the lowest bit above both the type field and the IPA byte
      const stray = (c.abi.vmTypeFieldMask | 0xff) + 1;
      c.expect((await k.createVm(c.abi.vmTypeRealm | stray)).r, 'vm.type-stray-bits');
    },
  },
  {
    name: 'probing/vm-type-unknown-value',
    area: 'probing',
    description: 'KVM_CREATE_VM with a type-field value that is neither NORMAL nor REALM',
    expects: ['vm.type-unknown-value'],
    async run(c) {
      const k = await c.kvm();
      const lowest = c.abi.vmTypeFieldMask & -c.abi.vmTypeFieldMask;
      const unknown = c.abi.vmTypeRealm + lowest; // type field value REALM + 1
      c.expect((await k.createVm(unknown)).r, 'vm.type-unknown-value');
    },
  },
  {
    name: 'probing/realm-vm-without-rmm',
    area: 'probing',
    description: 'KVM_CREATE_VM(realm type) on a host without an RMM',
    expects: ['vm.realm-no-rmm'],
    emulatorOnly: 'needs a host without an RMM',
    emulatorSettings: { rmmPresent: false },
    async run(c) {
      const k = await c.kvm();
      c.expect((await k.createVm(c.abi.vmTypeRealm)).r, 'vm.realm-no-rmm');
    },
  },
  {
    name: 'probing/enable-cap-bad-struct-pointer',
    area: 'probing',
    description: 'ENABLE_CAP whose struct kvm_enable_cap pointer faults',
    expects: ['cap.bad-struct-pointer'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.realmVm();
      c.expect(await vm.ioctl('KVM_ENABLE_CAP(bad pointer)', KVM_ENABLE_CAP, { int: BAD_USER_POINTER }), 'cap.bad-struct-pointer');
    },
  },
  {
    name: 'probing/enable-cap-flags-nonzero',
    area: 'probing',
    description: 'ENABLE_CAP(realm CAP, CREATE) with flags = 1 is refused before the sub-command runs',
    expects: ['cap.flags-nonzero', 'create.ok'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmVmForCreate(c);
      c.expect(await vm.realmSubcmd('CREATE', null, {}, 1), 'cap.flags-nonzero');
      // positive observability: without the flag the same call now works
      c.expect(await vm.createRd(), 'create.ok', 'the refused call had no effect');
    },
  },
  {
    name: 'probing/enable-cap-unknown-subcmd',
    area: 'probing',
    description: 'ENABLE_CAP(realm CAP) with args[0] one past the last sub-command',
    expects: ['cap.unknown-subcmd'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.realmVm();
      c.expect(await vm.realmSubcmd(5, null), 'cap.unknown-subcmd');
    },
  },
  {
    name: 'probing/enable-cap-subcmd-high-bits',
    area: 'probing',
    description: 'args[0] = 2^32 + CREATE must not be truncated to CREATE',
    expects: ['cap.unknown-subcmd'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.realmVm();
      const bytes = encodeEnableCap(c.abi.cap.nr, [2n ** 32n + BigInt(c.abi.subcmd?.CREATE ?? 1), 0]);
      c.expect(
        await vm.ioctl(`KVM_ENABLE_CAP(${c.abi.cap.name}, args[0]=0x100000001)`, KVM_ENABLE_CAP, { buf: { hex: toHex(bytes) } }),
        'cap.unknown-subcmd',
      );
    },
  },
  {
    name: 'probing/enable-cap-on-normal-vm',
    area: 'probing',
    description: 'ACTIVATE sub-command on a normal VM fails without side effects',
    expects: ['cap.normal-vm-subcmd'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.normalVm();
      c.expect(await vm.activate(), 'cap.normal-vm-subcmd');
    },
  },
];
