// One simulated user process: what the C agent is on a real kernel. It binds
// handle names to fds and mappings, places nested ioctl buffers at fake user
// addresses for the duration of a call, and turns kernel outcomes into wire
// results exactly as agent/agent.c reports them.
import { ERRNO } from '../uapi/errno.ts';
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../uapi/kvm-uapi.ts';
import { fromHex, toHex, type WireArg, type WireBuf, type WireRequest, type WireResult } from '../uapi/wire.ts';
import { BadRequest, CallHangs, KernelError, KernelOops, ProcessKilled } from './errors.ts';
import { SystemFile } from './dev-kvm.ts';
import type { IoctlCtx, KFile, Kernel } from './kernel.ts';
import { PAGE_SIZE, type AddressSpace, type Vma } from './memory.ts';

export const EMULATOR_VERSION = '0.1.0';

export interface IdentityOptions {
  release: string;
  version: string;
}

interface FdEnt {
  name: string | undefined;
  fd: number;
  file: KFile;
  /** Installed by the current ioctl, not yet bound to a name. */
  pending?: boolean;
}

interface MapEnt {
  name: string | undefined;
  vma: Vma;
}

/** Microseconds since `t0` (performance.now()), as the agent reports a call's duration. */
const usSince = (t0: number): number => Math.round((performance.now() - t0) * 1000);

export class EmulatedProcess {
  private readonly fds: FdEnt[] = [];
  private readonly maps: MapEnt[] = [];
  readonly mm: AddressSpace;
  /** Set when the process died (timeout, signal): later requests get this error. */
  private dead: string | undefined;

  constructor(
    private readonly kernel: Kernel,
    private readonly identity: IdentityOptions,
  ) {
    this.mm = kernel.newAddressSpace();
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  /** Execute one request. Never throws. */
  handle(req: WireRequest): WireResult {
    const t0 = performance.now();
    if (this.kernel.oops) return { id: req.id, ret: -1, errno: 0, error: this.kernel.oops };
    if (this.dead) return { id: req.id, ret: -1, errno: 0, error: this.dead };
    try {
      const r = this.dispatch(req);
      return { ...r, id: req.id, us: usSince(t0) };
    } catch (e) {
      if (e instanceof BadRequest) return { id: req.id, ret: -1, errno: 0, error: `bad-request: ${e.message}` };
      if (e instanceof KernelOops) {
        this.kernel.oops = `target-crashed: kernel oops: ${e.message}`;
        this.exit();
        return { id: req.id, ret: -1, errno: 0, error: this.kernel.oops, us: usSince(t0) };
      }
      if (e instanceof CallHangs) {
        // as the agent: report the deadline, then the process is gone
        this.die('target-lost: session ended by a timeout');
        return { id: req.id, ret: -1, errno: 0, error: 'timeout', us: usSince(t0) };
      }
      if (e instanceof ProcessKilled) {
        const text = `target-crashed: agent killed by ${e.signal} (${e.why})`;
        this.die(text);
        return { id: req.id, ret: -1, errno: 0, error: text, us: usSince(t0) };
      }
      throw e;
    }
  }

  /** Close every handle and mapping (the `reset` op, and the end of a session). */
  exit(): void {
    this.mm.unmapAll();
    this.maps.length = 0;
    const fds = this.fds.splice(0);
    for (const f of fds.reverse()) f.file.release();
  }

  private die(why: string): void {
    this.exit();
    this.dead = why;
  }

  private findFd(name: string): FdEnt {
    const e = this.fds.find((f) => f.name === name);
    if (!e) throw new BadRequest(`unknown handle ${name}`);
    return e;
  }

  private findMap(name: string): MapEnt {
    const e = this.maps.find((m) => m.name === name);
    if (!e) throw new BadRequest(`unknown mapping ${name}`);
    return e;
  }

  /** The agent's want_mem: a mapping and an in-bounds range. */
  private mem(name: string, offset: number, len: number): MapEnt {
    const m = this.findMap(name);
    if (offset + len > m.vma.len) throw new BadRequest(`range ${offset}+${len} is past mapping ${name} (${m.vma.len} bytes)`);
    return m;
  }

  private bindFd(name: string, fd: number, file: KFile): void {
    const old = this.fds.find((f) => f.name === name);
    if (old) old.name = undefined; // orphaned; still closed by reset
    this.fds.push({ name, fd, file });
  }

  private bindMap(name: string, vma: Vma): void {
    const old = this.maps.find((m) => m.name === name);
    if (old) old.name = undefined;
    this.maps.push({ name, vma });
  }

  private nextFd(): number {
    let fd = 3;
    while (this.fds.some((f) => f.fd === fd)) fd++;
    return fd;
  }

  private dispatch(req: WireRequest): Omit<WireResult, 'id'> {
    switch (req.op) {
      case 'open': {
        if (req.path !== '/dev/kvm') return { ret: -1, errno: ERRNO.ENOENT };
        const fd = this.nextFd();
        this.bindFd(req.as, fd, new SystemFile(this.kernel));
        return { ret: fd, errno: 0 };
      }
      case 'close': {
        const e = this.findFd(req.fd);
        this.fds.splice(this.fds.indexOf(e), 1);
        e.file.release();
        return { ret: 0, errno: 0 };
      }
      case 'ioctl':
        return this.ioctl(req);
      case 'mmap':
        return this.mmap(req.as, req.len, req.prot, req.flags, req.fd, req.offset ?? 0);
      case 'munmap': {
        const m = this.findMap(req.mem);
        this.mm.munmap(m.vma);
        this.maps.splice(this.maps.indexOf(m), 1);
        return { ret: 0, errno: 0 };
      }
      case 'poke': {
        const bytes = fromHex(req.hex);
        const m = this.mem(req.mem, req.offset, bytes.length);
        this.mm.userAccess(m.vma, req.offset, bytes.length, true, bytes);
        return { ret: 0, errno: 0 };
      }
      case 'peek': {
        const m = this.mem(req.mem, req.offset, req.len);
        return { ret: 0, errno: 0, out: toHex(this.mm.userAccess(m.vma, req.offset, req.len, false)) };
      }
      case 'reset':
        this.exit();
        return { ret: 0, errno: 0 };
      case 'kmsg':
        // The model has no kernel log: as a kernel without /dev/kmsg (CONFIG_PRINTK=n) answers.
        return { ret: -1, errno: ERRNO.ENOENT };
      case 'info':
        return {
          ret: 0,
          errno: 0,
          info: {
            sysname: 'Linux',
            release: this.identity.release,
            version: this.identity.version,
            machine: 'aarch64',
            euid: 0,
            kvm: true,
            executor: `kvm-cca-emulator ${EMULATOR_VERSION}`,
          },
        };
    }
  }

  private mmap(as: string, len: number, prot: number, flags: number, fdName: string | undefined, offset: number): Omit<WireResult, 'id'> {
    const file = fdName !== undefined ? this.findFd(fdName).file : undefined;
    const type = flags & (MAP_SHARED | MAP_PRIVATE);
    if (type === 0 || type === (MAP_SHARED | MAP_PRIVATE) || offset % PAGE_SIZE !== 0) return { ret: -1, errno: ERRNO.EINVAL };
    if (prot & ~(PROT_READ | PROT_WRITE | 4)) return { ret: -1, errno: ERRNO.EINVAL };
    if (flags & MAP_ANONYMOUS) {
      this.bindMap(as, this.mm.mmap(len, prot, 'anon'));
      return { ret: 0, errno: 0 };
    }
    if (!file) return { ret: -1, errno: ERRNO.EBADF };
    const backing = file.mmapBacking(offset, len);
    if (typeof backing === 'number') return { ret: -1, errno: backing };
    this.bindMap(as, this.mm.mmap(len, prot, 'vcpu', backing));
    return { ret: 0, errno: 0 };
  }

  /** Place a WireBuf (and the buffers it points to) in fresh user memory; returns its address. */
  private placeBuf(b: WireBuf, scratch: Vma[], depth = 0): { addr: bigint; vma: Vma; len: number } {
    if (depth > 8) throw new BadRequest('buffers nested too deep');
    const bytes = fromHex(b.hex);
    // fd slots (KVM_SET_USER_MEMORY_REGION2's guest_memfd): the fd bound to a handle, as a u32
    for (const f of b.fds ?? []) {
      if (f.at + 4 > bytes.length) throw new BadRequest(`fds.at ${f.at} is past the buffer`);
      new DataView(bytes.buffer).setUint32(f.at, this.findFd(f.fd).fd, true);
    }
    for (const p of b.ptrs ?? []) {
      if (p.at + 8 > bytes.length) throw new BadRequest(`ptrs.at ${p.at} is past the buffer`);
      let addr: bigint;
      if ('buf' in p.to) addr = this.placeBuf(p.to.buf, scratch, depth + 1).addr;
      else addr = BigInt(this.mem(p.to.mem, p.to.offset, 0).vma.start + p.to.offset);
      new DataView(bytes.buffer).setBigUint64(p.at, addr, true);
    }
    // like the agent's calloc: a short buffer is followed by zeros, not by a fault
    const vma = this.mm.mmap(Math.max(bytes.length, 1), PROT_READ | PROT_WRITE, 'buffer');
    scratch.push(vma);
    if (bytes.length) this.mm.userAccess(vma, 0, bytes.length, true, bytes);
    return { addr: BigInt(vma.start), vma, len: bytes.length };
  }

  private ioctl(req: Extract<WireRequest, { op: 'ioctl' }>): Omit<WireResult, 'id'> {
    const ent = this.findFd(req.fd);
    const scratch: Vma[] = [];
    try {
      let arg: bigint;
      let top: { vma: Vma; len: number } | undefined;
      const a: WireArg = req.arg;
      if ('int' in a) arg = BigInt(a.int);
      else if ('buf' in a) {
        const placed = this.placeBuf(a.buf, scratch);
        arg = placed.addr;
        top = placed;
      } else arg = BigInt(this.mem(a.mem, a.offset, 0).vma.start + a.offset);
      for (const p of req.peek ?? []) this.mem(p.mem, p.offset, p.len);
      const fdAt = req.as_fd_at;
      if (fdAt !== undefined && (!top || req.as === undefined || fdAt + 4 > top.len)) {
        throw new BadRequest(`as_fd_at needs as and a buf argument holding a u32 at ${fdAt}`);
      }

      let ret: number;
      let errno = 0;
      try {
        ret = ent.file.ioctl(this.ctx(req.req, arg));
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        ret = -1;
        errno = e.errno;
      }
      if (ret >= 0 && req.as !== undefined) {
        // as_fd_at: the call wrote the new fd into its struct (KVM_CREATE_DEVICE) and returned 0
        const nfd = fdAt !== undefined ? new DataView(this.mm.userAccess(top!.vma, fdAt, 4, false).buffer).getInt32(0, true) : ret;
        const bound = this.fds.find((f) => f.fd === nfd && f.name === undefined && f.pending);
        if (bound) {
          bound.name = req.as;
          bound.pending = false;
          const old = this.fds.find((f) => f !== bound && f.name === req.as);
          if (old) old.name = undefined;
        }
      }
      for (const f of this.fds) f.pending = false;
      const out: Omit<WireResult, 'id'> = { ret, errno };
      if (top) out.out = toHex(this.mm.userAccess(top.vma, 0, top.len, false));
      if (req.peek) out.peek = req.peek.map((p) => toHex(this.mm.userAccess(this.findMap(p.mem).vma, p.offset, p.len, false)));
      return out;
    } finally {
      for (const v of scratch) this.mm.munmap(v);
    }
  }

  private ctx(req: number, arg: bigint): IoctlCtx {
    return new ProcessIoctlCtx(this, req, arg);
  }

  /** anon_inode_getfd for ProcessIoctlCtx. */
  installFd(file: KFile): number {
    const fd = this.nextFd();
    this.fds.push({ name: undefined, fd, file, pending: true });
    return fd;
  }

  /** fget for ProcessIoctlCtx. */
  fileOf(fd: number): KFile | undefined {
    return this.fds.find((f) => f.fd === fd)?.file;
  }

  get kernelOf(): Kernel {
    return this.kernel;
  }
}

/** One ioctl's context: a class, not closures made per call (the hot path of every ioctl). */
class ProcessIoctlCtx implements IoctlCtx {
  readonly kernel: Kernel;
  readonly mm: AddressSpace;
  constructor(
    private readonly proc: EmulatedProcess,
    readonly req: number,
    readonly arg: bigint,
  ) {
    this.kernel = proc.kernelOf;
    this.mm = proc.mm;
  }
  read(addr: bigint, len: number, why?: string): Uint8Array {
    return this.mm.copyFromUser(addr, len, why);
  }
  write(addr: bigint, bytes: Uint8Array, why?: string): void {
    this.mm.copyToUser(addr, bytes, why);
  }
  installFd(file: KFile): number {
    return this.proc.installFd(file);
  }
  fileOf(fd: number): KFile | undefined {
    return this.proc.fileOf(fd);
  }
}
