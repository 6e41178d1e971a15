// KVM_SET_USER_MEMORY_REGION and KVM_SET_USER_MEMORY_REGION2 (__kvm_set_memory_region).
import { FLAG_BITS } from '../uapi/kvm.ts';
import { STRUCTS } from '../uapi/kvm.ts';
import { sizeOf, view } from '../uapi/layout.ts';
import { KVM_MEM_GUEST_MEMFD } from '../uapi/kvm-uapi.ts';
import { MASK64 } from './aarch64.ts';
import { fail } from './errors.ts';
import { GuestMemfdFile } from './guest_memfd.ts';
import { type IoctlCtx, KVM_MEM_READONLY, KVM_USER_MEM_SLOTS } from './kernel.ts';
import { PAGE_SIZE, TASK_SIZE } from './memory.ts';
import type { Vm } from './vm.ts';

const KVM_MEM_MAX_NR_PAGES = 2 ** 31 - 1;
const KVM_MEM_LOG_DIRTY_PAGES = 1 << FLAG_BITS.KVM_MEM_LOG_DIRTY_PAGES;

export interface Memslot {
  id: number;
  flags: number;
  gpa: bigint;
  size: bigint;
  uaddr: bigint;
  /** KVM_MEM_GUEST_MEMFD: the private backing and the offset of gpa in it. */
  gmem?: { file: GuestMemfdFile; offset: bigint };
}

export function setMemoryRegion(vm: Vm, ctx: IoctlCtx, v2: boolean): number {
  const S = v2 ? STRUCTS.userspaceMemoryRegion2 : STRUCTS.userspaceMemoryRegion;
  const b = view(S, ctx.read(ctx.arg, sizeOf(S), `struct ${S.c}`));
  const slot = b.u32('slot');
  const flags = b.u32('flags');
  const gpa = b.u64('guest_phys_addr');
  const size = b.u64('memory_size');
  const uaddr = b.u64('userspace_addr');
  const gmemOffset = v2 ? b.u64('guest_memfd_offset') : 0n;
  const gmemFd = v2 ? b.u32('guest_memfd') : 0;
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
