// Lock-step execution: every wire request goes to the target and to the
// reference emulator of the same revision, and the two results are compared
// before the next request is sent. The reference's result is what the caller
// (the scenario DSL) sees, so the program goes on the way the reference
// kernel would take it; the first difference is kept with both results.
import { bindsHandle, exitOf } from '../replay.ts';
import { describeOutcome } from '../../core/calls.ts';
import { KVM_RUN } from '../../../uapi/kvm-uapi.ts';
import type { Call, Session } from '../../core/target.ts';
import type { TraceCall } from '../trace.ts';
import type { WireResult } from '../../../uapi/wire.ts';

/** One call as both kernels answered it. */
export interface LockstepCall {
  request: Call;
  target: WireResult;
  reference: WireResult;
}

export interface Difference {
  /** 1-based place of the call in the sequence's calls. */
  seq: number;
  /** What differs: "result", "out", "exit", "peek". */
  what: string;
  target: string;
  reference: string;
}

/** The class of a harness-side error ("timeout", "bad-request", "target-crashed"): texts differ between executors. */
const errClass = (e: string): string => e.split(':')[0] ?? e;

function outcome(req: Call, r: WireResult, exact: boolean): string {
  if (r.error !== undefined) return `= <${errClass(r.error)}>`;
  // A handle's number (fd) is the target's business on a real kernel: only success counts there.
  if (!exact && bindsHandle({ request: req } as TraceCall) && r.ret >= 0) return '= ok (handle bound)';
  return describeOutcome(r);
}

/**
 * Between different executors, blank the pointer slots (each process places
 * its mappings and buffers elsewhere) and the fd slots (fd numbers are the
 * target's business). Two emulators place every mapping and buffer at the
 * same address, so there a pointer the kernel wrote back is compared as it
 * is: that is comparing how far it moved from the one sent, which a real
 * kernel shows too (KVM_ARM_RMI_POPULATE's source_uaddr, V14-PO15), and a
 * scenario pins it (harness/core/steps.ts rmi_populate_once "after").
 */
function maskSlots(req: Call, out: string, exact: boolean): string {
  if (exact || req.op !== 'ioctl' || !('buf' in req.arg)) return out;
  let s = out;
  for (const p of req.arg.buf.ptrs ?? []) s = s.slice(0, p.at * 2) + '*'.repeat(16) + s.slice(p.at * 2 + 16);
  for (const f of req.arg.buf.fds ?? []) s = s.slice(0, f.at * 2) + '*'.repeat(8) + s.slice(f.at * 2 + 8);
  if (req.as_fd_at !== undefined) s = s.slice(0, req.as_fd_at * 2) + '*'.repeat(8) + s.slice(req.as_fd_at * 2 + 8);
  return s;
}

/**
 * Compare one call's two results. `exact` (two emulators: same fd numbers,
 * same addresses) compares every byte; otherwise pointer and fd slots are blanked
 * and a KVM_RUN is compared by its exit, as replay does (harness/tools/replay.ts).
 */
export function compareResults(req: Call, t: WireResult, r: WireResult, exact: boolean, seq: number): Difference | undefined {
  // the common case between two emulators, without formatting either answer
  if (exact && t.ret === r.ret && t.errno === r.errno && t.error === r.error && t.out === r.out && samePeek(t.peek, r.peek)) return undefined;
  const d = (what: string, a: string, b: string): Difference => ({ seq, what, target: a, reference: b });
  const a = outcome(req, t, exact);
  const b = outcome(req, r, exact);
  if (a !== b) return d('result', a, b);
  if (t.error !== undefined) return undefined;
  const ta = t.out === undefined ? undefined : maskSlots(req, t.out, exact);
  const ra = r.out === undefined ? undefined : maskSlots(req, r.out, exact);
  if (ta !== ra) return d('out', ta ?? 'none', ra ?? 'none');
  const isRun = req.op === 'ioctl' && req.req === KVM_RUN;
  if (isRun && t.ret >= 0 && !exact) {
    const x = exitOf(t.peek?.[0]);
    const y = exitOf(r.peek?.[0]);
    return x === y ? undefined : d('exit', x, y);
  }
  const tp = JSON.stringify(t.peek ?? null);
  const rp = JSON.stringify(r.peek ?? null);
  return tp === rp ? undefined : d(isRun ? 'exit' : 'peek', isRun ? exitOf(t.peek?.[0]) : tp, isRun ? exitOf(r.peek?.[0]) : rp);
}

function samePeek(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a?.length !== b?.length) return false;
  return a!.every((x, i) => x === b![i]);
}

/** A Session that drives two sessions in lock-step; the reference's answer is returned. */
export class LockstepSession implements Session {
  readonly calls: LockstepCall[] = [];
  difference: Difference | undefined;

  constructor(
    private readonly target: Session,
    private readonly reference: Session,
    private readonly exact: boolean,
    /** Harness-side deadline per call, beyond the executor's own (timeout_ms). */
    private readonly deadlineMs: number,
  ) {}

  async call(req: Call): Promise<WireResult> {
    const tp = this.target.call(req);
    const [t, r] = await Promise.all([this.deadlineMs > 0 ? guard(tp, this.deadlineMs) : tp, this.reference.call(req)]);
    this.calls.push({ request: req, target: t, reference: r });
    this.difference ??= compareResults(req, t, r, this.exact, this.calls.length);
    return r;
  }

  async close(): Promise<void> {
    await Promise.all([this.target.close().catch(() => undefined), this.reference.close().catch(() => undefined)]);
  }
}

/** A call that outlives its deadline counts as a timeout (a lost transport must not hang exploration). */
function guard(p: Promise<WireResult>, ms: number): Promise<WireResult> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<WireResult>((resolve) => {
    timer = setTimeout(() => resolve({ id: 0, ret: -1, errno: 0, error: `timeout: no answer within ${ms} ms` }), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
