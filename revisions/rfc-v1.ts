// RFC v1 (27 Jan 2023, base v6.2-rc1, RMM 1.0-bet0): the seed revision.
// Numbers: lore:20230127112932.38045-6-steven.price@arm.com (abi-evolution.md §2).
// Behaviour: conditions.md §2 (ids R1-*).
import { REALM_STRUCTS, RME_VM_TYPE, type RevisionUapi } from '../uapi/realm.ts';
import { RMM_BET0 } from './rme-era.ts';
import { withUapi, type ProfileBehaviour, type Revision } from './types.ts';

const ABI = 'lore:20230127112932.38045-6-steven.price@arm.com';

export const uapi: RevisionUapi = {
  cap: { name: 'KVM_CAP_ARM_RME', nr: 300, source: ABI },
  // type field bits[11:8] = 1; the low byte keeps the IPA size (abi-evolution.md §2a)
  vmType: RME_VM_TYPE,
  // KVM_ARM_VCPU_REC = 7 is defined, but MAX_FEATURES stays 7 (conditions.md §6.2)
  recFeature: { bit: 7, c: 'KVM_ARM_VCPU_REC' },
  maxVcpuFeatures: 7,
  subcmd: {
    numbers: { CONFIG_REALM: 0, CREATE: 1, INIT_IPA: 2, POPULATE: 3, ACTIVATE: 4 },
    names: { CONFIG_REALM: 'CONFIG_REALM', CREATE: 'CREATE_RD', INIT_IPA: 'INIT_IPA_REALM', POPULATE: 'POPULATE_REALM', ACTIVATE: 'ACTIVATE_REALM' },
    cPrefix: 'KVM_CAP_ARM_RME_',
  },
  config: {
    struct: REALM_STRUCTS.rmeConfigItem,
    items: { RPV: 0, HASH_ALGO: 1, SVE: 2, DBG: 3, PMU: 4 },
    hashAlgos: { SHA256: 0, SHA512: 1 },
    itemPrefix: 'KVM_CAP_ARM_RME_CFG_',
    hashPrefix: 'KVM_CAP_ARM_RME_MEASUREMENT_ALGO_',
    rpvSizeC: 'KVM_CAP_ARM_RME_RPV_SIZE',
  },
  populate: REALM_STRUCTS.rfcPopulate,
  initIpa: REALM_STRUCTS.rfcInitIpa,
  cSource: ABI,
};

const behaviour: ProfileBehaviour = {
  name: 'rfc-v1',
  title: 'RFC v1, 2023-01-27: KVM_CAP_ARM_RME=300 with five ENABLE_CAP sub-commands',
  source: ABI,
  expect: {
    'probe.cap-on-system-fd': { errno: 0, ret: 1, source: 'R1-CE1' },
    'probe.cap-on-normal-vm': { errno: 0, ret: 1, source: 'R1-CE1 (static key, not per VM)' },
    'probe.cap-on-realm-vm': { errno: 0, ret: 1, source: 'R1-CE1' },
    'probe.cap-no-rmm': { errno: 0, ret: 0, source: 'R1-CE1 (static key off)' },
    'vm.realm-default-ipa': { errno: 0, source: 'R1-VM5 (IPA 0 means 40 bits)' },
    'vm.realm-ipa-40': { errno: 0, source: 'R1-VM3, R1-VM5' },
    'vm.type-stray-bits': { errno: 'EINVAL', source: 'R1-VM1' },
    'vm.type-unknown-value': { errno: 'EINVAL', source: 'R1-VM2' },
    'vm.realm-ipa-too-large': { errno: 'EINVAL', source: 'R1-VM5 (host kvm_ipa_limit)' },
    'vm.realm-ipa-too-small': { errno: 'EINVAL', source: 'R1-VM5' },
    'vm.realm-no-rmm': {
      errno: 0,
      source: 'R1-VM4, conditions.md §6.1',
      dispute: 'abi-evolution.md §3.3 says -EINVAL before v7; RFC v1 code creates a normal VM',
    },
    'cap.bad-struct-pointer': { errno: 'EFAULT', source: 'R1-EC1 (G1)' },
    'cap.flags-nonzero': { errno: 'EINVAL', source: 'R1-EC2 (G3)' },
    'cap.unknown-subcmd': { errno: 'EINVAL', source: 'R1-EC6' },
    'cap.normal-vm-subcmd': { errno: 'EBUSY', source: 'R1-EC5 + R1-AC1 (no realm check at dispatch)' },
    // the static key is tested at dispatch, before the sub-command (20230127112932.38045-7-steven.price@arm.com)
    'cap.no-rmm': { errno: 'EINVAL', source: 'R1-EC3 (static key off)' },
    'config.rpv': { errno: 0, source: 'R1-CF3' },
    'config.rpv-repeat': { errno: 0, source: 'R1-CF11' },
    'config.hash-sha256': { errno: 0, source: 'R1-CF4' },
    'config.hash-sha512': { errno: 0, source: 'R1-CF4, R1-CF5 (RMM advertises SHA512)' },
    'config.hash-unknown': { errno: 'EINVAL', source: 'R1-CF4' },
    'config.hash-unsupported': { errno: 'EINVAL', source: 'R1-CF5' },
    'config.sve-ok': { errno: 0, source: 'R1-CF7' },
    'config.sve-zero': { errno: 0, source: 'R1-CF7 (sve_vq = 0 accepted)' },
    'config.sve-too-large': { errno: 'EINVAL', source: 'R1-CF7' },
    'config.sve-unsupported': { errno: 'EINVAL', source: 'R1-CF6' },
    'config.dbg': { errno: 'EINVAL', source: 'R1-CF8 (no handler), conditions.md §6.3' },
    'config.pmu': { errno: 'EINVAL', source: 'R1-CF9 (no handler), conditions.md §6.3' },
    'config.unknown-item': { errno: 'EINVAL', source: 'R1-CF10' },
    'config.after-create': { errno: 'EBUSY', source: 'R1-CF1' },
    'config.bad-pointer': { errno: 'EFAULT', source: 'R1-CF2' },
    'config.after-create-bad-pointer': { errno: 'EBUSY', source: 'R1-CF1 (state checked before the copy)' },
    'config.normal-vm': {
      errno: 0,
      source: 'R1-CF12',
      crash: 'RPV is written through the NULL realm params of a normal VM (kernel oops)',
    },
    'create.ok': { errno: 0, source: 'R1-CR9' },
    'create.twice': { errno: 'EEXIST', source: 'R1-CR2' },
    'create.normal-vm': { errno: 'EEXIST', source: 'R1-CR2' },
    'create.after-vcpu': { errno: 'EBUSY', source: 'R1-CR1 (checked first)' },
    'create.ipa-beyond-rmm': { errno: 'ENXIO', source: 'R1-VM6, R1-CR7 (RMM refuses S2SZ)' },
    'init.ok': { errno: 0, source: 'R1-IP (copy, wrap, state, RMM loop)' },
    'init.bad-pointer': { errno: 'EFAULT', source: 'R1-IP1' },
    'init.wrap': { errno: 'EINVAL', source: 'R1-IP2' },
    'init.wrap-before-create': { errno: 'EINVAL', source: 'R1-IP2 (wrap checked before the state)' },
    'init.before-create': { errno: 'EBUSY', source: 'R1-IP3' },
    'init.after-activate': { errno: 'EBUSY', source: 'R1-IP3' },
    'init.normal-vm': { errno: 'EBUSY', source: 'R1-IP3' },
    'init.zero-size': { errno: 0, source: 'R1-IP4' },
    'init.unaligned-base': { errno: 'ENXIO', source: 'R1-IP5 (RMM rejects, no kernel check)' },
    'init.unaligned-size': { errno: 'ENXIO', source: 'R1-IP5 (RMM rejects, no kernel check)' },
    'init.beyond-ipa': { errno: 'ENXIO', source: 'R1-IP6 (RMM rejects)' },
    'init.unprotected-half': { errno: 'ENXIO', source: 'R1-IP6 (RMM rejects)' },
    'init.no-memslot': { errno: 0, source: 'R1-IP order: no memslot lookup (copy, wrap, state, RMM)' },
    'init.two-memslots': { errno: 0, source: 'R1-IP order: no memslot lookup' },
    'init.over-populated': { errno: 'EINVAL', source: 'R1-IP7 (level-3 walk, RMI_ERROR_RTT)' },
    // find_map_level picks level 2 for a whole aligned block (start level 1 at 40 bits); the RMM refuses the block, and
    // the level-3 retry of each page drops its result
    'init.over-populated-block': { errno: 0, source: 'R1-IP7 (RMI_ERROR_RTT at level 2), R1-IP11 (the level-3 retry result is dropped)' },
    'init.over-ram': {
      errno: 0,
      source: 'R1-IP8',
      unconfirmed: 'R1-IP8: re-initialising RAM depends on RMM bet0 (conditions.md §7)',
    },
    'populate.ok': { errno: 0, source: 'R1-PO7..R1-PO12 (success path)' },
    'populate.bad-pointer': { errno: 'EFAULT', source: 'R1-PO1' },
    'populate.before-create': {
      errno: 'EBUSY',
      source: 'R1-PO2',
      dispute: 'RFC populate -EBUSY vs -EINVAL (Zhi Wang review; abi-evolution.md §3.1, §4.6)',
    },
    'populate.after-activate': { errno: 'EBUSY', source: 'R1-PO2' },
    'populate.normal-vm': { errno: 'EBUSY', source: 'R1-PO2, R1-EC5 (state reads NONE)' },
    'populate.state-beats-alignment': { errno: 'EBUSY', source: 'R1-PO2 (state before alignment)' },
    'populate.unaligned-base': { errno: 'EINVAL', source: 'R1-PO3' },
    'populate.unaligned-size': { errno: 'EINVAL', source: 'R1-PO3' },
    'populate.wrap': { errno: 'EINVAL', source: 'R1-PO4' },
    'populate.no-memslot': { errno: 'EFAULT', source: 'R1-PO5' },
    'populate.zero-size-no-memslot': { errno: 'EFAULT', source: 'R1-PO5 (also for size 0)' },
    'populate.zero-size': { errno: 0, source: 'R1-PO7' },
    'populate.beyond-ipa': { errno: 'EFAULT', source: 'R1-PO5 (no memslot beyond the IPA size)' },
    'populate.two-memslots': { errno: 'EINVAL', source: 'R1-PO6' },
    'populate.past-memslot-end': { errno: 'EINVAL', source: 'R1-PO6' },
    'populate.chunk-per-memslot': { errno: 'EINVAL', source: 'R1-PO6 (one memslot lookup at base; the range leaves it)' },
    'populate.error-in-last-chunk': { errno: 'EINVAL', source: 'R1-PO6 (one memslot lookup at base; the range leaves it before any page is touched)' },
    'populate.error-at-last-page': { errno: 'ENXIO', source: 'R1-PO12 (the last page is delegated already), R1-PO15 (the pages before it stay populated)' },
    'populate.unprotected-half': { errno: 'ENXIO', source: 'R1-PO12 (RMI_DATA_CREATE refuses)' },
    'populate.twice': { errno: 'ENXIO', source: 'R1-PO12 (delegation of a delegated granule fails)' },
    'populate.no-vma': { errno: 'EFAULT', source: 'R1-PO9 (no VMA at the page: the per-page VMA lookup fails)' },
    'activate.ok': { errno: 0, source: 'R1-AC3' },
    'activate.before-create': { errno: 'EBUSY', source: 'R1-AC1' },
    'activate.twice': { errno: 'EBUSY', source: 'R1-AC1' },
    'vcpu.init-rec-bit': { errno: 'ENOENT', source: 'R1-V1, conditions.md §6.2 (MAX_FEATURES stays 7)' },
    'vcpu.init-psci': { errno: 0, source: 'R1-V9' },
    'vcpu.init-other-width': { errno: 'EINVAL', source: 'G10 (kvm_set_vm_width, 5.18 to 6.6: the first VCPU_INIT fixes the width)' },
    'rec.ok': { errno: 0, source: 'R1-V9' },
    'rec.not-initialised': { errno: 'ENOEXEC', source: 'R1-V2 (G7)' },
    'rec.bad-pointer': { errno: 'EFAULT', source: 'R1-V2 (G7)' },
    'rec.normal-vm': { errno: 'EINVAL', source: 'R1-V3' },
    'rec.before-create': { errno: 'ENOENT', source: 'R1-V4' },
    'rec.after-activate': { errno: 'ENOENT', source: 'R1-V4' },
    'rec.no-psci': { errno: 'EINVAL', source: 'R1-V5' },
    'rec.twice': {
      errno: 'ENXIO',
      source: 'R1-V7',
      unconfirmed: 'R1-V7: a second FINALIZE(REC) has no guard; the outcome depends on the RMM',
    },
    'run.not-initialised': { errno: 'ENOEXEC', source: 'R1-V10 (G5)' },
    'run.before-activate': { errno: 'EPERM', source: 'R1-V10' },
    'run.no-rec': { errno: 'EPERM', source: 'R1-V10' },
    'run.vcpu-after-activate': { errno: 'EPERM', source: 'R1-V11' },
    'run.ok': { errno: 0, source: 'R1-V9, R1-AC3 (REC runs once the realm is ACTIVE)' },
    'run.mmio-unprotected': {
      errno: 0,
      source: 'R1-V12',
      unconfirmed: 'the exit address KVM reports for a realm write to the unprotected half was not read in the RFC code',
    },
  },
};

export const rfcV1 = {
  name: 'rfc-v1',
  era: 'rme',
  uapi,
  profile: withUapi('rfc-v1', 'rme', uapi, behaviour),
  rules: {
    abi: 'rfc-v1',
    rmmAbsentRealmType: 'normal-vm',
    realmIpaLimit: 'host',
    dispatchChecksRealm: false,
    createChecksVcpus: true,
    errno: {
      config: 'EBUSY', // R1-CF1
      create: 'EEXIST', // R1-CR2
      init: 'EBUSY', // R1-IP3
      populate: 'EBUSY', // R1-PO2
      activate: 'EBUSY', // R1-AC1
      rec: 'ENOENT', // R1-V4
    },
    normalVmConfigOops: true,
    recNeedsFeatureBit: false,
    noSlotSea: false, // RFC v1 15/28: io_mem_abort unchanged (-ENOSYS)
    plainSlotRefused: false, // RFC v1: realm RAM is plain memslots
    era: 'rfc',
  },
  rmm: RMM_BET0,
} satisfies Revision<'rfc-v1'>;
