// KVM_CREATE_VM: the realm type and its IPA size, stray and unknown type
// bits, a host without an RMM; the RMI era's type bit and the old type.
import type { CheckContext } from '../harness/core/engine.ts';
import type { CallResult } from '../harness/core/calls.ts';
import { getProfile } from '../profiles/index.ts';
import { REALM_IPA_BITS } from '../fixtures/layout.ts';
import { RMI_ERA } from './eras.ts';
import { stimuli } from './table.ts';

/** The type word, from the running revision's profile. */
type TypeOf = (c: CheckContext) => number;

const createVm = async (c: CheckContext, _state: 'kvm', type: TypeOf): Promise<CallResult> => (await (await c.kvm()).__createVm(type(c))).r;

/** The realm type of the RME era and RMI v12/v13 (0x100): v13's profile holds it. */
const oldRealmType = (): number => getProfile('v13')!.vmTypeRealm;

export const checks = [
  ...stimuli<'kvm', TypeOf>(
    'create-vm',
    {},
    [
      {
        name: 'realm-default-ipa',
        description: 'KVM_CREATE_VM with the realm type with IPA bits 0 (default size)',
        state: 'kvm',
        args: (c) => c.abi.vmTypeRealm | 0,
        expect: 'vm.realm-default-ipa',
      },
      {
        name: 'realm-ipa-40',
        description: 'KVM_CREATE_VM with the realm type with a 40-bit IPA',
        state: 'kvm',
        args: (c) => c.abi.vmTypeRealm | 40,
        expect: 'vm.realm-ipa-40',
      },
      {
        name: 'realm-ipa-too-large',
        description: 'KVM_CREATE_VM with the realm type with a 63-bit IPA',
        state: 'kvm',
        args: (c) => c.abi.vmTypeRealm | 63,
        expect: 'vm.realm-ipa-too-large',
      },
      {
        name: 'realm-ipa-too-small',
        description: 'KVM_CREATE_VM with the realm type with a 31-bit IPA',
        state: 'kvm',
        args: (c) => c.abi.vmTypeRealm | 31,
        expect: 'vm.realm-ipa-too-small',
      },
      {
        name: 'realm-ipa-beyond-rmm',
        description: 'CREATE_VM(realm | 44) with RMM S2SZ 40 and a 48-bit host: the RMM limit applies at CREATE_VM',
        state: 'kvm',
        args: (c) => c.abi.vmTypeRealm + 44,
        expect: 'vm.realm-ipa-beyond-rmm',
        with: { emulatorOnly: 'needs an RMM whose S2SZ is below the host IPA limit', emulatorSettings: { rmmS2sz: 40, hostIpaLimit: 48 } },
      },
      // the lowest bit above both the type field and the IPA byte
      {
        name: 'type-stray-bits',
        description: 'KVM_CREATE_VM with a bit set outside the type field and the IPA byte',
        state: 'kvm',
        args: (c) => c.abi.vmTypeRealm | ((c.abi.vmTypeFieldMask | 0xff) + 1),
        expect: 'vm.type-stray-bits',
      },
      // type field value REALM + 1
      {
        name: 'type-unknown-value',
        description: 'KVM_CREATE_VM with a type-field value that is neither NORMAL nor REALM',
        state: 'kvm',
        args: (c) => c.abi.vmTypeRealm + (c.abi.vmTypeFieldMask & -c.abi.vmTypeFieldMask),
        expect: 'vm.type-unknown-value',
      },
      {
        name: 'realm-without-rmm',
        description: 'KVM_CREATE_VM(realm type) on a host without an RMM',
        state: 'kvm',
        args: (c) => c.abi.vmTypeRealm,
        expect: 'vm.realm-no-rmm',
        with: { emulatorOnly: 'needs a host without an RMM', emulatorSettings: { rmmPresent: false } },
      },
    ],
    createVm,
  ),
  ...stimuli<'kvm', TypeOf>(
    'create-vm',
    { generations: RMI_ERA },
    [
      {
        name: 'realm-and-protected',
        description: 'KVM_CREATE_VM(REALM | PROTECTED | IPA 40) is refused',
        state: 'kvm',
        args: (c) => c.abi.vmTypeRealm + (c.abi.vmTypeProtected ?? 0) + REALM_IPA_BITS,
        expect: 'vm.realm-and-protected',
      },
      {
        name: 'old-realm-type',
        description: 'KVM_CREATE_VM with the RFC..v13 realm type 0x100 on a v14 kernel',
        state: 'kvm',
        args: () => oldRealmType() + REALM_IPA_BITS,
        expect: 'vm.old-realm-type',
      },
    ],
    createVm,
  ),
];
