// What a call program may do: exactly what the suite's own DSL (harness/core/dsl/)
// ever issues, and nothing a trace or scenario from outside could turn
// against the machine it runs on (as root). Replay checks a whole trace
// against it before sending anything; scenario checks run every call through
// it; the agent (agent/agent.c) enforces the same rules itself.
//
// The rules are an explicit allowlist, one entry per wire op (OP_RULES is
// typed on WireOp: a new op does not compile until it has a rule here).
//   open     only /dev/kvm, flags O_RDWR|O_CLOEXEC at most
//   ioctl    on a handle the program holds, with a request number of the
//            revision's uAPI (kvm-uapi.ts's generic ones, the profile's own, and
//            the old PSCI-complete numbers the checks send on purpose); new
//            handles only from the ioctls that return fds; a pointer-taking
//            ioctl gets a buffer or a mapping, or an address below the first
//            page (the EFAULT checks)
//   mmap     anonymous and private, or shared of an fd the uAPI handed out
//            (vCPU kvm_run, guest_memfd); read/write at most, never fixed or exec
//   poke/peek only inside a mapping of the program, within its protection
import type { AbiProfile } from '../../profiles/types.ts';
import { PROFILES } from '../../profiles/index.ts';
import { IOCTLS, STRUCTS } from '../../uapi/kvm.ts';
import { fdSlots, requestOf } from '../../uapi/layout.ts';
import { decodeIoc, hex } from '../../uapi/ioc.ts';
import * as K from '../../uapi/kvm-uapi.ts';
import type { Call } from './target.ts';
import type { TraceFile } from '../tools/trace.ts';
import type { WireBuf, WireOp, WirePtrTarget } from '../../uapi/wire.ts';

/** The one path a program may open. */
export const KVM_DEV = '/dev/kvm';
export const OPEN_FLAGS = K.O_RDWR | K.O_CLOEXEC;
export const MAP_PROT = K.PROT_READ | K.PROT_WRITE;
export const MAP_NORESERVE = 0x4000;
/** Largest mapping a program may make: the suite's biggest is 2 MiB of guest memory. */
export const MAX_MAP_LEN = 1 << 30;
/** Addresses below this are never mapped (mmap_min_addr): an int argument there is a pointer that faults. */
export const FAULTING_POINTER_LIMIT = 4096;
/** Nested buffers a request may carry (the agent's own limit). */
export const MAX_BUF_DEPTH = 8;
/** Handle names: what RecordingSession.handle() makes ("vcpu4"), safe in C identifiers and messages. */
export const HANDLE_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** ioctls that return a new fd (bound with `as`); KVM_CREATE_DEVICE writes it into its struct at offset 4. */
const FD_RETURNING = new Set(
  Object.values(IOCTLS)
    .filter((d) => 'returns' in d)
    .map(requestOf),
);
const CREATE_DEVICE_FD_AT = fdSlots(STRUCTS.createDevice)[0]!;

/** The request numbers a program of this revision may send. */
export function allowedIoctls(abi: AbiProfile): ReadonlyMap<number, string> {
  const m = new Map(K.GENERIC_IOCTL_NAMES);
  if (abi.psciComplete) m.set(abi.psciComplete.req, abi.psciComplete.name);
  if (abi.rmiPopulate) m.set(abi.rmiPopulate.req, abi.rmiPopulate.name);
  for (const d of abi.uapi?.ioctls ?? []) m.set(requestOf(d), d.name);
  // The old-number checks send another revision's PSCI-complete number (checks/psci-complete.ts) and
  // v12's _IOW POPULATE number (checks/populate.ts, old-request-number) on purpose.
  if (abi.privateMemory === 'guest_memfd') {
    for (const p of PROFILES.values()) {
      if (p.psciComplete && !m.has(p.psciComplete.req)) m.set(p.psciComplete.req, `PSCI complete (0x${(p.psciComplete.req & 0xff).toString(16)})`);
      if (p.rmiPopulate && !m.has(p.rmiPopulate.req)) m.set(p.rmiPopulate.req, `${p.rmiPopulate.name} (${p.name}'s number)`);
    }
  }
  return m;
}

interface MapState {
  len: number;
  prot: number;
}

type Rule<O extends WireOp> = (p: CallPolicy, c: Extract<Call, { op: O }>) => string | undefined;

/** One rule per op: the allowlist. An op without a rule is refused. */
const OP_RULES: { [O in WireOp]: Rule<O> } = {
  open: (p, c) => {
    if (c.path !== KVM_DEV) return `open of ${JSON.stringify(c.path)}: only ${KVM_DEV} may be opened`;
    if ((c.flags & ~OPEN_FLAGS) !== 0) return `open flags ${hex(c.flags)}: only O_RDWR|O_CLOEXEC`;
    return p.bindFd(c.as, 'kvm');
  },
  close: (p, c) => p.needFd(c.fd) ?? (p.fds.delete(c.fd), undefined),
  ioctl: (p, c) => {
    const bad = p.needFd(c.fd);
    if (bad) return bad;
    if (!p.ioctls.has(c.req)) return `ioctl ${hex(c.req)} is not a request of ${p.abi.name}'s uAPI`;
    const d = decodeIoc(c.req);
    if ('int' in c.arg) {
      if (d.size > 0 && c.arg.int >= FAULTING_POINTER_LIMIT)
        return `ioctl ${p.name(c.req)} takes a pointer: an integer argument ${hex(c.arg.int)} could address the executor's memory`;
    } else if ('buf' in c.arg) {
      const b = p.checkBuf(c.arg.buf, 0);
      if (b) return b;
    } else {
      const m = p.needMem(c.arg.mem, c.arg.offset, 0);
      if (m) return m;
    }
    for (const pk of c.peek ?? []) {
      const m = p.needMem(pk.mem, pk.offset, pk.len, K.PROT_READ);
      if (m) return m;
    }
    if (c.as_fd_at !== undefined && (c.req !== K.KVM_CREATE_DEVICE || c.as_fd_at !== CREATE_DEVICE_FD_AT || c.as === undefined))
      return `as_fd_at belongs to KVM_CREATE_DEVICE (fd at offset ${CREATE_DEVICE_FD_AT}), not ${p.name(c.req)}`;
    if (c.as !== undefined) {
      if (!FD_RETURNING.has(c.req)) return `ioctl ${p.name(c.req)} returns no fd to bind as ${JSON.stringify(c.as)}`;
      return p.bindFd(c.as, 'uapi');
    }
    return undefined;
  },
  mmap: (p, c) => {
    if (!HANDLE_RE.test(c.as)) return `bad handle name ${JSON.stringify(c.as)}`;
    if ((c.prot & ~MAP_PROT) !== 0) return `mmap prot ${hex(c.prot)}: read/write at most (no exec)`;
    if ((c.flags & ~(K.MAP_SHARED | K.MAP_PRIVATE | K.MAP_ANONYMOUS | MAP_NORESERVE)) !== 0)
      return `mmap flags ${hex(c.flags)}: MAP_FIXED and the like are refused`;
    if (c.len > MAX_MAP_LEN) return `mmap of ${c.len} bytes: at most ${MAX_MAP_LEN}`;
    const shared = (c.flags & K.MAP_SHARED) !== 0;
    if (shared === ((c.flags & K.MAP_PRIVATE) !== 0)) return `mmap flags ${hex(c.flags)}: exactly one of MAP_SHARED and MAP_PRIVATE`;
    if (c.fd === undefined) {
      if (!(c.flags & K.MAP_ANONYMOUS) || shared) return 'a mapping without an fd must be MAP_PRIVATE|MAP_ANONYMOUS';
      if (c.offset) return 'an anonymous mapping has no offset';
    } else {
      const bad = p.needFd(c.fd);
      if (bad) return bad;
      if (p.fds.get(c.fd) !== 'uapi') return `mmap of ${c.fd}: only an fd the uAPI handed out (vCPU, guest_memfd) may be mapped`;
      if (c.flags & K.MAP_ANONYMOUS || !shared) return `mmap of ${c.fd} must be MAP_SHARED`;
      if ((c.offset ?? 0) % 4096 !== 0) return `mmap offset ${hex(c.offset ?? 0)} is not page aligned`;
    }
    p.maps.set(c.as, { len: c.len, prot: c.prot });
    return undefined;
  },
  munmap: (p, c) => (p.maps.has(c.mem) ? (p.maps.delete(c.mem), undefined) : `unknown mapping ${JSON.stringify(c.mem)}`),
  poke: (p, c) => p.needMem(c.mem, c.offset, c.hex.length / 2, K.PROT_WRITE),
  peek: (p, c) => p.needMem(c.mem, c.offset, c.len, K.PROT_READ),
  reset: (p) => {
    p.fds.clear();
    p.maps.clear();
    return undefined;
  },
  info: () => undefined,
  // reads only /dev/kmsg (the agent opens nothing else for it): the harness's WARN/oops watch
  kmsg: () => undefined,
};

/**
 * Follows a program call by call (handles and mappings it holds) and says
 * why a call is refused. Assumes every admitted call succeeds: a handle a
 * failed call never bound is then refused by the executor instead.
 */
export class CallPolicy {
  readonly fds = new Map<string, 'kvm' | 'uapi'>();
  readonly maps = new Map<string, MapState>();
  readonly ioctls: ReadonlyMap<number, string>;

  constructor(readonly abi: AbiProfile) {
    this.ioctls = allowedIoctls(abi);
  }

  /** Why `c` is refused, or undefined when it may run (the state then follows it). */
  admit(c: Call): string | undefined {
    if (c.timeout_ms !== undefined && !(Number.isSafeInteger(c.timeout_ms) && c.timeout_ms >= 1 && c.timeout_ms <= MAX_TIMEOUT_MS))
      return `timeout_ms ${String(c.timeout_ms)}: 1..${MAX_TIMEOUT_MS}`;
    const rule = (OP_RULES as Record<string, Rule<WireOp> | undefined>)[c.op];
    if (!rule) return `op ${JSON.stringify(c.op)} is not allowed`;
    return (rule as (p: CallPolicy, c: Call) => string | undefined)(this, c);
  }

  name(req: number): string {
    return this.ioctls.get(req) ?? hex(req);
  }

  bindFd(h: string, kind: 'kvm' | 'uapi'): string | undefined {
    if (!HANDLE_RE.test(h)) return `bad handle name ${JSON.stringify(h)}`;
    this.fds.set(h, kind);
    return undefined;
  }

  needFd(h: string): string | undefined {
    return this.fds.has(h) ? undefined : `unknown handle ${JSON.stringify(h)}`;
  }

  needMem(h: string, offset: number, len: number, prot = 0): string | undefined {
    const m = this.maps.get(h);
    if (!m) return `unknown mapping ${JSON.stringify(h)}`;
    if (offset + len > m.len) return `range ${hex(offset)}+${len} is past mapping ${h} (${m.len} bytes)`;
    if ((m.prot & prot) !== prot) return `mapping ${h} is not ${prot & K.PROT_WRITE ? 'writable' : 'readable'}`;
    return undefined;
  }

  checkBuf(b: WireBuf, depth: number): string | undefined {
    if (depth > MAX_BUF_DEPTH) return 'buffers nested too deep';
    for (const f of b.fds ?? []) {
      const bad = this.needFd(f.fd);
      if (bad) return bad;
    }
    for (const p of b.ptrs ?? []) {
      const bad = this.checkTarget(p.to, depth);
      if (bad) return bad;
    }
    return undefined;
  }

  private checkTarget(to: WirePtrTarget, depth: number): string | undefined {
    return 'buf' in to ? this.checkBuf(to.buf, depth + 1) : this.needMem(to.mem, to.offset, 0);
  }
}

/** Deadlines: a 32-bit signed millisecond count, as setitimer and Node's timers take them. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The first call of a trace the policy refuses: "call N (label): why". */
export function refusedCall(trace: Pick<TraceFile, 'calls'>, abi: AbiProfile): string | undefined {
  const p = new CallPolicy(abi);
  for (const [i, c] of trace.calls.entries()) {
    const why = p.admit(c.request);
    if (why) return `call ${i + 1} (${printable(c.label)}): refused: ${why}`;
  }
  return undefined;
}

/** A string from outside, fit for one line of a message: control characters shown as \xNN, cut short. */
export function printable(s: string, max = 120): string {
  const t = s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return t.length > max ? `${t.slice(0, max)}...` : t;
}
