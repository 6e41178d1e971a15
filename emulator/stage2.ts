// A guest's memory as the vCPU sees it: a normal VM's stage 2, and the byte-wise access helpers a realm's stage 2 shares.
import { ERRNO } from '../uapi/errno.ts';
import type { BusFault, GuestBus } from './aarch64.ts';
import { KVM_MEM_READONLY } from './kernel.ts';
import { PAGE_SIZE } from './memory.ts';
import type { Vm } from './vm.ts';

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
