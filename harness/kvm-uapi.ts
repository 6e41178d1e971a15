// Generic KVM uAPI (include/uapi/linux/kvm.h and arch/arm64/include/uapi/asm/kvm.h)
// that every revision of the CCA series shares. Realm-specific numbers live in
// the ABI profiles (harness/abi/).
import { StructReader, StructWriter, type U64 } from './bytes.ts';
import { io, ior, iow, iowr } from './ioc.ts';

export const KVMIO = 0xae;

// struct sizes, from the uAPI headers
export const SIZEOF_KVM_USERSPACE_MEMORY_REGION = 32; // u32 slot, u32 flags, u64 gpa, u64 size, u64 uaddr
export const SIZEOF_KVM_USERSPACE_MEMORY_REGION2 = 160; // + u64 gmem_offset, u32 gmem_fd, u32 pad1, u64 pad2[14]
export const SIZEOF_KVM_ENABLE_CAP = 104; // u32 cap, u32 flags, u64 args[4], u8 pad[64]
export const SIZEOF_KVM_VCPU_INIT = 32; // u32 target, u32 features[7]
export const SIZEOF_KVM_ONE_REG = 16; // u64 id, u64 addr
export const SIZEOF_KVM_CREATE_DEVICE = 12; // u32 type, u32 fd, u32 flags
export const SIZEOF_KVM_DEVICE_ATTR = 24; // u32 flags, u32 group, u64 attr, u64 addr
export const SIZEOF_KVM_CREATE_GUEST_MEMFD = 64; // u64 size, u64 flags, u64 reserved[6]
export const SIZEOF_KVM_MEMORY_ATTRIBUTES = 32; // u64 address, size, attributes, flags

export const KVM_GET_API_VERSION = io(KVMIO, 0x00);
export const KVM_CREATE_VM = io(KVMIO, 0x01);
export const KVM_CHECK_EXTENSION = io(KVMIO, 0x03);
export const KVM_GET_VCPU_MMAP_SIZE = io(KVMIO, 0x04);
export const KVM_CREATE_VCPU = io(KVMIO, 0x41);
export const KVM_SET_USER_MEMORY_REGION = iow(KVMIO, 0x46, SIZEOF_KVM_USERSPACE_MEMORY_REGION);
export const KVM_SET_USER_MEMORY_REGION2 = iow(KVMIO, 0x49, SIZEOF_KVM_USERSPACE_MEMORY_REGION2);
export const KVM_RUN = io(KVMIO, 0x80);
export const KVM_ENABLE_CAP = iow(KVMIO, 0xa3, SIZEOF_KVM_ENABLE_CAP);
export const KVM_GET_ONE_REG = iow(KVMIO, 0xab, SIZEOF_KVM_ONE_REG);
export const KVM_SET_ONE_REG = iow(KVMIO, 0xac, SIZEOF_KVM_ONE_REG);
export const KVM_ARM_VCPU_INIT = iow(KVMIO, 0xae, SIZEOF_KVM_VCPU_INIT);
export const KVM_ARM_PREFERRED_TARGET = ior(KVMIO, 0xaf, SIZEOF_KVM_VCPU_INIT);
export const KVM_ARM_VCPU_FINALIZE = iow(KVMIO, 0xc2, 4);
export const KVM_SET_MEMORY_ATTRIBUTES = iow(KVMIO, 0xd2, SIZEOF_KVM_MEMORY_ATTRIBUTES);
export const KVM_CREATE_GUEST_MEMFD = iowr(KVMIO, 0xd4, SIZEOF_KVM_CREATE_GUEST_MEMFD);
export const KVM_CREATE_DEVICE = iowr(KVMIO, 0xe0, SIZEOF_KVM_CREATE_DEVICE);
export const KVM_SET_DEVICE_ATTR = iow(KVMIO, 0xe1, SIZEOF_KVM_DEVICE_ATTR);

/** Names of the generic requests, for traces and the emulator's dispatch. */
export const GENERIC_IOCTL_NAMES: ReadonlyMap<number, string> = new Map([
  [KVM_GET_API_VERSION, 'KVM_GET_API_VERSION'],
  [KVM_CREATE_VM, 'KVM_CREATE_VM'],
  [KVM_CHECK_EXTENSION, 'KVM_CHECK_EXTENSION'],
  [KVM_GET_VCPU_MMAP_SIZE, 'KVM_GET_VCPU_MMAP_SIZE'],
  [KVM_CREATE_VCPU, 'KVM_CREATE_VCPU'],
  [KVM_SET_USER_MEMORY_REGION, 'KVM_SET_USER_MEMORY_REGION'],
  [KVM_SET_USER_MEMORY_REGION2, 'KVM_SET_USER_MEMORY_REGION2'],
  [KVM_RUN, 'KVM_RUN'],
  [KVM_ENABLE_CAP, 'KVM_ENABLE_CAP'],
  [KVM_GET_ONE_REG, 'KVM_GET_ONE_REG'],
  [KVM_SET_ONE_REG, 'KVM_SET_ONE_REG'],
  [KVM_ARM_VCPU_INIT, 'KVM_ARM_VCPU_INIT'],
  [KVM_ARM_PREFERRED_TARGET, 'KVM_ARM_PREFERRED_TARGET'],
  [KVM_ARM_VCPU_FINALIZE, 'KVM_ARM_VCPU_FINALIZE'],
  [KVM_SET_MEMORY_ATTRIBUTES, 'KVM_SET_MEMORY_ATTRIBUTES'],
  [KVM_CREATE_GUEST_MEMFD, 'KVM_CREATE_GUEST_MEMFD'],
  [KVM_CREATE_DEVICE, 'KVM_CREATE_DEVICE'],
  [KVM_SET_DEVICE_ATTR, 'KVM_SET_DEVICE_ATTR'],
]);

export const KVM_API_VERSION = 12;

// Generic capabilities (include/uapi/linux/kvm.h).
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

// arm64 vCPU features (kvm_vcpu_init.features[0] bits).
export const KVM_ARM_VCPU_POWER_OFF = 0;
export const KVM_ARM_VCPU_EL1_32BIT = 1;
export const KVM_ARM_VCPU_PSCI_0_2 = 2;
export const KVM_ARM_VCPU_PMU_V3 = 3;
export const KVM_ARM_VCPU_SVE = 4;
/** kvm_vcpu_init.target for -cpu max and every v8+ host since 4.x. */
export const KVM_ARM_TARGET_GENERIC_V8 = 5;

export const KVM_DEV_TYPE_ARM_VGIC_V3 = 7;
export const KVM_DEV_ARM_VGIC_GRP_ADDR = 0;
export const KVM_DEV_ARM_VGIC_GRP_CTRL = 4;
export const KVM_DEV_ARM_VGIC_CTRL_INIT = 0;
export const KVM_VGIC_V3_ADDR_TYPE_DIST = 2;
export const KVM_VGIC_V3_ADDR_TYPE_REDIST = 3;

export const KVM_MEM_GUEST_MEMFD = 1 << 2;
export const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1 << 3;

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

// struct kvm_run offsets (arm64): exit_reason at 8; the exit union at 32.
const RUN_EXIT_REASON = 8;
const RUN_UNION = 32;

export type RunExit =
  | { reason: 'MMIO'; exitReason: number; physAddr: bigint; data: Uint8Array; len: number; isWrite: boolean }
  | { reason: 'SYSTEM_EVENT'; exitReason: number; type: number; ndata: number; data0: bigint }
  | { reason: string; exitReason: number };

export function decodeRunExit(run: Uint8Array): RunExit {
  const r = new StructReader(run);
  const exitReason = r.u32(RUN_EXIT_REASON);
  if (exitReason === KVM_EXIT.MMIO) {
    const len = r.u32(RUN_UNION + 16);
    return {
      reason: 'MMIO',
      exitReason,
      physAddr: r.u64(RUN_UNION),
      data: r.slice(RUN_UNION + 8, Math.min(len, 8)),
      len,
      isWrite: r.u8(RUN_UNION + 20) !== 0,
    };
  }
  if (exitReason === KVM_EXIT.SYSTEM_EVENT) {
    return { reason: 'SYSTEM_EVENT', exitReason, type: r.u32(RUN_UNION), ndata: r.u32(RUN_UNION + 4), data0: r.u64(RUN_UNION + 8) };
  }
  const name = Object.entries(KVM_EXIT).find(([, v]) => v === exitReason)?.[0] ?? `exit ${exitReason}`;
  return { reason: name, exitReason };
}

/** Write the fields decodeRunExit reads (used by the emulator). */
export const KVM_RUN_LAYOUT = { RUN_EXIT_REASON, RUN_UNION } as const;

export function encodeMemoryRegion(r: { slot: number; flags?: number; gpa: U64; size: U64; uaddr: U64 }): Uint8Array {
  return new StructWriter(SIZEOF_KVM_USERSPACE_MEMORY_REGION)
    .u32(0, r.slot)
    .u32(4, r.flags ?? 0)
    .u64(8, r.gpa)
    .u64(16, r.size)
    .u64(24, r.uaddr).bytes;
}

export function encodeMemoryRegion2(r: {
  slot: number;
  flags?: number;
  gpa: U64;
  size: U64;
  uaddr: U64;
  gmemOffset?: U64;
  gmemFd?: number;
}): Uint8Array {
  return new StructWriter(SIZEOF_KVM_USERSPACE_MEMORY_REGION2)
    .u32(0, r.slot)
    .u32(4, r.flags ?? 0)
    .u64(8, r.gpa)
    .u64(16, r.size)
    .u64(24, r.uaddr)
    .u64(32, r.gmemOffset ?? 0)
    .u32(40, r.gmemFd ?? 0).bytes;
}

export function encodeEnableCap(cap: number, args: readonly U64[] = [], flags = 0): Uint8Array {
  const w = new StructWriter(SIZEOF_KVM_ENABLE_CAP).u32(0, cap).u32(4, flags);
  args.forEach((a, i) => w.u64(8 + 8 * i, a));
  return w.bytes;
}

export function encodeVcpuInit(target: number, featureBits: readonly number[]): Uint8Array {
  const w = new StructWriter(SIZEOF_KVM_VCPU_INIT).u32(0, target);
  const words = new Array<number>(7).fill(0);
  for (const b of featureBits) words[b >> 5]! |= 1 << (b & 31);
  words.forEach((v, i) => w.u32(4 + 4 * i, v));
  return w.bytes;
}

export function encodeOneReg(id: bigint, addr: U64 = 0): Uint8Array {
  return new StructWriter(SIZEOF_KVM_ONE_REG).u64(0, id).u64(8, addr).bytes;
}

export function encodeCreateDevice(type: number, flags = 0): Uint8Array {
  return new StructWriter(SIZEOF_KVM_CREATE_DEVICE).u32(0, type).u32(8, flags).bytes;
}

export function encodeDeviceAttr(group: number, attr: U64, addr: U64 = 0, flags = 0): Uint8Array {
  return new StructWriter(SIZEOF_KVM_DEVICE_ATTR).u32(0, flags).u32(4, group).u64(8, attr).u64(16, addr).bytes;
}

export function encodeCreateGuestMemfd(size: U64, flags: U64 = 0): Uint8Array {
  return new StructWriter(SIZEOF_KVM_CREATE_GUEST_MEMFD).u64(0, size).u64(8, flags).bytes;
}

export function encodeMemoryAttributes(address: U64, size: U64, attributes: U64, flags: U64 = 0): Uint8Array {
  return new StructWriter(SIZEOF_KVM_MEMORY_ATTRIBUTES).u64(0, address).u64(8, size).u64(16, attributes).u64(24, flags).bytes;
}

// KVM_{GET,SET}_ONE_REG ids for arm64 core registers:
// KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | offsetof(struct kvm_regs, f) / 4.
const KVM_REG_ARM64 = 0x6000000000000000n;
const KVM_REG_SIZE_U64 = 0x0030000000000000n;
const KVM_REG_ARM_CORE = 0x0010n << 16n;
const CORE = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE;
/** x0..x30 sit at regs.regs[n] (offset 8n), sp at 248, pc at 256, pstate at 264. */
export const coreRegX = (n: number): bigint => CORE | BigInt((8 * n) / 4);
export const CORE_REG_SP = CORE | BigInt(248 / 4);
export const CORE_REG_PC = CORE | BigInt(256 / 4);
export const CORE_REG_PSTATE = CORE | BigInt(264 / 4);

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
