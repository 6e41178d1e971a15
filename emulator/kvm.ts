// The emulated kernel: generic KVM for arm64 as Debian's 6.1 / upstream 6.2
// answers it (docs/spec/absent.md#answers),
// with hooks where a realm module (realm-module.ts) changes a path.
//
// Every ioctl decodes the real request number and reads the real struct
// bytes from the calling process's address space, in the order the kernel
// does, so a copy that faults gives -EFAULT at the same step.
import { StructReader, StructWriter } from '../harness/bytes.ts';
import { ERRNO } from '../harness/errno.ts';
import {
  CAP,
  KVM_API_VERSION,
  KVM_ARM_PREFERRED_TARGET,
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_FINALIZE,
  KVM_ARM_VCPU_INIT,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_ARM_VCPU_SVE,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_DEVICE,
  KVM_CREATE_GUEST_MEMFD,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_ENABLE_CAP,
  KVM_EXIT,
  KVM_GET_API_VERSION,
  KVM_GET_ONE_REG,
  KVM_GET_VCPU_MMAP_SIZE,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  KVM_RUN,
  KVM_RUN_LAYOUT,
  KVM_SET_DEVICE_ATTR,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_SET_ONE_REG,
  KVM_SET_USER_MEMORY_REGION,
  KVM_SET_USER_MEMORY_REGION2,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  SIZEOF_KVM_CREATE_DEVICE,
  SIZEOF_KVM_CREATE_GUEST_MEMFD,
  SIZEOF_KVM_DEVICE_ATTR,
  SIZEOF_KVM_ENABLE_CAP,
  SIZEOF_KVM_MEMORY_ATTRIBUTES,
  SIZEOF_KVM_ONE_REG,
  SIZEOF_KVM_USERSPACE_MEMORY_REGION,
  SIZEOF_KVM_USERSPACE_MEMORY_REGION2,
  SIZEOF_KVM_VCPU_INIT,
} from '../harness/kvm-uapi.ts';
import type { AbiProfile } from '../harness/abi/types.ts';
import { CpuState, MASK64, run as runCpu, type BusFault, type GuestBus } from './aarch64.ts';
import type { BugName } from './bugs.ts';
import { CallHangs, fail, KernelError } from './errors.ts';
import { AddressSpace, PAGE_SIZE, PhysMem, TASK_SIZE, type PhysRange } from './memory.ts';
import type { RealmModule, RealmVcpu, RealmVm } from './realm-module.ts';
import { Rmm, type RmmSettings } from './rmm.ts';

export interface HostSettings {
  /** kvm_ipa_limit (KVM_CAP_ARM_VM_IPA_SIZE). */
  ipaLimit: number;
  /** Online CPUs (KVM_CAP_NR_VCPUS). */
  nrCpus: number;
  sve: boolean;
  pmu: boolean;
  ptrauth: boolean;
  el1_32bit: boolean;
  /** What PSCI_VERSION returns: KVM_ARM_PSCI_LATEST, 1.1 since 5.18. */
  psciVersion: number;
  /** Guest instructions per KVM_RUN before it counts as hung (a timeout). */
  maxInsnsPerRun: number;
  /** The largest SVE vector length in quadwords (every VQ up to it is available). */
  sveMaxVq: number;
}

export const DEFAULT_HOST: HostSettings = {
  ipaLimit: 48,
  nrCpus: 2,
  sve: true,
  pmu: true,
  ptrauth: true,
  el1_32bit: false,
  psciVersion: 0x10001,
  maxInsnsPerRun: 1_000_000,
  sveMaxVq: 16,
};

const KVM_MAX_VCPUS = 512; // KVM_MAX_VCPU_IDS on arm64; also the GICv3 limit
const KVM_USER_MEM_SLOTS = 32767;
const KVM_MEM_MAX_NR_PAGES = 2 ** 31 - 1;
const KVM_MEM_LOG_DIRTY_PAGES = 1;
const KVM_MEM_READONLY = 2;
const KVM_PHYS_SHIFT = 40; // default IPA size for type 0
const ARM64_MIN_PARANGE_BITS = 32;
const KVM_VCPU_MAX_FEATURES_UPSTREAM = 7; // v6.1/v6.2
/** KVM_GET_VCPU_MMAP_SIZE on arm64: the kvm_run page plus the coalesced-MMIO ring page. */
export const VCPU_MMAP_SIZE = 2 * PAGE_SIZE;
const KVM_CAP_HALT_POLL = 182;
const KVM_CAP_ARM_NISV_TO_USER = 177;
const KVM_CAP_ARM_SYSTEM_SUSPEND = 220;
const KVM_CAP_ARM_MTE = 205;
const KVM_CREATE_DEVICE_TEST = 1;
const KVM_CAP_SET_GUEST_DEBUG = 23;

/** What an ioctl handler needs: the caller's memory and its argument. */
export interface IoctlCtx {
  readonly kernel: Kernel;
  readonly mm: AddressSpace;
  readonly req: number;
  /** The third ioctl argument as the kernel sees it (an integer or a user address). */
  readonly arg: bigint;
  read(addr: bigint, len: number, why?: string): Uint8Array;
  write(addr: bigint, bytes: Uint8Array, why?: string): void;
  /** anon_inode_getfd: the new fd number in the calling process. */
  installFd(file: KFile): number;
  /** fget: the file behind an fd of the calling process. */
  fileOf(fd: number): KFile | undefined;
}

export interface KernelOptions {
  abi: AbiProfile;
  rmm: RmmSettings;
  host: HostSettings;
  bugs: ReadonlySet<BugName>;
  realm: (k: Kernel) => RealmModule | undefined;
}

export class Kernel {
  readonly phys = new PhysMem();
  readonly rmm: Rmm;
  readonly abi: AbiProfile;
  readonly host: HostSettings;
  readonly bugs: ReadonlySet<BugName>;
  readonly realm: RealmModule | undefined;
  /** Set once the kernel oopsed: every later request fails with it. */
  oops: string | undefined;

  constructor(o: KernelOptions) {
    this.abi = o.abi;
    this.host = o.host;
    this.bugs = o.bugs;
    this.rmm = new Rmm(o.rmm);
    this.realm = o.realm(this);
  }

  bug(name: BugName): boolean {
    return this.bugs.has(name);
  }

  /** RFC v1 static key kvm_rme_is_available (R1-CE1): RMM found and usable. */
  get rmeAvailable(): boolean {
    return this.rmm.settings.present;
  }

  /**
   * The base kernel keeps one vCPU feature set per VM (KVM_ARCH_FLAG_VCPU_FEATURES_CONFIGURED,
   * upstream 6.7): v2 (6.9-rc1 base) and later; RFC v1 (6.2) and Debian's 6.1 do not.
   */
  get perVmVcpuFeatures(): boolean {
    return this.abi.generation !== 'absent' && this.abi.name !== 'rfc-v1';
  }

  /** The base kernel has guest_memfd, REGION2 and memory attributes (v2 on: 6.9+). */
  get hasGuestMemfd(): boolean {
    return this.abi.privateMemory === 'guest_memfd';
  }

  newAddressSpace(): AddressSpace {
    return new AddressSpace(this.phys, (f) => this.rmm.isDelegated(f));
  }
}

// ---------------------------------------------------------------- files

export abstract class KFile {
  abstract readonly kind: 'system' | 'vm' | 'vcpu' | 'device' | 'gmem';
  abstract ioctl(ctx: IoctlCtx): number;
  /** The fd is closed (last reference in this model: fds are not duplicated). */
  release(): void {}
  /** mmap of this fd: the backing pages, or an errno. */
  mmapBacking(_offset: number, _len: number): { mem: PhysRange; memPage: number; valid: number } | number {
    return ERRNO.ENODEV;
  }
}

/** /dev/kvm */
export class SystemFile extends KFile {
  readonly kind = 'system';
  constructor(private readonly k: Kernel) {
    super();
  }

  ioctl(ctx: IoctlCtx): number {
    switch (ctx.req) {
      case KVM_GET_API_VERSION:
        if (ctx.arg !== 0n) fail('EINVAL', 'KVM_GET_API_VERSION takes no argument');
        return KVM_API_VERSION;
      case KVM_CREATE_VM:
        return ctx.installFd(new VmFile(createVm(this.k, ctx)));
      case KVM_CHECK_EXTENSION:
        return checkExtension(this.k, undefined, ctx.arg);
      case KVM_GET_VCPU_MMAP_SIZE:
        if (ctx.arg !== 0n) fail('EINVAL', 'KVM_GET_VCPU_MMAP_SIZE takes no argument');
        return VCPU_MMAP_SIZE;
      default:
        // kvm_dev_ioctl -> kvm_arch_dev_ioctl: -EINVAL on arm64
        fail('EINVAL', 'unknown /dev/kvm ioctl');
    }
  }
}

export class VmFile extends KFile {
  readonly kind = 'vm';
  constructor(readonly vm: Vm) {
    super();
    vm.get();
  }
  ioctl(ctx: IoctlCtx): number {
    return vmIoctl(this.vm, ctx);
  }
  override release(): void {
    this.vm.put();
  }
}

export class VcpuFile extends KFile {
  readonly kind = 'vcpu';
  constructor(readonly vcpu: Vcpu) {
    super();
    vcpu.vm.get();
  }
  ioctl(ctx: IoctlCtx): number {
    return vcpuIoctl(this.vcpu, ctx);
  }
  override release(): void {
    this.vcpu.vm.put();
  }
  override mmapBacking(offset: number, len: number): { mem: PhysRange; memPage: number; valid: number } | number {
    // kvm_vcpu_mmap: pages past the run area fault on access (SIGBUS), the mmap itself succeeds
    const first = offset / PAGE_SIZE;
    return { mem: this.vcpu.runMem, memPage: first, valid: Math.max(0, Math.min(len, VCPU_MMAP_SIZE - offset)) };
  }
}

export class DeviceFile extends KFile {
  readonly kind = 'device';
  constructor(readonly vgic: Vgic) {
    super();
    vgic.vm.get();
  }
  ioctl(ctx: IoctlCtx): number {
    return this.vgic.ioctl(ctx);
  }
  override release(): void {
    this.vgic.vm.put();
  }
}

/**
 * A guest_memfd file (KVM_CREATE_GUEST_MEMFD): private memory the VMM cannot
 * map. Its pages are fixed frames, so a page populated (delegated) once is
 * the same frame the next time (double populate fails at the delegation).
 */
export class GuestMemfdFile extends KFile {
  readonly kind = 'gmem';
  readonly mem: PhysRange;
  /** Offsets bound to memslots (kvm_gmem_bind), for the overlap check. */
  readonly bindings: { slot: number; start: bigint; end: bigint }[] = [];
  constructor(
    readonly vm: Vm,
    readonly size: bigint,
  ) {
    super();
    vm.get();
    this.mem = vm.kernel.phys.alloc(Number(size >> 12n));
  }
  ioctl(): number {
    fail('ENOTTY', 'guest_memfd has no ioctls');
  }
  override release(): void {
    this.vm.put();
  }
  /** The page at byte offset `off` of the file, and its frame. */
  page(off: bigint): { page: Uint8Array; frame: number } {
    const i = Number(off >> 12n);
    return { page: this.mem.page(i), frame: this.mem.baseFrame + i };
  }
}

// ---------------------------------------------------------------- VM

export interface Memslot {
  id: number;
  flags: number;
  gpa: bigint;
  size: bigint;
  uaddr: bigint;
  /** KVM_MEM_GUEST_MEMFD: the private backing and the offset of gpa in it. */
  gmem?: { file: GuestMemfdFile; offset: bigint };
}

/** The guest_memfd page behind `ipa` of a guest_memfd memslot. */
export function gmemPage(slot: Memslot, ipa: bigint): { page: Uint8Array; frame: number } | undefined {
  return slot.gmem?.file.page(slot.gmem.offset + (ipa - slot.gpa));
}

export class Vm {
  readonly memslots = new Map<number, Memslot>();
  readonly vcpus: Vcpu[] = [];
  createdVcpus = 0;
  maxVcpus = KVM_MAX_VCPUS;
  vgic: Vgic | undefined;
  /** KVM_ARCH_FLAG_HAS_RAN_ONCE */
  hasRanOnce = false;
  /**
   * The VM's ID registers (kvm->arch.id_regs) hold the sanitised values only
   * after the first successful KVM_ARM_VCPU_INIT (KVM_ARCH_FLAG_ID_REGS_INITIALIZED);
   * before it they read 0. The real cca-host/v7 stack showed it (fixtures/real-kernel/).
   */
  idRegsReady = false;
  /** kvm->arch.vcpu_features: the feature set of the first VCPU_INIT, which later vCPUs must repeat (upstream 6.7+). */
  vcpuFeatures: number | undefined;
  realm: RealmVm | undefined;
  /** KVM_SET_MEMORY_ATTRIBUTES: sorted disjoint [startGfn, endGfn) runs with their attributes. */
  private attrs: { start: number; end: number; attr: number }[] = [];
  private refs = 0;
  destroyed = false;

  constructor(
    readonly kernel: Kernel,
    /** kvm->mm: the creating process, whose addresses memslots name. */
    readonly mm: AddressSpace,
    readonly type: bigint,
    readonly ipaBits: number,
  ) {}

  get physSize(): bigint {
    return 1n << BigInt(this.ipaBits);
  }

  get(): void {
    this.refs++;
  }

  put(): void {
    if (--this.refs === 0 && !this.destroyed) {
      this.destroyed = true;
      this.kernel.realm?.destroyVm(this);
    }
  }

  findSlot(ipa: bigint): Memslot | undefined {
    for (const s of this.memslots.values()) if (ipa >= s.gpa && ipa < s.gpa + s.size) return s;
    return undefined;
  }

  memAttr(gfn: number): number {
    for (const r of this.attrs) if (gfn >= r.start && gfn < r.end) return r.attr;
    return 0;
  }

  /** True when every gfn of [start, end) is PRIVATE (kvm_range_has_memory_attributes). */
  isPrivate(startGfn: number, endGfn: number): boolean {
    let at = startGfn;
    for (const r of this.attrs) {
      if (r.end <= at) continue;
      if (r.start > at || !(r.attr & KVM_MEMORY_ATTRIBUTE_PRIVATE)) return false;
      at = r.end;
      if (at >= endGfn) return true;
    }
    return at >= endGfn;
  }

  setMemAttr(start: number, end: number, attr: number): void {
    const out: { start: number; end: number; attr: number }[] = [];
    for (const r of this.attrs) {
      if (r.end <= start || r.start >= end) out.push(r);
      else {
        if (r.start < start) out.push({ start: r.start, end: start, attr: r.attr });
        if (r.end > end) out.push({ start: end, end: r.end, attr: r.attr });
      }
    }
    if (attr) out.push({ start, end, attr });
    this.attrs = out.sort((a, b) => a.start - b.start);
  }

  vcpuByMpidr(mpidr: bigint): Vcpu | undefined {
    return this.vcpus.find((v) => v.mpidr === (mpidr & 0xff00ffffffn));
  }
}

function decodeNormalVmType(type: bigint): { ipaField: number; realmType: boolean } {
  // kvm_init_stage2_mmu: anything but the IPA byte is -EINVAL on a kernel without the series
  if (type & ~0xffn) fail('EINVAL', 'type bits outside the IPA size');
  return { ipaField: Number(type), realmType: false };
}

function createVm(k: Kernel, ctx: IoctlCtx): Vm {
  const type = ctx.arg;
  const decoded = k.realm ? k.realm.decodeVmType(type) : decodeNormalVmType(type);
  const limit = decoded.realmType && k.realm ? k.realm.ipaLimit(decoded, k.host.ipaLimit) : k.host.ipaLimit;
  let bits = decoded.ipaField;
  if (bits) {
    if (bits > limit || bits < ARM64_MIN_PARANGE_BITS) fail('EINVAL', `IPA size ${bits} outside 32..${limit} (R1-VM5)`);
  } else {
    bits = KVM_PHYS_SHIFT;
    if (bits > limit) fail('EINVAL', 'default IPA size 40 above the limit');
  }
  const vm = new Vm(k, ctx.mm, type, bits);
  vm.realm = k.realm?.initVm(vm, decoded);
  return vm;
}

function checkExtension(k: Kernel, vm: Vm | undefined, capArg: bigint): number {
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

function vmIoctl(vm: Vm, ctx: IoctlCtx): number {
  const k = vm.kernel;
  switch (ctx.req) {
    case KVM_CREATE_VCPU:
      return ctx.installFd(new VcpuFile(createVcpu(vm, ctx.arg)));
    case KVM_SET_USER_MEMORY_REGION:
      return setMemoryRegion(vm, ctx, false);
    case KVM_SET_USER_MEMORY_REGION2:
      if (!k.hasGuestMemfd) break;
      return setMemoryRegion(vm, ctx, true);
    case KVM_CREATE_GUEST_MEMFD:
      if (!k.hasGuestMemfd) break;
      return createGuestMemfd(vm, ctx);
    case KVM_SET_MEMORY_ATTRIBUTES:
      if (!k.hasGuestMemfd) break;
      return setMemoryAttributes(vm, ctx);
    case KVM_CHECK_EXTENSION:
      return checkExtension(k, vm, ctx.arg);
    case KVM_ENABLE_CAP: {
      const b = new StructReader(ctx.read(ctx.arg, SIZEOF_KVM_ENABLE_CAP, 'struct kvm_enable_cap (G1)'));
      const cap = b.u32(0);
      const flags = b.u32(4);
      const args = [b.u64(8), b.u64(16), b.u64(24), b.u64(32)];
      // G2: generic CAPs first, in common code
      if (cap === KVM_CAP_HALT_POLL) {
        if (flags || args[0]! > 0xffffffffn) fail('EINVAL', 'halt-poll');
        return 0;
      }
      // G3: arm64 kvm_vm_ioctl_enable_cap rejects flags before looking at the CAP
      if (flags !== 0) fail('EINVAL', 'cap.flags != 0 (G3)');
      const mine = k.realm?.enableCap(ctx, vm, cap, args);
      if (mine !== undefined) return mine;
      switch (cap) {
        case KVM_CAP_ARM_NISV_TO_USER:
        case KVM_CAP_ARM_SYSTEM_SUSPEND:
          return 0;
        default:
          fail('EINVAL', `ENABLE_CAP ${cap} not supported`);
      }
    }
    case KVM_CREATE_DEVICE:
      return createDevice(vm, ctx);
    case KVM_ARM_PREFERRED_TARGET: {
      const w = new StructWriter(SIZEOF_KVM_VCPU_INIT).u32(0, KVM_ARM_TARGET_GENERIC_V8);
      ctx.write(ctx.arg, w.bytes, 'struct kvm_vcpu_init');
      return 0;
    }
  }
  const mine = k.realm?.vmIoctl(ctx, vm, ctx.req);
  if (mine !== undefined) return mine;
  // kvm_arch_vm_ioctl default
  fail('EINVAL', 'unknown VM ioctl');
}

/** kvm_gmem_create: flags none known, size positive and page-aligned. */
function createGuestMemfd(vm: Vm, ctx: IoctlCtx): number {
  const b = new StructReader(ctx.read(ctx.arg, SIZEOF_KVM_CREATE_GUEST_MEMFD, 'struct kvm_create_guest_memfd'));
  const size = b.u64(0);
  const flags = b.u64(8);
  if (flags !== 0n) fail('EINVAL', 'guest_memfd flags');
  if (size === 0n || size >= 1n << 63n || size & 0xfffn) fail('EINVAL', 'guest_memfd size');
  return ctx.installFd(new GuestMemfdFile(vm, size));
}

/** kvm_vm_ioctl_set_mem_attributes (generic): flags, supported attributes, size, wrap, alignment. */
function setMemoryAttributes(vm: Vm, ctx: IoctlCtx): number {
  const b = new StructReader(ctx.read(ctx.arg, SIZEOF_KVM_MEMORY_ATTRIBUTES, 'struct kvm_memory_attributes'));
  const address = b.u64(0);
  const size = b.u64(8);
  const attributes = b.u64(16);
  const flags = b.u64(24);
  if (flags) fail('EINVAL', 'memory attributes flags');
  if (attributes & ~BigInt(KVM_MEMORY_ATTRIBUTE_PRIVATE)) fail('EINVAL', 'unsupported memory attribute');
  if (size === 0n || address + size > MASK64) fail('EINVAL', 'memory attributes range');
  if (address & 0xfffn || size & 0xfffn) fail('EINVAL', 'memory attributes alignment');
  // beyond any gfn a guest can have: nothing to record
  const start = Number(address >> 12n);
  if (start >= Number.MAX_SAFE_INTEGER / 2) return 0;
  const end = Math.min(Number((address + size) >> 12n), Number.MAX_SAFE_INTEGER / 2);
  vm.setMemAttr(start, end, Number(attributes));
  return 0;
}

function setMemoryRegion(vm: Vm, ctx: IoctlCtx, v2: boolean): number {
  const len = v2 ? SIZEOF_KVM_USERSPACE_MEMORY_REGION2 : SIZEOF_KVM_USERSPACE_MEMORY_REGION;
  const b = new StructReader(ctx.read(ctx.arg, len, v2 ? 'struct kvm_userspace_memory_region2' : 'struct kvm_userspace_memory_region'));
  const slot = b.u32(0);
  const flags = b.u32(4);
  const gpa = b.u64(8);
  const size = b.u64(16);
  const uaddr = b.u64(24);
  const gmemOffset = v2 ? b.u64(32) : 0n;
  const gmemFd = v2 ? b.u32(40) : 0;
  const page = BigInt(PAGE_SIZE - 1);
  // __kvm_set_memory_region, in its order; check_memory_region_flags first
  // (the old ioctl never takes KVM_MEM_GUEST_MEMFD; guest_memfd slots do no dirty logging)
  const isGmem = v2 && (flags & KVM_MEM_GUEST_MEMFD) !== 0;
  const valid = KVM_MEM_READONLY | (isGmem ? KVM_MEM_GUEST_MEMFD : KVM_MEM_LOG_DIRTY_PAGES);
  if (flags & ~valid) fail('EINVAL', 'memslot flags');
  const asId = slot >>> 16;
  const id = slot & 0xffff;
  if (size & page) fail('EINVAL', 'memslot size not page-aligned');
  if (gpa & page) fail('EINVAL', 'memslot gpa not page-aligned');
  if (uaddr & page || uaddr + size > BigInt(TASK_SIZE)) fail('EINVAL', 'memslot uaddr not page-aligned or not access_ok');
  if (isGmem && (gmemOffset & page || gmemOffset + size > MASK64)) fail('EINVAL', 'guest_memfd offset');
  if (asId >= 1 || id >= KVM_USER_MEM_SLOTS) fail('EINVAL', 'memslot id');
  if (gpa + size > MASK64) fail('EINVAL', 'memslot wraps');
  if (size >> 12n > BigInt(KVM_MEM_MAX_NR_PAGES)) fail('EINVAL', 'memslot too large');
  const old = vm.memslots.get(id);
  if (size === 0n) {
    if (!old) fail('EINVAL', 'deleting a memslot that does not exist');
    vm.memslots.delete(id);
    unbindGmem(old);
    return 0;
  }
  let change: 'create' | 'move' | 'flags';
  if (!old) change = 'create';
  else {
    // a guest_memfd slot can only be deleted, never changed
    if (isGmem || old.gmem) fail('EINVAL', 'guest_memfd memslot change');
    if (uaddr !== old.uaddr || size !== old.size || (flags ^ old.flags) & KVM_MEM_READONLY) fail('EINVAL', 'memslot change');
    if (gpa !== old.gpa) change = 'move';
    else if (flags !== old.flags) change = 'flags';
    else return 0;
  }
  if (change !== 'flags') {
    for (const s of vm.memslots.values()) {
      if (s.id !== id && gpa < s.gpa + s.size && s.gpa < gpa + size) fail('EEXIST', 'memslot overlap');
    }
    // kvm_arch_prepare_memory_region: outside the IPA space
    if (gpa + size > vm.physSize) fail('EFAULT', 'memslot beyond the IPA size');
  }
  const s: Memslot = { id, flags, gpa, size, uaddr };
  if (isGmem) {
    // kvm_gmem_bind: a guest_memfd of this VM, the range inside the file, no overlapping binding
    const f = ctx.fileOf(gmemFd);
    if (!f) fail('EBADF', 'guest_memfd is not an open fd');
    if (!(f instanceof GuestMemfdFile) || f.vm !== vm) fail('EINVAL', 'not a guest_memfd of this VM');
    if (gmemOffset + size > f.size) fail('EINVAL', 'guest_memfd range past the file size');
    if (f.bindings.some((x) => gmemOffset < x.end && x.start < gmemOffset + size)) fail('EEXIST', 'guest_memfd range already bound');
    f.bindings.push({ slot: id, start: gmemOffset, end: gmemOffset + size });
    s.gmem = { file: f, offset: gmemOffset };
  }
  vm.memslots.set(id, s);
  return 0;
}

function unbindGmem(s: Memslot): void {
  const b = s.gmem?.file.bindings;
  if (!b) return;
  const i = b.findIndex((x) => x.slot === s.id);
  if (i >= 0) b.splice(i, 1);
}

// ---------------------------------------------------------------- vGIC (minimal GICv3)

export class Vgic {
  distBase: bigint | undefined;
  redistBase: bigint | undefined;
  initialized = false;
  constructor(readonly vm: Vm) {}

  ioctl(ctx: IoctlCtx): number {
    if (ctx.req !== KVM_SET_DEVICE_ATTR) {
      // GET/HAS_DEVICE_ATTR are not modelled; other requests: no ->ioctl
      fail('ENOTTY', 'device ioctl');
    }
    const b = new StructReader(ctx.read(ctx.arg, SIZEOF_KVM_DEVICE_ATTR, 'struct kvm_device_attr'));
    const group = b.u32(4);
    const attr = b.u64(8);
    const addr = b.u64(16);
    if (group === KVM_DEV_ARM_VGIC_GRP_ADDR) {
      const v = new StructReader(ctx.read(addr, 8, 'vgic address')).u64(0);
      const check = (cur: bigint | undefined, size: bigint): void => {
        if (cur !== undefined) fail('EEXIST', 'vgic address already set');
        if (v & 0xffffn) fail('EINVAL', 'vgic address not 64K-aligned');
        if (v + size > this.vm.physSize) fail('E2BIG', 'vgic address beyond the IPA size');
      };
      if (attr === BigInt(KVM_VGIC_V3_ADDR_TYPE_DIST)) {
        check(this.distBase, 0x10000n);
        this.distBase = v;
        return 0;
      }
      if (attr === BigInt(KVM_VGIC_V3_ADDR_TYPE_REDIST)) {
        check(this.redistBase, 0x20000n);
        this.redistBase = v;
        return 0;
      }
      fail('ENXIO', 'vgic address type');
    }
    if (group === KVM_DEV_ARM_VGIC_GRP_CTRL) {
      if (attr !== BigInt(KVM_DEV_ARM_VGIC_CTRL_INIT)) fail('ENXIO', 'vgic ctrl attr');
      if (!this.initialized) {
        if (this.vm.createdVcpus !== this.vm.vcpus.length) fail('EBUSY', 'vCPU creation in flight');
        this.initialized = true;
      }
      return 0;
    }
    fail('ENXIO', 'vgic attr group');
  }

  /** vgic_v3_map_resources at the first KVM_RUN (UP-vgic). */
  mapResources(): void {
    if (this.redistBase === undefined) fail('ENXIO', 'redistributor base not set');
    if (this.distBase === undefined) fail('ENXIO', 'distributor base not set');
    if (!this.initialized) fail('EBUSY', 'GICv3 not initialised by userspace (UP-vgic)');
  }
}

function createDevice(vm: Vm, ctx: IoctlCtx): number {
  const bytes = ctx.read(ctx.arg, SIZEOF_KVM_CREATE_DEVICE, 'struct kvm_create_device');
  const b = new StructReader(bytes);
  const type = b.u32(0);
  const flags = b.u32(8);
  if (type !== KVM_DEV_TYPE_ARM_VGIC_V3) fail('ENODEV', `device type ${type} not available`);
  if (flags & KVM_CREATE_DEVICE_TEST) return 0;
  // kvm_vgic_create
  if (vm.vgic) fail('EEXIST', 'irqchip already created');
  if (vm.vcpus.some((v) => v.hasRunOnce)) fail('EBUSY', 'a vCPU has run');
  vm.vgic = new Vgic(vm);
  const fd = ctx.installFd(new DeviceFile(vm.vgic));
  const out = new StructWriter(SIZEOF_KVM_CREATE_DEVICE).raw(0, bytes).u32(4, fd).bytes;
  // the device exists even if the fd cannot be copied back (as upstream)
  ctx.write(ctx.arg, out, 'struct kvm_create_device (fd)');
  return 0;
}

// ---------------------------------------------------------------- vCPU

export class Vcpu {
  /** kvm_vcpu_initialized: the target is set. */
  initialized = false;
  features = 0;
  readonly cpu = new CpuState();
  /** The kvm_run area: page 0 is struct kvm_run, page 1 the coalesced-MMIO ring. */
  readonly runMem: PhysRange;
  /** vcpu->pid is set: run_pid_change succeeded once (UP-pid). */
  hasRunOnce = false;
  /** PSCI power state. */
  stopped = false;
  sveFinalized = false;
  /** KVM_REG_ARM64_SVE_VLS: the largest VQ the vCPU may use (all below it available). */
  sveMaxVq = 0;
  /** An MMIO exit waiting for completion at the next KVM_RUN. */
  mmio: { isWrite: boolean; size: number; rt: number; cpu: CpuState } | undefined;
  realm: RealmVcpu | undefined;
  readonly mpidr: bigint;
  /** Other core registers (SP_EL1, ELR_EL1, SPSR, FP): stored, not used. */
  readonly otherCore = new Map<number, bigint>();

  constructor(
    readonly vm: Vm,
    readonly id: number,
  ) {
    this.runMem = vm.kernel.phys.alloc(VCPU_MMAP_SIZE / PAGE_SIZE);
    // reset_mpidr: Aff0 = id[3:0], Aff1 = id[11:4], Aff2 = id[19:12], bit 31 RES1
    this.mpidr = BigInt(id & 0xf) | (BigInt((id >> 4) & 0xff) << 8n) | (BigInt((id >> 12) & 0xff) << 16n);
  }

  get runPage(): Uint8Array {
    return this.runMem.page(0);
  }

  hasFeature(bit: number): boolean {
    return ((this.features >>> bit) & 1) === 1;
  }
}

/**
 * The breakpoint and watchpoint counts a realm's parameters get (v6 35/43,
 * lore:20241212155610.76522-36-steven.price@arm.com): the BRPs/WRPs fields of
 * the VM's ID_AA64DFR0_EL1, sanitised to the RMM's limits, so 0 until the
 * first KVM_ARM_VCPU_INIT has set the VM's ID registers up.
 */
export function vmDebugCounts(vm: Vm): { numBps: number; numWps: number } {
  if (!vm.idRegsReady) return { numBps: 0, numWps: 0 };
  const s = vm.kernel.rmm.settings;
  return { numBps: s.numBps, numWps: s.numWps };
}

function createVcpu(vm: Vm, arg: bigint): Vcpu {
  const id = Number(arg & 0xffffffffn);
  if (id >= KVM_MAX_VCPUS) fail('EINVAL', 'vCPU id >= KVM_MAX_VCPU_IDS');
  if (vm.createdVcpus >= vm.maxVcpus) fail('EINVAL', 'too many vCPUs');
  // kvm_arch_vcpu_precreate (G9)
  if (vm.vgic?.initialized && !vm.kernel.bug('vcpu-after-vgic-init-allowed')) fail('EBUSY', 'vGIC initialised (G9)');
  if (vm.vcpus.some((v) => v.id === id)) fail('EEXIST', 'vCPU id in use');
  const v = new Vcpu(vm, id);
  vm.createdVcpus++;
  vm.vcpus.push(v);
  return v;
}

function vcpuIoctl(vcpu: Vcpu, ctx: IoctlCtx): number {
  const k = vcpu.vm.kernel;
  if (((ctx.req >>> 8) & 0xff) !== 0xae) fail('EINVAL', 'not a KVMIO request');
  switch (ctx.req) {
    case KVM_RUN:
      if (ctx.arg !== 0n) fail('EINVAL', 'KVM_RUN takes no argument');
      return runVcpu(vcpu);
    case KVM_ARM_VCPU_INIT: {
      const b = new StructReader(ctx.read(ctx.arg, SIZEOF_KVM_VCPU_INIT, 'struct kvm_vcpu_init'));
      return vcpuInit(vcpu, b);
    }
    case KVM_SET_ONE_REG:
    case KVM_GET_ONE_REG: {
      if (!vcpu.initialized) fail('ENOEXEC', 'ONE_REG before KVM_ARM_VCPU_INIT');
      const b = new StructReader(ctx.read(ctx.arg, SIZEOF_KVM_ONE_REG, 'struct kvm_one_reg'));
      return oneReg(vcpu, ctx, b.u64(0), b.u64(8), ctx.req === KVM_SET_ONE_REG);
    }
    case KVM_ARM_VCPU_FINALIZE: {
      if (!vcpu.initialized) fail('ENOEXEC', 'FINALIZE before KVM_ARM_VCPU_INIT (G7)');
      const what = new StructReader(ctx.read(ctx.arg, 4, 'FINALIZE feature (G7)')).i32(0);
      const mine = k.realm?.finalize(ctx, vcpu, what);
      if (mine !== undefined) return mine;
      if (what === KVM_ARM_VCPU_SVE) {
        if (!vcpu.hasFeature(KVM_ARM_VCPU_SVE)) fail('EINVAL', 'FINALIZE(SVE) without SVE');
        if (vcpu.sveFinalized) fail('EPERM', 'SVE already finalised');
        vcpu.sveFinalized = true;
        return 0;
      }
      fail('EINVAL', `FINALIZE(${what}): unknown feature (G7)`);
    }
    default: {
      const mine = k.realm?.vcpuIoctl(ctx, vcpu, ctx.req);
      if (mine !== undefined) return mine;
      fail('EINVAL', 'unknown vCPU ioctl');
    }
  }
}

function vcpuInit(vcpu: Vcpu, b: StructReader): number {
  const k = vcpu.vm.kernel;
  const target = b.u32(0);
  if (target !== KVM_ARM_TARGET_GENERIC_V8) fail('EINVAL', 'target is not the preferred target');
  const max = k.realm?.maxVcpuFeatures() ?? KVM_VCPU_MAX_FEATURES_UPSTREAM;
  let features = 0;
  for (let i = 0; i < 7 * 32; i++) {
    const set = ((b.u32(4 + 4 * (i >> 5)) >>> (i & 31)) & 1) === 1;
    // G8 / R1-V1: a bit at or past KVM_VCPU_MAX_FEATURES
    if (set && i >= max) fail('ENOENT', `feature bit ${i} >= KVM_VCPU_MAX_FEATURES ${max} (G8)`);
    if (vcpu.initialized && i < max && set !== vcpu.hasFeature(i)) fail('EINVAL', 'features differ from the first VCPU_INIT');
    if (set) features |= 1 << i;
  }
  // kvm_reset_vcpu's feature checks
  const h = k.host;
  const has = (bit: number): boolean => ((features >>> bit) & 1) === 1;
  let bad = '';
  if (has(KVM_ARM_VCPU_SVE) && !h.sve) bad = 'SVE not supported';
  if (has(5) !== has(6) || (has(5) && !h.ptrauth)) bad = 'PTRAUTH address and generic must go together';
  if (has(3) && !h.pmu) bad = 'PMU not supported';
  if (has(1) && (!h.el1_32bit || has(KVM_ARM_VCPU_SVE))) bad = 'EL1_32BIT not supported';
  // HAS_EL2 (7) and HAS_EL2_E2H0 (8): the host has no nested virtualisation (cleared from the supported mask)
  for (const nv of [7, 8]) if (has(nv) && !k.realm?.ownsFeature(nv)) bad = `feature ${nv} (nested virt) not supported`;
  if (!bad) {
    try {
      k.realm?.checkVcpuFeatures(vcpu, has);
    } catch (e) {
      if (!vcpu.initialized) vcpu.features = 0;
      throw e;
    }
  }
  if (bad) {
    if (!vcpu.initialized) vcpu.features = 0;
    fail('EINVAL', bad);
  }
  // kvm_vcpu_set_target: every vCPU of a VM has the first one's features (POWER_OFF is per call, not kept)
  const kept = features & ~(1 << KVM_ARM_VCPU_POWER_OFF);
  const vm = vcpu.vm;
  if (k.perVmVcpuFeatures && vm.vcpuFeatures !== undefined && vm.vcpuFeatures !== kept && !k.bug('vcpu-features-differ-allowed')) {
    if (!vcpu.initialized) vcpu.features = 0;
    fail('EINVAL', 'features differ from the VM\'s first KVM_ARM_VCPU_INIT');
  }
  vm.vcpuFeatures ??= kept;
  // kvm_reset_vcpu -> the VM's ID registers are initialised once, at the first vCPU reset
  vm.idRegsReady = true;
  vcpu.features = features;
  vcpu.initialized = true;
  vcpu.sveMaxVq = h.sveMaxVq;
  vcpu.stopped = has(KVM_ARM_VCPU_POWER_OFF);
  // kvm_reset_vcpu: registers to their reset values
  const c = vcpu.cpu;
  c.x.fill(0n);
  c.sp = 0n;
  c.pc = 0n;
  c.pstate = 0x3c5n;
  return 0;
}

// ONE_REG ids: KVM_REG_ARM64 | size | KVM_REG_ARM_CORE | offset in u32 units
const KVM_REG_ARCH_MASK = 0xff00000000000000n;
const KVM_REG_ARM64 = 0x6000000000000000n;
const KVM_REG_SIZE_SHIFT = 52n;
const KVM_REG_ARM_COPROC_MASK = 0x0fff0000n;
const KVM_REG_ARM_CORE = 0x00100000n;
const CORE_NR_REGS = 864 / 4; // sizeof(struct kvm_regs) / 4
/** KVM_REG_ARM64 | KVM_REG_SIZE_U512 | KVM_REG_ARM64_SVE | 0xffff */
export const KVM_REG_ARM64_SVE_VLS = 0x606000000015ffffn;
const SVE_VLS_BYTES = 64;

/** get/set_sve_vls: a bitmap of VQs; must be exactly the host's VQs up to its highest bit. */
function sveVls(vcpu: Vcpu, ctx: IoctlCtx, addr: bigint, set: boolean): number {
  if (!vcpu.hasFeature(KVM_ARM_VCPU_SVE)) fail('ENOENT', 'SVE_VLS on a vCPU without SVE');
  if (!set) {
    const out = new Uint8Array(SVE_VLS_BYTES);
    for (let vq = 1; vq <= vcpu.sveMaxVq; vq++) out[(vq - 1) >> 3]! |= 1 << ((vq - 1) & 7);
    ctx.write(addr, out, 'SVE_VLS');
    return 0;
  }
  if (vcpu.sveFinalized) fail('EPERM', 'SVE_VLS after FINALIZE(SVE)');
  const v = ctx.read(addr, SVE_VLS_BYTES, 'SVE_VLS');
  let max = 0;
  for (let vq = 1; vq <= SVE_VLS_BYTES * 8; vq++) if ((v[(vq - 1) >> 3]! >> ((vq - 1) & 7)) & 1) max = vq;
  const hostMax = vcpu.vm.kernel.host.sveMaxVq;
  if (max === 0 || max > hostMax) fail('EINVAL', 'SVE_VLS past the host maximum');
  for (let vq = 1; vq <= max; vq++) if (!((v[(vq - 1) >> 3]! >> ((vq - 1) & 7)) & 1)) fail('EINVAL', 'SVE_VLS skips an available VQ');
  vcpu.sveMaxVq = max;
  return 0;
}

function oneReg(vcpu: Vcpu, ctx: IoctlCtx, id: bigint, addr: bigint, set: boolean): number {
  if ((id & KVM_REG_ARCH_MASK) !== KVM_REG_ARM64) fail('EINVAL', 'not an arm64 register id');
  vcpu.vm.kernel.realm?.oneReg(vcpu, id, set);
  const size = 1 << Number((id >> KVM_REG_SIZE_SHIFT) & 0xfn);
  if (id === KVM_REG_ARM64_SVE_VLS) return sveVls(vcpu, ctx, addr, set);
  if ((id & KVM_REG_ARM_COPROC_MASK) !== KVM_REG_ARM_CORE) {
    // system, firmware and SVE registers are not modelled
    fail('ENOENT', `register 0x${id.toString(16)} not modelled`);
  }
  const off = Number(id & 0xffffn);
  if (off >= CORE_NR_REGS || off + size / 4 >= CORE_NR_REGS) fail('ENOENT', 'core register offset');
  // validate_core_offset: the user_pt_regs part (x0..x30, sp, pc, pstate) and the EL1 regs are 64-bit
  if (off < 0x50 && (size !== 8 || off % 2 !== 0)) fail('EINVAL', 'core register size');
  const c = vcpu.cpu;
  const get = (): bigint => {
    if (off < 62) return c.x[off / 2]!;
    if (off === 62) return c.sp;
    if (off === 64) return c.pc;
    if (off === 66) return c.pstate;
    return vcpu.otherCore.get(off) ?? 0n;
  };
  if (!set) {
    const w = new StructWriter(size);
    if (size === 8) w.u64(0, get());
    ctx.write(addr, w.bytes, 'ONE_REG value');
    return 0;
  }
  const raw = ctx.read(addr, size, 'ONE_REG value');
  const v = size === 8 ? new StructReader(raw).u64(0) : 0n;
  if (off < 62) c.x[off / 2] = v;
  else if (off === 62) c.sp = v;
  else if (off === 64) c.pc = v;
  else if (off === 66) {
    // AArch64 modes EL0t, EL1t, EL1h only
    const mode = Number(v & 0x1fn);
    if (![0, 4, 5].includes(mode)) fail('EINVAL', 'PSTATE mode');
    c.pstate = v;
  } else vcpu.otherCore.set(off, v);
  return 0;
}

// ---------------------------------------------------------------- KVM_RUN

const RUN_EXIT = KVM_RUN_LAYOUT.RUN_EXIT_REASON;
const RUN_U = KVM_RUN_LAYOUT.RUN_UNION;
const RUN_IMMEDIATE_EXIT = 1;
const KVM_INTERNAL_ERROR_EMULATION = 1;

/** kvm_arch_vcpu_run_pid_change (UP-run), until it has succeeded once (G4). */
function runPidChange(vcpu: Vcpu): void {
  if (!vcpu.initialized) fail('ENOEXEC', 'KVM_RUN before KVM_ARM_VCPU_INIT (G5)');
  const realmFinal = vcpu.vm.kernel.realm?.isFinalized(vcpu);
  if (realmFinal === false) fail('EPERM', 'realm vCPU not finalised (R1-V10)');
  if (vcpu.hasFeature(KVM_ARM_VCPU_SVE) && !vcpu.sveFinalized) fail('EPERM', 'SVE not finalised (G6)');
  if (vcpu.hasRunOnce) return;
  vcpu.vm.vgic?.mapResources();
  vcpu.vm.kernel.realm?.firstRun(vcpu);
  vcpu.hasRunOnce = true;
  vcpu.vm.hasRanOnce = true;
}

function runVcpu(vcpu: Vcpu): number {
  const k = vcpu.vm.kernel;
  runPidChange(vcpu);
  const run = new DataView(vcpu.runPage.buffer);
  // kvm_handle_mmio_return: load the data of an MMIO read, step past the access
  if (vcpu.mmio && run.getUint32(RUN_EXIT, true) === KVM_EXIT.MMIO) {
    const m = vcpu.mmio;
    if (!m.isWrite) {
      let v = 0n;
      for (let i = m.size - 1; i >= 0; i--) v = (v << 8n) | BigInt(run.getUint8(RUN_U + 8 + i));
      if (m.rt !== 31) m.cpu.x[m.rt] = v;
    }
    m.cpu.pc = (m.cpu.pc + 4n) & MASK64;
  }
  vcpu.mmio = undefined;
  if (run.getUint8(RUN_IMMEDIATE_EXIT)) fail('EINTR', 'immediate_exit');
  run.setUint32(RUN_EXIT, KVM_EXIT.UNKNOWN, true);
  run.setUint16(14, 0, true); // flags
  // a stopped vCPU sleeps until another vCPU wakes it: nothing will
  if (vcpu.stopped) throw new CallHangs('vCPU is powered off and nothing will wake it');
  const realmEntry = k.realm?.enter(vcpu);
  if (realmEntry && 'shutdown' in realmEntry) {
    run.setUint32(RUN_EXIT, KVM_EXIT.SHUTDOWN, true);
    return 0;
  }
  const entered = realmEntry;
  const cpu = entered?.cpu ?? vcpu.cpu;
  const bus = entered?.bus ?? new NormalBus(vcpu.vm);
  let budget = k.host.maxInsnsPerRun;
  for (;;) {
    const { stop, executed } = runCpu(cpu, bus, budget);
    budget -= executed;
    switch (stop.kind) {
      case 'mmio': {
        run.setUint32(RUN_EXIT, KVM_EXIT.MMIO, true);
        run.setBigUint64(RUN_U, stop.ipa, true);
        for (let i = 0; i < 8; i++) run.setUint8(RUN_U + 8 + i, i < stop.size ? Number((stop.data >> BigInt(8 * i)) & 0xffn) : 0);
        run.setUint32(RUN_U + 16, stop.size, true);
        run.setUint8(RUN_U + 20, stop.isWrite ? 1 : 0);
        vcpu.mmio = { isWrite: stop.isWrite, size: stop.size, rt: stop.rt, cpu };
        return 0;
      }
      case 'hvc':
      case 'smc': {
        // a realm's PSCI conduit is SMC (handled via the RMM's PSCI exit); its HVC is undefined
        const isRealm = entered !== undefined;
        if ((stop.kind === 'smc') !== isRealm) {
          if (!isRealm) {
            // 6.1 handle_smc: SMC from a normal guest returns -1 in x0 and steps over
            cpu.x[0] = MASK64;
            continue;
          }
          return internalError(run, 'HVC in a realm: the RMM injects an undefined-instruction exception (not modelled)');
        }
        const exit = psci(vcpu, cpu, run);
        if (exit) return 0;
        continue;
      }
      case 'wfi':
        throw new CallHangs('WFI with no interrupt source modelled: the vCPU blocks');
      case 'errno':
        throw new KernelError(stop.errno, 'guest memory fault');
      case 'guest-exception':
        return internalError(run, stop.what);
      case 'budget':
        throw new CallHangs(`guest still running after ${k.host.maxInsnsPerRun} instructions`);
    }
  }
}

/**
 * The emulator does not model guest exceptions. Where a real kernel would
 * inject one (undefined instruction, abort outside RAM), the vCPU stops with
 * KVM_EXIT_INTERNAL_ERROR / KVM_INTERNAL_ERROR_EMULATION so a check sees it;
 * a real guest would take the exception (and, without vectors, spin).
 */
function internalError(run: DataView, _what: string): number {
  run.setUint32(RUN_EXIT, KVM_EXIT.INTERNAL_ERROR, true);
  run.setUint32(RUN_U, KVM_INTERNAL_ERROR_EMULATION, true);
  run.setUint32(RUN_U + 4, 0, true);
  return 0;
}

const PSCI_RET_SUCCESS = 0n;
const PSCI_RET_NOT_SUPPORTED = MASK64; // -1
const PSCI_RET_INVALID_PARAMS = MASK64 - 1n; // -2
const PSCI_RET_ALREADY_ON = MASK64 - 3n; // -4
const PSCI_RET_INTERNAL_FAILURE = MASK64 - 5n; // -6

/** kvm_hvc_call_handler / kvm_psci_call. Returns true when KVM_RUN exits to userspace. */
function psci(vcpu: Vcpu, cpu: CpuState, run: DataView): boolean {
  const vm = vcpu.vm;
  const fn = Number(cpu.x[0]! & 0xffffffffn);
  const ret = (v: bigint): boolean => {
    cpu.x[0] = v;
    cpu.x[1] = 0n;
    cpu.x[2] = 0n;
    cpu.x[3] = 0n;
    return false;
  };
  if (fn === 0x80000000) return ret(0x10001n); // SMCCC_VERSION 1.1
  if (!vcpu.hasFeature(KVM_ARM_VCPU_PSCI_0_2)) return ret(PSCI_RET_NOT_SUPPORTED); // PSCI 0.1 ids not modelled
  const event = (type: number): boolean => {
    for (const v of vm.vcpus) v.stopped = true;
    vm.kernel.realm?.systemOff(vm);
    run.setUint32(RUN_EXIT, KVM_EXIT.SYSTEM_EVENT, true);
    run.setUint32(RUN_U, type, true);
    run.setUint32(RUN_U + 4, 1, true); // ndata (PSCI 1.x: flags in data[0])
    run.setBigUint64(RUN_U + 8, 0n, true);
    // a resumed vCPU must see INTERNAL_FAILURE
    ret(PSCI_RET_INTERNAL_FAILURE);
    return true;
  };
  switch (fn) {
    case 0x84000000: // PSCI_VERSION
      return ret(BigInt(vm.kernel.host.psciVersion));
    case 0x84000008: // SYSTEM_OFF
      return event(KVM_SYSTEM_EVENT_SHUTDOWN);
    case 0x84000009: // SYSTEM_RESET
      return event(KVM_SYSTEM_EVENT_RESET);
    case 0x84000002: // CPU_OFF
      vcpu.stopped = true;
      throw new CallHangs('PSCI CPU_OFF: the vCPU sleeps');
    case 0x84000006: // MIGRATE_INFO_TYPE: TOS not present / MP
      return ret(2n);
    case 0x84000003:
    case 0xc4000003: {
      // CPU_ON
      const mask = fn === 0x84000003 ? 0xffffffffn : MASK64;
      const target = vm.vcpuByMpidr(cpu.x[1]! & mask);
      if (!target) return ret(PSCI_RET_INVALID_PARAMS);
      const t = vm.realm
        ? vm.kernel.realm?.cpuOn(target)
        : { cpu: target.cpu, on: !target.stopped, wake: () => undefined };
      if (!t) return ret(PSCI_RET_INVALID_PARAMS);
      if (t.on) return ret(PSCI_RET_ALREADY_ON);
      t.cpu.pc = cpu.x[2]! & mask;
      t.cpu.x[0] = cpu.x[3]! & mask;
      t.wake();
      target.stopped = false;
      return ret(PSCI_RET_SUCCESS);
    }
    case 0x84000004:
    case 0xc4000004: {
      // AFFINITY_INFO: 0 ON, 1 OFF
      const target = vm.vcpuByMpidr(cpu.x[1]!);
      if (!target) return ret(PSCI_RET_INVALID_PARAMS);
      return ret(target.stopped ? 1n : 0n);
    }
    default:
      return ret(PSCI_RET_NOT_SUPPORTED);
  }
}

/** A normal VM's stage 2: memslots backed by the owner's pages; the rest is MMIO. */
export class NormalBus implements GuestBus {
  private fetchPage: { ipaPage: bigint; page: Uint8Array } | undefined;
  constructor(private readonly vm: Vm) {}

  /** The host page behind `ipa`, or why KVM cannot use one. */
  private resolve(ipa: bigint, write: boolean): { page: Uint8Array; off: number } | BusFault {
    if (ipa >= this.vm.physSize) return { kind: 'abort', what: `access beyond the IPA size at 0x${ipa.toString(16)}` };
    const s = this.vm.findSlot(ipa);
    if (!s || (write && s.flags & KVM_MEM_READONLY)) return { kind: 'mmio' };
    const r = this.vm.mm.hostPage(s.uaddr + (ipa - s.gpa), write);
    if ('why' in r) return { kind: 'errno', errno: ERRNO.EFAULT };
    return r;
  }

  fetch(ipa: bigint): number | BusFault {
    const pg = ipa >> 12n;
    if (this.fetchPage?.ipaPage !== pg) {
      const r = this.resolve(ipa & ~0xfffn, false);
      if ('kind' in r) return r;
      this.fetchPage = { ipaPage: pg, page: r.page };
    }
    const o = Number(ipa & 0xfffn);
    const p = this.fetchPage.page;
    return (p[o]! | (p[o + 1]! << 8) | (p[o + 2]! << 16) | (p[o + 3]! << 24)) >>> 0;
  }

  load(ipa: bigint, size: number): bigint | BusFault {
    return busLoad((a, w) => this.resolve(a, w), ipa, size);
  }

  store(ipa: bigint, size: number, value: bigint): BusFault | undefined {
    return busStore((a, w) => this.resolve(a, w), ipa, size, value);
  }
}

type Resolver = (ipa: bigint, write: boolean) => { page: Uint8Array; off: number } | BusFault;

/** Byte-wise load through a resolver (handles accesses that straddle pages). */
export function busLoad(resolve: Resolver, ipa: bigint, size: number): bigint | BusFault {
  const first = resolve(ipa, false);
  if ('kind' in first) return first;
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) {
    const r = first.off + i < PAGE_SIZE ? { page: first.page, off: first.off + i } : resolve(ipa + BigInt(i), false);
    if ('kind' in r) return r;
    v = (v << 8n) | BigInt(r.page[r.off]!);
  }
  return v;
}

export function busStore(resolve: Resolver, ipa: bigint, size: number, value: bigint): BusFault | undefined {
  const first = resolve(ipa, true);
  if ('kind' in first) return first;
  for (let i = 0; i < size; i++) {
    const r = first.off + i < PAGE_SIZE ? { page: first.page, off: first.off + i } : resolve(ipa + BigInt(i), true);
    if ('kind' in r) return r;
    r.page[r.off] = Number((value >> BigInt(8 * i)) & 0xffn);
  }
  return undefined;
}
