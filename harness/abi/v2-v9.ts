// v2 .. v9: the multiplexed uAPI between RFC v1 and v10. conditions.md reads
// only RFC v1, v10 and v14 in code; abi-evolution.md §2-§3 gives the numbers
// and a few errnos of v2..v9 (v6 quoted in review mails). So each revision is
// derived from its newer neighbour, v10 first, listing only what changed; an
// inherited value carries "— as vN: <why>" in its source.
import { audit, derive } from './derive.ts';
import { PSCI_COMPLETE_0XD2, v10 } from './v10.ts';
import type { AbiProfile, Expect, ExpectKey } from './types.ts';

const RIPAS_SWITCH = 'INIT_RIPAS wrong-state errno: -EPERM from v9 (conditions.md §6.6); v8 may already have it ("v8 or v9", abi-evolution.md §3.3)';
const RIPAS_DISPUTE = 'INIT_RIPAS -EINVAL vs -EPERM (Gavin Shan review; abi-evolution.md §4.6)';
const STATE_DISPUTE = 'wrong-state errno: RFC -EBUSY, -EINVAL in v6/v7 (Zhi Wang), -EPERM from v8 (conditions.md §6.5)';
const NO_RMM_DISPUTE = 'realm VM without an RMM: -EINVAL before v7, -EPERM v7..v10 (abi-evolution.md §3.3; conditions.md §6.1)';
// POPULATE into a memslot that cannot be private: the spec pins -EINVAL in v6
// (abi-evolution.md §3.2) and -EPERM in v9/v10 (V10-PO7, read in the v9
// posting); the posted v7 and v8 patches pin the switch at v8.
const V7_POPULATE = 'lore:20250213161426.102987-21-steven.price@arm.com ("[PATCH v7 20/45] arm64: RME: Allow populating initial contents", code quoted in Gavin Shan\'s review lore:8e852bc0-9a02-42d9-8d56-712c11508626@redhat.com)';
const V8_POPULATE = 'lore:20250416134208.383984-20-steven.price@arm.com ("[PATCH v8 19/43] arm64: RME: Allow populating initial contents"; changelog since v7: the error codes were reworked)';
const NO_GMEM_DISPUTE = 'memslot without guest_memfd: -EINVAL in v6 and v7; Gavin Shan asked for -EPERM in his v7 review and v8 adopted it (abi-evolution.md §3.2 has v6 only, conditions.md V10-PO7 has v9/v10 only)';

export const v9 = derive(
  v10,
  {
    name: 'v9',
    title: 'v9, 2025-06-11: KVM_CAP_ARM_RME=243',
    source: '"[PATCH v9 06/43] arm64: RME: Define the user ABI"',
    cap: { name: 'KVM_CAP_ARM_RME', nr: 243, source: '"[PATCH v9 06/43]" (abi-evolution.md §2a)' },
  },
  'conditions.md read most v10 rows (tag C*) in the v9 posting',
);

// INIT_RIPAS over a populated page: v7 16/45 returns -ENXIO (an RTT error at the mapping level is
// "unexpected"), v9/v10 -EINVAL (V10-IR8); v8's realm_init_ipa_state was not read
const INIT_LEAF_V8 = 'INIT_RIPAS over a populated page: -ENXIO in v7 (16/45), -EINVAL in v9/v10 (V10-IR8); v8\'s own code was not read';
const V7_RIPAS = 'lore:20250213161426.102987-17-steven.price@arm.com ("[PATCH v7 16/45] arm64: RME: Allow VMM to set RIPAS")';

/** The parent's value for `keys`, kept but marked UNCONFIRMED with `why`. */
const markUnconfirmed = (p: AbiProfile, keys: readonly (keyof AbiProfile['expect'])[], why: string): AbiProfile['expect'] =>
  Object.fromEntries(keys.filter((k) => p.expect[k] !== undefined).map((k) => [k, { ...(p.expect[k] as Expect), unconfirmed: why }]));

const ripasEperm = (note: string): Expect => ({ errno: 'EPERM', source: 'V10-IR3', unconfirmed: note, dispute: RIPAS_DISPUTE });

const v8Derived = derive(
  v9,
  {
    name: 'v8',
    title: 'v8, 2025-04-16: KVM_CAP_ARM_RME=240, REC=9, PSCI complete moved to 0xd6',
    source: 'lore:20250416134208.383984-7-steven.price@arm.com',
    cap: { name: 'KVM_CAP_ARM_RME', nr: 240, source: 'lore:20250416134208.383984-7-steven.price@arm.com' },
    expect: {
      'init.before-create': ripasEperm(RIPAS_SWITCH),
      'init.after-activate': ripasEperm(RIPAS_SWITCH),
      'populate.no-guest-memfd': { errno: 'EPERM', source: `${V8_POPULATE}: a memslot that cannot be private gives -EPERM`, dispute: NO_GMEM_DISPUTE },
      'populate.unprotected-half': { errno: 'EPERM', source: `${V8_POPULATE}: the suite places a plain (non-guest_memfd) memslot there, which v8 refuses with -EPERM before the RMM` },
      ...markUnconfirmed(v9, ['init.over-populated'], INIT_LEAF_V8),
    },
  },
  'conditions.md has no v8 row; v8 -> v9 changed the CAP number and docs only (abi-evolution.md §2a, §3.3)',
);

const populateEinval = (src: string): Expect => ({ errno: 'EINVAL', source: src, dispute: STATE_DISPUTE });

const v7Derived = derive(
  v8Derived,
  {
    name: 'v7',
    title: 'v7, 2025-02-13: CREATE_REALM / INIT_RIPAS_REALM renames, arm_rme_* structs, realm without RMM -EPERM',
    source: 'lore:20250213161426.102987-8-steven.price@arm.com',
    cap: { name: 'KVM_CAP_ARM_RME', nr: 300, source: 'lore:20250213161426.102987-8-steven.price@arm.com' },
    recFeature: 8,
    maxVcpuFeatures: 9,
    psciComplete: { name: 'KVM_ARM_VCPU_RMM_PSCI_COMPLETE', req: PSCI_COMPLETE_0XD2, source: 'abi-evolution.md §2a (0xd2 "FIXME", moved in v8: lore:yq5aldu8wu3q.fsf@kernel.org)' },
    expect: {
      'vm.realm-no-rmm': { errno: 'EPERM', source: 'abi-evolution.md §3.3 (v7 changelog: "report -EPERM")', dispute: NO_RMM_DISPUTE },
      'populate.before-create': populateEinval('conditions.md §6.5 ("-EINVAL holds for v6/v7")'),
      'populate.after-activate': populateEinval('conditions.md §6.5'),
      'populate.state-beats-alignment': { errno: 'EINVAL', source: 'conditions.md §6.5 (state -EINVAL, checked before alignment as in v6 and v10)' },
      'populate.zero-size-before-create': populateEinval('conditions.md §6.5 (state before the size-0 shortcut, as v10 §5)'),
      // settled on the cca-host/v7 stack: both -EINVAL (fixtures/real-kernel/cca-host-v7)
      'init.before-create': { errno: 'EINVAL', source: 'recorded on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7: misordering/init-ipa-in-none); conditions.md §6.6', dispute: RIPAS_DISPUTE },
      'init.after-activate': { errno: 'EINVAL', source: 'recorded on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7: misordering/init-ipa-in-active); conditions.md §6.6', dispute: RIPAS_DISPUTE },
      'populate.no-guest-memfd': { errno: 'EINVAL', source: `${V7_POPULATE}: a memslot that cannot be private gives -EINVAL`, dispute: NO_GMEM_DISPUTE },
      'populate.unprotected-half': { errno: 'EINVAL', source: `${V7_POPULATE}: the suite places a plain (non-guest_memfd) memslot there, which v7 refuses with -EINVAL before the RMM` },
      'vcpu.init-past-max': { errno: 'ENOENT', source: 'G8 (bit 9 = KVM_VCPU_MAX_FEATURES, 9 since v6)' },
      'psci.old-number': null,
      // v7's own code (not v10's): an RTT error at the mapping level WARNs and returns -ENXIO; the cca-host/v7 stack answers so
      'init.over-populated': { errno: 'ENXIO', source: `${V7_RIPAS}: realm_init_ipa_state treats an RTT error at the mapping level as unexpected (WARN, -ENXIO); seen on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7)` },
      'init.over-ram': { errno: 0, source: 'TF-RMM tf-rmm-v0.6.0 (runtime/rmi/rtt.c) accepts RTT_INIT_RIPAS over RAM; recorded on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7)' },
      'create.before-vcpu-init': { errno: 'ENXIO', source: 'v7 36/45 (lore:20250213161426.102987-37-steven.price@arm.com): num_bps/num_wps from the VM\'s ID_AA64DFR0_EL1, 0 before the first vCPU init; TF-RMM tf-rmm-v0.6.0 refuses 0; recorded on the cca-host/v7 stack (68 checks failed from it)' },
    },
  },
  'conditions.md has no v7 row; v7 -> v8 changed numbers only (abi-evolution.md §2a)',
);


// ---- The inherited-value audit (docs/inherited-audit.md)

/**
 * The v7 expectations a check read and the real cca-host/v7 stack answered as
 * expected (fixtures/real-kernel/cca-host-v7: the relaxed run's passing checks,
 * the two expectations fixed from it, the pristine run's CREATE_REALM -ENXIO and
 * the relaxed run's second-vCPU -EINVAL). Measured, so confirmed for v7.
 */
export const V7_MEASURED: ReadonlySet<ExpectKey> = new Set<ExpectKey>([
  'activate.before-create',
  'activate.ok',
  'activate.twice',
  'cap.bad-struct-pointer',
  'cap.flags-before-subcmd',
  'cap.flags-nonzero',
  'cap.normal-vm-subcmd',
  'cap.unknown-subcmd',
  'config.after-create',
  'config.after-create-bad-pointer',
  'config.bad-pointer',
  'config.hash-sha256',
  'config.hash-unknown',
  'config.normal-vm',
  'config.removed-items',
  'config.rpv',
  'config.rpv-repeat',
  'config.unknown-item',
  'create.after-vcpu',
  'create.before-vcpu-init',
  'create.normal-vm',
  'create.ok',
  'create.twice',
  'init.after-activate',
  'init.bad-pointer',
  'init.before-create',
  'init.beyond-ipa',
  'init.fault-before-state',
  'init.no-memslot',
  'init.normal-vm',
  'init.ok',
  'init.over-populated',
  'init.over-ram',
  'init.reserved-ignored',
  'init.two-memslots',
  'init.unaligned-base',
  'init.unaligned-size',
  'init.unprotected-half',
  'init.wrap',
  'init.wrap-before-create',
  'init.zero-size',
  'populate.after-activate',
  'populate.bad-pointer',
  'populate.before-create',
  'populate.beyond-ipa',
  'populate.fault-before-state',
  'populate.measure',
  'populate.no-guest-memfd',
  'populate.no-memslot',
  'populate.normal-vm',
  'populate.ok',
  'populate.past-memslot-end',
  'populate.reserved-ignored',
  'populate.state-beats-alignment',
  'populate.twice',
  'populate.two-memslots',
  'populate.unaligned-base',
  'populate.unaligned-size',
  'populate.unknown-flag',
  'populate.unmeasured',
  'populate.unprotected-half',
  'populate.wrap',
  'populate.zero-size',
  'populate.zero-size-before-create',
  'populate.zero-size-no-memslot',
  'probe.cap-on-normal-vm',
  'probe.cap-on-realm-vm',
  'probe.cap-on-system-fd',
  'probe.realm-hides-guest-debug',
  'psci.bad-pointer',
  'psci.no-rec-bit',
  'psci.normal-vm',
  'psci.not-pending',
  'psci.unknown-target',
  'rec.after-activate-new-vcpu',
  'rec.bad-pointer',
  'rec.before-create',
  'rec.no-psci',
  'rec.no-psci-before-create',
  'rec.no-rec-bit',
  'rec.normal-vm',
  'rec.not-initialised',
  'rec.ok',
  'rec.twice',
  'rec.uninit-before-create',
  'run.before-activate',
  'run.no-irqchip',
  'run.no-rec',
  'run.not-initialised',
  'run.ok',
  'run.vcpu-after-activate',
  'sve.rd-unfinalised',
  'sve.vls-after-rd',
  'sve.vls-before-rd',
  'vcpu.create-after-activate',
  'vcpu.create-after-vgic-init',
  'vcpu.init-differs-from-first',
  'vcpu.init-past-max',
  'vcpu.init-psci',
  'vcpu.init-rec-bit',
  'vcpu.init-rec-el1-32bit',
  'vcpu.init-rec-normal-vm',
  'vm.realm-default-ipa',
  'vm.realm-ipa-40',
  'vm.realm-ipa-too-large',
  'vm.realm-ipa-too-small',
  'vm.type-stray-bits',
  'vm.type-unknown-value',
]);

const sameValue = (a: Expect | undefined, b: Expect | undefined): boolean => !!a && !!b && a.errno === b.errno && a.ret === b.ret;

export const v7 = audit(v7Derived, (k) => V7_MEASURED.has(k), 'not measured on the cca-host/v7 stack and v7\'s own code for it was not read');

// v8 sits between v7 (measured) and v9 (conditions.md read in the v9 posting): a value both agree on is bracketed
export const v8 = audit(v8Derived, (k, e) => V7_MEASURED.has(k) && sameValue(v7.expect[k], e) && sameValue(v9.expect[k], e), 'v8\'s own code for it was not read and v7 (measured) and v9 (read) do not both have this value');

// The posted v6 code, read in the whole-thread copy of the series (cover
// lore:20241212155610.76522-1-steven.price@arm.com; patch NN/43 is message
// 20241212155610.76522-(NN+1)). Values here are v6's own, not v7's.
const v6p = (nn: number, what: string): string => `v6 ${String(nn).padStart(2, '0')}/43 (lore:20241212155610.76522-${nn + 1}-steven.price@arm.com): ${what}`;
const V6_CAP = v6p(8, 'CHECK_EXTENSION(KVM_CAP_ARM_RME) answers the RME static key, on /dev/kvm and any VM');
const V6_IPA = `${v6p(8, 'a realm VM takes its IPA limit from the RMM feature register (S2SZ)')}; the range check itself is upstream kvm_init_ipa_range (UP)`;
const V6_TYPE = v6p(10, 'KVM_CREATE_VM refuses type bits outside [11:8] and [7:0], and a type value other than NORMAL or REALM, with -EINVAL');
const V6_DISPATCH = v6p(8, 'ENABLE_CAP(KVM_CAP_ARM_RME) on a VM that is not a realm is -EINVAL, an unknown sub-command -EINVAL');
const V6_CAP_UP = 'upstream KVM_ENABLE_CAP: the struct is copied (-EFAULT) and arm64 refuses non-zero flags (-EINVAL) before any CAP is looked at (UP); v6 08/43 adds its case after that';
const V6_CONFIG = (what: string): string => v6p(8, `CONFIG_REALM ${what}`);
const V6_CREATE = (what: string): string => v6p(8, `CREATE_RD ${what}`);
const V6_INIT = (what: string): string => v6p(16, `INIT_IPA_REALM ${what}`);
const V6_POP = (what: string): string => v6p(19, `POPULATE_REALM ${what}`);
const V6_REC = (what: string): string => v6p(12, `FINALIZE(REC) ${what}`);
const V6_FINALIZED = v6p(12, 'kvm_arm_vcpu_is_finalized is false for a realm vCPU unless it is a finalised REC of an ACTIVE realm, so KVM_RUN gets upstream\'s -EPERM');
const V6_PSCI = (what: string): string => v6p(23, `KVM_ARM_VCPU_RMM_PSCI_COMPLETE ${what}`);
const V6_FINALIZE_UP = 'upstream KVM_ARM_VCPU_FINALIZE: an uninitialised vCPU -ENOEXEC, then the int is read (-EFAULT), before v6 12/43 is reached (UP)';

const v6Derived = derive(
  v7,
  {
    name: 'v6',
    title: 'v6, 2024-12-12: REC=8 now accepted by VCPU_INIT (MAX_FEATURES raised), RFC-style names',
    source: 'lore:20241212155610.76522-1-steven.price@arm.com ("[PATCH v6 07/43]")',
    subcmdNames: {
      CONFIG_REALM: 'CONFIG_REALM',
      CREATE: 'CREATE_RD',
      INIT_IPA: 'INIT_IPA_REALM',
      POPULATE: 'POPULATE_REALM',
      ACTIVATE: 'ACTIVATE_REALM',
    },
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
      'create.after-vcpu': { errno: 0, source: `${V6_CREATE('has no check on created vCPUs')}; v6 38/43 gives a vCPU without SVE vector length 0, so one such vCPU passes` },
      'create.before-vcpu-init': { errno: 'ENXIO', source: 'v6 35/43 (lore:20241212155610.76522-36-steven.price@arm.com): num_bps/num_wps from kvm_read_vm_id_reg(ID_AA64DFR0_EL1), 0 before the first vCPU init; TF-RMM validate_realm_params refuses 0 (tf-rmm-v0.6.0 on)' },
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
      'init.over-populated': { errno: 'ENXIO', source: V6_INIT('realm_init_ipa_state treats an RTT error at the mapping level as unexpected (WARN, -ENXIO), the same code as v7 16/45') },
      'init.over-ram': { errno: 0, source: `${V6_INIT('passes the range to RTT_INIT_RIPAS')}; TF-RMM tf-rmm-v0.6.0 accepts it over RAM (recorded on the cca-host/v7 stack)` },
      'populate.ok': { errno: 0, source: V6_POP('in 2 MB chunks, each inside one memslot that can be private, page by page from the memslot\'s memory into guest_memfd') },
      'populate.measure': { errno: 0, source: V6_POP('passes MEASURE as RMI_MEASURE_CONTENT') },
      'populate.unmeasured': { errno: 0, source: V6_POP('takes flags 0') },
      'populate.unknown-flag': { errno: 'EINVAL', source: V6_POP('refuses a flag other than MEASURE with -EINVAL') },
      'populate.reserved-ignored': { errno: 0, source: V6_POP('does not look at reserved[]') },
      'populate.bad-pointer': { errno: 'EFAULT', source: V6_POP('copies the args first: a fault is -EFAULT') },
      'populate.fault-before-state': { errno: 'EFAULT', source: V6_POP('copies the args before the state check') },
      'populate.before-create': populateEinval(V6_POP('outside state NEW is -EINVAL, checked first (Steven Price quoted it: lore:4196d432-ccde-4d1f-b07e-8603bf5dcdaf@arm.com)')),
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
      'populate.chunk-per-memslot': { errno: 0, source: V6_POP('looks up the memslot of each 2 MB chunk, so chunks in adjacent guest_memfd memslots are populated') },
      'populate.no-guest-memfd': { errno: 'EINVAL', source: V6_POP('a memslot that cannot be private is -EINVAL'), dispute: NO_GMEM_DISPUTE },
      'populate.unprotected-half': { errno: 'EINVAL', source: V6_POP('the suite places a plain memslot there, which cannot be private: -EINVAL before the RMM') },
      'populate.twice': { errno: 'ENXIO', source: V6_POP('delegating a destination page that is already delegated fails: -ENXIO') },
      'activate.ok': { errno: 0, source: v6p(43, 'ACTIVATE_REALM in state NEW calls RMI_REALM_ACTIVATE, then ACTIVE') },
      'activate.before-create': { errno: 'EINVAL', source: v6p(43, 'ACTIVATE_REALM outside state NEW is -EINVAL') },
      'activate.twice': { errno: 'EINVAL', source: v6p(43, 'ACTIVATE_REALM outside state NEW is -EINVAL') },
      'vcpu.init-rec-bit': { errno: 0, source: v6p(42, 'KVM_VCPU_MAX_FEATURES 7 -> 9, so the REC bit (8) is accepted') },
      'vcpu.init-psci': { errno: 0, source: 'upstream VCPU_INIT with PSCI_0_2 (UP); no v6 check refuses it' },
      'vcpu.init-rec-normal-vm': { errno: 0, source: `${v6p(12, 'the REC bit is cleared from the supported features only when the RMM is absent; nothing refuses it on a normal VM')} (Gavin Shan\'s review of 12/43 points this out; v7 refuses it)` },
      'vcpu.init-rec-el1-32bit': { errno: 'EINVAL', source: v6p(12, 'the REC bit with EL1_32BIT is -EINVAL') },
      'vcpu.init-past-max': { errno: 'ENOENT', source: `${v6p(42, 'KVM_VCPU_MAX_FEATURES is 9')}: bit 9 is -ENOENT (G8)` },
      'vcpu.create-after-activate': { errno: 0, source: 'no v6 patch adds a check to vCPU creation (12/43 only sets rec.mpidr); allowed while the vGIC is not initialised (UP)' },
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
      'rec.twice': { errno: 'ENXIO', source: `${V6_REC('has no guard against a second call: it delegates a new REC page and calls RMI_REC_CREATE again with the same MPIDR, which the RMM refuses, -ENXIO')} (v7 adds the -EBUSY guard; the cca-host/v7 stack answers -EBUSY)` },
      'run.not-initialised': { errno: 'ENOEXEC', source: 'upstream KVM_RUN on an uninitialised vCPU is -ENOEXEC (G5, UP), before v6\'s checks' },
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
      'psci.no-rec-bit': { errno: 'EINVAL', source: `${V6_PSCI('checks only that the VM is a realm, so a realm vCPU that is no REC reaches RMI_PSCI_COMPLETE with no REC page; the RMM refuses and KVM returns -EINVAL')}` },
      'psci.bad-pointer': { errno: 'EFAULT', source: V6_PSCI('copies the struct after the realm check: a fault is -EFAULT') },
      'psci.unknown-target': { errno: 'EINVAL', source: V6_PSCI('no vCPU with the target MPIDR is -EINVAL') },
      'psci.not-pending': { errno: 'EINVAL', source: V6_PSCI('passes the request to RMI_PSCI_COMPLETE; an RMM refusal (no PSCI pending) is -EINVAL') },
    },
  },
  'conditions.md has no v6 row; v6 -> v7 renamed identifiers and changed the no-RMM errno (abi-evolution.md §2a, §3.3)',
);

const EARLY_AUDIT = 'the posted v2..v6 code for it was not read, and no v2..v6 stack was recorded';
export const v6 = audit(v6Derived, () => false, EARLY_AUDIT);

// v2..v5: the same memslot check is not pinned. The posted v5 populate patch
// has none; a later v5 patch (not read) brought the guest_memfd access.
const NO_GMEM_V2_V5 =
  'a memslot without guest_memfd: the spec pins -EINVAL for v6 only (abi-evolution.md §3.2); the posted v5 populate patch (lore:20241004152804.72508-21-steven.price@arm.com) has no such check, and v7 20/45 says the guest_memfd access came from a later v5 patch, which was not read';
const NO_GMEM_KEYS = ['populate.no-guest-memfd', 'populate.unprotected-half'] as const;


const CONFIG_V2 = 'lore:20240412084309.1733783-10-steven.price@arm.com ("[PATCH v2 09/43] arm64: RME: ioctls to create and configure realms"): CONFIG once the RD exists returns -EINVAL';
const CONFIG_V3_V4 = 'CONFIG once the RD exists: -EINVAL in v2 (09/43), -EBUSY in v5/v6 (abi-evolution.md §3.2); v3 and v4 were not read';
const REC_V2_V4 =
  'how v2..v4 accepted KVM_ARM_VCPU_REC (8) is UNCONFIRMED (abi-evolution.md §2a): no posted v2..v4 header raises KVM_VCPU_MAX_FEATURES to 9, and v6\'s changelog says only v6 really exposed the REC bit';
// Facts of the RMM or of later postings that v2..v5 inherit without their own code behind them
const EARLY_RMM = 'RTT_INIT_RIPAS over RAM succeeds on TF-RMM tf-rmm-v0.6.0 (the v7 stack); the RMM releases of v2..v5\'s time (EAC5 .. rel0) were not observed';
const EARLY_BPS = 'the realm\'s breakpoint counts come from the VM\'s ID registers from v6 35/43 on; where v2..v5 took them from was not read (and the RMMs of their time accept 0)';
const EARLY_KEYS = (p: AbiProfile): AbiProfile['expect'] => ({
  ...markUnconfirmed(p, ['init.over-ram'], EARLY_RMM),
  ...markUnconfirmed(p, ['create.before-vcpu-init'], EARLY_BPS),
});
const REC_FINALIZE_ONLY = 'with the REC bit refused by VCPU_INIT, a REC can only come from FINALIZE(REC) as in RFC v1 (conditions.md §6.2 draws the parallel); the v5 FINALIZE path was not read';

// The posted v5 code, partly read in the whole-thread copy of the series
// (cover lore:20241004152804.72508-1-steven.price@arm.com; patch NN/43 is
// message 20241004152804.72508-(NN+1)): the ioctl, machine-type, REC,
// irqchip and REC-entry patches. INIT_IPA, POPULATE, PSCI complete, ACTIVATE
// and the SVE/breakpoint patches of v5 were not read: those stay inherited.
const v5p = (nn: number, what: string): string => `v5 ${String(nn).padStart(2, '0')}/43 (lore:20241004152804.72508-${nn + 1}-steven.price@arm.com): ${what}`;
const V5_CAP = v5p(9, 'CHECK_EXTENSION(KVM_CAP_ARM_RME) answers the RME static key, on /dev/kvm and any VM');
const V5_IPA = `${v5p(9, 'a realm VM takes its IPA limit from the RMM feature register (S2SZ) in kvm_init_ipa_range')}; the checks themselves are upstream's (UP)`;
const V5_TYPE = v5p(11, 'KVM_CREATE_VM refuses type bits outside [11:8] and [7:0], and a type value other than NORMAL or REALM, with -EINVAL');
const V5_DISPATCH = v5p(9, 'ENABLE_CAP(KVM_CAP_ARM_RME) on a VM that is not a realm is -EINVAL, an unknown sub-command -EINVAL');
const V5_CAP_UP = 'upstream KVM_ENABLE_CAP: the struct is copied (-EFAULT) and arm64 refuses non-zero flags (-EINVAL) before any CAP is looked at (UP); v5 09/43 adds its case after that';
const V5_CONFIG = (what: string): string => v5p(9, `CONFIG_REALM ${what}`);
const V5_CREATE = (what: string): string => v5p(9, `CREATE_RD ${what}`);
const V5_REC = (what: string): string => v5p(14, `FINALIZE(REC) ${what}`);
const V5_FINALIZED = v5p(14, 'kvm_arm_vcpu_is_finalized is false for a realm vCPU unless it has a REC and the realm is ACTIVE, so KVM_RUN gets upstream\'s -EPERM');
const V5_FINALIZE_UP = 'upstream KVM_ARM_VCPU_FINALIZE: an uninitialised vCPU -ENOEXEC, then the int is read (-EFAULT), before v5 14/43 is reached (UP)';

const v5Derived = derive(
  v6,
  {
    name: 'v5',
    title: 'v5, 2024-10-04: REC=8 defined but not usable (KVM_VCPU_MAX_FEATURES not raised)',
    source: '"[PATCH v5 08/43] arm64: RME: Define the user ABI" (lore:20241004152804.72508-1-steven.price@arm.com)',
    maxVcpuFeatures: 7,
    recInInit: false,
    expect: {
      'vcpu.init-rec-bit': { errno: 'ENOENT', source: 'abi-evolution.md §2a (v5: MAX_FEATURES not raised), G8' },
      'vcpu.init-rec-normal-vm': { errno: 'ENOENT', source: 'G8 (bit 8 >= KVM_VCPU_MAX_FEATURES = 7)' },
      'vcpu.init-rec-el1-32bit': { errno: 'ENOENT', source: 'G8 (bit 8 >= KVM_VCPU_MAX_FEATURES = 7)' },
      'vcpu.init-past-max': { errno: 'ENOENT', source: 'G8 (bit 7 = KVM_VCPU_MAX_FEATURES; HAS_EL2 exposed only from v6)' },
      'rec.no-rec-bit': { errno: 0, source: V5_REC('checks only that the VM is a realm (no REC bit exists to check in v5), so a realm vCPU without it gets a REC') },
      'vm.realm-no-rmm': { errno: 'EINVAL', source: v5p(11, 'a realm type without the RME static key is -EINVAL'), dispute: NO_RMM_DISPUTE },
      'probe.cap-on-system-fd': { errno: 0, ret: 1, source: V5_CAP },
      'probe.cap-on-normal-vm': { errno: 0, ret: 1, source: V5_CAP },
      'probe.cap-on-realm-vm': { errno: 0, ret: 1, source: V5_CAP },
      'probe.cap-no-rmm': { errno: 0, ret: 0, source: `${V5_CAP}: the key stays off without an RMM` },
      'probe.realm-hides-guest-debug': { errno: 0, ret: 0, source: v5p(10, 'CHECK_EXTENSION(SET_GUEST_DEBUG) answers !kvm_is_realm') },
      'vm.realm-default-ipa': { errno: 0, source: V5_IPA },
      'vm.realm-ipa-40': { errno: 0, source: V5_IPA },
      'vm.realm-ipa-too-large': { errno: 'EINVAL', source: V5_IPA },
      'vm.realm-ipa-too-small': { errno: 'EINVAL', source: V5_IPA },
      'vm.realm-ipa-beyond-rmm': { errno: 'EINVAL', source: V5_IPA },
      'vm.type-stray-bits': { errno: 'EINVAL', source: V5_TYPE },
      'vm.type-unknown-value': { errno: 'EINVAL', source: V5_TYPE },
      'cap.bad-struct-pointer': { errno: 'EFAULT', source: V5_CAP_UP },
      'cap.flags-nonzero': { errno: 'EINVAL', source: V5_CAP_UP },
      'cap.flags-before-subcmd': { errno: 'EINVAL', source: V5_CAP_UP },
      'cap.unknown-subcmd': { errno: 'EINVAL', source: V5_DISPATCH },
      'cap.normal-vm-subcmd': { errno: 'EINVAL', source: V5_DISPATCH },
      'config.rpv': { errno: 0, source: V5_CONFIG('copies the RPV unchecked') },
      'config.rpv-repeat': { errno: 0, source: V5_CONFIG('copies the RPV unchecked; the last write wins') },
      'config.hash-sha256': { errno: 0, source: V5_CONFIG('takes SHA256 when the RMM advertises it') },
      'config.hash-sha512': { errno: 0, source: V5_CONFIG('takes SHA512 when the RMM advertises it') },
      'config.hash-unknown': { errno: 'EINVAL', source: V5_CONFIG('refuses an unknown hash algorithm with -EINVAL') },
      'config.hash-unsupported': { errno: 'EINVAL', source: V5_CONFIG('refuses a hash the RMM does not advertise with -EINVAL') },
      'config.removed-items': { errno: 'EINVAL', source: V5_CONFIG('knows only RPV and HASH_ALGO; other items -EINVAL') },
      'config.unknown-item': { errno: 'EINVAL', source: V5_CONFIG('knows only RPV and HASH_ALGO; other items -EINVAL') },
      'config.after-create': { errno: 'EBUSY', source: V5_CONFIG('once the RD exists is -EBUSY, before the item is copied') },
      'config.after-create-bad-pointer': { errno: 'EBUSY', source: V5_CONFIG('checks the state before copying the item: -EBUSY wins over -EFAULT') },
      'config.bad-pointer': { errno: 'EFAULT', source: V5_CONFIG('copies the item: a fault is -EFAULT') },
      'config.normal-vm': { errno: 'EINVAL', source: V5_DISPATCH },
      'create.ok': { errno: 0, source: V5_CREATE('delegates the RD and the start-level RTTs, RMI_REALM_CREATE, state NEW') },
      'create.twice': { errno: 'EEXIST', source: V5_CREATE('once the RD exists is -EEXIST') },
      'create.normal-vm': { errno: 'EINVAL', source: V5_DISPATCH },
      'rec.ok': { errno: 0, source: V5_REC('on a realm vCPU with PSCI_0_2 in state NEW creates the REC') },
      'rec.not-initialised': { errno: 'ENOEXEC', source: V5_FINALIZE_UP },
      'rec.uninit-before-create': { errno: 'ENOEXEC', source: V5_FINALIZE_UP },
      'rec.bad-pointer': { errno: 'EFAULT', source: V5_FINALIZE_UP },
      'rec.normal-vm': { errno: 'EINVAL', source: V5_REC('on a VM that is not a realm is -EINVAL') },
      'rec.before-create': { errno: 'ENOENT', source: V5_REC('outside state NEW is -ENOENT') },
      'rec.after-activate-new-vcpu': { errno: 'ENOENT', source: V5_REC('outside state NEW is -ENOENT') },
      'rec.no-psci': { errno: 'EINVAL', source: V5_REC('without PSCI_0_2 is -EINVAL (after the state check)') },
      'rec.no-psci-before-create': { errno: 'ENOENT', source: V5_REC('checks the state before PSCI_0_2') },
      'rec.twice': { errno: 'ENXIO', source: V5_REC('has no guard against a second call; RMI_REC_CREATE with the same MPIDR is refused by the RMM, -ENXIO') },
      'run.not-initialised': { errno: 'ENOEXEC', source: 'upstream KVM_RUN on an uninitialised vCPU is -ENOEXEC (G5, UP), before v5\'s checks' },
      'run.before-activate': { errno: 'EPERM', source: V5_FINALIZED },
      'run.no-rec': { errno: 'EPERM', source: V5_FINALIZED },
      'run.vcpu-after-activate': { errno: 'EPERM', source: `${V5_FINALIZED}; a vCPU made after ACTIVATE cannot get a REC (-ENOENT)` },
      'run.no-irqchip': { errno: 'EOPNOTSUPP', source: v5p(15, 'the first KVM_RUN of a realm without an in-kernel irqchip is -EOPNOTSUPP') },
      'run.ok': { errno: 0, source: `${V5_FINALIZED}; v5 18/43 enters the REC in an ACTIVE realm` },
      'run.no-rec-bit': null,
      'psci.no-rec-bit': { errno: 'EINVAL', source: 'the realm-only check of v6 23/43 (lore:20241212155610.76522-24-steven.price@arm.com) applied to a vCPU never finalised as a REC (v5\'s own code not read)', unconfirmed: REC_FINALIZE_ONLY },
      ...markUnconfirmed(v6, NO_GMEM_KEYS, NO_GMEM_V2_V5),
      ...EARLY_KEYS(v6),
    },
  },
  'conditions.md has no v5 row; v5 -> v6 raised KVM_VCPU_MAX_FEATURES (abi-evolution.md §2a)',
);
export const v5 = audit(v5Derived, () => false, EARLY_AUDIT);

// v2..v4: kvmtool's eac5/v2 branches set the REC bit at VCPU_INIT, so these
// revisions accepted it somehow; v5 lost it in a rebase and v6 fixed it. So
// v4 derives from v6 (not v5), with the REC acceptance marked UNCONFIRMED.
const v4Derived = derive(
  v6,
  {
    name: 'v4',
    title: 'v4, 2024-08-21: RMM 1.0-rel0-rc1; PSCI complete "FIXME update nr when merging"',
    source: 'lore:20240821153844.60084-9-steven.price@arm.com',
    expect: {
      ...markUnconfirmed(v6, ['vcpu.init-rec-bit', 'rec.no-rec-bit', 'run.no-rec-bit', 'psci.no-rec-bit', 'vcpu.init-past-max'], REC_V2_V4),
      ...markUnconfirmed(v6, NO_GMEM_KEYS, NO_GMEM_V2_V5),
      ...EARLY_KEYS(v6),
      // v2 09/43 returns -EINVAL for CONFIG once the RD exists, v5/v6 -EBUSY; v3/v4 were not read
      ...markUnconfirmed(v6, ['config.after-create', 'config.after-create-bad-pointer'], CONFIG_V3_V4),
    },
  },
  'conditions.md has no v4 row; the v4 ABI patch defines the same constants as v5/v6 (abi-evolution.md §2a)',
);
export const v4 = audit(v4Derived, () => false, EARLY_AUDIT);

const v3Derived = derive(
  v4,
  {
    name: 'v3',
    title: 'v3, 2024-06-10: same uAPI as v2 (RMM EAC5)',
    source: 'lore:20240610134202.54893-9-steven.price@arm.com',
  },
  'conditions.md has no v3 row; the v3 ABI patch defines the same constants (abi-evolution.md §2a)',
);
export const v3 = audit(v3Derived, () => false, EARLY_AUDIT);

const v2Derived = derive(
  v3,
  {
    name: 'v2',
    title: 'v2, 2024-04-12: guest_memfd, MEASURE flag, 32-byte args, CONFIG RPV/HASH only, REC=8, PSCI complete 0xd2',
    source: 'lore:20240412084309.1733783-9-steven.price@arm.com',
    expect: {
      'config.after-create': { errno: 'EINVAL', source: CONFIG_V2 },
      // the state is checked before the item is copied in every revision read; v2's order was not
      'config.after-create-bad-pointer': { errno: 'EINVAL', source: CONFIG_V2, unconfirmed: 'whether v2 checks the state before copying the item was not read' },
    },
  },
  'conditions.md has no v2 row; the v2 ABI patch defines the same constants (abi-evolution.md §2a, §2b)',
);
export const v2 = audit(v2Derived, () => false, EARLY_AUDIT);
