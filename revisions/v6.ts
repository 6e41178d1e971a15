// v6 (12 Dec 2024): REC = 8 accepted by VCPU_INIT (MAX_FEATURES raised), the
// RFC-style names and structs. Its posting was read (v6 NN/43 below).
import { audit, derive } from '../profiles/derive.ts';
import { REALM_STRUCTS, type RevisionUapi } from '../uapi/realm.ts';
import { EARLY_AUDIT, EARLY_ERRNO, NO_GMEM_DISPUTE, NO_RMM_DISPUTE, RIPAS_DISPUTE, RMM_REL0, gmemRules, populateEinval } from './rme-era.ts';
import { withUapi, type Revision } from './types.ts';
import { v7 } from './v7.ts';
export const uapi: RevisionUapi = {
  ...v7.uapi,
  subcmd: {
    ...v7.uapi.subcmd!,
    names: { CONFIG_REALM: 'CONFIG_REALM', CREATE: 'CREATE_RD', INIT_IPA: 'INIT_IPA_REALM', POPULATE: 'POPULATE_REALM', ACTIVATE: 'ACTIVATE_REALM' },
  },
  // the RFC names, 32-byte args with flags and reserved words, RPV and HASH_ALGO only (v2..v6 share them)
  config: {
    ...v7.uapi.config!,
    struct: REALM_STRUCTS.rmeConfigItem,
    itemPrefix: 'KVM_CAP_ARM_RME_CFG_',
    hashPrefix: 'KVM_CAP_ARM_RME_MEASUREMENT_ALGO_',
    rpvSizeC: 'KVM_CAP_ARM_RME_RPV_SIZE',
  },
  populate: REALM_STRUCTS.rmePopulate,
  initIpa: REALM_STRUCTS.rmeInitIpa,
  cSource: '"[PATCH v6 07/43] arm64: RME: Define the user ABI" (v2..v6 share it, abi-evolution.md §2b)',
};

// The posted v6 code, read in the whole-thread copy of the series (cover
// lore:20241212155610.76522-1-steven.price@arm.com; patch NN/43 is message
// 20241212155610.76522-(NN+1)). Values here are v6's own, not v7's.
const v6p = (nn: number, what: string): string => `v6 ${String(nn).padStart(2, '0')}/43 (lore:20241212155610.76522-${nn + 1}-steven.price@arm.com): ${what}`;
const V6_CAP = v6p(8, 'CHECK_EXTENSION(KVM_CAP_ARM_RME) answers the RME static key, on /dev/kvm and any VM');
const V6_IPA = `${v6p(8, 'a realm VM takes its IPA limit from the RMM feature register (S2SZ)')}; the range check itself is upstream kvm_init_ipa_range (UP)`;
const V6_TYPE = v6p(10, 'KVM_CREATE_VM refuses type bits outside [11:8] and [7:0], and a type value other than NORMAL or REALM, with -EINVAL');
const V6_DISPATCH = v6p(8, 'ENABLE_CAP(KVM_CAP_ARM_RME) on a VM that is not a realm is -EINVAL, an unknown sub-command -EINVAL');
const V6_CAP_UP =
  'upstream KVM_ENABLE_CAP: the struct is copied (-EFAULT) and arm64 refuses non-zero flags (-EINVAL) before any CAP is looked at (UP); v6 08/43 adds its case after that';
const V6_CONFIG = (what: string): string => v6p(8, `CONFIG_REALM ${what}`);
const V6_CREATE = (what: string): string => v6p(8, `CREATE_RD ${what}`);
const V6_INIT = (what: string): string => v6p(16, `INIT_IPA_REALM ${what}`);
const V6_POP = (what: string): string => v6p(19, `POPULATE_REALM ${what}`);
const V6_REC = (what: string): string => v6p(12, `FINALIZE(REC) ${what}`);
const V6_FINALIZED = v6p(
  12,
  "kvm_arm_vcpu_is_finalized is false for a realm vCPU unless it is a finalised REC of an ACTIVE realm, so KVM_RUN gets upstream's -EPERM",
);
const V6_PSCI = (what: string): string => v6p(23, `KVM_ARM_VCPU_RMM_PSCI_COMPLETE ${what}`);
const V6_FINALIZE_UP = 'upstream KVM_ARM_VCPU_FINALIZE: an uninitialised vCPU -ENOEXEC, then the int is read (-EFAULT), before v6 12/43 is reached (UP)';

const v6Derived = derive(
  v7.profile,
  {
    name: 'v6',
    title: 'v6, 2024-12-12: REC=8 now accepted by VCPU_INIT (MAX_FEATURES raised), RFC-style names',
    source: 'lore:20241212155610.76522-1-steven.price@arm.com ("[PATCH v6 07/43]")',
    expect: {
      'vm.realm-no-rmm': { errno: 'EINVAL', source: v6p(10, 'a realm type without the RME static key is -EINVAL (-EPERM from v7)'), dispute: NO_RMM_DISPUTE },
      'probe.cap-on-system-fd': { errno: 0, ret: 1, source: V6_CAP },
      'probe.cap-on-normal-vm': { errno: 0, ret: 1, source: V6_CAP },
      'probe.cap-on-realm-vm': { errno: 0, ret: 1, source: V6_CAP },
      'probe.cap-no-rmm': { errno: 0, ret: 0, source: `${V6_CAP}; the key is switched on only when an RMM is found (v6 43/43)` },
      'probe.realm-hides-guest-debug': { errno: 0, ret: 0, source: v6p(9, 'CHECK_EXTENSION(SET_GUEST_DEBUG) answers !kvm_is_realm') },
      'vm.realm-default-ipa': { errno: 0, source: V6_IPA },
      'vm.realm-ipa-40': { errno: 0, source: V6_IPA },
      'vm.realm-ipa-too-large': { errno: 'EINVAL', source: V6_IPA },
      'vm.realm-ipa-too-small': { errno: 'EINVAL', source: V6_IPA },
      'vm.realm-ipa-beyond-rmm': { errno: 'EINVAL', source: V6_IPA },
      'vm.type-stray-bits': { errno: 'EINVAL', source: V6_TYPE },
      'vm.type-unknown-value': { errno: 'EINVAL', source: V6_TYPE },
      'cap.bad-struct-pointer': { errno: 'EFAULT', source: V6_CAP_UP },
      'cap.flags-nonzero': { errno: 'EINVAL', source: V6_CAP_UP },
      'cap.flags-before-subcmd': { errno: 'EINVAL', source: V6_CAP_UP },
      'cap.unknown-subcmd': { errno: 'EINVAL', source: V6_DISPATCH },
      'cap.normal-vm-subcmd': { errno: 'EINVAL', source: V6_DISPATCH },
      'config.rpv': { errno: 0, source: V6_CONFIG('copies the RPV unchecked') },
      'config.rpv-repeat': { errno: 0, source: V6_CONFIG('copies the RPV unchecked; the last write wins') },
      'config.hash-sha256': { errno: 0, source: V6_CONFIG('takes SHA256 when the RMM advertises it') },
      'config.hash-sha512': { errno: 0, source: V6_CONFIG('takes SHA512 when the RMM advertises it') },
      'config.hash-unknown': { errno: 'EINVAL', source: V6_CONFIG('refuses an unknown hash algorithm with -EINVAL') },
      'config.hash-unsupported': { errno: 'EINVAL', source: V6_CONFIG('refuses a hash the RMM does not advertise with -EINVAL') },
      'config.removed-items': { errno: 'EINVAL', source: V6_CONFIG('knows only RPV and HASH_ALGO; other items -EINVAL') },
      'config.unknown-item': { errno: 'EINVAL', source: V6_CONFIG('knows only RPV and HASH_ALGO; other items -EINVAL') },
      'config.after-create': { errno: 'EBUSY', source: V6_CONFIG('once the RD exists is -EBUSY, before the item is copied') },
      'config.after-create-bad-pointer': { errno: 'EBUSY', source: V6_CONFIG('checks the state before copying the item: -EBUSY wins over -EFAULT') },
      'config.bad-pointer': { errno: 'EFAULT', source: V6_CONFIG('copies the item: a fault is -EFAULT') },
      'config.normal-vm': { errno: 'EINVAL', source: V6_DISPATCH },
      'create.ok': { errno: 0, source: V6_CREATE('delegates the RD and the start-level RTTs, RMI_REALM_CREATE, state NEW') },
      'create.twice': { errno: 'EEXIST', source: V6_CREATE('once the RD exists is -EEXIST') },
      'create.normal-vm': { errno: 'EINVAL', source: V6_DISPATCH },
      'create.after-vcpu': {
        errno: 0,
        source: `${V6_CREATE('has no check on created vCPUs')}; v6 38/43 gives a vCPU without SVE vector length 0, so one such vCPU passes`,
      },
      'create.before-vcpu-init': {
        errno: 'ENXIO',
        source:
          'v6 35/43 (lore:20241212155610.76522-36-steven.price@arm.com): num_bps/num_wps from kvm_read_vm_id_reg(ID_AA64DFR0_EL1), 0 before the first vCPU init; TF-RMM validate_realm_params refuses 0 (tf-rmm-v0.6.0 on)',
      },
      'init.ok': { errno: 0, source: V6_INIT('copies the args, checks wrap and state NEW, then loops RTT_INIT_RIPAS, creating missing RTT levels') },
      'init.bad-pointer': { errno: 'EFAULT', source: V6_INIT('copies the args first: a fault is -EFAULT') },
      'init.fault-before-state': { errno: 'EFAULT', source: V6_INIT('copies the args before any state check') },
      'init.wrap': { errno: 'EINVAL', source: V6_INIT('refuses base+size wrapping with -EINVAL') },
      'init.wrap-before-create': { errno: 'EINVAL', source: V6_INIT('checks the wrap before the state') },
      'init.before-create': { errno: 'EINVAL', source: V6_INIT('outside state NEW is -EINVAL'), dispute: RIPAS_DISPUTE },
      'init.after-activate': { errno: 'EINVAL', source: V6_INIT('outside state NEW is -EINVAL'), dispute: RIPAS_DISPUTE },
      'init.normal-vm': { errno: 'EINVAL', source: V6_DISPATCH },
      'init.zero-size': { errno: 0, source: V6_INIT('with size 0 never calls the RMM: 0') },
      'init.reserved-ignored': { errno: 0, source: V6_INIT('does not look at reserved[]') },
      'init.unaligned-base': { errno: 'ENXIO', source: V6_INIT('has no alignment check; an RMM error other than a missing RTT is WARNed and -ENXIO') },
      'init.unaligned-size': { errno: 'ENXIO', source: V6_INIT('has no alignment check; an RMM error other than a missing RTT is WARNed and -ENXIO') },
      'init.beyond-ipa': { errno: 'ENXIO', source: V6_INIT('has no range check; the RMM refuses, -ENXIO') },
      'init.unprotected-half': { errno: 'ENXIO', source: V6_INIT('has no range check; the RMM refuses the unprotected half, -ENXIO') },
      'init.no-memslot': { errno: 0, source: V6_INIT('looks up no memslot') },
      'init.two-memslots': { errno: 0, source: V6_INIT('looks up no memslot') },
      'init.over-populated': {
        errno: 'ENXIO',
        source: V6_INIT('realm_init_ipa_state treats an RTT error at the mapping level as unexpected (WARN, -ENXIO), the same code as v7 16/45'),
      },
      'init.over-populated-block': {
        errno: 'ENXIO',
        source: V6_INIT('realm_init_ipa_state treats an RTT error at or below the block level as unexpected (WARN, -ENXIO), the same code as v7 16/45'),
      },
      'init.over-ram': {
        errno: 0,
        source: `${V6_INIT('passes the range to RTT_INIT_RIPAS')}; TF-RMM tf-rmm-v0.6.0 accepts it over RAM (recorded on the cca-host/v7 stack)`,
      },
      'populate.ok': {
        errno: 0,
        source: V6_POP("in 2 MB chunks, each inside one memslot that can be private, page by page from the memslot's memory into guest_memfd"),
      },
      'populate.measure': { errno: 0, source: V6_POP('passes MEASURE as RMI_MEASURE_CONTENT') },
      'populate.unmeasured': { errno: 0, source: V6_POP('takes flags 0') },
      'populate.unknown-flag': { errno: 'EINVAL', source: V6_POP('refuses a flag other than MEASURE with -EINVAL') },
      'populate.chunk-per-memslot': {
        errno: 0,
        source: V6_POP('looks up the memslot of each 2 MB chunk, so chunks in adjacent guest_memfd memslots are populated'),
      },
      'populate.error-in-last-chunk': {
        errno: 'EINVAL',
        source: V6_POP('returns at the first chunk that leaves its memslot (-EINVAL) without undoing the chunks before it'),
      },
      'populate.error-at-last-page': {
        errno: 'ENXIO',
        source: V6_POP('breaks out of the page loop at a page delegated already (-ENXIO) without undoing the pages before it'),
      },
      'populate.reserved-ignored': { errno: 0, source: V6_POP('does not look at reserved[]') },
      'populate.bad-pointer': { errno: 'EFAULT', source: V6_POP('copies the args first: a fault is -EFAULT') },
      'populate.fault-before-state': { errno: 'EFAULT', source: V6_POP('copies the args before the state check') },
      'populate.before-create': populateEinval(
        V6_POP('outside state NEW is -EINVAL, checked first (Steven Price quoted it: lore:4196d432-ccde-4d1f-b07e-8603bf5dcdaf@arm.com)'),
      ),
      'populate.after-activate': populateEinval(V6_POP('outside state NEW is -EINVAL')),
      'populate.state-beats-alignment': { errno: 'EINVAL', source: V6_POP('checks the state before alignment') },
      'populate.zero-size-before-create': populateEinval(V6_POP('checks the state before anything else')),
      'populate.normal-vm': { errno: 'EINVAL', source: V6_DISPATCH },
      'populate.unaligned-base': { errno: 'EINVAL', source: V6_POP('refuses an unaligned base with -EINVAL') },
      'populate.unaligned-size': { errno: 'EINVAL', source: V6_POP('refuses an unaligned size with -EINVAL') },
      'populate.wrap': { errno: 'EINVAL', source: V6_POP('refuses base+size wrapping with -EINVAL') },
      'populate.no-memslot': { errno: 'EFAULT', source: V6_POP('no memslot at the chunk base is -EFAULT') },
      'populate.zero-size-no-memslot': { errno: 0, source: V6_POP('with size 0 runs no chunk, so no memslot is looked up: 0') },
      'populate.zero-size': { errno: 0, source: V6_POP('with size 0 runs no chunk: 0') },
      'populate.beyond-ipa': { errno: 'EFAULT', source: V6_POP('no memslot beyond the IPA: -EFAULT') },
      'populate.two-memslots': { errno: 'EINVAL', source: V6_POP('a chunk must lie in one memslot, else -EINVAL') },
      'populate.past-memslot-end': { errno: 'EINVAL', source: V6_POP('a chunk must lie in one memslot, else -EINVAL') },
      'populate.no-guest-memfd': { errno: 'EINVAL', source: V6_POP('a memslot that cannot be private is -EINVAL'), dispute: NO_GMEM_DISPUTE },
      'populate.unprotected-half': {
        errno: 'EINVAL',
        source: V6_POP('the suite places a plain memslot there, which cannot be private: -EINVAL before the RMM'),
      },
      'populate.twice': { errno: 'ENXIO', source: V6_POP('delegating a destination page that is already delegated fails: -ENXIO') },
      'activate.ok': { errno: 0, source: v6p(43, 'ACTIVATE_REALM in state NEW calls RMI_REALM_ACTIVATE, then ACTIVE') },
      'activate.before-create': { errno: 'EINVAL', source: v6p(43, 'ACTIVATE_REALM outside state NEW is -EINVAL') },
      'activate.twice': { errno: 'EINVAL', source: v6p(43, 'ACTIVATE_REALM outside state NEW is -EINVAL') },
      'vcpu.init-rec-bit': { errno: 0, source: v6p(42, 'KVM_VCPU_MAX_FEATURES 7 -> 9, so the REC bit (8) is accepted') },
      'vcpu.init-psci': { errno: 0, source: 'upstream VCPU_INIT with PSCI_0_2 (UP); no v6 check refuses it' },
      'vcpu.init-rec-normal-vm': {
        errno: 0,
        source: `${v6p(12, 'the REC bit is cleared from the supported features only when the RMM is absent; nothing refuses it on a normal VM')} (Gavin Shan's review of 12/43 points this out; v7 refuses it)`,
      },
      'vcpu.init-rec-el1-32bit': { errno: 'EINVAL', source: v6p(12, 'the REC bit with EL1_32BIT is -EINVAL') },
      'vcpu.init-past-max': { errno: 'ENOENT', source: `${v6p(42, 'KVM_VCPU_MAX_FEATURES is 9')}: bit 9 is -ENOENT (G8)` },
      'vcpu.create-after-activate': {
        errno: 0,
        source: 'no v6 patch adds a check to vCPU creation (12/43 only sets rec.mpidr); allowed while the vGIC is not initialised (UP)',
      },
      'vcpu.create-after-vgic-init': { errno: 'EBUSY', source: 'upstream refuses a vCPU once the vGIC is initialised (G9, UP); no v6 patch changes that' },
      'rec.ok': { errno: 0, source: V6_REC('on a REC-bit vCPU with PSCI_0_2 in state NEW creates the REC') },
      'rec.not-initialised': { errno: 'ENOEXEC', source: V6_FINALIZE_UP },
      'rec.uninit-before-create': { errno: 'ENOEXEC', source: V6_FINALIZE_UP },
      'rec.bad-pointer': { errno: 'EFAULT', source: V6_FINALIZE_UP },
      'rec.normal-vm': { errno: 'EINVAL', source: V6_REC('on a VM that is not a realm, or a vCPU without the REC bit, is -EINVAL') },
      'rec.no-rec-bit': { errno: 'EINVAL', source: V6_REC('on a VM that is not a realm, or a vCPU without the REC bit, is -EINVAL') },
      'rec.before-create': { errno: 'ENOENT', source: V6_REC('outside state NEW is -ENOENT') },
      'rec.after-activate-new-vcpu': { errno: 'ENOENT', source: V6_REC('outside state NEW is -ENOENT') },
      'rec.no-psci': { errno: 'EINVAL', source: V6_REC('without PSCI_0_2 is -EINVAL (after the state check)') },
      'rec.no-psci-before-create': { errno: 'ENOENT', source: V6_REC('checks the state before PSCI_0_2') },
      'rec.twice': {
        errno: 'ENXIO',
        source: `${V6_REC('has no guard against a second call: it delegates a new REC page and calls RMI_REC_CREATE again with the same MPIDR, which the RMM refuses, -ENXIO')} (v7 adds the -EBUSY guard; the cca-host/v7 stack answers -EBUSY)`,
      },
      'run.not-initialised': { errno: 'ENOEXEC', source: "upstream KVM_RUN on an uninitialised vCPU is -ENOEXEC (G5, UP), before v6's checks" },
      'run.before-activate': { errno: 'EPERM', source: V6_FINALIZED },
      'run.no-rec': { errno: 'EPERM', source: V6_FINALIZED },
      'run.no-rec-bit': { errno: 'EPERM', source: V6_FINALIZED },
      'run.vcpu-after-activate': { errno: 'EPERM', source: `${V6_FINALIZED}; a vCPU made after ACTIVATE cannot be finalised (-ENOENT)` },
      'run.no-irqchip': { errno: 'EOPNOTSUPP', source: v6p(14, 'the first KVM_RUN of a realm without an in-kernel irqchip is -EOPNOTSUPP') },
      'run.ok': { errno: 0, source: `${V6_FINALIZED}; v6 17/43 enters the REC in an ACTIVE realm` },
      'sve.vls-after-rd': { errno: 'EPERM', source: v6p(38, 'set_sve_vls answers -EPERM once the RD exists') },
      'sve.rd-unfinalised': { errno: 'EINVAL', source: v6p(38, 'realm_init_sve_param refuses a vCPU with SVE not finalised with -EINVAL at CREATE_RD') },
      // v6 checks kvm_is_realm, not the REC (v7: vcpu_is_rec and -EPERM, per the v12 27/46 changelog "since v6")
      'psci.normal-vm': { errno: 'EINVAL', source: V6_PSCI('on a VM that is not a realm is -EINVAL (v7 changed to a REC check with -EPERM)') },
      'psci.no-rec-bit': {
        errno: 'EINVAL',
        source: V6_PSCI(
          'checks only that the VM is a realm, so a realm vCPU that is no REC reaches RMI_PSCI_COMPLETE with no REC page; the RMM refuses and KVM returns -EINVAL',
        ),
      },
      'psci.bad-pointer': { errno: 'EFAULT', source: V6_PSCI('copies the struct after the realm check: a fault is -EFAULT') },
      'psci.unknown-target': { errno: 'EINVAL', source: V6_PSCI('no vCPU with the target MPIDR is -EINVAL') },
      'psci.not-pending': { errno: 'EINVAL', source: V6_PSCI('passes the request to RMI_PSCI_COMPLETE; an RMM refusal (no PSCI pending) is -EINVAL') },
    },
  },
  'conditions.md has no v6 row; v6 -> v7 renamed identifiers and changed the no-RMM errno (abi-evolution.md §2a, §3.3)',
);

const behaviour = audit(v6Derived, () => false, EARLY_AUDIT);

export const v6 = {
  name: 'v6',
  era: 'rme',
  uapi,
  profile: withUapi('v6', 'rme', uapi, behaviour),
  rules: gmemRules('v6', { rmmAbsent: 'EINVAL', errno: EARLY_ERRNO, noGmem: 'EINVAL', v6RecChecks: true }),
  rmm: RMM_REL0,
} satisfies Revision<'v6'>;
