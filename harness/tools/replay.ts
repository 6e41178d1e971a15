// Replay: send a trace's wire requests, verbatim and in order, to one fresh
// session of a target and compare each result with the recorded one. Handles
// are names, so a request means the same thing on every target.
import type { AbiProfile } from '../../profiles/types.ts';
import type { Session } from '../core/target.ts';
import { describeOutcome } from '../core/calls.ts';
import { ERRNO, errnoName } from '../../uapi/errno.ts';
import { decodeRunExit, KVM_CHECK_EXTENSION, KVM_CREATE_VM, KVM_RUN, KVM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION2 } from '../../uapi/kvm-uapi.ts';
import { callExpectations, describeExpectation, meetsExpectation, type CallExpectation, type TraceCall, type TraceFile } from './trace.ts';
import { fromHex, type WireResult } from '../../uapi/wire.ts';

export interface CallDiff {
  seq: number;
  label: string;
  /** What differs: "result", "out", "peek", "exit". */
  what: string;
  recorded: string;
  replayed: string;
}

/** Calls that bind a handle: the fd number or address is the target's business, only success counts. */
export function bindsHandle(c: TraceCall): boolean {
  const r = c.request;
  return r.op === 'open' || r.op === 'mmap' || (r.op === 'ioctl' && r.as !== undefined);
}

// ---- the verdict rules shared by replay and the C reproducer (harness/tools/repro.ts)

/**
 * Structural calls make what the later calls use: a handle (open, mmap, a
 * VM, vCPU, device or guest_memfd fd) or the memslots. When one fails where
 * the spec promises success (or, for set-up the spec says nothing about,
 * where the recording succeeded), the calls after it would only report
 * EBADF/ENOENT on what was never made: both tools stop there.
 */
export function isStructural(c: TraceCall): boolean {
  const r = c.request;
  return bindsHandle(c) || (r.op === 'ioctl' && (r.req === KVM_SET_USER_MEMORY_REGION || r.req === KVM_SET_USER_MEMORY_REGION2));
}

/** Whether a failure of this call now stops the run (see isStructural). */
export function stopsOnFailure(c: TraceCall, e: CallExpectation | undefined): boolean {
  if (!isStructural(c)) return false;
  return e ? e.errno === 0 : c.result.error === undefined && c.result.ret >= 0;
}

/**
 * The calls that tell whether the kernel has the realm uAPI at all, and the
 * answers meaning it does not ("absent": kselftest's SKIP, exit 4):
 * - open("/dev/kvm") failing with ENOENT, ENODEV, ENXIO or EACCES: no KVM to
 *   test (the kernel's KVM selftests skip on ENOENT and EACCES likewise);
 * - KVM_CHECK_EXTENSION(the revision's realm CAP) answering 0 or EINVAL;
 * - KVM_CREATE_VM with the revision's realm type bit refused with EINVAL: a
 *   kernel without the series rejects the unknown type bits, and one with it
 *   but no RMM to talk to refuses the same way (abi-evolution.md §3.5).
 * Only where the spec does not itself expect that answer (a check of a bad
 * VM type expects EINVAL), and never for the `absent` revision, whose spec is
 * the kernel without the series.
 */
export type AbsenceProbe = 'open' | 'cap' | 'vm';
export function absenceProbe(c: TraceCall, abi: AbiProfile, e: CallExpectation | undefined): AbsenceProbe | undefined {
  const r = c.request;
  if (r.op === 'open') return r.path === '/dev/kvm' ? 'open' : undefined;
  if (abi.generation === 'absent' || r.op !== 'ioctl' || !('int' in r.arg)) return undefined;
  if (r.req === KVM_CHECK_EXTENSION && r.arg.int === abi.cap.nr && !(e?.errno === 0 && e.ret === 0)) return 'cap';
  const realm = abi.vmTypeRealm >>> 0;
  if (r.req === KVM_CREATE_VM && realm !== 0 && ((r.arg.int >>> 0) & realm) === realm && e?.errno !== ERRNO.EINVAL) return 'vm';
  return undefined;
}

/** The errnos of open("/dev/kvm") that mean there is no KVM to test. */
export const NO_KVM_ERRNOS = [ERRNO.ENOENT, ERRNO.ENODEV, ERRNO.ENXIO, ERRNO.EACCES] as const;

/** One line saying why the uAPI is absent, when this result of the probe shows it. */
export function showsAbsence(p: AbsenceProbe, abi: AbiProfile, r: Pick<WireResult, 'ret' | 'errno' | 'error'>): string | undefined {
  if (r.error !== undefined) return undefined;
  if (p === 'open')
    return r.ret < 0 && (NO_KVM_ERRNOS as readonly number[]).includes(r.errno) ? `open("/dev/kvm") = -1 ${errnoName(r.errno)}: no KVM to test` : undefined;
  if (p === 'cap')
    return r.ret === 0 || (r.ret === -1 && r.errno === ERRNO.EINVAL)
      ? `KVM_CHECK_EXTENSION(${abi.cap.name}) ${describeOutcome(r)}: the kernel does not offer the realm uAPI of ${abi.name}`
      : undefined;
  return r.ret === -1 && r.errno === ERRNO.EINVAL
    ? `KVM_CREATE_VM(realm type) = -1 EINVAL: the kernel has no realm VM type (no ${abi.name} realm uAPI, or no RMM behind it)`
    : undefined;
}

/** Pointer slots hold the executor's addresses, which differ between runs: blank them before comparing. */
function maskPtrs(c: TraceCall, out: string): string {
  const r = c.request;
  if (r.op !== 'ioctl' || !('buf' in r.arg) || !r.arg.buf.ptrs) return out;
  let s = out;
  for (const p of r.arg.buf.ptrs) s = s.slice(0, p.at * 2) + '*'.repeat(16) + s.slice(p.at * 2 + 16);
  // The device fd written back by KVM_CREATE_DEVICE is a number the target picks.
  if (r.as_fd_at !== undefined) s = s.slice(0, r.as_fd_at * 2) + '*'.repeat(8) + s.slice(r.as_fd_at * 2 + 8);
  return s;
}

const outcome = (c: TraceCall, r: Pick<WireResult, 'ret' | 'errno' | 'error'>): string =>
  bindsHandle(c) && r.ret >= 0 && r.error === undefined ? '= ok (handle bound)' : describeOutcome(r);

/** A KVM_RUN exit as one line (replay's comparison of exits). */
export function exitOf(hexStr: string | undefined): string {
  if (hexStr === undefined) return 'none';
  const e = decodeRunExit(fromHex(hexStr));
  if (e.reason === 'MMIO' && 'physAddr' in e) return `MMIO ${e.isWrite ? 'write' : 'read'} 0x${e.physAddr.toString(16)} len ${e.len}`;
  if (e.reason === 'SYSTEM_EVENT' && 'type' in e) return `SYSTEM_EVENT type ${e.type}`;
  return e.reason;
}

/** The differences between a recorded and a replayed result of one call. */
export function compareCall(c: TraceCall, got: WireResult): CallDiff[] {
  const rec = c.result;
  const d = (what: string, recorded: string, replayed: string): CallDiff => ({ seq: c.seq, label: c.label, what, recorded, replayed });
  const a = outcome(c, rec);
  const b = outcome(c, got);
  if (a !== b) return [d('result', a, b)];
  const out: CallDiff[] = [];
  if (rec.out !== undefined && got.out !== undefined) {
    const x = maskPtrs(c, rec.out);
    const y = maskPtrs(c, got.out);
    if (x !== y) out.push(d('out', x, y));
  }
  const isRun = c.request.op === 'ioctl' && c.request.req === KVM_RUN;
  if (isRun && rec.ret >= 0) {
    const x = exitOf(rec.peek?.[0]);
    const y = exitOf(got.peek?.[0]);
    if (x !== y) out.push(d('exit', x, y));
  } else if (rec.peek !== undefined && JSON.stringify(rec.peek) !== JSON.stringify(got.peek)) {
    out.push(d('peek', JSON.stringify(rec.peek), JSON.stringify(got.peek ?? null)));
  }
  return out;
}

/** One replayed call next to what the spec expects and what the trace recorded. */
export interface CallVerdict {
  seq: number;
  label: string;
  got: string;
  recorded: string;
  /** The spec's expectation with its source; undefined for set-up calls no expectation judged. */
  spec?: string;
  /** The result is not the spec's. */
  violates: boolean;
  /** The result (or its out bytes, exit, memory) is not the recording's. */
  differs: boolean;
}

export interface ReplayResult {
  calls: number;
  diffs: CallDiff[];
  results: WireResult[];
  verdicts: CallVerdict[];
  /** Set when the target died mid-replay: later calls were not sent. */
  stoppedAt?: number;
  /** Why the run stopped at a failed structural call (later calls were not sent). */
  stopped?: string;
  /** Set when a call showed the realm uAPI absent before any violation: later calls were not sent. */
  absent?: string;
  /** 0 conforms, 1 violates the spec (or stopped), 4 realm uAPI absent. */
  exitCode: 0 | 1 | 4;
}

/** Replay every call of the trace in one session (the caller opens and closes it). */
export async function replayCalls(trace: TraceFile, session: Session, abi?: AbiProfile): Promise<ReplayResult> {
  const diffs: CallDiff[] = [];
  const results: WireResult[] = [];
  const verdicts: CallVerdict[] = [];
  const expect = callExpectations(trace);
  // Out bytes, exits and memory have no expectation of their own: the check judged them through
  // its other assertions, so they count against the spec only when the recording conformed.
  const recordingConforms = trace.status === 'pass';
  const done = (extra: Partial<ReplayResult>): ReplayResult => {
    const violations = verdicts.filter((v) => v.violates).length;
    const exitCode = extra.absent !== undefined ? 4 : violations || extra.stopped !== undefined || extra.stoppedAt !== undefined ? 1 : 0;
    return { calls: trace.calls.length, diffs, results, verdicts, ...extra, exitCode };
  };
  for (const c of trace.calls) {
    const got = await session.call(c.request);
    results.push(got);
    const mine = compareCall(c, got);
    diffs.push(...mine);
    const e = expect.get(c.seq);
    const extraDiff = mine.some((d) => d.what !== 'result');
    const violates = (e !== undefined && !meetsExpectation(e, got)) || (recordingConforms && extraDiff);
    verdicts.push({
      seq: c.seq,
      label: c.label,
      got: outcome(c, got),
      recorded: outcome(c, c.result),
      ...(e ? { spec: `${describeExpectation(e)} (${e.source})` } : {}),
      violates,
      differs: mine.length > 0,
    });
    if (got.error?.startsWith('target-') || got.error === 'timeout') {
      if (c.result.error === undefined) return done({ stoppedAt: c.seq });
    }
    const probe = abi ? absenceProbe(c, abi, e) : undefined;
    const absent = probe && abi ? showsAbsence(probe, abi, got) : undefined;
    if (absent && !verdicts.some((v) => v.violates && v.seq !== c.seq)) {
      const v = verdicts[verdicts.length - 1]!;
      v.violates = false;
      return done({ absent });
    }
    if ((got.error !== undefined || got.ret < 0) && stopsOnFailure(c, e))
      return done({ stopped: `call ${c.seq} (${c.label}) failed ${outcome(c, got)}; the calls after it need what it makes` });
  }
  return done({});
}

/** One line per call: what it gave now, what the spec expects, what the trace recorded. */
export function formatVerdict(v: CallVerdict): string {
  const mark = v.violates ? '   <-- violates the spec' : v.differs ? '   <-- differs from the recording' : '';
  return `${String(v.seq).padStart(3)} ${v.label} ${v.got}   ${v.spec ? `spec: ${v.spec}   ` : ''}recorded: ${v.recorded}${mark}`;
}

export function formatDiff(d: CallDiff): string {
  return `  call ${d.seq}: ${d.label}\n    ${d.what}: recorded ${d.recorded}\n    ${' '.repeat(d.what.length)}  replayed ${d.replayed}`;
}
