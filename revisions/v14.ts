// v14 (13 May 2026): the RMI era as conditions.md §4 reads it in code: a
// query-only KVM_CAP_ARM_RMI, no sub-commands, guest_memfd memslots decide
// RIPAS, one KVM_ARM_RMI_POPULATE ioctl, the RD, the RECs and activation made
// implicitly (abi-evolution.md §3.5-§3.7); the realm type moved to bit 30
// beside pKVM's bit 31, PSCI complete removed. v13 and v12 derive from it.
import { rmiPopulateIoctl, type RevisionUapi } from '../uapi/realm.ts';
import { NO_RMM_DISPUTE, POPULATE_NORMAL_DISPUTE } from './rmi-era.ts';
import { RMM_2_0 } from './rme-era.ts';
import { withUapi, type ProfileBehaviour, type Revision } from './types.ts';
const V14 = '"[PATCH v14 13/44]" (abi-evolution.md §2a)';

export const uapi: RevisionUapi = {
  cap: { name: 'KVM_CAP_ARM_RMI', nr: 249, source: V14 },
  // realm 1UL << 30 beside pKVM's KVM_VM_TYPE_ARM_PROTECTED 1UL << 31
  vmType: { realm: 1 << 30, fieldMask: 0xc0000000, protected: 0x80000000 },
  // no REC bit; MAX_FEATURES left at upstream's 9 (V14-V2, UNCONFIRMED)
  maxVcpuFeatures: 9,
  measure: { bit: 0, c: 'KVM_ARM_RMI_POPULATE_FLAGS_MEASURE' },
  rmiPopulate: rmiPopulateIoctl('rw', 'V14-26, abi-evolution.md §2a'),
};

const behaviour: ProfileBehaviour = {
  name: 'v14',
  title: 'v14, 2026-05-13: KVM_CAP_ARM_RMI=249, realm type 1<<30 beside pKVM bit 31, PSCI complete removed, dead realms stay dead',
  source: V14,
  privateMemory: 'guest_memfd',
  firstRunNeedsIrqchip: true,
  expect: {
    'probe.cap-on-system-fd': { errno: 0, ret: 1, source: 'V14-CE1' },
    'probe.cap-on-normal-vm': { errno: 0, ret: 1, source: 'V14-CE1' },
    'probe.cap-on-realm-vm': { errno: 0, ret: 1, source: 'V14-CE1' },
    'probe.cap-no-rmm': { errno: 0, ret: 0, source: 'V14-CE1 (static key off)' },
    'vm.realm-default-ipa': { errno: 0, source: 'V14-VM4 (0 means 40 bits)' },
    'vm.realm-ipa-40': { errno: 0, source: 'V14-VM4' },
    'vm.realm-ipa-too-large': { errno: 'EINVAL', source: 'V14-VM4' },
    'vm.realm-ipa-too-small': { errno: 'EINVAL', source: 'V14-VM4 (UP)' },
    'vm.realm-ipa-beyond-rmm': { errno: 'EINVAL', source: 'V14-VM4 (RMM S2SZ)' },
    'vm.realm-no-rmm': { errno: 'EINVAL', source: 'V14-VM2', dispute: NO_RMM_DISPUTE },
    'vm.realm-and-protected': { errno: 'EINVAL', source: 'V14-VM1' },
    'vm.old-realm-type': { errno: 'EINVAL', source: 'V14-VM3 (bit 8 is outside IPA[7:0], bit 30 and bit 31)' },
    'rmi.old-enable-cap': { errno: 'EINVAL', source: 'V14-EC6 (no sub-command interface on any VM)' },
    'rmi.enable-cap-rmi': { errno: 'EINVAL', source: 'V14-EC5 (allowlisted, but not handled by the arm64 switch)' },
    'rmi.enable-cap-off-allowlist': { errno: 'EINVAL', source: 'V14-EC4 (a realm VM and a CAP off the allowlist)' },
    'rmi.enable-cap-normal-vm': { errno: 0, source: 'UP (kvm_vm_ioctl_enable_cap: NISV_TO_USER sets a VM flag and returns 0); V14-EC4 filters realm VMs only' },
    'rmi.cap-allowlisted': { errno: 0, ret: 1, source: 'V14-CE2 (ARM_PSCI_0_2 is on the allowlist)' },
    'rmi.cap-not-allowlisted': { errno: 0, ret: 0, source: 'V14-CE2 (ARM_EL1_32BIT is not)' },
    'rmi.populate-old-number': {
      errno: 'EINVAL',
      source:
        'UP (arm64 kvm_arch_vm_ioctl answers an unknown VM ioctl -EINVAL); abi-evolution.md §3.6 (v13 made KVM_ARM_RMI_POPULATE _IOWR: the v12 _IOW number is another request)',
    },
    'rmi.populate-ok': { errno: 0, ret: 0, source: 'V14-PO7, V14-PO15 (returns 0, the struct advanced)' },
    'rmi.populate-unmeasured': { errno: 0, ret: 0, source: 'V14-PO3 (flags 0 valid); OpenVMM populates unmeasured pages with flags 0 (abi-evolution.md §6.4)' },
    'rmi.populate-progress': { errno: 0, ret: 0, source: 'V14-PO15 (base/size/source_uaddr advance together; the caller loops until size is 0)' },
    'rmi.populate-bad-pointer': { errno: 'EFAULT', source: 'V14-PO2' },
    'rmi.populate-normal-vm': { errno: 'ENXIO', source: 'V14-PO1, conditions.md §6.7', dispute: POPULATE_NORMAL_DISPUTE },
    'rmi.populate-normal-vm-bad-pointer': { errno: 'ENXIO', source: 'V14-PO1 (before reading the struct)' },
    'rmi.populate-reserved': { errno: 'EINVAL', source: 'V14-PO3' },
    'rmi.populate-unknown-flag': { errno: 'EINVAL', source: 'V14-PO3' },
    'rmi.populate-unaligned-base': { errno: 'EINVAL', source: 'V14-PO3' },
    'rmi.populate-unaligned-size': { errno: 'EINVAL', source: 'V14-PO3 (base+size unaligned)' },
    'rmi.populate-unaligned-source': { errno: 'EINVAL', source: 'V14-PO3; abi-evolution.md §3.6 (added in v13)' },
    'rmi.populate-after-run': { errno: 'EBUSY', source: 'V14-PO9' },
    'rmi.populate-invalid-after-run': { errno: 'EINVAL', source: 'V14-PO3 before V14-PO9 (§5: the combined check precedes the state)' },
    'rmi.populate-after-failed-run': { errno: 'ENXIO', source: 'V14-PO8, §4.7' },
    'rmi.populate-after-no-irqchip-run': { errno: 0, ret: 0, source: 'V14-A5 (state unchanged: NEW) then V14-PO7 (NEW proceeds)' },
    'rmi.populate-zero-size': { errno: 0, ret: 0, source: 'V14-PO5 (base in a guest_memfd memslot)' },
    // the RD is created by the first POPULATE (V14-PO6); realm_create_rd reads the VM's ID_AA64DFR0_EL1 as v6 35/43 did, 0 before any vCPU init
    'rmi.populate-before-vcpu-init': {
      errno: 'ENXIO',
      source:
        'V14-PO6 (-ENXIO when RMI_REALM_CREATE fails); realm_create_rd of the RMI postings fills num_bps/num_wps from kvm_read_vm_id_reg(ID_AA64DFR0_EL1); TF-RMM runtime/rmi/realm.c validate_realm_params (num_bps/num_wps 0 are reserved, since August 2024: tf-rmm-v0.6.0 and the RMM 2.0 line)',
    },
    'vcpu.init-other-width': { errno: 'EINVAL', source: 'G10 (6.7 on: one feature set per VM, and EL1_32BIT is one of the features)' },
    'vcpu.init-differs-from-first': {
      errno: 'EINVAL',
      source:
        'upstream since 6.7 (kvm_vcpu_set_target: KVM_ARCH_FLAG_VCPU_FEATURES_CONFIGURED, kvm->arch.vcpu_features; POWER_OFF is not kept); seen on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7, mux/run/without-rec-bit)',
    },
    'rmi.populate-zero-size-no-memslot': { errno: 'EINVAL', source: 'V14-PO5 (RD created as a side effect)' },
    'rmi.populate-no-memslot': { errno: 'EINVAL', source: 'V14-PO10' },
    'rmi.populate-not-gmem': { errno: 'EINVAL', source: 'V14-PO10' },
    'rmi.populate-not-private': { errno: 'EINVAL', source: 'V14-PO11' },
    'rmi.populate-source-fault': { errno: 'EFAULT', source: 'V14-PO11, V14-PO15 (an error on the first page is returned)' },
    'rmi.populate-source-zero': { errno: 'EOPNOTSUPP', source: 'V14-PO13' },
    'rmi.populate-past-memslot-end': { errno: 0, ret: 0, source: 'V14-PO12 (clipped to the memslot; the struct shows the remainder)' },
    'rmi.populate-twice': { errno: 'ENXIO', source: 'V14-PO14' },
    'rmi.populate-negative-count': { errno: 'EINVAL', source: 'V14-PO10 (UP-gmem: a page count that is negative, size >= 2^63)' },
    'rmi.populate-error-after-progress': {
      errno: 0,
      ret: 0,
      source: 'V14-PO15 (error after >= 1 page swallowed; the next call fails on the bad page with V14-PO14)',
    },
    'rmi.first-run-no-irqchip': { errno: 'EOPNOTSUPP', source: 'V14-A5' },
    'rmi.run-after-irqchip-added': { errno: 0, source: '§4.7 row 1 (state still NONE/NEW; the first-run path is retried)' },
    'rmi.first-run-rec-fails': { errno: 'EINVAL', source: 'V14-A9 (a vCPU lacks PSCI_0_2); the realm is left DEAD' },
    'rmi.second-run-after-failed-run': {
      errno: 'EINVAL',
      source: '§4.7 row 2 (activate sees DEAD >= ACTIVE, returns 0; kvm_rec_pre_enter state != ACTIVE -> -EINVAL, V14-R1)',
    },
    'rmi.run-ok': { errno: 0, source: 'V14-A12' },
    'rmi.run-uninit-no-irqchip': { errno: 'ENOEXEC', source: 'V14-A1 before V14-A5 (§5)' },
    'rmi.vcpu-after-run': { errno: 'EBUSY', source: 'V14-V5, conditions.md §6.10 (vGIC initialised; UP-arm)' },
    'rmi.init-old-rec-bit': { errno: 'ENOENT', source: 'V14-V2', unconfirmed: 'V14-V2: whether upstream 7.1 still has KVM_VCPU_MAX_FEATURES = 9' },
    'rmi.finalize-old-rec': { errno: 'EINVAL', source: 'V14-V3' },
    'rmi.el1-32bit': { errno: 'EINVAL', source: 'V14-V1' },
    'rmi.psci-complete-removed': { errno: 'EINVAL', source: 'V14-V11 (0xd6 reaches the arch default)' },
    'sve.vls-before-rd': { errno: 0, source: 'UP (SVE_VLS writable until FINALIZE(SVE)); V14-V6 allows SVE_VLS' },
    'sve.vls-after-rd': { errno: 'EPERM', source: 'V14-V7 (the RD was made by the first POPULATE)' },
    'vcpu.realm-reg-allowed': { errno: 0, source: 'V14-V6 (x0..x30 and PC are settable)' },
    'vcpu.realm-reg-refused': { errno: 'EINVAL', source: 'V14-V6 (any other register)' },
    'sve.rd-unfinalised': { errno: 'EINVAL', source: 'V14-V9, V14-PO6 (RD creation at POPULATE)' },
  },
};

export const v14 = {
  name: 'v14',
  era: 'rmi',
  uapi,
  profile: withUapi('v14', 'rmi', uapi, behaviour),
  rules: {
    abi: 'v14',
    maxVcpuFeatures: 9,
    populateNotRealm: 'ENXIO',
    sourceAligned: true,
    deadBeforeIrqchip: false,
    activeOrBeyond: true,
    allowPmu: false,
    pmcrSettable: false,
    enableCapAllowlist: true,
    sourceZero: 'EOPNOTSUPP',
    psciNotRealm: 'ENXIO',
  },
  rmm: RMM_2_0,
} satisfies Revision<'v14'>;
