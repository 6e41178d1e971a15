// "Physical" memory and one process's address space.
//
// Physical memory is a set of ranges of 4 KiB frames, allocated lazily (a
// 1 GiB mmap costs nothing until touched). The RMM model tracks granule state
// by frame number, so a page the VMM mapped and then populated into a realm is
// the same frame on both sides, as in RFC v1 (R1-PO13).
//
// The address space hands out fake user addresses: mmaps from 0x7f0000000000
// up, ioctl buffers from 0x550000000000 up, each followed by an unmapped guard
// page, so a copy that runs past a mapping faults as it would in the kernel.
import { ERRNO } from '../uapi/errno.ts';
import { PROT_READ, PROT_WRITE } from '../uapi/kvm-uapi.ts';
import { KernelError, ProcessKilled } from './errors.ts';

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
/** arm64 with 48-bit VAs: access_ok() refuses anything at or past this. */
export const TASK_SIZE = 2 ** 48;

export class PhysRange {
  private readonly pages = new Map<number, Uint8Array>();
  constructor(
    readonly baseFrame: number,
    readonly npages: number,
  ) {}
  /** The page at index `i`, zero-filled on first use. */
  page(i: number): Uint8Array {
    let p = this.pages.get(i);
    if (!p) {
      p = new Uint8Array(PAGE_SIZE);
      this.pages.set(i, p);
    }
    return p;
  }
}

export class PhysMem {
  private nextFrame = 0x80000; // 2 GiB: leave low "physical" addresses unused
  private readonly ranges: PhysRange[] = [];

  alloc(npages: number): PhysRange {
    const r = new PhysRange(this.nextFrame, npages);
    this.nextFrame += npages + 1;
    this.ranges.push(r);
    return r;
  }

  /** The page backing frame `f`, or undefined. Frames live as long as the kernel (pinned pages). */
  page(f: number): Uint8Array | undefined {
    for (const r of this.ranges) if (f >= r.baseFrame && f < r.baseFrame + r.npages) return r.page(f - r.baseFrame);
    return undefined;
  }
}

export interface Vma {
  start: number;
  len: number;
  prot: number;
  mem: PhysRange;
  /** First page of `mem` this mapping shows. */
  memPage: number;
  /** Bytes from `start` that have a backing page; past it, a fault (SIGBUS on a vCPU mmap past its size). */
  valid: number;
  kind: 'anon' | 'vcpu' | 'buffer';
}

/** A user-access outcome the caller turns into EFAULT (kernel) or a signal (process). */
type Access = { ok: true; page: Uint8Array; off: number; frame: number } | { ok: false; why: 'unmapped' | 'prot' | 'beyond' | 'delegated' };

export class AddressSpace {
  private readonly vmas: Vma[] = [];
  private nextMmap = 0x7f00_0000_0000;
  private nextBuf = 0x5500_0000_0000;

  constructor(
    private readonly phys: PhysMem,
    /** Granule protection: true when the frame belongs to a realm (delegated). */
    private readonly isDelegated: (frame: number) => boolean,
  ) {}

  /** mmap(NULL, len, prot, ...): anonymous memory, or `backing` for a vCPU's kvm_run pages. */
  mmap(len: number, prot: number, kind: Vma['kind'], backing?: { mem: PhysRange; memPage: number; valid: number }): Vma {
    const pages = Math.ceil(len / PAGE_SIZE);
    const isBuf = kind === 'buffer';
    const start = isBuf ? this.nextBuf : this.nextMmap;
    if (isBuf) this.nextBuf += (pages + 1) * PAGE_SIZE;
    else this.nextMmap += (pages + 1) * PAGE_SIZE;
    const v: Vma = {
      start,
      len: pages * PAGE_SIZE,
      prot,
      mem: backing?.mem ?? this.phys.alloc(pages),
      memPage: backing?.memPage ?? 0,
      valid: backing ? Math.min(backing.valid, pages * PAGE_SIZE) : pages * PAGE_SIZE,
      kind,
    };
    this.vmas.push(v);
    return v;
  }

  munmap(v: Vma): void {
    const i = this.vmas.indexOf(v);
    if (i >= 0) this.vmas.splice(i, 1);
  }

  unmapAll(): void {
    this.vmas.length = 0;
  }

  find(addr: number): Vma | undefined {
    for (const v of this.vmas) if (addr >= v.start && addr < v.start + v.len) return v;
    return undefined;
  }

  private access(addr: number, write: boolean): Access {
    const v = this.find(addr);
    if (!v) return { ok: false, why: 'unmapped' };
    if (!(v.prot & (write ? PROT_WRITE : PROT_READ))) return { ok: false, why: 'prot' };
    const rel = addr - v.start;
    if (rel >= v.valid) return { ok: false, why: 'beyond' };
    const pi = v.memPage + Math.floor(rel / PAGE_SIZE);
    const frame = v.mem.baseFrame + pi;
    if (this.isDelegated(frame)) return { ok: false, why: 'delegated' };
    return { ok: true, page: v.mem.page(pi), off: rel % PAGE_SIZE, frame };
  }

  /**
   * Walk [addr, addr+len) page by page. A kernel copy that faults is -EFAULT;
   * the emulator also answers EFAULT where the kernel would touch a delegated
   * granule (on hardware a Granule Protection Fault, R1-cover warning).
   */
  private walk(addr: bigint, len: number, write: boolean, fn: (page: Uint8Array, off: number, done: number, n: number) => void): Access | undefined {
    if (len === 0) return undefined;
    if (addr < 0n || addr + BigInt(len) > BigInt(TASK_SIZE)) return { ok: false, why: 'unmapped' };
    let a = Number(addr);
    let done = 0;
    while (done < len) {
      const r = this.access(a, write);
      if (!r.ok) return r;
      const n = Math.min(len - done, PAGE_SIZE - r.off);
      fn(r.page, r.off, done, n);
      done += n;
      a += n;
    }
    return undefined;
  }

  /** copy_from_user: all-or-nothing here (KVM callers treat any short copy as -EFAULT). */
  copyFromUser(addr: bigint, len: number, why = 'copy_from_user'): Uint8Array {
    const out = new Uint8Array(len);
    const bad = this.walk(addr, len, false, (p, off, done, n) => out.set(p.subarray(off, off + n), done));
    if (bad) throw new KernelError(ERRNO.EFAULT, `${why}: ${bad.ok ? '' : bad.why} at 0x${addr.toString(16)}`);
    return out;
  }

  /** copy_to_user. The kernel may have written a prefix before faulting; callers only see -EFAULT. */
  copyToUser(addr: bigint, data: Uint8Array, why = 'copy_to_user'): void {
    const bad = this.walk(addr, data.length, true, (p, off, done, n) => p.set(data.subarray(done, done + n), off));
    if (bad) throw new KernelError(ERRNO.EFAULT, `${why}: ${bad.ok ? '' : bad.why} at 0x${addr.toString(16)}`);
  }

  /** The process itself touches memory (poke/peek, the agent's memcpy). Faults kill it. */
  userAccess(v: Vma, off: number, len: number, write: boolean, data?: Uint8Array): Uint8Array {
    const out = new Uint8Array(write ? 0 : len);
    let a = v.start + off;
    let done = 0;
    while (done < len) {
      const r = this.access(a, write);
      if (!r.ok) {
        // R1-PO13: the VMM's own page was delegated by POPULATE; touching it is a GPF, SIGBUS.
        if (r.why === 'delegated') throw new ProcessKilled('SIGBUS', 'user access to a granule delegated to a realm (R1-PO13)');
        if (r.why === 'beyond') throw new ProcessKilled('SIGBUS', 'access past the end of a vCPU mapping');
        throw new ProcessKilled('SIGSEGV', `${write ? 'write to' : 'read of'} ${r.why} memory`);
      }
      const n = Math.min(len - done, PAGE_SIZE - r.off);
      if (write) r.page.set(data!.subarray(done, done + n), r.off);
      else out.set(r.page.subarray(r.off, r.off + n), done);
      done += n;
      a += n;
    }
    return out;
  }

  /**
   * KVM's view of a host virtual address backing guest RAM (get_user_pages):
   * the page and frame, or why it cannot be used.
   */
  hostPage(hva: bigint, write: boolean): { page: Uint8Array; off: number; frame: number } | { why: string } {
    if (hva < 0n || hva >= BigInt(TASK_SIZE)) return { why: 'unmapped' };
    const r = this.access(Number(hva), write);
    return r.ok ? r : { why: r.why };
  }

  /** The frame behind `hva` whatever its granule state (the pfn lookup of POPULATE, R1-PO9). */
  frameOf(hva: bigint): { page: Uint8Array; frame: number } | undefined {
    if (hva < 0n || hva >= BigInt(TASK_SIZE)) return undefined;
    const a = Number(hva);
    const v = this.find(a);
    if (!v || a - v.start >= v.valid) return undefined;
    const pi = v.memPage + Math.floor((a - v.start) / PAGE_SIZE);
    return { page: v.mem.page(pi), frame: v.mem.baseFrame + pi };
  }
}
