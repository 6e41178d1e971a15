// A VM (struct kvm): its fd, its state, KVM_CREATE_VM's type and IPA checks,
// and the VM ioctl dispatch (kvm_vm_ioctl / kvm_arch_vm_ioctl).
import { STRUCTS } from '../uapi/kvm.ts';
import { offsetOf } from '../uapi/layout.ts';
import { StructReader, StructWriter } from '../uapi/bytes.ts';
import {
  KVM_ARM_PREFERRED_TARGET,
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_DEVICE,
  KVM_CREATE_GUEST_MEMFD,
  KVM_CREATE_VCPU,
  KVM_ENABLE_CAP,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_SET_USER_MEMORY_REGION,
  KVM_SET_USER_MEMORY_REGION2,
  SIZEOF_KVM_ENABLE_CAP,
  SIZEOF_KVM_VCPU_INIT,
} from '../uapi/kvm-uapi.ts';
import { checkExtension } from './check-extension.ts';
import { fail } from './errors.ts';
import { createGuestMemfd, setMemoryAttributes } from './guest_memfd.ts';
import { type IoctlCtx, type Kernel, KFile, KVM_CAP_ARM_NISV_TO_USER, KVM_CAP_ARM_SYSTEM_SUSPEND, KVM_CAP_HALT_POLL, KVM_MAX_VCPUS } from './kernel.ts';
import type { AddressSpace } from './memory.ts';
import { type Memslot, setMemoryRegion } from './memslots.ts';
import type { RealmVm } from './realm-module.ts';
import { createVcpu, type Vcpu, VcpuFile } from './vcpu.ts';
import { createDevice, type Vgic } from './vgic.ts';

const KVM_PHYS_SHIFT = 40; // default IPA size for type 0
const ARM64_MIN_PARANGE_BITS = 32;

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
  /**
   * KVM_ARCH_FLAG_REG_WIDTH_CONFIGURED / EL1_32BIT (5.18 to 6.6): the EL1 register width the VM's first
   * VCPU_INIT fixed; undefined until then (G10).
   */
  el1Is32bit: boolean | undefined;
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

export function createVm(k: Kernel, ctx: IoctlCtx): Vm {
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
      const E = STRUCTS.enableCap;
      const cap = b.u32(offsetOf(E, 'cap'));
      const flags = b.u32(offsetOf(E, 'flags'));
      const args = [0, 1, 2, 3].map((i) => b.u64(offsetOf(E, 'args') + 8 * i));
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
          return fail('EINVAL', `ENABLE_CAP ${cap} not supported`);
      }
    }
    case KVM_CREATE_DEVICE:
      return createDevice(vm, ctx);
    case KVM_ARM_PREFERRED_TARGET: {
      const w = new StructWriter(SIZEOF_KVM_VCPU_INIT).u32(offsetOf(STRUCTS.vcpuInit, 'target'), KVM_ARM_TARGET_GENERIC_V8);
      ctx.write(ctx.arg, w.bytes, 'struct kvm_vcpu_init');
      return 0;
    }
  }
  const mine = k.realm?.vmIoctl(ctx, vm, ctx.req);
  if (mine !== undefined) return mine;
  // kvm_arch_vm_ioctl default
  fail('EINVAL', 'unknown VM ioctl');
}
