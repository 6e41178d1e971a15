// v13 (18 Mar 2026): KVM_CAP_ARM_RMI = 248, POPULATE _IOWR in/out returning 0,
// source_uaddr alignment; derived from v14 with what its posting reads.
import { audit, derive } from '../profiles/derive.ts';
import { REALM_STRUCTS, RME_VM_TYPE, psciCompleteIoctl, type RevisionUapi } from '../uapi/realm.ts';
import { NO_RMM_DISPUTE, POPULATE_NORMAL_DISPUTE, V13_ACTIVATE, V13_ORDER_DISPUTE } from './rmi-era.ts';
import { RMM_2_0 } from './rme-era.ts';
import { withUapi, type Revision } from './types.ts';
import { v14 } from './v14.ts';
export const uapi: RevisionUapi = {
  ...v14.uapi,
  cap: { name: 'KVM_CAP_ARM_RMI', nr: 248, source: '"[PATCH v13 11/48]" (abi-evolution.md §2a)', upstream: 'KVM_CAP_S390_VSIE_ESAMODE' },
  vmType: RME_VM_TYPE,
  // v12 45/46 raised KVM_VCPU_MAX_FEATURES 9 -> 10 and v14 dropped that patch (abi-evolution.md §4.9)
  maxVcpuFeatures: 10,
  psciComplete: psciCompleteIoctl('KVM_ARM_VCPU_RMI_PSCI_COMPLETE', 0xd6, REALM_STRUCTS.rmiPsciComplete, 'abi-evolution.md §2a (v13: 0xd6)'),
};

// The posted v13 code, read in the whole-thread copy of the series (cover
// "[PATCH v13 00/48]", 2026-03-18, review to 2026-04-22). Values here are
// v13's own, not v14's.
const v13p = (nn: number, what: string): string => `"[PATCH v13 ${String(nn).padStart(2, '0')}/48]": ${what}`;
const V13_CAP = v13p(12, 'CHECK_EXTENSION(KVM_CAP_ARM_RMI) answers whether the RMI static key is on, for /dev/kvm and any VM');
const V13_ALLOW = v13p(
  13,
  'on a realm VM CHECK_EXTENSION answers only an allowlist (IRQCHIP, PSCI, PSCI_0_2, vCPU counts, MSI_DEVID, VM_IPA_SIZE, PTRAUTH, ARM_RMI; PMU_V3 and SVE from 38/48 and 35/48), 0 for the rest',
);
const V13_IPA = `${v13p(12, 'a realm VM takes its IPA limit from the RMM feature register (S2SZ)')}; the range check itself is upstream kvm_init_ipa_range (UP: 0 means 40 bits, below 32 or above the limit -EINVAL)`;
const V13_TYPE = v13p(14, 'KVM_CREATE_VM refuses type bits outside [11:8] and [7:0], and a type value other than NORMAL or REALM, with -EINVAL');
const V13_NO_ENABLE =
  'no v13 patch adds an ENABLE_CAP case (the arm.c hunks of the v13 posting read; Suzuki Poulose\'s review of "[PATCH v13 13/48]" asks for one), so upstream arm64 kvm_vm_ioctl_enable_cap answers -EINVAL (UP)';
const V13_POP = (what: string): string => v13p(24, `KVM_ARM_RMI_POPULATE ${what}`);
const V13_ENSURE = (what: string): string => v13p(26, `realm_ensure_created ${what}`);

const v13Derived = derive(
  v14.profile,
  {
    name: 'v13',
    title: 'v13, 2026-03-18: KVM_CAP_ARM_RMI=248, POPULATE _IOWR in/out returning 0, source_uaddr alignment',
    source: '"[PATCH v13 11/48] arm64: RMI: Define the user ABI"',
    expect: {
      'vm.realm-and-protected': null,
      'vm.old-realm-type': null,
      'rmi.psci-complete-removed': null,
      'vm.type-stray-bits': { errno: 'EINVAL', source: V13_TYPE },
      'vm.type-unknown-value': { errno: 'EINVAL', source: V13_TYPE },
      'vm.realm-no-rmm': {
        errno: 'EINVAL',
        source: v13p(14, 'a realm type with the RMI static key off is -EINVAL, while its changelog still says -EPERM'),
        dispute: NO_RMM_DISPUTE,
      },
      'probe.cap-on-system-fd': { errno: 0, ret: 1, source: V13_CAP },
      'probe.cap-on-normal-vm': { errno: 0, ret: 1, source: V13_CAP },
      'probe.cap-on-realm-vm': { errno: 0, ret: 1, source: `${V13_CAP}; ${V13_ALLOW}` },
      'probe.cap-no-rmm': {
        errno: 0,
        ret: 0,
        source: `${V13_CAP}; the key is switched on only when an RMM is found (${v13p(47, 'Enable realms to be created')})`,
      },
      'vm.realm-default-ipa': { errno: 0, source: V13_IPA },
      'vm.realm-ipa-40': { errno: 0, source: V13_IPA },
      'vm.realm-ipa-too-large': { errno: 'EINVAL', source: V13_IPA },
      'vm.realm-ipa-too-small': { errno: 'EINVAL', source: V13_IPA },
      'vm.realm-ipa-beyond-rmm': { errno: 'EINVAL', source: V13_IPA },
      'rmi.old-enable-cap': { errno: 'EINVAL', source: V13_NO_ENABLE },
      'rmi.enable-cap-rmi': { errno: 'EINVAL', source: V13_NO_ENABLE },
      // the allowlist reaches ENABLE_CAP only in v14 (docs/spec/rmi-era.md#v14-changes)
      'rmi.enable-cap-off-allowlist': { errno: 0, source: `${V13_NO_ENABLE}; NISV_TO_USER is one upstream handles: 0` },
      'rmi.cap-allowlisted': { errno: 0, ret: 1, source: V13_ALLOW },
      'rmi.cap-not-allowlisted': { errno: 0, ret: 0, source: V13_ALLOW },
      'rmi.populate-ok': { errno: 0, ret: 0, source: V13_POP('returns 0 and writes back base, size and source_uaddr advanced by the pages done') },
      'rmi.populate-unmeasured': { errno: 0, ret: 0, source: V13_POP('takes flags 0 (MEASURE is the only flag) and returns 0 with the struct advanced') },
      'rmi.populate-progress': {
        errno: 0,
        ret: 0,
        source: V13_POP('advances base, size and source_uaddr together by the pages done; the caller loops until size is 0 (its api.rst text)'),
      },
      'rmi.populate-bad-pointer': { errno: 'EFAULT', source: V13_POP('copies the struct after the realm check: a fault is -EFAULT') },
      'rmi.populate-normal-vm': { errno: 'ENXIO', source: V13_POP('on a VM that is not a realm is -ENXIO (v12: -EPERM)'), dispute: POPULATE_NORMAL_DISPUTE },
      'rmi.populate-normal-vm-bad-pointer': { errno: 'ENXIO', source: V13_POP('checks the VM before copying the struct: -ENXIO') },
      'rmi.populate-reserved': {
        errno: 'EINVAL',
        source: V13_POP('refuses reserved != 0, a flag other than MEASURE, base, base+size or source_uaddr not page aligned: -EINVAL, before the state'),
      },
      'rmi.populate-unknown-flag': { errno: 'EINVAL', source: V13_POP('refuses a flag other than MEASURE with -EINVAL, before the state') },
      'rmi.populate-unaligned-base': { errno: 'EINVAL', source: V13_POP('refuses an unaligned base with -EINVAL, before the state') },
      'rmi.populate-unaligned-size': { errno: 'EINVAL', source: V13_POP('refuses an unaligned base+size with -EINVAL, before the state') },
      'rmi.populate-unaligned-source': { errno: 'EINVAL', source: V13_POP('refuses an unaligned source_uaddr with -EINVAL (new in v13)') },
      'rmi.populate-invalid-after-run': {
        errno: 'EINVAL',
        source: V13_POP('checks its arguments before realm_ensure_created, so a bad struct is -EINVAL even on an ACTIVE realm'),
      },
      'rmi.populate-after-run': { errno: 'EBUSY', source: V13_ENSURE('answers -EBUSY for a state other than NONE, NEW and DEAD (ACTIVE after the first run)') },
      'rmi.populate-after-failed-run': { errno: 'ENXIO', source: V13_ENSURE('refuses a DEAD realm with -ENXIO') },
      'rmi.populate-before-vcpu-init': {
        errno: 'ENXIO',
        source: `${v13p(40, "realm_create_rd fills num_bps/num_wps from the VM's ID_AA64DFR0_EL1, 0 before any vCPU init")}; RMI_REALM_CREATE failing is -ENXIO (26/48); TF-RMM runtime/rmi/realm.c validate_realm_params refuses 0 counts (since August 2024)`,
      },
      'rmi.first-run-rec-fails': {
        errno: 'EINVAL',
        source: `${v13p(17, 'kvm_create_rec refuses a vCPU without PSCI_0_2 with -EINVAL')}, after ${V13_ACTIVATE} has set the realm DEAD`,
      },
      'rmi.run-ok': {
        errno: 0,
        source: `${V13_ACTIVATE}: RD, RECs for every vCPU (17/48), RIPAS of the guest_memfd memslots (25/48), REALM_ACTIVATE, then ACTIVE`,
      },
      'rmi.run-uninit-no-irqchip': {
        errno: 'ENOEXEC',
        source: `${V13_ACTIVATE} adds activation at the end of kvm_arch_vcpu_run_pid_change, after upstream's -ENOEXEC for an uninitialised vCPU (UP)`,
      },
      'rmi.vcpu-after-run': {
        errno: 'EBUSY',
        source:
          'no v13 patch changes kvm_arch_vcpu_precreate (the arm.c hunks of the v13 posting read); upstream refuses a vCPU once the vGIC is initialised with -EBUSY (UP-arm; V14-V5)',
      },
      'rmi.finalize-old-rec': {
        errno: 'EINVAL',
        source: `no v13 patch adds a KVM_ARM_VCPU_FINALIZE case (${v13p(17, 'dropped the REC feature')}; the reset.c hunks are SVE only), so upstream answers -EINVAL (UP)`,
      },
      'rmi.el1-32bit': { errno: 'EINVAL', source: v13p(17, 'kvm_vcpu_init_check_features: realms are incompatible with AArch32, -EINVAL') },
      'sve.vls-after-rd': { errno: 'EPERM', source: v13p(43, 'set_sve_vls answers -EPERM once the RD exists') },
      'sve.rd-unfinalised': {
        errno: 'EINVAL',
        source: v13p(43, 'realm_init_sve_param refuses a vCPU whose SVE is not finalised with -EINVAL, inside RD creation at the first POPULATE'),
      },
      'rmi.first-run-no-irqchip': { errno: 'EOPNOTSUPP', source: `V14-A5; ${V13_ACTIVATE} checks the irqchip before the RD and DEAD steps, as v14` },
      'rmi.run-after-irqchip-added': {
        errno: 0,
        source: `§4.7 row 1: ${V13_ACTIVATE} refuses a missing irqchip before the RD and DEAD steps, so the state stays NONE/NEW and the next run retries`,
        dispute: V13_ORDER_DISPUTE,
      },
      'rmi.populate-after-no-irqchip-run': {
        errno: 0,
        ret: 0,
        source: `V14-A5, V14-PO7: ${V13_ACTIVATE} refuses a missing irqchip before the DEAD step, so the realm stays NEW`,
        dispute: V13_ORDER_DISPUTE,
      },
      'rmi.second-run-after-failed-run': {
        errno: 'EINVAL',
        source: `§4.7 row 2: ${V13_ACTIVATE} returns early for state >= ACTIVE (DEAD included; its changelog: so that a dead realm cannot come back), then the REC entry refuses a realm that is not ACTIVE (V14-R1; V10-V15 has the same check)`,
        dispute: V13_ORDER_DISPUTE,
      },
      'rmi.init-old-rec-bit': {
        errno: 0,
        source: `${v13p(46, 'KVM_VCPU_MAX_FEATURES 9 -> 10')}; 17/48 removed the REC feature itself and no realm check refuses bit 9, so VCPU_INIT with it succeeds (Suzuki Poulose's review of 46/48: the patch is no longer needed); abi-evolution.md §4.9`,
      },
      'rmi.populate-source-zero': {
        errno: 'EOPNOTSUPP',
        source: 'V14-PO13 (the callback that refuses a missing source first appears in the v13 posting; abi-evolution.md errata of 2026-11-30)',
      },
      'psci.normal-vm': {
        errno: 'ENXIO',
        source: v13p(
          30,
          "KVM_ARM_VCPU_RMI_PSCI_COMPLETE on a vCPU that is not a REC is -ENXIO; its changelog: changed from v12's -EPERM (abi-evolution.md errata of 2026-11-30)",
        ),
        dispute: 'EPERM vs ENOSYS (lore:86pl5m89ub.wl-maz@kernel.org)',
      },
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
const behaviour = audit(
  v13Derived,
  () => false,
  'the v13 posting was read ("[PATCH v13 00/48]" whole-thread copy), but this value rests on the guest_memfd populate of its base v7.0-rc1, whose text for that release was not read',
);

export const v13 = {
  name: 'v13',
  era: 'rmi',
  uapi,
  profile: withUapi('v13', 'rmi', uapi, behaviour),
  rules: {
    abi: 'v13',
    maxVcpuFeatures: 10,
    populateNotRealm: 'ENXIO',
    sourceAligned: true,
    deadBeforeIrqchip: false,
    activeOrBeyond: true,
    allowPmu: false,
    pmcrSettable: true,
    enableCapAllowlist: false,
    sourceZero: 'EOPNOTSUPP',
    psciNotRealm: 'ENXIO',
  },
  rmm: RMM_2_0,
} satisfies Revision<'v13'>;
