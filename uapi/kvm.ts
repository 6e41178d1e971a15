// The generic KVM uAPI every revision of the CCA series shares
// (include/uapi/linux/kvm.h, arch/arm64/include/uapi/asm/kvm.h), as data:
// the structs the suite passes, the ioctls it issues, the capabilities and
// constants it names. Realm-specific parts are in uapi/realm.ts and each
// revision's file under revisions/.
import type { FieldDesc, IoctlDesc, StructDesc } from './layout.ts';

export const KVMIO = 0xae;

const u32 = (name: string, count?: number): FieldDesc => ({ name, type: 'u32', ...(count ? { count } : {}) });
const u64 = (name: string, count?: number): FieldDesc => ({ name, type: 'u64', ...(count ? { count } : {}) });
const ptr = (name: string): FieldDesc => ({ name, type: 'ptr' });
const fd = (name: string): FieldDesc => ({ name, type: 'fd' });
const pad = (name: string, type: 'u8' | 'u32' | 'u64', count?: number): FieldDesc => ({ name, type, role: 'pad', ...(count ? { count } : {}) });
const reserved = (name: string, type: 'u32' | 'u64', count?: number): FieldDesc => ({ name, type, role: 'reserved', ...(count ? { count } : {}) });

export const STRUCTS = {
  userspaceMemoryRegion: {
    c: 'kvm_userspace_memory_region',
    fields: [u32('slot'), u32('flags'), u64('guest_phys_addr'), u64('memory_size'), ptr('userspace_addr')],
  },
  userspaceMemoryRegion2: {
    c: 'kvm_userspace_memory_region2',
    fields: [
      u32('slot'),
      u32('flags'),
      u64('guest_phys_addr'),
      u64('memory_size'),
      ptr('userspace_addr'),
      u64('guest_memfd_offset'),
      fd('guest_memfd'),
      pad('pad1', 'u32'),
      pad('pad2', 'u64', 14),
    ],
  },
  /** args[1] carries the realm sub-command's struct pointer (RME era): a u64 the DSL patches. */
  enableCap: { c: 'kvm_enable_cap', fields: [u32('cap'), u32('flags'), u64('args', 4), pad('pad', 'u8', 64)] },
  vcpuInit: { c: 'kvm_vcpu_init', fields: [u32('target'), u32('features', 7)] },
  oneReg: { c: 'kvm_one_reg', fields: [u64('id'), ptr('addr')] },
  /** fd: written by the kernel (KVM_CREATE_DEVICE returns the device fd there). */
  createDevice: { c: 'kvm_create_device', fields: [u32('type'), fd('fd'), u32('flags')] },
  deviceAttr: { c: 'kvm_device_attr', fields: [u32('flags'), u32('group'), u64('attr'), ptr('addr')] },
  createGuestMemfd: { c: 'kvm_create_guest_memfd', fields: [u64('size'), u64('flags'), reserved('reserved', 'u64', 6)] },
  memoryAttributes: { c: 'kvm_memory_attributes', fields: [u64('address'), u64('size'), u64('attributes'), u64('flags')] },
} as const satisfies Record<string, StructDesc>;

const io = (name: string, nr: number, on: IoctlDesc['on'], returns?: IoctlDesc['returns'], int = false): IoctlDesc => ({
  name,
  dir: 'none',
  type: KVMIO,
  nr,
  arg: { kind: int ? 'int' : 'none' },
  on,
  ...(returns ? { returns } : {}),
});
const st = (name: string, dir: IoctlDesc['dir'], nr: number, struct: StructDesc, on: IoctlDesc['on'], returns?: IoctlDesc['returns']): IoctlDesc => ({
  name,
  dir,
  type: KVMIO,
  nr,
  arg: { kind: 'struct', struct },
  on,
  ...(returns ? { returns } : {}),
});

/** "Returns: 0 on success" in the KVM API document (Documentation/virt/kvm/api.rst). */
const ZERO = { kind: 'zero', source: 'Documentation/virt/kvm/api.rst, docs/spec/uapi.md#success-values' } as const;
const zero = (d: IoctlDesc): IoctlDesc => ({ ...d, success: ZERO });

/** Every generic ioctl the suite issues, in _IOC nr order. */
export const IOCTLS = {
  KVM_GET_API_VERSION: io('KVM_GET_API_VERSION', 0x00, 'system'),
  KVM_CREATE_VM: io('KVM_CREATE_VM', 0x01, 'system', 'vm', true),
  KVM_CHECK_EXTENSION: io('KVM_CHECK_EXTENSION', 0x03, 'system', undefined, true),
  KVM_GET_VCPU_MMAP_SIZE: io('KVM_GET_VCPU_MMAP_SIZE', 0x04, 'system'),
  KVM_CREATE_VCPU: io('KVM_CREATE_VCPU', 0x41, 'vm', 'vcpu', true),
  KVM_SET_USER_MEMORY_REGION: zero(st('KVM_SET_USER_MEMORY_REGION', 'w', 0x46, STRUCTS.userspaceMemoryRegion, 'vm')),
  KVM_SET_USER_MEMORY_REGION2: zero(st('KVM_SET_USER_MEMORY_REGION2', 'w', 0x49, STRUCTS.userspaceMemoryRegion2, 'vm')),
  KVM_RUN: zero(io('KVM_RUN', 0x80, 'vcpu')),
  KVM_ENABLE_CAP: zero(st('KVM_ENABLE_CAP', 'w', 0xa3, STRUCTS.enableCap, 'vm')),
  KVM_GET_ONE_REG: zero(st('KVM_GET_ONE_REG', 'w', 0xab, STRUCTS.oneReg, 'vcpu')),
  KVM_SET_ONE_REG: zero(st('KVM_SET_ONE_REG', 'w', 0xac, STRUCTS.oneReg, 'vcpu')),
  KVM_ARM_VCPU_INIT: zero(st('KVM_ARM_VCPU_INIT', 'w', 0xae, STRUCTS.vcpuInit, 'vcpu')),
  KVM_ARM_PREFERRED_TARGET: st('KVM_ARM_PREFERRED_TARGET', 'r', 0xaf, STRUCTS.vcpuInit, 'vm'),
  KVM_ARM_VCPU_FINALIZE: { name: 'KVM_ARM_VCPU_FINALIZE', dir: 'w', type: KVMIO, nr: 0xc2, arg: { kind: 'int-ptr' }, on: 'vcpu', success: ZERO },
  KVM_SET_MEMORY_ATTRIBUTES: zero(st('KVM_SET_MEMORY_ATTRIBUTES', 'w', 0xd2, STRUCTS.memoryAttributes, 'vm')),
  KVM_CREATE_GUEST_MEMFD: st('KVM_CREATE_GUEST_MEMFD', 'rw', 0xd4, STRUCTS.createGuestMemfd, 'vm', 'gmem'),
  KVM_CREATE_DEVICE: st('KVM_CREATE_DEVICE', 'rw', 0xe0, STRUCTS.createDevice, 'vm', 'device'),
  KVM_SET_DEVICE_ATTR: zero(st('KVM_SET_DEVICE_ATTR', 'w', 0xe1, STRUCTS.deviceAttr, 'device')),
} as const satisfies Record<string, IoctlDesc>;

export const KVM_API_VERSION = 12;

/** Generic capabilities (include/uapi/linux/kvm.h). */
export const CAP = {
  KVM_CAP_IRQCHIP: 0,
  KVM_CAP_USER_MEMORY: 3,
  KVM_CAP_NR_VCPUS: 9,
  KVM_CAP_MAX_VCPUS: 66,
  KVM_CAP_ARM_PSCI: 87,
  KVM_CAP_ARM_EL1_32BIT: 93,
  KVM_CAP_ARM_PSCI_0_2: 102,
  KVM_CAP_ARM_PMU_V3: 126,
  KVM_CAP_ARM_VM_IPA_SIZE: 165,
  KVM_CAP_ARM_SVE: 170,
  KVM_CAP_ARM_PTRAUTH_ADDRESS: 171,
  KVM_CAP_ARM_PTRAUTH_GENERIC: 172,
  KVM_CAP_USER_MEMORY2: 231,
  KVM_CAP_MEMORY_ATTRIBUTES: 233,
  KVM_CAP_GUEST_MEMFD: 234,
} as const;

/** Not in CAP (the labels name only the CAPs the checks probe): a realm VM hides it (V10-CE2). */
export const KVM_CAP_SET_GUEST_DEBUG = 23;

/** Further generic CAPs the emulator answers (include/uapi/linux/kvm.h); not named in check labels. */
export const EMULATED_CAP = {
  KVM_CAP_SET_GUEST_DEBUG,
  KVM_CAP_READONLY_MEM: 81,
  KVM_CAP_GUEST_DEBUG_HW_BPS: 119,
  KVM_CAP_GUEST_DEBUG_HW_WPS: 120,
  KVM_CAP_MAX_VCPU_ID: 128,
  KVM_CAP_MSI_DEVID: 131,
  KVM_CAP_ARM_NISV_TO_USER: 177,
  KVM_CAP_HALT_POLL: 182,
  KVM_CAP_ARM_MTE: 205,
  KVM_CAP_ARM_SYSTEM_SUSPEND: 220,
  KVM_CAP_STEAL_TIME: 224,
  KVM_CAP_COUNTER_OFFSET: 227,
} as const;

/** arm64 CAPs a normal VM answers that the checks name (include/uapi/linux/kvm.h). */
export const MORE_ARM64_CAP = {
  KVM_CAP_MP_STATE: 14,
  KVM_CAP_ONE_REG: 70,
} as const;

/** arm64 vCPU features (kvm_vcpu_init.features[0] bits) upstream defines below any realm bit. */
export const VCPU_FEATURES = {
  KVM_ARM_VCPU_POWER_OFF: 0,
  KVM_ARM_VCPU_EL1_32BIT: 1,
  KVM_ARM_VCPU_PSCI_0_2: 2,
  KVM_ARM_VCPU_PMU_V3: 3,
  KVM_ARM_VCPU_SVE: 4,
} as const;

/** Other arm64 constants the calls name (asm/kvm.h, linux/kvm.h). */
export const ARM64 = {
  /** kvm_vcpu_init.target for -cpu max and every v8+ host since 4.x. */
  KVM_ARM_TARGET_GENERIC_V8: 5,
  KVM_DEV_TYPE_ARM_VGIC_V3: 7,
  KVM_DEV_ARM_VGIC_GRP_ADDR: 0,
  KVM_DEV_ARM_VGIC_GRP_CTRL: 4,
  KVM_DEV_ARM_VGIC_CTRL_INIT: 0,
  KVM_VGIC_V3_ADDR_TYPE_DIST: 2,
  KVM_VGIC_V3_ADDR_TYPE_REDIST: 3,
} as const;

/** Bit numbers of flags (the C spells them 1 << n). */
export const FLAG_BITS = {
  KVM_MEM_LOG_DIRTY_PAGES: 0,
  KVM_MEM_READONLY: 1,
  KVM_MEM_GUEST_MEMFD: 2,
  KVM_MEMORY_ATTRIBUTE_PRIVATE: 3,
} as const;

/** The VM type's IPA-size field: bits [7:0] (KVM_VM_TYPE_ARM_IPA_SIZE). */
export const VM_TYPE_IPA_MASK = 0xff;

/**
 * ONE_REG ids (arch/arm64/include/uapi/asm/kvm.h): arch, size and group
 * fields; a core register's id ends in offsetof(struct kvm_regs, f) / 4.
 */
export const ONE_REG = {
  KVM_REG_ARCH_MASK: 0xff00000000000000n,
  KVM_REG_ARM64: 0x6000000000000000n,
  /** The size field (log2 of the bytes) sits at bit 52. */
  KVM_REG_SIZE_SHIFT: 52n,
  KVM_REG_ARM_COPROC_MASK: 0x0fff0000n,
  KVM_REG_SIZE_U64: 0x0030000000000000n,
  KVM_REG_SIZE_U512: 0x0060000000000000n,
  /** KVM_REG_ARM_CORE: group 0x0010 at bit 16. */
  KVM_REG_ARM_CORE: 0x0010n << 16n,
  /** KVM_REG_ARM64_SVE: group 0x0015 at bit 16; SVE_VLS is its index 0xffff. */
  KVM_REG_ARM64_SVE: 0x0015n << 16n,
  SVE_VLS_INDEX: 0xffffn,
} as const;

/** Byte offsets in struct kvm_regs of the core registers the guest payloads set. */
export const KVM_REGS = { x0: 0, sp: 248, pc: 256, pstate: 264, /** sizeof(struct kvm_regs) */ size: 864 } as const;

/** struct kvm_run (arm64): exit_reason at 8, the exit union at 32; the MMIO and SYSTEM_EVENT members inside it. */
export const KVM_RUN_LAYOUT = {
  exitReason: 8,
  union: 32,
  mmio: { physAddr: 0, data: 8, len: 16, isWrite: 20 },
  systemEvent: { type: 0, ndata: 4, data0: 8 },
} as const;
