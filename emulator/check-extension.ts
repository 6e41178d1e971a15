// KVM_CHECK_EXTENSION on /dev/kvm and on a VM fd (kvm_vm_ioctl_check_extension),
// after the realm module has answered the CAPs it owns.
import { EMULATED_CAP } from '../uapi/kvm.ts';
import { CAP, KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../uapi/kvm-uapi.ts';
import { type Kernel, KVM_CAP_ARM_NISV_TO_USER, KVM_CAP_ARM_SYSTEM_SUSPEND, KVM_CAP_HALT_POLL, KVM_MAX_VCPUS, KVM_USER_MEM_SLOTS } from './kernel.ts';
import type { Vm } from './vm.ts';

const KVM_CAP_ARM_MTE = EMULATED_CAP.KVM_CAP_ARM_MTE;
const KVM_CAP_SET_GUEST_DEBUG = EMULATED_CAP.KVM_CAP_SET_GUEST_DEBUG;

export function checkExtension(k: Kernel, vm: Vm | undefined, capArg: bigint): number {
  const cap = capArg > 0xffffffffn ? -1 : Number(capArg);
  const mine = k.realm?.checkExtension(vm, cap);
  if (mine !== undefined) return mine;
  const h = k.host;
  switch (cap) {
    case CAP.KVM_CAP_IRQCHIP:
      return 1;
    case CAP.KVM_CAP_USER_MEMORY:
    case CAP.KVM_CAP_ARM_PSCI:
    case CAP.KVM_CAP_ARM_PSCI_0_2:
    case 4: // KVM_CAP_DESTROY_MEMORY_REGION_WORKS
    case 16: // KVM_CAP_SYNC_MMU
    case 36: // KVM_CAP_IOEVENTFD
    case 70: // KVM_CAP_ONE_REG
    case 81: // KVM_CAP_READONLY_MEM
    case 89: // KVM_CAP_DEVICE_CTRL
    case 107: // KVM_CAP_ARM_SET_DEVICE_ADDR... (MP_STATE is 14)
    case 14: // KVM_CAP_MP_STATE
    case 136: // KVM_CAP_IMMEDIATE_EXIT
    case 88: // KVM_CAP_CHECK_EXTENSION_VM
    case 140: // KVM_CAP_ENABLE_CAP_VM (historic)
    case KVM_CAP_HALT_POLL:
    case KVM_CAP_ARM_NISV_TO_USER:
    case KVM_CAP_ARM_SYSTEM_SUSPEND:
      return 1;
    case CAP.KVM_CAP_NR_VCPUS:
      return Math.min(h.nrCpus, KVM_MAX_VCPUS);
    case CAP.KVM_CAP_MAX_VCPUS:
    case 128: // KVM_CAP_MAX_VCPU_ID
      return vm ? vm.maxVcpus : KVM_MAX_VCPUS;
    case 118: // KVM_CAP_NR_MEMSLOTS
      return KVM_USER_MEM_SLOTS;
    case CAP.KVM_CAP_ARM_VM_IPA_SIZE:
      return h.ipaLimit;
    case CAP.KVM_CAP_ARM_SVE:
      return h.sve ? 1 : 0;
    case CAP.KVM_CAP_ARM_PMU_V3:
      return h.pmu ? 1 : 0;
    case CAP.KVM_CAP_ARM_PTRAUTH_ADDRESS:
    case CAP.KVM_CAP_ARM_PTRAUTH_GENERIC:
      return h.ptrauth ? 1 : 0;
    case CAP.KVM_CAP_ARM_EL1_32BIT:
      return h.el1_32bit ? 1 : 0;
    case KVM_CAP_ARM_MTE:
      return 0;
    case KVM_CAP_SET_GUEST_DEBUG:
      return 1;
    case CAP.KVM_CAP_USER_MEMORY2:
    case CAP.KVM_CAP_GUEST_MEMFD:
      return k.hasGuestMemfd ? 1 : 0;
    case CAP.KVM_CAP_MEMORY_ATTRIBUTES:
      return k.hasGuestMemfd ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
    default:
      return 0;
  }
}
