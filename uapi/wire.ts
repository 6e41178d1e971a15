// The call program's wire format: one JSON object per line, one request in,
// one result out. The same lines go to the in-process emulator, to the C agent
// on a real kernel (agent/agent.c), into traces, and back out of them on replay.
// Nothing here knows an ABI revision: request numbers and struct bytes are
// computed by the profile, so a program runs unchanged on any target.
//
// Handles are names ("kvm", "vm", "vcpu0", "mem0") that the executor binds to
// a file descriptor or a mapping; a program never sees raw fds or addresses.
//
// Integers are JSON numbers and must be safe integers (< 2^53). 64-bit values
// that do not fit live inside struct bytes (hex), never in a JSON number.

/** Bytes passed by pointer, with pointers inside them patched by the executor. */
export interface WireBuf {
  /** Initial contents, lowercase hex, even length. */
  hex: string;
  /** Little-endian u64 slots in `hex` to overwrite with an address. */
  ptrs?: WirePtr[];
  /**
   * Little-endian u32 slots in `hex` to overwrite with the fd bound to a handle
   * (KVM_SET_USER_MEMORY_REGION2's guest_memfd). Additive: executors that
   * predate it must reject a request that carries it rather than ignore it.
   */
  fds?: WireFdSlot[];
}

export interface WireFdSlot {
  /** Byte offset of the u32 slot inside the enclosing buffer. */
  at: number;
  /** The handle whose fd goes there. */
  fd: string;
}

export interface WirePtr {
  /** Byte offset of the u64 slot inside the enclosing buffer. */
  at: number;
  to: WirePtrTarget;
}

export type WirePtrTarget =
  /** A nested buffer owned by the executor for the duration of the call. */
  | { buf: WireBuf }
  /** An address inside a mapping made by an earlier `mmap` request. */
  | { mem: string; offset: number };

/** The third argument of ioctl(2). */
export type WireArg =
  /** An integer argument (KVM_CREATE_VM type, KVM_CHECK_EXTENSION cap, ...). */
  | { int: number }
  /** A pointer to a buffer; its bytes after the call come back as `out`. */
  | { buf: WireBuf }
  /** A pointer into an existing mapping (e.g. a read-only struct). */
  | { mem: string; offset: number };

export interface WirePeek {
  mem: string;
  offset: number;
  len: number;
}

interface RequestBase {
  /** Sequence number, echoed in the result. */
  id: number;
  /** Deadline for this request in ms; the executor reports a timeout past it. */
  timeout_ms?: number;
}

export type WireRequest = RequestBase &
  (
    | { op: 'open'; path: string; flags: number; as: string }
    | { op: 'close'; fd: string }
    | {
        op: 'ioctl';
        fd: string;
        /** The full 32-bit request number (_IOC encoded). */
        req: number;
        arg: WireArg;
        /** Bind a non-negative return value (a new fd) to this handle. */
        as?: string;
        /**
         * With `as`: take the fd from the u32 at this offset of the `buf` argument
         * after the call instead of the return value (KVM_CREATE_DEVICE writes
         * the device fd into its struct and returns 0).
         */
        as_fd_at?: number;
        /** Mapping bytes to read back after the call (e.g. kvm_run after KVM_RUN). */
        peek?: WirePeek[];
      }
    | {
        op: 'mmap';
        as: string;
        len: number;
        prot: number;
        flags: number;
        /** A handle to map; absent for an anonymous mapping. */
        fd?: string;
        offset?: number;
      }
    | { op: 'munmap'; mem: string }
    | { op: 'poke'; mem: string; offset: number; hex: string }
    | { op: 'peek'; mem: string; offset: number; len: number }
    /** Close every handle and unmap every mapping: a fresh process state. */
    | { op: 'reset' }
    /** Identity of the executor's host: uname, euid, /dev/kvm. */
    | { op: 'info' }
    /**
     * The harness's own read of the kernel log (/dev/kmsg), between checks:
     * without `since` only the newest sequence number (a mark), with it the
     * records after that number. Never part of a check's calls.
     */
    | { op: 'kmsg'; since?: number }
  );

export type WireOp = WireRequest['op'];

export interface WireInfo {
  sysname: string;
  release: string;
  version: string;
  machine: string;
  euid: number;
  /** access("/dev/kvm", R_OK|W_OK) == 0 */
  kvm: boolean;
  /** Free text naming the executor (agent version, emulator revision). */
  executor: string;
}

export interface WireResult {
  id: number;
  /** Return value of the call; -1 with `errno` on failure (as libc reports it). */
  ret: number;
  /** errno after a failed call, 0 otherwise. */
  errno: number;
  /** For `ioctl` with a `buf` argument, and `peek`: the bytes after the call. */
  out?: string;
  /** For `ioctl` with `peek`: one hex string per peek, in order. */
  peek?: string[];
  /** For `info`. */
  info?: WireInfo;
  /** For `kmsg`: the records, each "PRIO,SEQ,USEC;TEXT" as /dev/kmsg gives them. */
  kmsg?: string[];
  /** For `kmsg`: the newest sequence number read (pass it as `since` next time). */
  seq?: number;
  /** For `kmsg`: records left out (output cap) and records the kernel overwrote before they were read. */
  dropped?: number;
  lost?: number;
  /** Wall time of the call itself in microseconds, measured by the executor. */
  us?: number;
  /**
   * Set when the request could not be executed at all:
   * - "timeout": the deadline passed; the executor exits after reporting it.
   * - "bad-request: ...": malformed request or unknown handle.
   * - "target-crashed: ...": the target died (an emulated oops, a killed agent).
   * - "target-lost: ...": the transport is gone (harness side).
   */
  error?: string;
}

const HEX = /^(?:[0-9a-f]{2})*$/;

function fail(msg: string): never {
  throw new WireError(msg);
}

export class WireError extends Error {
  override name = 'WireError';
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function int(v: unknown, what: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(`${what} must be an integer >= ${min}`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(`${what} must be a non-empty string`);
  return v;
}

function hex(v: unknown, what: string): string {
  if (typeof v !== 'string' || !HEX.test(v)) fail(`${what} must be lowercase hex of even length`);
  return v;
}

function checkBuf(v: unknown, what: string): WireBuf {
  if (!isObj(v)) fail(`${what} must be an object`);
  const h = hex(v.hex, `${what}.hex`);
  if (v.ptrs !== undefined) {
    if (!Array.isArray(v.ptrs)) fail(`${what}.ptrs must be an array`);
    v.ptrs.forEach((p: unknown, i) => {
      if (!isObj(p)) fail(`${what}.ptrs[${i}] must be an object`);
      const at = int(p.at, `${what}.ptrs[${i}].at`);
      if (at + 8 > h.length / 2) fail(`${what}.ptrs[${i}].at is past the buffer`);
      checkTarget(p.to, `${what}.ptrs[${i}].to`);
    });
  }
  if (v.fds !== undefined) {
    if (!Array.isArray(v.fds)) fail(`${what}.fds must be an array`);
    v.fds.forEach((f: unknown, i) => {
      if (!isObj(f)) fail(`${what}.fds[${i}] must be an object`);
      const at = int(f.at, `${what}.fds[${i}].at`);
      if (at + 4 > h.length / 2) fail(`${what}.fds[${i}].at is past the buffer`);
      str(f.fd, `${what}.fds[${i}].fd`);
    });
  }
  return v as unknown as WireBuf;
}

function checkTarget(v: unknown, what: string): void {
  if (!isObj(v)) fail(`${what} must be an object`);
  if ('buf' in v) checkBuf(v.buf, `${what}.buf`);
  else if ('mem' in v) {
    str(v.mem, `${what}.mem`);
    int(v.offset, `${what}.offset`);
  } else fail(`${what} must have buf or mem`);
}

/** Validate an untrusted object as a request (traces, agent tests). */
export function checkRequest(v: unknown): WireRequest {
  if (!isObj(v)) fail('request must be a JSON object');
  int(v.id, 'id');
  // Deadlines are a signed 32-bit millisecond count (setitimer, Node's timers): 2^31 and above are refused.
  if (v.timeout_ms !== undefined && int(v.timeout_ms, 'timeout_ms', 1) >= 2 ** 31) fail('timeout_ms must be below 2^31');
  switch (v.op) {
    case 'open':
      str(v.path, 'path');
      int(v.flags, 'flags');
      str(v.as, 'as');
      break;
    case 'close':
      str(v.fd, 'fd');
      break;
    case 'ioctl': {
      str(v.fd, 'fd');
      int(v.req, 'req');
      if ((v.req as number) > 0xffffffff) fail('req must fit in 32 bits');
      const a = v.arg;
      if (!isObj(a)) fail('arg must be an object');
      if ('int' in a) int(a.int, 'arg.int');
      else if ('buf' in a) checkBuf(a.buf, 'arg.buf');
      else if ('mem' in a) {
        str(a.mem, 'arg.mem');
        int(a.offset, 'arg.offset');
      } else fail('arg must have int, buf or mem');
      if (v.as !== undefined) str(v.as, 'as');
      if (v.as_fd_at !== undefined) int(v.as_fd_at, 'as_fd_at');
      if (v.peek !== undefined) {
        if (!Array.isArray(v.peek)) fail('peek must be an array');
        v.peek.forEach((p: unknown, i) => {
          if (!isObj(p)) fail(`peek[${i}] must be an object`);
          str(p.mem, `peek[${i}].mem`);
          int(p.offset, `peek[${i}].offset`);
          int(p.len, `peek[${i}].len`);
        });
      }
      break;
    }
    case 'mmap':
      str(v.as, 'as');
      int(v.len, 'len', 1);
      int(v.prot, 'prot');
      int(v.flags, 'flags');
      if (v.fd !== undefined) str(v.fd, 'fd');
      if (v.offset !== undefined) int(v.offset, 'offset');
      break;
    case 'munmap':
      str(v.mem, 'mem');
      break;
    case 'poke':
      str(v.mem, 'mem');
      int(v.offset, 'offset');
      hex(v.hex, 'hex');
      break;
    case 'peek':
      str(v.mem, 'mem');
      int(v.offset, 'offset');
      int(v.len, 'len');
      break;
    case 'reset':
    case 'info':
      break;
    case 'kmsg':
      if (v.since !== undefined) int(v.since, 'since');
      break;
    default:
      fail(`unknown op ${JSON.stringify(v.op)}`);
  }
  return v as unknown as WireRequest;
}

/** Validate an untrusted object as a result (agent output, traces). */
export function checkResult(v: unknown): WireResult {
  if (!isObj(v)) fail('result must be a JSON object');
  int(v.id, 'id');
  if (v.error !== undefined) {
    if (typeof v.error !== 'string') fail('error must be a string');
    return { ret: -1, errno: 0, ...v } as unknown as WireResult;
  }
  int(v.ret, 'ret', Number.MIN_SAFE_INTEGER);
  int(v.errno, 'errno');
  if (v.out !== undefined) hex(v.out, 'out');
  if (v.peek !== undefined) {
    if (!Array.isArray(v.peek)) fail('peek must be an array');
    v.peek.forEach((p, i) => hex(p, `peek[${i}]`));
  }
  if (v.kmsg !== undefined && (!Array.isArray(v.kmsg) || !v.kmsg.every((l) => typeof l === 'string'))) fail('kmsg must be an array of strings');
  for (const k of ['seq', 'dropped', 'lost'] as const) if (v[k] !== undefined) int(v[k], k, -1);
  return v as unknown as WireResult;
}

export function encodeLine(v: WireRequest | WireResult): string {
  return JSON.stringify(v) + '\n';
}

export function parseResultLine(line: string): WireResult {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    fail(`not JSON: ${line.slice(0, 120)}`);
  }
  return checkResult(v);
}

// Byte helpers shared by encoders and executors.
export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
export const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
