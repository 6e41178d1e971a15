// v10 (20 Aug 2025, base v6.17-rc1, RMM 1.0-rel0): the last revision of the
// RME era (the KVM_ENABLE_CAP sub-commands), and the one conditions.md §3
// reads in code (most rows in the v9 posting, tag C*). v2..v9 are derived
// from it backwards, each saying only what differs.
// Numbers: lore:20250820145606.180644-7-steven.price@arm.com (abi-evolution.md §2).
import { REALM_STRUCTS, RME_VM_TYPE, psciCompleteIoctl, type RevisionUapi } from '../uapi/realm.ts';
import { LATE_ERRNO, RMM_REL0, gmemRules } from './rme-era.ts';
import { withUapi, type ProfileBehaviour, type Revision } from './types.ts';

export const uapi: RevisionUapi = {
  cap: { name: 'KVM_CAP_ARM_RME', nr: 244, source: 'lore:20250820145606.180644-7-steven.price@arm.com', upstream: 'KVM_CAP_GUEST_MEMFD_MMAP' },
  vmType: RME_VM_TYPE,
  // REC = 9 (HAS_EL2_E2H0 took 8 upstream); V10-42 raises MAX_FEATURES 9 -> 10
  recFeature: { bit: 9, c: 'KVM_ARM_VCPU_REC' },
  maxVcpuFeatures: 10,
  subcmd: {
    numbers: { CONFIG_REALM: 0, CREATE: 1, INIT_IPA: 2, POPULATE: 3, ACTIVATE: 4 },
    names: { CONFIG_REALM: 'CONFIG_REALM', CREATE: 'CREATE_REALM', INIT_IPA: 'INIT_RIPAS_REALM', POPULATE: 'POPULATE_REALM', ACTIVATE: 'ACTIVATE_REALM' },
    cPrefix: 'KVM_CAP_ARM_RME_',
  },
  // v9 renamed the algorithm constants ARM_RME_CONFIG_HASH_ALGO_*
  config: {
    struct: REALM_STRUCTS.armRmeConfig,
    items: { RPV: 0, HASH_ALGO: 1 },
    hashAlgos: { SHA256: 0, SHA512: 1 },
    itemPrefix: 'ARM_RME_CONFIG_',
    hashPrefix: 'ARM_RME_CONFIG_HASH_ALGO_',
    rpvSizeC: 'ARM_RME_CONFIG_RPV_SIZE',
  },
  populate: REALM_STRUCTS.armRmePopulate,
  initIpa: REALM_STRUCTS.armRmeInitRipas,
  measure: { bit: 0, c: 'KVM_ARM_RME_POPULATE_FLAGS_MEASURE' },
  psciComplete: psciCompleteIoctl('KVM_ARM_VCPU_RMM_PSCI_COMPLETE', 0xd6, REALM_STRUCTS.rmmPsciComplete, 'V10-23, abi-evolution.md §2a (nr 0xd6 since v8)'),
  cSource: '"[PATCH v9 06/43]", lore:20250820145606.180644-7-steven.price@arm.com (abi-evolution.md §2b)',
};

const ENOSYS_DISPUTE = 'EPERM vs ENOSYS for PSCI/populate on the wrong vCPU or VM: Marc Zyngier, lore:86pl5m89ub.wl-maz@kernel.org (abi-evolution.md §4.6)';
const STATE_DISPUTE = 'wrong-state errno: RFC -EBUSY, Zhi Wang suggested -EINVAL (v6/v7), v8+ -EPERM (conditions.md §6.5; abi-evolution.md §3.1, §4.6)';
const NO_RMM_DISPUTE =
  'realm VM without an RMM: -EINVAL before v7, -EPERM v7..v10, -EINVAL again from v12 while the changelog says -EPERM (abi-evolution.md §3.3, §3.5, §4.6; conditions.md §6.11)';
const RIPAS_DISPUTE =
  "INIT_RIPAS wrong state: -EINVAL in an earlier posting, -EPERM after Gavin Shan's review; the switch revision is not pinned (conditions.md §6.6)";

const behaviour: ProfileBehaviour = {
  name: 'v10',
  title: 'v10, 2025-08-20: KVM_CAP_ARM_RME=244, arm_rme_* structs, REC=9, PSCI complete 0xd6',
  source: 'lore:20250820145606.180644-7-steven.price@arm.com',
  privateMemory: 'guest_memfd',
  recInInit: true,
  firstRunNeedsIrqchip: true,
  expect: {
    'probe.cap-on-system-fd': { errno: 0, ret: 1, source: 'V10-CE1' },
    'probe.cap-on-normal-vm': { errno: 0, ret: 1, source: 'V10-CE1 (static key, not per VM)' },
    'probe.cap-on-realm-vm': { errno: 0, ret: 1, source: 'V10-CE1' },
    'probe.cap-no-rmm': { errno: 0, ret: 0, source: 'V10-CE1 (static key off)' },
    'probe.realm-hides-guest-debug': { errno: 0, ret: 0, source: 'V10-CE2' },
    'probe.realm-sve-no-rmm-sve': { errno: 0, ret: 0, source: "V10-CE2 (a realm VM answers the RMM's SVE_EN bit)" },
    'vm.realm-default-ipa': { errno: 0, source: 'V10-VM4 (0 means 40 bits; the RMM S2SZ is 40 or more)' },
    'vm.realm-ipa-40': { errno: 0, source: 'V10-VM4' },
    'vm.type-stray-bits': { errno: 'EINVAL', source: 'V10-VM1' },
    'vm.type-unknown-value': { errno: 'EINVAL', source: 'V10-VM3' },
    'vm.realm-ipa-too-large': { errno: 'EINVAL', source: 'V10-VM4' },
    'vm.realm-ipa-too-small': { errno: 'EINVAL', source: 'V10-VM4' },
    'vm.realm-ipa-beyond-rmm': { errno: 'EINVAL', source: 'V10-VM4 (the limit is the RMM S2SZ, not the host limit)' },
    'vm.realm-no-rmm': { errno: 'EPERM', source: 'V10-VM2', dispute: NO_RMM_DISPUTE },
    'cap.bad-struct-pointer': { errno: 'EFAULT', source: 'V10-EC1' },
    'cap.flags-nonzero': { errno: 'EINVAL', source: 'V10-EC2' },
    'cap.flags-before-subcmd': { errno: 'EINVAL', source: 'V10-EC2 before V10-EC5 (§5)' },
    'cap.unknown-subcmd': { errno: 'EINVAL', source: 'V10-EC5' },
    'cap.normal-vm-subcmd': { errno: 'EINVAL', source: 'V10-EC4 (realm check before args[0])' },
    'config.rpv': { errno: 0, source: 'V10-CF3' },
    'config.rpv-repeat': { errno: 0, source: 'V10-CF3 (copied unvalidated; the last write wins)' },
    'config.hash-sha256': { errno: 0, source: 'V10-CF4' },
    'config.hash-sha512': { errno: 0, source: 'V10-CF4 (the RMM advertises SHA512)' },
    'config.hash-unknown': { errno: 'EINVAL', source: 'V10-CF4' },
    'config.hash-unsupported': { errno: 'EINVAL', source: 'V10-CF4' },
    'config.removed-items': { errno: 'EINVAL', source: "V10-CF5 (the RFC's 2/3/4), V10-CF6" },
    'config.unknown-item': { errno: 'EINVAL', source: 'V10-CF5' },
    'config.after-create': { errno: 'EBUSY', source: 'V10-CF1' },
    'config.bad-pointer': { errno: 'EFAULT', source: 'V10-CF2' },
    'config.after-create-bad-pointer': { errno: 'EBUSY', source: 'V10-CF1 (wins over -EFAULT)' },
    'config.normal-vm': { errno: 'EINVAL', source: 'V10-EC4' },
    'create.ok': { errno: 0, source: 'V10-CR11' },
    'create.twice': { errno: 'EEXIST', source: 'V10-CR1' },
    'create.normal-vm': { errno: 'EINVAL', source: 'V10-EC4' },
    'create.after-vcpu': { errno: 0, source: 'V10-CR10 (no created_vcpus check; one vCPU without SVE passes V10-CR7)' },
    // v6 35/43 (lore:20241212155610.76522-36-steven.price@arm.com) fills num_bps/num_wps from the VM's ID_AA64DFR0_EL1,
    // which KVM sets up at the first KVM_ARM_VCPU_INIT; the same patch (same description, reviewed unchanged) is 36/45 in v7,
    // 35/43 in v8 (lore:20250416134208.383984-36-steven.price@arm.com), v9 and v10
    'create.before-vcpu-init': {
      errno: 'ENXIO',
      source:
        'V10-CR11 path: RMI_REALM_CREATE fails -> -ENXIO; the counts are 0 before the first vCPU init (v6 35/43, v7 36/45 lore:20250213161426.102987-37-steven.price@arm.com); TF-RMM runtime/rmi/realm.c validate_realm_params (num_bps/num_wps 0 are reserved, since August 2024: tf-rmm-v0.6.0 and the RMM 2.0 line); seen on the cca-host/v7 stack',
    },
    'init.ok': { errno: 0, source: 'V10-IR (copy, wrap, state, RMM loop)' },
    'init.bad-pointer': { errno: 'EFAULT', source: 'V10-IR1' },
    'init.fault-before-state': { errno: 'EFAULT', source: 'V10-IR1 before V10-IR3 (§5)' },
    'init.wrap': { errno: 'EINVAL', source: 'V10-IR2' },
    'init.wrap-before-create': { errno: 'EINVAL', source: 'V10-IR2 (before the state check)' },
    'init.before-create': { errno: 'EPERM', source: 'V10-IR3', dispute: RIPAS_DISPUTE },
    'init.after-activate': { errno: 'EPERM', source: 'V10-IR3', dispute: RIPAS_DISPUTE },
    'init.normal-vm': { errno: 'EINVAL', source: 'V10-EC4 (normal VM excluded at dispatch)' },
    'init.zero-size': { errno: 0, source: 'V10-IR4' },
    'init.reserved-ignored': { errno: 0, source: 'V10-IR5' },
    'init.unaligned-base': { errno: 'ENXIO', source: 'V10-IR6 (no kernel check; the RMM refuses)' },
    'init.unaligned-size': { errno: 'ENXIO', source: 'V10-IR6 (no kernel check; the RMM refuses)' },
    'init.beyond-ipa': { errno: 'ENXIO', source: 'V10-IR7' },
    'init.unprotected-half': { errno: 'ENXIO', source: 'V10-IR7' },
    'init.no-memslot': { errno: 0, source: 'V10-IR order: no memslot lookup (copy, wrap, state, RMM)' },
    'init.two-memslots': { errno: 0, source: 'V10-IR order: no memslot lookup' },
    'init.over-populated': { errno: 'EINVAL', source: 'V10-IR8' },
    // V10-IR8 assumed RMM 1.0 refuses re-initialising RAM; TF-RMM does not (the RTT entry is already UNASSIGNED RAM)
    'init.over-ram': {
      errno: 0,
      source:
        'TF-RMM tf-rmm-v0.6.0 runtime/rmi/rtt.c: RTT_INIT_RIPAS leaves an entry that is already RAM as it is and succeeds; seen on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7)',
    },
    'populate.ok': { errno: 0, source: 'V10-PO7..PO10 (success path)' },
    'populate.measure': { errno: 0, source: 'V10-PO3, V10-PO10' },
    'populate.unmeasured': { errno: 0, source: 'V10-PO3 (flags 0 is valid), V10-PO10' },
    'populate.unknown-flag': { errno: 'EINVAL', source: 'V10-PO3' },
    'populate.reserved-ignored': { errno: 0, source: 'V10-PO6 (reserved[] not checked; abi-evolution.md §4.7)' },
    'populate.bad-pointer': { errno: 'EFAULT', source: 'V10-PO1' },
    'populate.fault-before-state': { errno: 'EFAULT', source: 'V10-PO1 before V10-PO2 (§5)' },
    'populate.before-create': { errno: 'EPERM', source: 'V10-PO2', dispute: STATE_DISPUTE },
    'populate.after-activate': { errno: 'EPERM', source: 'V10-PO2', dispute: STATE_DISPUTE },
    'populate.normal-vm': { errno: 'EINVAL', source: 'V10-EC4' },
    'populate.state-beats-alignment': { errno: 'EPERM', source: 'V10-PO2 (before alignment; wins over -EINVAL)' },
    'populate.zero-size-before-create': { errno: 'EPERM', source: 'V10-PO2 before V10-PO5 (§5)' },
    'populate.unaligned-base': { errno: 'EINVAL', source: 'V10-PO3' },
    'populate.unaligned-size': { errno: 'EINVAL', source: 'V10-PO3' },
    'populate.wrap': { errno: 'EINVAL', source: 'V10-PO4' },
    'populate.no-memslot': { errno: 'EFAULT', source: 'V10-PO7' },
    'populate.zero-size-no-memslot': { errno: 0, source: 'V10-PO5 (0 without any memslot lookup)' },
    'populate.zero-size': { errno: 0, source: 'V10-PO5' },
    'populate.beyond-ipa': { errno: 'EFAULT', source: 'V10-PO7 (no memslot beyond the IPA)' },
    'populate.two-memslots': { errno: 'EINVAL', source: 'V10-PO7 (the first chunk leaves its memslot)' },
    'populate.past-memslot-end': { errno: 'EINVAL', source: 'V10-PO7 (the chunk leaves its memslot)' },
    'populate.chunk-per-memslot': { errno: 0, source: 'V10-PO7 (each 2 MiB chunk looks up its own memslot)' },
    'populate.error-in-last-chunk': { errno: 'EINVAL', source: 'V10-PO7 (the last chunk leaves its memslot; the chunks before it stay populated)' },
    'populate.error-at-last-page': { errno: 'ENXIO', source: 'V10-PO9 (the last page is delegated already), V10-PO12 (the pages before it stay populated)' },
    'populate.no-guest-memfd': { errno: 'EPERM', source: 'V10-PO7 (memslot without guest_memfd)' },
    'populate.unprotected-half': {
      errno: 'EPERM',
      source: 'V10-PO7: the suite places a plain (non-guest_memfd) memslot there, so the per-chunk guest_memfd test refuses before the RMM (V10-PO9)',
    },
    'populate.twice': { errno: 'ENXIO', source: 'V10-PO9 (delegation of a delegated page fails)' },
    'populate.no-vma': { errno: 'EFAULT', source: 'V10-PO8 (no VMA at the shared alias: the per-page VMA lookup fails)' },
    'populate.source-read-only': {
      errno: 'EFAULT',
      source:
        'V10-PO8: v9 19/43 (lore:20250611104844.245235-20-steven.price@arm.com) faults the source page in for write (FOLL_WRITE), so a read-only shared alias gives an error pfn: -EFAULT',
    },
    'populate.gmem-unprotected-half': {
      errno: 'ENXIO',
      source: 'V10-PO9: a guest_memfd memslot passes the memslot tests; the page is delegated, then RMI_DATA_CREATE refuses an IPA outside the protected half',
    },
    'activate.ok': { errno: 0, source: 'V10-AC3' },
    'activate.before-create': { errno: 'EINVAL', source: 'V10-AC1' },
    'activate.twice': { errno: 'EINVAL', source: 'V10-AC1' },
    'vcpu.init-rec-bit': { errno: 0, source: 'V10-V1, V10-42 (MAX_FEATURES raised to 10)' },
    'vcpu.init-psci': { errno: 0, source: 'V10-V4 (INIT without bit 9 succeeds)' },
    'vcpu.init-rec-normal-vm': { errno: 'EINVAL', source: 'V10-V1' },
    'vcpu.init-rec-el1-32bit': { errno: 'EINVAL', source: 'V10-V2' },
    'vcpu.init-past-max': { errno: 'ENOENT', source: 'V10-V3 (G8)' },
    'vcpu.init-differs-from-first': {
      errno: 'EINVAL',
      source:
        'upstream since 6.7 (kvm_vcpu_set_target: KVM_ARCH_FLAG_VCPU_FEATURES_CONFIGURED, kvm->arch.vcpu_features; POWER_OFF is not kept); seen on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7, mux/run/without-rec-bit)',
    },
    'vcpu.create-after-activate': { errno: 0, source: 'V10-V17 (allowed while the vGIC is not initialised)' },
    'vcpu.create-after-vgic-init': { errno: 'EBUSY', source: 'V10-V17, G9' },
    'rec.ok': { errno: 0, source: 'V10-V4..V11 (success path)' },
    'rec.not-initialised': { errno: 'ENOEXEC', source: 'V10-V5 (G7)' },
    'rec.bad-pointer': { errno: 'EFAULT', source: 'V10-V5 (G7)' },
    'rec.normal-vm': { errno: 'EINVAL', source: 'V10-V6' },
    'rec.no-rec-bit': { errno: 'EINVAL', source: 'V10-V4, V10-V6' },
    'rec.before-create': { errno: 'ENOENT', source: 'V10-V7' },
    'rec.after-activate-new-vcpu': { errno: 'ENOENT', source: 'V10-V7, V10-V17' },
    'rec.no-psci': { errno: 'EINVAL', source: 'V10-V9 (and V10-V6 if the REC bit is absent too)' },
    'rec.twice': { errno: 'EBUSY', source: 'V10-V8' },
    'rec.uninit-before-create': { errno: 'ENOEXEC', source: '§5 FINALIZE order: ENOEXEC > … > ENOENT(state)' },
    'rec.no-psci-before-create': { errno: 'ENOENT', source: '§5 FINALIZE order: ENOENT(state) > EINVAL(PSCI)' },
    'run.not-initialised': { errno: 'ENOEXEC', source: 'V10-V13 (G5)' },
    'run.before-activate': { errno: 'EPERM', source: 'V10-V13' },
    'run.no-rec': { errno: 'EPERM', source: 'V10-V13' },
    'run.no-rec-bit': { errno: 'EPERM', source: 'V10-V4 ("KVM_RUN -EPERM forever")' },
    'run.vcpu-after-activate': { errno: 'EPERM', source: 'V10-V17 (FINALIZE -ENOENT, so RUN -EPERM)' },
    'run.no-irqchip': { errno: 'EOPNOTSUPP', source: 'V10-V14' },
    'run.ok': { errno: 0, source: 'V10-V13 (REC finalised, realm ACTIVE, vGIC initialised)' },
    'sve.vls-before-rd': { errno: 0, source: 'UP (SVE_VLS is writable until FINALIZE(SVE)); V10-R1 allows SVE_VLS' },
    'sve.vls-after-rd': { errno: 'EPERM', source: 'V10-R2' },
    'vcpu.realm-reg-allowed': { errno: 0, source: 'V10-R1 (x0..x30 and PC are settable)' },
    'vcpu.realm-reg-refused': { errno: 'EINVAL', source: 'V10-R1 (any other register)' },
    // only kvm_arm_set_reg validates; reads stay open (20250820145606.180644-23-steven.price@arm.com)
    'vcpu.realm-reg-get': { errno: 0, source: 'V10-R1 (KVM_SET_ONE_REG only)' },
    'sve.rd-unfinalised': { errno: 'EINVAL', source: 'V10-CR7' },
    'psci.normal-vm': { errno: 'EPERM', source: 'V10-PS1', dispute: ENOSYS_DISPUTE },
    'psci.no-rec-bit': { errno: 'EPERM', source: 'V10-PS1 (realm vCPU without bit 9)' },
    'psci.bad-pointer': { errno: 'EFAULT', source: 'V10-PS2' },
    'psci.unknown-target': { errno: 'EINVAL', source: 'V10-PS3' },
    'psci.not-pending': { errno: 'EINVAL', source: 'V10-PS4 (RMI_PSCI_COMPLETE refuses: no PSCI pending)' },
    'psci.old-number': { errno: 'EINVAL', source: 'UP: an unknown vCPU ioctl gets the arm64 default -EINVAL (0x4018AED2 was the v2..v7 number)' },
  },
};

export const v10 = {
  name: 'v10',
  era: 'rme',
  uapi,
  profile: withUapi('v10', 'rme', uapi, behaviour),
  rules: gmemRules('v10', { rmmAbsent: 'EPERM', errno: LATE_ERRNO, noGmem: 'EPERM', initRttAtLevel: 'EINVAL', v6RecChecks: false }),
  rmm: RMM_REL0,
} satisfies Revision<'v10'>;
