// Generic KVM uAPI (include/uapi/linux/kvm.h and arch/arm64/include/uapi/asm/kvm.h)
// that every revision of the CCA series shares. Realm-specific numbers live in
// the ABI profiles (profiles/).
import { StructReader, type U64 } from './bytes.ts';
import {
  ARM64,
  CAP as CAPS,
  FLAG_BITS,
  IOCTLS,
  KVM_API_VERSION as API,
  KVM_REGS,
  KVM_RUN_LAYOUT as RUN,
  KVMIO as IO,
  ONE_REG,
  STRUCTS,
  VCPU_FEATURES,
} from './kvm.ts';
import { encode, requestOf, sizeOf } from './layout.ts';

// Everything below is derived from the description in uapi/kvm.ts; the
// names stay so that callers keep working.
export const KVMIO = IO;

export const SIZEOF_KVM_USERSPACE_MEMORY_REGION = sizeOf(STRUCTS.userspaceMemoryRegion);
export const SIZEOF_KVM_USERSPACE_MEMORY_REGION2 = sizeOf(STRUCTS.userspaceMemoryRegion2);
export const SIZEOF_KVM_ENABLE_CAP = sizeOf(STRUCTS.enableCap);
export const SIZEOF_KVM_VCPU_INIT = sizeOf(STRUCTS.vcpuInit);
export const SIZEOF_KVM_ONE_REG = sizeOf(STRUCTS.oneReg);
export const SIZEOF_KVM_CREATE_DEVICE = sizeOf(STRUCTS.createDevice);
export const SIZEOF_KVM_DEVICE_ATTR = sizeOf(STRUCTS.deviceAttr);
export const SIZEOF_KVM_CREATE_GUEST_MEMFD = sizeOf(STRUCTS.createGuestMemfd);
export const SIZEOF_KVM_MEMORY_ATTRIBUTES = sizeOf(STRUCTS.memoryAttributes);

export const KVM_GET_API_VERSION = requestOf(IOCTLS.KVM_GET_API_VERSION);
export const KVM_CREATE_VM = requestOf(IOCTLS.KVM_CREATE_VM);
export const KVM_CHECK_EXTENSION = requestOf(IOCTLS.KVM_CHECK_EXTENSION);
export const KVM_GET_VCPU_MMAP_SIZE = requestOf(IOCTLS.KVM_GET_VCPU_MMAP_SIZE);
export const KVM_CREATE_VCPU = requestOf(IOCTLS.KVM_CREATE_VCPU);
export const KVM_SET_USER_MEMORY_REGION = requestOf(IOCTLS.KVM_SET_USER_MEMORY_REGION);
export const KVM_SET_USER_MEMORY_REGION2 = requestOf(IOCTLS.KVM_SET_USER_MEMORY_REGION2);
export const KVM_RUN = requestOf(IOCTLS.KVM_RUN);
export const KVM_ENABLE_CAP = requestOf(IOCTLS.KVM_ENABLE_CAP);
export const KVM_GET_ONE_REG = requestOf(IOCTLS.KVM_GET_ONE_REG);
export const KVM_SET_ONE_REG = requestOf(IOCTLS.KVM_SET_ONE_REG);
export const KVM_ARM_VCPU_INIT = requestOf(IOCTLS.KVM_ARM_VCPU_INIT);
export const KVM_ARM_PREFERRED_TARGET = requestOf(IOCTLS.KVM_ARM_PREFERRED_TARGET);
export const KVM_ARM_VCPU_FINALIZE = requestOf(IOCTLS.KVM_ARM_VCPU_FINALIZE);
export const KVM_SET_MEMORY_ATTRIBUTES = requestOf(IOCTLS.KVM_SET_MEMORY_ATTRIBUTES);
export const KVM_CREATE_GUEST_MEMFD = requestOf(IOCTLS.KVM_CREATE_GUEST_MEMFD);
export const KVM_CREATE_DEVICE = requestOf(IOCTLS.KVM_CREATE_DEVICE);
export const KVM_SET_DEVICE_ATTR = requestOf(IOCTLS.KVM_SET_DEVICE_ATTR);

/** Names of the generic requests, for traces and the emulator's dispatch. */
export const GENERIC_IOCTL_NAMES: ReadonlyMap<number, string> = new Map(Object.values(IOCTLS).map((d) => [requestOf(d), d.name]));

export const KVM_API_VERSION = API;

export const CAP = CAPS;

export const { KVM_ARM_VCPU_POWER_OFF, KVM_ARM_VCPU_EL1_32BIT, KVM_ARM_VCPU_PSCI_0_2, KVM_ARM_VCPU_PMU_V3, KVM_ARM_VCPU_SVE } = VCPU_FEATURES;
export const {
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
} = ARM64;

export const KVM_MEM_GUEST_MEMFD = 1 << FLAG_BITS.KVM_MEM_GUEST_MEMFD;
export const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1 << FLAG_BITS.KVM_MEMORY_ATTRIBUTE_PRIVATE;

// kvm_run exit reasons.
export const KVM_EXIT = {
  UNKNOWN: 0,
  HYPERCALL: 3,
  MMIO: 6,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  INTERNAL_ERROR: 17,
  SYSTEM_EVENT: 24,
} as const;
export const KVM_SYSTEM_EVENT_SHUTDOWN = 1;
export const KVM_SYSTEM_EVENT_RESET = 2;

/** How many bytes of kvm_run the harness reads after KVM_RUN: header + the exit union head. */
export const KVM_RUN_PEEK_LEN = 128;

// struct kvm_run offsets (arm64), from uapi/kvm.ts.
const RUN_EXIT_REASON = RUN.exitReason;
const RUN_UNION = RUN.union;
const MMIO = RUN.mmio;
const SYSEV = RUN.systemEvent;

export type RunExit =
  | { reason: 'MMIO'; exitReason: number; physAddr: bigint; data: Uint8Array; len: number; isWrite: boolean }
  | { reason: 'SYSTEM_EVENT'; exitReason: number; type: number; ndata: number; data0: bigint }
  | { reason: string; exitReason: number };

export function decodeRunExit(run: Uint8Array): RunExit {
  const r = new StructReader(run);
  const exitReason = r.u32(RUN_EXIT_REASON);
  if (exitReason === KVM_EXIT.MMIO) {
    const len = r.u32(RUN_UNION + MMIO.len);
    return {
      reason: 'MMIO',
      exitReason,
      physAddr: r.u64(RUN_UNION + MMIO.physAddr),
      data: r.slice(RUN_UNION + MMIO.data, Math.min(len, 8)),
      len,
      isWrite: r.u8(RUN_UNION + MMIO.isWrite) !== 0,
    };
  }
  if (exitReason === KVM_EXIT.SYSTEM_EVENT) {
    return {
      reason: 'SYSTEM_EVENT',
      exitReason,
      type: r.u32(RUN_UNION + SYSEV.type),
      ndata: r.u32(RUN_UNION + SYSEV.ndata),
      data0: r.u64(RUN_UNION + SYSEV.data0),
    };
  }
  const name = Object.entries(KVM_EXIT).find(([, v]) => v === exitReason)?.[0] ?? `exit ${exitReason}`;
  return { reason: name, exitReason };
}

/** Write the fields decodeRunExit reads (used by the emulator). */
export const KVM_RUN_LAYOUT = { RUN_EXIT_REASON, RUN_UNION } as const;

export function encodeMemoryRegion(r: { slot: number; flags?: number; gpa: U64; size: U64; uaddr: U64 }): Uint8Array {
  return encode(STRUCTS.userspaceMemoryRegion, { slot: r.slot, flags: r.flags ?? 0, guest_phys_addr: r.gpa, memory_size: r.size, userspace_addr: r.uaddr });
}

export function encodeMemoryRegion2(r: { slot: number; flags?: number; gpa: U64; size: U64; uaddr: U64; gmemOffset?: U64; gmemFd?: number }): Uint8Array {
  return encode(STRUCTS.userspaceMemoryRegion2, {
    slot: r.slot,
    flags: r.flags ?? 0,
    guest_phys_addr: r.gpa,
    memory_size: r.size,
    userspace_addr: r.uaddr,
    guest_memfd_offset: r.gmemOffset ?? 0,
    guest_memfd: r.gmemFd ?? 0,
  });
}

export function encodeEnableCap(cap: number, args: readonly U64[] = [], flags = 0): Uint8Array {
  return encode(STRUCTS.enableCap, { cap, flags, args });
}

export function encodeVcpuInit(target: number, featureBits: readonly number[]): Uint8Array {
  const words = new Array<number>(7).fill(0);
  for (const b of featureBits) words[b >> 5]! |= 1 << (b & 31);
  return encode(STRUCTS.vcpuInit, { target, features: words });
}

export function encodeOneReg(id: bigint, addr: U64 = 0): Uint8Array {
  return encode(STRUCTS.oneReg, { id, addr });
}

export function encodeCreateDevice(type: number, flags = 0): Uint8Array {
  return encode(STRUCTS.createDevice, { type, flags });
}

export function encodeDeviceAttr(group: number, attr: U64, addr: U64 = 0, flags = 0): Uint8Array {
  return encode(STRUCTS.deviceAttr, { flags, group, attr, addr });
}

export function encodeCreateGuestMemfd(size: U64, flags: U64 = 0): Uint8Array {
  return encode(STRUCTS.createGuestMemfd, { size, flags });
}

export function encodeMemoryAttributes(address: U64, size: U64, attributes: U64, flags: U64 = 0): Uint8Array {
  return encode(STRUCTS.memoryAttributes, { address, size, attributes, flags });
}

// KVM_{GET,SET}_ONE_REG ids for arm64 core registers:
// KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | offsetof(struct kvm_regs, f) / 4.
const CORE = ONE_REG.KVM_REG_ARM64 | ONE_REG.KVM_REG_SIZE_U64 | ONE_REG.KVM_REG_ARM_CORE;
/** x0..x30 sit at regs.regs[n] (offset 8n), then sp, pc, pstate. */
export const coreRegX = (n: number): bigint => CORE | BigInt((KVM_REGS.x0 + 8 * n) / 4);
export const CORE_REG_SP = CORE | BigInt(KVM_REGS.sp / 4);
export const CORE_REG_PC = CORE | BigInt(KVM_REGS.pc / 4);
export const CORE_REG_PSTATE = CORE | BigInt(KVM_REGS.pstate / 4);
/** KVM_REG_ARM64_SVE_VLS: the SVE group's pseudo-register of vector lengths (512 bits). */
export const KVM_REG_ARM64_SVE_VLS = ONE_REG.KVM_REG_ARM64 | ONE_REG.KVM_REG_SIZE_U512 | ONE_REG.KVM_REG_ARM64_SVE | ONE_REG.SVE_VLS_INDEX;

// PSCI function ids used by guest payloads (SMCCC, 0.2+).
export const PSCI_0_2_FN_PSCI_VERSION = 0x84000000;
export const PSCI_0_2_FN64_CPU_ON = 0xc4000003;
export const PSCI_0_2_FN_SYSTEM_OFF = 0x84000008;

// open(2) / mmap(2) flags, Linux generic values.
export const O_RDWR = 2;
export const O_CLOEXEC = 0o2000000;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const MAP_PRIVATE = 2;
export const MAP_ANONYMOUS = 0x20;
