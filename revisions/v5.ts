// v5 (4 Oct 2024): REC = 8 defined but not usable (KVM_VCPU_MAX_FEATURES not
// raised). Derived from v6; partly read (v5 NN/43 below).
import { audit, derive } from '../profiles/derive.ts';
import type { RevisionUapi } from '../uapi/realm.ts';
import {
  EARLY_AUDIT,
  EARLY_ERRNO,
  EARLY_KEYS,
  NO_GMEM_KEYS,
  NO_GMEM_V2_V5,
  NO_RMM_DISPUTE,
  REC_FINALIZE_ONLY,
  RMM_EAC5,
  gmemRules,
  markUnconfirmed,
} from './rme-era.ts';
import { withUapi, type Revision } from './types.ts';
import { v6 } from './v6.ts';
export const uapi: RevisionUapi = { ...v6.uapi, maxVcpuFeatures: 7 };

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
const V5_CAP_UP =
  'upstream KVM_ENABLE_CAP: the struct is copied (-EFAULT) and arm64 refuses non-zero flags (-EINVAL) before any CAP is looked at (UP); v5 09/43 adds its case after that';
const V5_CONFIG = (what: string): string => v5p(9, `CONFIG_REALM ${what}`);
const V5_CREATE = (what: string): string => v5p(9, `CREATE_RD ${what}`);
const V5_REC = (what: string): string => v5p(14, `FINALIZE(REC) ${what}`);
const V5_FINALIZED = v5p(
  14,
  "kvm_arm_vcpu_is_finalized is false for a realm vCPU unless it has a REC and the realm is ACTIVE, so KVM_RUN gets upstream's -EPERM",
);
const V5_FINALIZE_UP = 'upstream KVM_ARM_VCPU_FINALIZE: an uninitialised vCPU -ENOEXEC, then the int is read (-EFAULT), before v5 14/43 is reached (UP)';

const v5Derived = derive(
  v6.profile,
  {
    name: 'v5',
    title: 'v5, 2024-10-04: REC=8 defined but not usable (KVM_VCPU_MAX_FEATURES not raised)',
    source: '"[PATCH v5 08/43] arm64: RME: Define the user ABI" (lore:20241004152804.72508-1-steven.price@arm.com)',
    recInInit: false,
    expect: {
      'vcpu.init-rec-bit': { errno: 'ENOENT', source: 'abi-evolution.md §2a (v5: MAX_FEATURES not raised), G8' },
      'vcpu.init-rec-normal-vm': { errno: 'ENOENT', source: 'G8 (bit 8 >= KVM_VCPU_MAX_FEATURES = 7)' },
      'vcpu.init-rec-el1-32bit': { errno: 'ENOENT', source: 'G8 (bit 8 >= KVM_VCPU_MAX_FEATURES = 7)' },
      'vcpu.init-past-max': { errno: 'ENOENT', source: 'G8 (bit 7 = KVM_VCPU_MAX_FEATURES; HAS_EL2 exposed only from v6)' },
      'rec.no-rec-bit': {
        errno: 0,
        source: V5_REC('checks only that the VM is a realm (no REC bit exists to check in v5), so a realm vCPU without it gets a REC'),
      },
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
      'run.not-initialised': { errno: 'ENOEXEC', source: "upstream KVM_RUN on an uninitialised vCPU is -ENOEXEC (G5, UP), before v5's checks" },
      'run.before-activate': { errno: 'EPERM', source: V5_FINALIZED },
      'run.no-rec': { errno: 'EPERM', source: V5_FINALIZED },
      'run.vcpu-after-activate': { errno: 'EPERM', source: `${V5_FINALIZED}; a vCPU made after ACTIVATE cannot get a REC (-ENOENT)` },
      'run.no-irqchip': { errno: 'EOPNOTSUPP', source: v5p(15, 'the first KVM_RUN of a realm without an in-kernel irqchip is -EOPNOTSUPP') },
      'run.ok': { errno: 0, source: `${V5_FINALIZED}; v5 18/43 enters the REC in an ACTIVE realm` },
      'run.no-rec-bit': null,
      'psci.no-rec-bit': {
        errno: 'EINVAL',
        source:
          "the realm-only check of v6 23/43 (lore:20241212155610.76522-24-steven.price@arm.com) applied to a vCPU never finalised as a REC (v5's own code not read)",
        unconfirmed: REC_FINALIZE_ONLY,
      },
      ...markUnconfirmed(v6.profile, NO_GMEM_KEYS, NO_GMEM_V2_V5),
      ...EARLY_KEYS(v6.profile),
    },
  },
  'conditions.md has no v5 row; v5 -> v6 raised KVM_VCPU_MAX_FEATURES (abi-evolution.md §2a)',
);
const behaviour = audit(v5Derived, () => false, EARLY_AUDIT);

export const v5 = {
  name: 'v5',
  era: 'rme',
  uapi,
  profile: withUapi('v5', 'rme', uapi, behaviour),
  // v5: KVM_VCPU_MAX_FEATURES not raised, so the REC bit cannot be set: FINALIZE(REC) cannot require it (abi-evolution.md §2a)
  rules: gmemRules('v5', { rmmAbsent: 'EINVAL', errno: EARLY_ERRNO, noGmem: 'EINVAL', recBit: false, v6RecChecks: true, noSlotSea: false }),
  rmm: RMM_EAC5,
} satisfies Revision<'v5'>;
