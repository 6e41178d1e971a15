// "absent": a kernel without the CCA host series (Debian's 6.1, any upstream
// kernel as of 2026). What it must answer a realm VMM's probes with.
// Measured answers: docs/spec/absent.md#answers.
import type { RevisionUapi } from '../uapi/realm.ts';
import { withUapi, type ProfileBehaviour, type Revision } from './types.ts';
import { rfcV1 } from './rfc-v1.ts';
export const uapi: RevisionUapi = {
  // the RFC's numbers: the probes ask for the realm uAPI a VMM would try first
  cap: rfcV1.uapi.cap,
  vmType: rfcV1.uapi.vmType,
  // KVM_VCPU_MAX_FEATURES of Linux 6.1
  maxVcpuFeatures: 7,
};

const behaviour: ProfileBehaviour = {
  name: 'absent',
  title: 'no CCA host support: a kernel without the series answers realm probes with errors',
  source: 'qemu-target-notes.md; abi-evolution.md §4.2, §5',
  expect: {
    'absent.realm-caps': { errno: 0, ret: 0, source: 'qemu-target-notes.md (0 on /dev/kvm and a VM fd); abi-evolution.md §4.2 for reused numbers' },
    'absent.vm-type-0x100': { errno: 'EINVAL', source: 'qemu-target-notes.md; upstream kvm_arch_init_vm rejects unknown type bits' },
    'absent.vm-type-bit30': { errno: 'EINVAL', source: 'qemu-target-notes.md; abi-evolution.md §2a (v14 type bit 30)' },
    'absent.enable-cap-rme': { errno: 'EINVAL', source: 'qemu-target-notes.md; conditions.md UP-arm (unknown CAP)' },
    // found by ./run.sh explore --target qemu on Debian 6.1 (docs/explore.md)
    'vcpu.init-other-width': { errno: 'EINVAL', source: 'G10 (kvm_set_vm_width, 5.18 to 6.6: the first VCPU_INIT fixes the width)' },
    'absent.vcpu-rec-bits': {
      errno: 'ENOENT',
      source: 'qemu-target-notes.md; conditions.md G8 (bit >= KVM_VCPU_MAX_FEATURES, 7 in 6.1)',
    },
  },
};

export const absent = {
  name: 'absent',
  era: 'absent',
  uapi,
  profile: withUapi('absent', 'absent', uapi, behaviour),
} satisfies Revision<'absent'>;
