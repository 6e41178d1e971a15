// v12 (17 Dec 2025): the first RMI-era posting: KVM_CAP_ARM_RMI = 247
// query-only, KVM_ARM_RMI_POPULATE _IOW returning bytes, implicit RD/REC/activation.
import { audit, derive } from '../profiles/derive.ts';
import { rmiPopulateIoctl, type RevisionUapi } from '../uapi/realm.ts';
import { NO_RMM_DISPUTE, POPULATE_NORMAL_DISPUTE, V12_ACTIVATE, V12_DEAD_RUN, V12_REVIVE_DISPUTE } from './rmi-era.ts';
import { RMM_REL0 } from './rme-era.ts';
import { withUapi, type Revision } from './types.ts';
import { v13 } from './v13.ts';
export const uapi: RevisionUapi = {
  ...v13.uapi,
  cap: { name: 'KVM_CAP_ARM_RMI', nr: 247, source: 'lore:20251217101125.91098-7-steven.price@arm.com', upstream: 'KVM_CAP_S390_KEYOP' },
  rmiPopulate: rmiPopulateIoctl('w', 'lore:20251217101125.91098-7-steven.price@arm.com (abi-evolution.md §2a: returns the bytes populated)'),
};

// The posted v12 code, read in the whole-thread copy of the series (cover
// lore:20251217101125.91098-1-steven.price@arm.com); patch NN/46 is message
// 20251217101125.91098-(NN+1). Values here are the v12 code's own, not v14's.
const v12p = (nn: number, what: string): string => `v12 ${String(nn).padStart(2, '0')}/46 (lore:20251217101125.91098-${nn + 1}-steven.price@arm.com): ${what}`;
const V12_CAP = v12p(7, 'CHECK_EXTENSION(KVM_CAP_ARM_RMI) answers whether the RMI static key is on, for /dev/kvm and any VM');
const V12_ALLOW = v12p(
  8,
  'on a realm VM CHECK_EXTENSION answers only an allowlist (IRQCHIP, PSCI, PSCI_0_2, vCPU counts, MSI_DEVID, VM_IPA_SIZE, PMU_V3, PTRAUTH, ARM_RMI; SVE from 32/46), 0 for the rest',
);
const V12_IPA = `${v12p(7, 'a realm VM takes its IPA limit from the RMM feature register (S2SZ)')}; the range check itself is upstream kvm_init_ipa_range (UP: 0 means 40 bits, below 32 or above the limit -EINVAL)`;
const V12_TYPE = v12p(9, 'KVM_CREATE_VM refuses type bits outside [11:8] and [7:0], and a type value other than NORMAL or REALM, with -EINVAL');
const V12_NO_ENABLE =
  'no v12 patch adds an ENABLE_CAP case (arm.c hunks of 05/46..46/46 read in lore:20251217101125.91098-1-steven.price@arm.com), so upstream arm64 kvm_vm_ioctl_enable_cap answers -EINVAL (UP)';
const V12_POP = (what: string): string => v12p(20, `KVM_ARM_RMI_POPULATE ${what}`);
const V12_ENSURE = (what: string): string => v12p(22, `realm_ensure_created ${what}`);

const v12Derived = derive(
  v13.profile,
  {
    name: 'v12',
    title: 'v12, 2025-12-17: KVM_CAP_ARM_RMI=247 query-only, KVM_ARM_RMI_POPULATE _IOW returning bytes, implicit RD/REC/activation',
    source: 'lore:20251217101125.91098-7-steven.price@arm.com',
    expect: {
      'vm.realm-no-rmm': {
        errno: 'EINVAL',
        source: v12p(9, 'a realm type with the RMI static key off is -EINVAL, while its changelog still says -EPERM'),
        dispute: NO_RMM_DISPUTE,
      },
      'probe.cap-on-system-fd': { errno: 0, ret: 1, source: V12_CAP },
      'probe.cap-on-normal-vm': { errno: 0, ret: 1, source: V12_CAP },
      'probe.cap-on-realm-vm': { errno: 0, ret: 1, source: `${V12_CAP}; ${V12_ALLOW}` },
      'probe.cap-no-rmm': {
        errno: 0,
        ret: 0,
        source: `${V12_CAP}; the key is switched on only when an RMM is found (v12 46/46, lore:20251217101125.91098-47-steven.price@arm.com)`,
      },
      'vm.realm-default-ipa': { errno: 0, source: V12_IPA },
      'vm.realm-ipa-40': { errno: 0, source: V12_IPA },
      'vm.realm-ipa-too-large': { errno: 'EINVAL', source: V12_IPA },
      'vm.realm-ipa-too-small': { errno: 'EINVAL', source: V12_IPA },
      'vm.realm-ipa-beyond-rmm': { errno: 'EINVAL', source: V12_IPA },
      'vm.type-stray-bits': { errno: 'EINVAL', source: V12_TYPE },
      'vm.type-unknown-value': { errno: 'EINVAL', source: V12_TYPE },
      'rmi.old-enable-cap': { errno: 'EINVAL', source: V12_NO_ENABLE },
      'rmi.enable-cap-rmi': { errno: 'EINVAL', source: V12_NO_ENABLE },
      // the _IOW number is v12's own KVM_ARM_RMI_POPULATE
      'rmi.populate-old-number': null,
      // the allowlist reaches ENABLE_CAP only in v14 (docs/spec/rmi-era.md#v14-changes)
      'rmi.enable-cap-off-allowlist': { errno: 0, source: `${V12_NO_ENABLE}; NISV_TO_USER is one upstream handles: 0` },
      'rmi.cap-allowlisted': { errno: 0, ret: 1, source: V12_ALLOW },
      'rmi.cap-not-allowlisted': { errno: 0, ret: 0, source: V12_ALLOW },
      'rmi.populate-bad-pointer': { errno: 'EFAULT', source: V12_POP('copies the struct after the realm check: a fault is -EFAULT') },
      'rmi.populate-reserved': {
        errno: 'EINVAL',
        source: V12_POP('refuses reserved != 0, a flag other than MEASURE, base or base+size not page aligned: -EINVAL, before the state'),
      },
      'rmi.populate-unknown-flag': { errno: 'EINVAL', source: V12_POP('refuses a flag other than MEASURE with -EINVAL, before the state') },
      'rmi.populate-unaligned-base': { errno: 'EINVAL', source: V12_POP('refuses an unaligned base with -EINVAL, before the state') },
      'rmi.populate-unaligned-size': { errno: 'EINVAL', source: V12_POP('refuses an unaligned base+size with -EINVAL, before the state') },
      'rmi.populate-invalid-after-run': {
        errno: 'EINVAL',
        source: V12_POP('checks its arguments before realm_ensure_created, so a bad struct is -EINVAL even on an ACTIVE realm'),
      },
      'rmi.populate-after-run': { errno: 'EBUSY', source: V12_ENSURE('answers -EBUSY for a state other than NONE, NEW and DEAD (ACTIVE after the first run)') },
      'rmi.populate-after-failed-run': { errno: 'ENXIO', source: V12_ENSURE('refuses a DEAD realm with -ENXIO') },
      'rmi.populate-before-vcpu-init': {
        errno: 'ENXIO',
        source: `${v12p(39, "realm_create_rd fills num_bps/num_wps from the VM's ID_AA64DFR0_EL1, 0 before any vCPU init")}; RMI_REALM_CREATE failing is -ENXIO (v12 22/46); TF-RMM runtime/rmi/realm.c validate_realm_params refuses 0 counts (since August 2024)`,
      },
      'rmi.first-run-rec-fails': {
        errno: 'EINVAL',
        source: `${v12p(12, 'kvm_create_rec refuses a vCPU without PSCI_0_2 with -EINVAL')}, after ${V12_ACTIVATE} has set the realm DEAD`,
      },
      'rmi.run-ok': {
        errno: 0,
        source: `${V12_ACTIVATE}: RD, RECs for every vCPU (v12 12/46), RIPAS of the guest_memfd memslots (v12 21/46), REALM_ACTIVATE, then ACTIVE`,
      },
      'rmi.run-uninit-no-irqchip': {
        errno: 'ENOEXEC',
        source: `${V12_ACTIVATE} adds activation at the end of kvm_arch_vcpu_run_pid_change, after upstream's -ENOEXEC for an uninitialised vCPU (UP)`,
      },
      'rmi.init-old-rec-bit': {
        errno: 0,
        source: `${v12p(45, 'KVM_VCPU_MAX_FEATURES 9 -> 10')}; v12 12/46 removed the REC feature itself, and no realm check refuses bit 9, so VCPU_INIT with it succeeds`,
      },
      'rmi.finalize-old-rec': {
        errno: 'EINVAL',
        source:
          'no v12 patch adds a KVM_ARM_VCPU_FINALIZE case (v12 12/46 dropped the REC feature; the reset.c hunks are SVE only), so upstream answers -EINVAL (UP)',
      },
      'rmi.el1-32bit': { errno: 'EINVAL', source: v12p(12, 'kvm_vcpu_init_check_features: realms are incompatible with AArch32, -EINVAL') },
      'sve.vls-before-rd': { errno: 0, source: `${v12p(42, 'SVE_VLS is on the list of registers a realm vCPU may set')}; writable until FINALIZE(SVE) (UP)` },
      'sve.vls-after-rd': { errno: 'EPERM', source: v12p(42, 'set_sve_vls answers -EPERM once the RD exists') },
      'sve.rd-unfinalised': {
        errno: 'EINVAL',
        source: v12p(42, 'realm_init_sve_param refuses a vCPU whose SVE is not finalised with -EINVAL, inside RD creation at the first POPULATE'),
      },
      'rmi.vcpu-after-run': {
        errno: 'EBUSY',
        source:
          'no v12 patch changes kvm_arch_vcpu_precreate (arm.c hunks read in lore:20251217101125.91098-1-steven.price@arm.com); upstream refuses a vCPU once the vGIC is initialised with -EBUSY (UP-arm; V14-V5)',
      },
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
      'rmi.first-run-no-irqchip': {
        errno: 'EOPNOTSUPP',
        source: `abi-evolution.md §3.5; ${V12_ACTIVATE}: checked after the state is set DEAD, so the realm is left DEAD`,
      },
      'rmi.run-after-irqchip-added': { errno: 'ENXIO', source: V12_DEAD_RUN, dispute: V12_REVIVE_DISPUTE },
      'rmi.second-run-after-failed-run': { errno: 'ENXIO', source: V12_DEAD_RUN, dispute: V12_REVIVE_DISPUTE },
      // abi-evolution.md §3.5: v12 sets DEAD before the irqchip check, and POPULATE refuses a DEAD realm with -ENXIO
      'rmi.populate-after-no-irqchip-run': {
        errno: 'ENXIO',
        source: `abi-evolution.md §3.5 (first-run failure cases; POPULATE on a DEAD realm); ${V12_ACTIVATE}`,
      },
      // v12 pins the user page of source_uaddr itself: address 0 faults before any callback (abi-evolution.md errata of 2026-11-30)
      'rmi.populate-source-zero': {
        errno: 'EFAULT',
        source: v12p(20, 'the populate callback pins the source page with get_user_pages, so source_uaddr 0 gives -EFAULT; the -EOPNOTSUPP callback is v13+'),
      },
      'psci.normal-vm': {
        errno: 'EPERM',
        source: v12p(27, 'KVM_ARM_VCPU_RMI_PSCI_COMPLETE on a vCPU that is not a REC is -EPERM'),
        dispute: 'EPERM vs ENOSYS (lore:86pl5m89ub.wl-maz@kernel.org)',
      },
    },
  },
  'abi-evolution.md §3.6 lists what v12 -> v13 changed',
);
// What is left inherited rests on the guest_memfd populate of v12's base
// (v6.19-rc1, the callback with a user pointer and an order, older than the
// one V14-PO* were read against): that kernel text was not read.
const behaviour = audit(
  v12Derived,
  () => false,
  'the v12 posting was read (lore:20251217101125.91098-1-steven.price@arm.com), but this value rests on the guest_memfd populate of its base v6.19-rc1 (user-pointer callback, older than the one V14-PO* read), which was not read',
);

export const v12 = {
  name: 'v12',
  era: 'rmi',
  uapi,
  profile: withUapi('v12', 'rmi', uapi, behaviour),
  rules: {
    abi: 'v12',
    maxVcpuFeatures: 10,
    populateNotRealm: 'EPERM',
    sourceAligned: false,
    deadBeforeIrqchip: true,
    activeOrBeyond: false,
    allowPmu: true,
    pmcrSettable: true,
    enableCapAllowlist: false,
    sourceZero: 'EFAULT',
    psciNotRealm: 'EPERM',
  },
  rmm: RMM_REL0,
} satisfies Revision<'v12'>;
