// "absent": a kernel without the CCA host series (Debian's 6.1, any upstream
// kernel as of 2026). What it must answer a realm VMM's probes with.
// Measured answers: docs/spec/absent.md#answers.
import type { AbiProfile } from './types.ts';

/** Every number a revision used for its realm CAP, and what upstream later gave it (abi-evolution.md §4.2). */
export const REALM_CAP_NUMBERS: readonly { nr: number; revisions: string; upstream?: string }[] = [
  { nr: 300, revisions: 'RFC v1 .. v7 (KVM_CAP_ARM_RME)' },
  { nr: 240, revisions: 'v8 (KVM_CAP_ARM_RME)', upstream: 'KVM_CAP_ARM_EL2' },
  { nr: 243, revisions: 'v9 (KVM_CAP_ARM_RME)', upstream: 'KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED' },
  { nr: 244, revisions: 'v10 (KVM_CAP_ARM_RME)', upstream: 'KVM_CAP_GUEST_MEMFD_MMAP' },
  { nr: 247, revisions: 'v12 (KVM_CAP_ARM_RMI)', upstream: 'KVM_CAP_S390_KEYOP' },
  { nr: 248, revisions: 'v13 (KVM_CAP_ARM_RMI)', upstream: 'KVM_CAP_S390_VSIE_ESAMODE' },
  { nr: 249, revisions: 'v14 (KVM_CAP_ARM_RMI)' },
];

export const absent: AbiProfile = {
  name: 'absent',
  title: 'no CCA host support: a kernel without the series answers realm probes with errors',
  source: 'qemu-target-notes.md; abi-evolution.md §4.2, §5',
  generation: 'absent',
  cap: { name: 'KVM_CAP_ARM_RME', nr: 300, source: 'lore:20230127112932.38045-6-steven.price@arm.com' },
  vmTypeRealm: 0x100,
  vmTypeFieldMask: 0xf00,
  maxVcpuFeatures: 7,
  sizes: {},
  expect: {
    'absent.realm-caps': { errno: 0, ret: 0, source: 'qemu-target-notes.md (0 on /dev/kvm and a VM fd); abi-evolution.md §4.2 for reused numbers' },
    'absent.vm-type-0x100': { errno: 'EINVAL', source: 'qemu-target-notes.md; upstream kvm_arch_init_vm rejects unknown type bits' },
    'absent.vm-type-bit30': { errno: 'EINVAL', source: 'qemu-target-notes.md; abi-evolution.md §2a (v14 type bit 30)' },
    'absent.enable-cap-rme': { errno: 'EINVAL', source: 'qemu-target-notes.md; conditions.md UP-arm (unknown CAP)' },
    'absent.vcpu-rec-bits': {
      errno: 'ENOENT',
      source: 'qemu-target-notes.md; conditions.md G8 (bit >= KVM_VCPU_MAX_FEATURES, 7 in 6.1)',
    },
  },
};
