// Private memory (v2 on, 6.9+ base): the guest_memfd file (KVM_CREATE_GUEST_MEMFD)
// and KVM_SET_MEMORY_ATTRIBUTES.
import { STRUCTS } from '../uapi/kvm.ts';
import { sizeOf, view } from '../uapi/layout.ts';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../uapi/kvm-uapi.ts';
import { MASK64 } from './aarch64.ts';
import { fail } from './errors.ts';
import { type IoctlCtx, KFile } from './kernel.ts';
import type { PhysRange } from './memory.ts';
import type { Memslot } from './memslots.ts';
import type { Vm } from './vm.ts';

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

/** The guest_memfd page behind `ipa` of a guest_memfd memslot. */
export function gmemPage(slot: Memslot, ipa: bigint): { page: Uint8Array; frame: number } | undefined {
  return slot.gmem?.file.page(slot.gmem.offset + (ipa - slot.gpa));
}

/** kvm_gmem_create: flags none known, size positive and page-aligned. */
export function createGuestMemfd(vm: Vm, ctx: IoctlCtx): number {
  const S = STRUCTS.createGuestMemfd;
  const b = view(S, ctx.read(ctx.arg, sizeOf(S), `struct ${S.c}`));
  const size = b.u64('size');
  const flags = b.u64('flags');
  if (flags !== 0n) fail('EINVAL', 'guest_memfd flags');
  if (size === 0n || size >= 1n << 63n || size & 0xfffn) fail('EINVAL', 'guest_memfd size');
  return ctx.installFd(new GuestMemfdFile(vm, size));
}

/** kvm_vm_ioctl_set_mem_attributes (generic): flags, supported attributes, size, wrap, alignment. */
export function setMemoryAttributes(vm: Vm, ctx: IoctlCtx): number {
  const S = STRUCTS.memoryAttributes;
  const b = view(S, ctx.read(ctx.arg, sizeOf(S), `struct ${S.c}`));
  const address = b.u64('address');
  const size = b.u64('size');
  const attributes = b.u64('attributes');
  const flags = b.u64('flags');
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
