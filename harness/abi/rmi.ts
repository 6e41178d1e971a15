// The RMI generation, v12 .. v14: a query-only KVM_CAP_ARM_RMI, no
// sub-commands, guest_memfd memslots decide RIPAS, one KVM_ARM_RMI_POPULATE
// ioctl, and the RD, the RECs and activation made implicitly (abi-evolution.md
// §3.5-§3.7). conditions.md §4 reads v14 in code; v13 and v12 are derived
// from it backwards with what abi-evolution.md §3.5/§3.6 says differs, and,
// for the first KVM_RUN, with the posted v12/v13 activation patches.
import { audit, derive } from './derive.ts';
import { iow, iowr } from '../ioc.ts';
import { PSCI_COMPLETE_0XD6, PSCI_COMPLETE_SIZE } from './v10.ts';
import type { AbiProfile } from './types.ts';

const KVMIO = 0xae;
/** struct kvm_arm_rmi_populate {u64 base, size, source_uaddr; u32 flags, reserved} */
export const RMI_POPULATE_SIZE = 32;
export const RMI_POPULATE_IOW = iow(KVMIO, 0xd7, RMI_POPULATE_SIZE); // 0x4020AED7, v12: returns bytes
export const RMI_POPULATE_IOWR = iowr(KVMIO, 0xd7, RMI_POPULATE_SIZE); // 0xC020AED7, v13+: in/out

export const VM_TYPE_REALM_V14 = 0x40000000; // 1UL << 30
export const VM_TYPE_PROTECTED = 0x80000000; // pKVM, 1UL << 31

const NO_RMM_DISPUTE = 'realm VM without RMI: the code returns -EINVAL while the changelog still says -EPERM (abi-evolution.md §3.5; conditions.md §6.11)';
const POPULATE_NORMAL_DISPUTE = 'populate on a non-realm VM: -EPERM in v12, Marc Zyngier asked for -ENOSYS (Steven acked, lore:782ffcc2-1a72-46f0-a0c7-f1277fb84ced@arm.com), v13 chose -ENXIO (conditions.md §6.7)';
const V14 = '"[PATCH v14 13/44]" (abi-evolution.md §2a)';

export const v14: AbiProfile = {
  name: 'v14',
  title: 'v14, 2026-05-13: KVM_CAP_ARM_RMI=249, realm type 1<<30 beside pKVM bit 31, PSCI complete removed, dead realms stay dead',
  source: V14,
  generation: 'rmi',
  cap: { name: 'KVM_CAP_ARM_RMI', nr: 249, source: V14 },
  vmTypeRealm: VM_TYPE_REALM_V14,
  vmTypeFieldMask: 0xc0000000,
  vmTypeProtected: VM_TYPE_PROTECTED,
  // no REC bit; MAX_FEATURES left at upstream's 9 (V14-V2, UNCONFIRMED)
  maxVcpuFeatures: 9,
  sizes: { rmiPopulate: RMI_POPULATE_SIZE },
  privateMemory: 'guest_memfd',
  firstRunNeedsIrqchip: true,
  populateFlags: { MEASURE: 1 },
  rmiPopulate: { name: 'KVM_ARM_RMI_POPULATE', req: RMI_POPULATE_IOWR, inOut: true, source: 'V14-26, abi-evolution.md §2a' },
  staleCaps: [300, 240, 243, 244, 247, 248],
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
    'rmi.cap-allowlisted': { errno: 0, ret: 1, source: 'V14-CE2 (ARM_PSCI_0_2 is on the allowlist)' },
    'rmi.cap-not-allowlisted': { errno: 0, ret: 0, source: 'V14-CE2 (ARM_EL1_32BIT is not)' },
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
    'rmi.populate-before-vcpu-init': { errno: 'ENXIO', source: 'V14-PO6 (-ENXIO when RMI_REALM_CREATE fails); realm_create_rd of the RMI postings fills num_bps/num_wps from kvm_read_vm_id_reg(ID_AA64DFR0_EL1); TF-RMM runtime/rmi/realm.c validate_realm_params (num_bps/num_wps 0 are reserved, since August 2024: tf-rmm-v0.6.0 and the RMM 2.0 line)' },
    'vcpu.init-differs-from-first': { errno: 'EINVAL', source: 'upstream since 6.7 (kvm_vcpu_set_target: KVM_ARCH_FLAG_VCPU_FEATURES_CONFIGURED, kvm->arch.vcpu_features; POWER_OFF is not kept); seen on the cca-host/v7 stack (fixtures/real-kernel/cca-host-v7, mux/run/without-rec-bit)' },
    'rmi.populate-zero-size-no-memslot': { errno: 'EINVAL', source: 'V14-PO5 (RD created as a side effect)' },
    'rmi.populate-no-memslot': { errno: 'EINVAL', source: 'V14-PO10' },
    'rmi.populate-not-gmem': { errno: 'EINVAL', source: 'V14-PO10' },
    'rmi.populate-not-private': { errno: 'EINVAL', source: 'V14-PO11' },
    'rmi.populate-source-fault': { errno: 'EFAULT', source: 'V14-PO11, V14-PO15 (an error on the first page is returned)' },
    'rmi.populate-source-zero': { errno: 'EOPNOTSUPP', source: 'V14-PO13' },
    'rmi.populate-past-memslot-end': { errno: 0, ret: 0, source: 'V14-PO12 (clipped to the memslot; the struct shows the remainder)' },
    'rmi.populate-twice': { errno: 'ENXIO', source: 'V14-PO14' },
    'rmi.populate-negative-count': { errno: 'EINVAL', source: 'V14-PO10 (UP-gmem: a page count that is negative, size >= 2^63)' },
    'rmi.populate-error-after-progress': { errno: 0, ret: 0, source: 'V14-PO15 (error after >= 1 page swallowed; the next call fails on the bad page with V14-PO14)' },
    'rmi.first-run-no-irqchip': { errno: 'EOPNOTSUPP', source: 'V14-A5' },
    'rmi.run-after-irqchip-added': { errno: 0, source: '§4.7 row 1 (state still NONE/NEW; the first-run path is retried)' },
    'rmi.first-run-rec-fails': { errno: 'EINVAL', source: 'V14-A9 (a vCPU lacks PSCI_0_2); the realm is left DEAD' },
    'rmi.second-run-after-failed-run': { errno: 'EINVAL', source: '§4.7 row 2 (activate sees DEAD >= ACTIVE, returns 0; kvm_rec_pre_enter state != ACTIVE -> -EINVAL, V14-R1)' },
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

// The first KVM_RUN in the posted v12 and v13 code. v12 11/46 returns early only
// for state == ACTIVE, then makes the RD, sets DEAD and only then checks the
// irqchip; v12 22/46 has the RD step refuse a DEAD realm with -ENXIO. v13 16/48
// already checks the irqchip first and returns early for state >= ACTIVE.
const V12_ACTIVATE = 'lore:20251217101125.91098-12-steven.price@arm.com ("[PATCH v12 11/46] arm64: RMI: Activate realm on first VCPU run")';
const V12_RD = 'lore:20251217101125.91098-23-steven.price@arm.com ("[PATCH v12 22/46] arm64: RMI: Create the realm descriptor")';
const V13_ACTIVATE = '"[PATCH v13 16/48] arm64: RMI: Activate realm on first VCPU run"';
const V12_DEAD_RUN = `D: the failed first run left the realm DEAD (abi-evolution.md §3.5); v12 returns early only for == ACTIVE (${V12_ACTIVATE}), so the next run reaches realm_ensure_created, which refuses a DEAD realm with -ENXIO (${V12_RD}; abi-evolution.md §3.5 gives the same -ENXIO for populate on a DEAD realm)`;
const V12_REVIVE_DISPUTE = 'abi-evolution.md §4.5 reads the later >= ACTIVE test as a sign that v12 could revive a dead realm, and the v13 16/48 changelog says the same; in the posted v12 code the RD step refuses DEAD before any revival';
const V13_ORDER_DISPUTE = 'abi-evolution.md §3.5/§3.7 date the earlier irqchip check and the >= ACTIVE test to v14; the posted v13 16/48 already has both (its changelog lists the >= ACTIVE change as new since v12)';

// The posted v13 code, read in the whole-thread copy of the series (cover
// "[PATCH v13 00/48]", 2026-03-18, review to 2026-04-22). Values here are
// v13's own, not v14's.
const v13p = (nn: number, what: string): string => `"[PATCH v13 ${String(nn).padStart(2, '0')}/48]": ${what}`;
const V13_CAP = v13p(12, 'CHECK_EXTENSION(KVM_CAP_ARM_RMI) answers whether the RMI static key is on, for /dev/kvm and any VM');
const V13_ALLOW = v13p(13, 'on a realm VM CHECK_EXTENSION answers only an allowlist (IRQCHIP, PSCI, PSCI_0_2, vCPU counts, MSI_DEVID, VM_IPA_SIZE, PTRAUTH, ARM_RMI; PMU_V3 and SVE from 38/48 and 35/48), 0 for the rest');
const V13_IPA = `${v13p(12, 'a realm VM takes its IPA limit from the RMM feature register (S2SZ)')}; the range check itself is upstream kvm_init_ipa_range (UP: 0 means 40 bits, below 32 or above the limit -EINVAL)`;
const V13_TYPE = v13p(14, 'KVM_CREATE_VM refuses type bits outside [11:8] and [7:0], and a type value other than NORMAL or REALM, with -EINVAL');
const V13_NO_ENABLE = 'no v13 patch adds an ENABLE_CAP case (the arm.c hunks of the v13 posting read; Suzuki Poulose\'s review of "[PATCH v13 13/48]" asks for one), so upstream arm64 kvm_vm_ioctl_enable_cap answers -EINVAL (UP)';
const V13_POP = (what: string): string => v13p(24, `KVM_ARM_RMI_POPULATE ${what}`);
const V13_ENSURE = (what: string): string => v13p(26, `realm_ensure_created ${what}`);

const v13Derived = derive(
  v14,
  {
    name: 'v13',
    // v12 45/46 raised KVM_VCPU_MAX_FEATURES 9 -> 10 and v14 dropped that patch (abi-evolution.md §4.9)
    maxVcpuFeatures: 10,
    title: 'v13, 2026-03-18: KVM_CAP_ARM_RMI=248, POPULATE _IOWR in/out returning 0, source_uaddr alignment',
    source: '"[PATCH v13 11/48] arm64: RMI: Define the user ABI"',
    cap: { name: 'KVM_CAP_ARM_RMI', nr: 248, source: '"[PATCH v13 11/48]" (abi-evolution.md §2a)' },
    vmTypeRealm: 0x100,
    vmTypeFieldMask: 0xf00,
    vmTypeProtected: undefined,
    psciComplete: { name: 'KVM_ARM_VCPU_RMI_PSCI_COMPLETE', req: PSCI_COMPLETE_0XD6, source: 'abi-evolution.md §2a (v13: 0xd6)' },
    sizes: { rmiPopulate: RMI_POPULATE_SIZE, psciComplete: PSCI_COMPLETE_SIZE },
    staleCaps: [300, 240, 243, 244, 247],
    expect: {
      'vm.realm-and-protected': null,
      'vm.old-realm-type': null,
      'rmi.psci-complete-removed': null,
      'vm.type-stray-bits': { errno: 'EINVAL', source: V13_TYPE },
      'vm.type-unknown-value': { errno: 'EINVAL', source: V13_TYPE },
      'vm.realm-no-rmm': { errno: 'EINVAL', source: v13p(14, 'a realm type with the RMI static key off is -EINVAL, while its changelog still says -EPERM'), dispute: NO_RMM_DISPUTE },
      'probe.cap-on-system-fd': { errno: 0, ret: 1, source: V13_CAP },
      'probe.cap-on-normal-vm': { errno: 0, ret: 1, source: V13_CAP },
      'probe.cap-on-realm-vm': { errno: 0, ret: 1, source: `${V13_CAP}; ${V13_ALLOW}` },
      'probe.cap-no-rmm': { errno: 0, ret: 0, source: `${V13_CAP}; the key is switched on only when an RMM is found (${v13p(47, 'Enable realms to be created')})` },
      'vm.realm-default-ipa': { errno: 0, source: V13_IPA },
      'vm.realm-ipa-40': { errno: 0, source: V13_IPA },
      'vm.realm-ipa-too-large': { errno: 'EINVAL', source: V13_IPA },
      'vm.realm-ipa-too-small': { errno: 'EINVAL', source: V13_IPA },
      'vm.realm-ipa-beyond-rmm': { errno: 'EINVAL', source: V13_IPA },
      'rmi.old-enable-cap': { errno: 'EINVAL', source: V13_NO_ENABLE },
      'rmi.enable-cap-rmi': { errno: 'EINVAL', source: V13_NO_ENABLE },
      'rmi.cap-allowlisted': { errno: 0, ret: 1, source: V13_ALLOW },
      'rmi.cap-not-allowlisted': { errno: 0, ret: 0, source: V13_ALLOW },
      'rmi.populate-ok': { errno: 0, ret: 0, source: V13_POP('returns 0 and writes back base, size and source_uaddr advanced by the pages done') },
      'rmi.populate-unmeasured': { errno: 0, ret: 0, source: V13_POP('takes flags 0 (MEASURE is the only flag) and returns 0 with the struct advanced') },
      'rmi.populate-progress': { errno: 0, ret: 0, source: V13_POP('advances base, size and source_uaddr together by the pages done; the caller loops until size is 0 (its api.rst text)') },
      'rmi.populate-bad-pointer': { errno: 'EFAULT', source: V13_POP('copies the struct after the realm check: a fault is -EFAULT') },
      'rmi.populate-normal-vm': { errno: 'ENXIO', source: V13_POP('on a VM that is not a realm is -ENXIO (v12: -EPERM)'), dispute: POPULATE_NORMAL_DISPUTE },
      'rmi.populate-normal-vm-bad-pointer': { errno: 'ENXIO', source: V13_POP('checks the VM before copying the struct: -ENXIO') },
      'rmi.populate-reserved': { errno: 'EINVAL', source: V13_POP('refuses reserved != 0, a flag other than MEASURE, base, base+size or source_uaddr not page aligned: -EINVAL, before the state') },
      'rmi.populate-unknown-flag': { errno: 'EINVAL', source: V13_POP('refuses a flag other than MEASURE with -EINVAL, before the state') },
      'rmi.populate-unaligned-base': { errno: 'EINVAL', source: V13_POP('refuses an unaligned base with -EINVAL, before the state') },
      'rmi.populate-unaligned-size': { errno: 'EINVAL', source: V13_POP('refuses an unaligned base+size with -EINVAL, before the state') },
      'rmi.populate-unaligned-source': { errno: 'EINVAL', source: V13_POP('refuses an unaligned source_uaddr with -EINVAL (new in v13)') },
      'rmi.populate-invalid-after-run': { errno: 'EINVAL', source: V13_POP('checks its arguments before realm_ensure_created, so a bad struct is -EINVAL even on an ACTIVE realm') },
      'rmi.populate-after-run': { errno: 'EBUSY', source: V13_ENSURE('answers -EBUSY for a state other than NONE, NEW and DEAD (ACTIVE after the first run)') },
      'rmi.populate-after-failed-run': { errno: 'ENXIO', source: V13_ENSURE('refuses a DEAD realm with -ENXIO') },
      'rmi.populate-before-vcpu-init': { errno: 'ENXIO', source: `${v13p(40, 'realm_create_rd fills num_bps/num_wps from the VM\'s ID_AA64DFR0_EL1, 0 before any vCPU init')}; RMI_REALM_CREATE failing is -ENXIO (26/48); TF-RMM runtime/rmi/realm.c validate_realm_params refuses 0 counts (since August 2024)` },
      'rmi.first-run-rec-fails': { errno: 'EINVAL', source: `${v13p(17, 'kvm_create_rec refuses a vCPU without PSCI_0_2 with -EINVAL')}, after ${V13_ACTIVATE} has set the realm DEAD` },
      'rmi.run-ok': { errno: 0, source: `${V13_ACTIVATE}: RD, RECs for every vCPU (17/48), RIPAS of the guest_memfd memslots (25/48), REALM_ACTIVATE, then ACTIVE` },
      'rmi.run-uninit-no-irqchip': { errno: 'ENOEXEC', source: `${V13_ACTIVATE} adds activation at the end of kvm_arch_vcpu_run_pid_change, after upstream's -ENOEXEC for an uninitialised vCPU (UP)` },
      'rmi.vcpu-after-run': { errno: 'EBUSY', source: 'no v13 patch changes kvm_arch_vcpu_precreate (the arm.c hunks of the v13 posting read); upstream refuses a vCPU once the vGIC is initialised with -EBUSY (UP-arm; V14-V5)' },
      'rmi.finalize-old-rec': { errno: 'EINVAL', source: `no v13 patch adds a KVM_ARM_VCPU_FINALIZE case (${v13p(17, 'dropped the REC feature')}; the reset.c hunks are SVE only), so upstream answers -EINVAL (UP)` },
      'rmi.el1-32bit': { errno: 'EINVAL', source: v13p(17, 'kvm_vcpu_init_check_features: realms are incompatible with AArch32, -EINVAL') },
      'sve.vls-after-rd': { errno: 'EPERM', source: v13p(43, 'set_sve_vls answers -EPERM once the RD exists') },
      'sve.rd-unfinalised': { errno: 'EINVAL', source: v13p(43, 'realm_init_sve_param refuses a vCPU whose SVE is not finalised with -EINVAL, inside RD creation at the first POPULATE') },
      'rmi.first-run-no-irqchip': { errno: 'EOPNOTSUPP', source: `V14-A5; ${V13_ACTIVATE} checks the irqchip before the RD and DEAD steps, as v14` },
      'rmi.run-after-irqchip-added': { errno: 0, source: `§4.7 row 1: ${V13_ACTIVATE} refuses a missing irqchip before the RD and DEAD steps, so the state stays NONE/NEW and the next run retries`, dispute: V13_ORDER_DISPUTE },
      'rmi.populate-after-no-irqchip-run': { errno: 0, ret: 0, source: `V14-A5, V14-PO7: ${V13_ACTIVATE} refuses a missing irqchip before the DEAD step, so the realm stays NEW`, dispute: V13_ORDER_DISPUTE },
      'rmi.second-run-after-failed-run': {
        errno: 'EINVAL',
        source: `§4.7 row 2: ${V13_ACTIVATE} returns early for state >= ACTIVE (DEAD included; its changelog: so that a dead realm cannot come back), then the REC entry refuses a realm that is not ACTIVE (V14-R1; V10-V15 has the same check)`,
        dispute: V13_ORDER_DISPUTE,
      },
      'rmi.init-old-rec-bit': { errno: 0, source: `${v13p(46, 'KVM_VCPU_MAX_FEATURES 9 -> 10')}; 17/48 removed the REC feature itself and no realm check refuses bit 9, so VCPU_INIT with it succeeds (Suzuki Poulose's review of 46/48: the patch is no longer needed); abi-evolution.md §4.9` },
      'rmi.populate-source-zero': { errno: 'EOPNOTSUPP', source: 'V14-PO13 (the callback that refuses a missing source first appears in the v13 posting; abi-evolution.md errata of 2026-11-30)' },
      'psci.normal-vm': { errno: 'ENXIO', source: v13p(30, 'KVM_ARM_VCPU_RMI_PSCI_COMPLETE on a vCPU that is not a REC is -ENXIO; its changelog: changed from v12\'s -EPERM (abi-evolution.md errata of 2026-11-30)'), dispute: 'EPERM vs ENOSYS (lore:86pl5m89ub.wl-maz@kernel.org)' },
      'psci.bad-pointer': { errno: 'EFAULT', source: v13p(30, 'checks the REC, then copies the struct: a fault is -EFAULT') },
      'psci.unknown-target': { errno: 'EINVAL', source: v13p(30, 'no vCPU with the target MPIDR is -EINVAL') },
      'psci.old-number': { errno: 'EINVAL', source: 'UP: 0x4018AED2 (v2..v7) reaches the arm64 vCPU ioctl default' },
    },
  },
  'conditions.md reads v14 only; abi-evolution.md §3.6 lists what v13 -> v14 changed',
);

// the audit (docs/inherited-audit.md): v13/v12 values inherited from v14 have no basis of their own
// What is left inherited rests on the guest_memfd populate of v13's base
// (v7.0-rc1, the source-page callback): that release's text was not read.
export const v13 = audit(v13Derived, () => false, 'the v13 posting was read ("[PATCH v13 00/48]" whole-thread copy), but this value rests on the guest_memfd populate of its base v7.0-rc1, whose text for that release was not read');

// The posted v12 code, read in the whole-thread copy of the series (cover
// lore:20251217101125.91098-1-steven.price@arm.com); patch NN/46 is message
// 20251217101125.91098-(NN+1). Values here are the v12 code's own, not v14's.
const v12p = (nn: number, what: string): string => `v12 ${String(nn).padStart(2, '0')}/46 (lore:20251217101125.91098-${nn + 1}-steven.price@arm.com): ${what}`;
const V12_CAP = v12p(7, 'CHECK_EXTENSION(KVM_CAP_ARM_RMI) answers whether the RMI static key is on, for /dev/kvm and any VM');
const V12_ALLOW = v12p(8, 'on a realm VM CHECK_EXTENSION answers only an allowlist (IRQCHIP, PSCI, PSCI_0_2, vCPU counts, MSI_DEVID, VM_IPA_SIZE, PMU_V3, PTRAUTH, ARM_RMI; SVE from 32/46), 0 for the rest');
const V12_IPA = `${v12p(7, 'a realm VM takes its IPA limit from the RMM feature register (S2SZ)')}; the range check itself is upstream kvm_init_ipa_range (UP: 0 means 40 bits, below 32 or above the limit -EINVAL)`;
const V12_TYPE = v12p(9, 'KVM_CREATE_VM refuses type bits outside [11:8] and [7:0], and a type value other than NORMAL or REALM, with -EINVAL');
const V12_NO_ENABLE = 'no v12 patch adds an ENABLE_CAP case (arm.c hunks of 05/46..46/46 read in lore:20251217101125.91098-1-steven.price@arm.com), so upstream arm64 kvm_vm_ioctl_enable_cap answers -EINVAL (UP)';
const V12_POP = (what: string): string => v12p(20, `KVM_ARM_RMI_POPULATE ${what}`);
const V12_ENSURE = (what: string): string => v12p(22, `realm_ensure_created ${what}`);

const v12Derived = derive(
  v13,
  {
    name: 'v12',
    title: 'v12, 2025-12-17: KVM_CAP_ARM_RMI=247 query-only, KVM_ARM_RMI_POPULATE _IOW returning bytes, implicit RD/REC/activation',
    source: 'lore:20251217101125.91098-7-steven.price@arm.com',
    cap: { name: 'KVM_CAP_ARM_RMI', nr: 247, source: 'lore:20251217101125.91098-7-steven.price@arm.com' },
    rmiPopulate: { name: 'KVM_ARM_RMI_POPULATE', req: RMI_POPULATE_IOW, inOut: false, source: 'lore:20251217101125.91098-7-steven.price@arm.com (abi-evolution.md §2a: returns the bytes populated)' },
    staleCaps: [300, 240, 243, 244],
    expect: {
      'vm.realm-no-rmm': { errno: 'EINVAL', source: v12p(9, 'a realm type with the RMI static key off is -EINVAL, while its changelog still says -EPERM'), dispute: NO_RMM_DISPUTE },
      'probe.cap-on-system-fd': { errno: 0, ret: 1, source: V12_CAP },
      'probe.cap-on-normal-vm': { errno: 0, ret: 1, source: V12_CAP },
      'probe.cap-on-realm-vm': { errno: 0, ret: 1, source: `${V12_CAP}; ${V12_ALLOW}` },
      'probe.cap-no-rmm': { errno: 0, ret: 0, source: `${V12_CAP}; the key is switched on only when an RMM is found (v12 46/46, lore:20251217101125.91098-47-steven.price@arm.com)` },
      'vm.realm-default-ipa': { errno: 0, source: V12_IPA },
      'vm.realm-ipa-40': { errno: 0, source: V12_IPA },
      'vm.realm-ipa-too-large': { errno: 'EINVAL', source: V12_IPA },
      'vm.realm-ipa-too-small': { errno: 'EINVAL', source: V12_IPA },
      'vm.realm-ipa-beyond-rmm': { errno: 'EINVAL', source: V12_IPA },
      'vm.type-stray-bits': { errno: 'EINVAL', source: V12_TYPE },
      'vm.type-unknown-value': { errno: 'EINVAL', source: V12_TYPE },
      'rmi.old-enable-cap': { errno: 'EINVAL', source: V12_NO_ENABLE },
      'rmi.enable-cap-rmi': { errno: 'EINVAL', source: V12_NO_ENABLE },
      'rmi.cap-allowlisted': { errno: 0, ret: 1, source: V12_ALLOW },
      'rmi.cap-not-allowlisted': { errno: 0, ret: 0, source: V12_ALLOW },
      'rmi.populate-bad-pointer': { errno: 'EFAULT', source: V12_POP('copies the struct after the realm check: a fault is -EFAULT') },
      'rmi.populate-reserved': { errno: 'EINVAL', source: V12_POP('refuses reserved != 0, a flag other than MEASURE, base or base+size not page aligned: -EINVAL, before the state') },
      'rmi.populate-unknown-flag': { errno: 'EINVAL', source: V12_POP('refuses a flag other than MEASURE with -EINVAL, before the state') },
      'rmi.populate-unaligned-base': { errno: 'EINVAL', source: V12_POP('refuses an unaligned base with -EINVAL, before the state') },
      'rmi.populate-unaligned-size': { errno: 'EINVAL', source: V12_POP('refuses an unaligned base+size with -EINVAL, before the state') },
      'rmi.populate-invalid-after-run': { errno: 'EINVAL', source: V12_POP('checks its arguments before realm_ensure_created, so a bad struct is -EINVAL even on an ACTIVE realm') },
      'rmi.populate-after-run': { errno: 'EBUSY', source: V12_ENSURE('answers -EBUSY for a state other than NONE, NEW and DEAD (ACTIVE after the first run)') },
      'rmi.populate-after-failed-run': { errno: 'ENXIO', source: V12_ENSURE('refuses a DEAD realm with -ENXIO') },
      'rmi.populate-before-vcpu-init': { errno: 'ENXIO', source: `${v12p(39, 'realm_create_rd fills num_bps/num_wps from the VM\'s ID_AA64DFR0_EL1, 0 before any vCPU init')}; RMI_REALM_CREATE failing is -ENXIO (v12 22/46); TF-RMM runtime/rmi/realm.c validate_realm_params refuses 0 counts (since August 2024)` },
      'rmi.first-run-rec-fails': { errno: 'EINVAL', source: `${v12p(12, 'kvm_create_rec refuses a vCPU without PSCI_0_2 with -EINVAL')}, after ${V12_ACTIVATE} has set the realm DEAD` },
      'rmi.run-ok': { errno: 0, source: `${V12_ACTIVATE}: RD, RECs for every vCPU (v12 12/46), RIPAS of the guest_memfd memslots (v12 21/46), REALM_ACTIVATE, then ACTIVE` },
      'rmi.run-uninit-no-irqchip': { errno: 'ENOEXEC', source: `${V12_ACTIVATE} adds activation at the end of kvm_arch_vcpu_run_pid_change, after upstream's -ENOEXEC for an uninitialised vCPU (UP)` },
      'rmi.init-old-rec-bit': { errno: 0, source: `${v12p(45, 'KVM_VCPU_MAX_FEATURES 9 -> 10')}; v12 12/46 removed the REC feature itself, and no realm check refuses bit 9, so VCPU_INIT with it succeeds` },
      'rmi.finalize-old-rec': { errno: 'EINVAL', source: 'no v12 patch adds a KVM_ARM_VCPU_FINALIZE case (v12 12/46 dropped the REC feature; the reset.c hunks are SVE only), so upstream answers -EINVAL (UP)' },
      'rmi.el1-32bit': { errno: 'EINVAL', source: v12p(12, 'kvm_vcpu_init_check_features: realms are incompatible with AArch32, -EINVAL') },
      'sve.vls-before-rd': { errno: 0, source: `${v12p(42, 'SVE_VLS is on the list of registers a realm vCPU may set')}; writable until FINALIZE(SVE) (UP)` },
      'sve.vls-after-rd': { errno: 'EPERM', source: v12p(42, 'set_sve_vls answers -EPERM once the RD exists') },
      'sve.rd-unfinalised': { errno: 'EINVAL', source: v12p(42, 'realm_init_sve_param refuses a vCPU whose SVE is not finalised with -EINVAL, inside RD creation at the first POPULATE') },
      'rmi.vcpu-after-run': { errno: 'EBUSY', source: 'no v12 patch changes kvm_arch_vcpu_precreate (arm.c hunks read in lore:20251217101125.91098-1-steven.price@arm.com); upstream refuses a vCPU once the vGIC is initialised with -EBUSY (UP-arm; V14-V5)' },
      'psci.bad-pointer': { errno: 'EFAULT', source: v12p(27, 'KVM_ARM_VCPU_RMI_PSCI_COMPLETE checks the REC, then copies the struct: a fault is -EFAULT') },
      'psci.unknown-target': { errno: 'EINVAL', source: v12p(27, 'no vCPU with the target MPIDR is -EINVAL') },
      'rmi.populate-ok': { errno: 0, ret: 4096, source: V12_POP('returns the pages populated times PAGE_SIZE; v12 05/46 runs only on 4K host pages') },
      'rmi.populate-unmeasured': { errno: 0, ret: 4096, source: V12_POP('takes flags 0 (MEASURE is the only flag) and returns the bytes populated') },
      'rmi.populate-progress': { errno: 0, source: 'abi-evolution.md §4.8 (v12 returns a byte count; the caller advances and loops)' },
      'rmi.populate-normal-vm': { errno: 'EPERM', source: V12_POP('on a VM that is not a realm is -EPERM'), dispute: POPULATE_NORMAL_DISPUTE },
      'rmi.populate-normal-vm-bad-pointer': { errno: 'EPERM', source: V12_POP('checks the VM before copying the struct: -EPERM') },
      'rmi.populate-unaligned-source': null,
      'rmi.populate-past-memslot-end': { errno: 0, ret: 4096, source: 'V14-PO12 (UP-gmem clips to the memslot; v12 reports the bytes done)' },
      'rmi.populate-error-after-progress': { errno: 0, ret: 4096, source: 'V14-PO15 (UP-gmem; v12 reports the bytes done)' },
      'rmi.first-run-no-irqchip': { errno: 'EOPNOTSUPP', source: `abi-evolution.md §3.5; ${V12_ACTIVATE}: checked after the state is set DEAD, so the realm is left DEAD` },
      'rmi.run-after-irqchip-added': { errno: 'ENXIO', source: V12_DEAD_RUN, dispute: V12_REVIVE_DISPUTE },
      'rmi.second-run-after-failed-run': { errno: 'ENXIO', source: V12_DEAD_RUN, dispute: V12_REVIVE_DISPUTE },
      // abi-evolution.md §3.5: v12 sets DEAD before the irqchip check, and POPULATE refuses a DEAD realm with -ENXIO
      'rmi.populate-after-no-irqchip-run': { errno: 'ENXIO', source: `abi-evolution.md §3.5 (first-run failure cases; POPULATE on a DEAD realm); ${V12_ACTIVATE}` },
      // v12 pins the user page of source_uaddr itself: address 0 faults before any callback (abi-evolution.md errata of 2026-11-30)
      'rmi.populate-source-zero': { errno: 'EFAULT', source: v12p(20, 'the populate callback pins the source page with get_user_pages, so source_uaddr 0 gives -EFAULT; the -EOPNOTSUPP callback is v13+') },
      'psci.normal-vm': { errno: 'EPERM', source: v12p(27, 'KVM_ARM_VCPU_RMI_PSCI_COMPLETE on a vCPU that is not a REC is -EPERM'), dispute: 'EPERM vs ENOSYS (lore:86pl5m89ub.wl-maz@kernel.org)' },
    },
  },
  'abi-evolution.md §3.6 lists what v12 -> v13 changed',
);
// What is left inherited rests on the guest_memfd populate of v12's base
// (v6.19-rc1, the callback with a user pointer and an order, older than the
// one V14-PO* were read against): that kernel text was not read.
export const v12 = audit(v12Derived, () => false, 'the v12 posting was read (lore:20251217101125.91098-1-steven.price@arm.com), but this value rests on the guest_memfd populate of its base v6.19-rc1 (user-pointer callback, older than the one V14-PO* read), which was not read');
