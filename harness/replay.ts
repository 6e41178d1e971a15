// Replay: send a trace's wire requests, verbatim and in order, to one fresh
// session of a target and compare each result with the recorded one. Handles
// are names, so a request means the same thing on every target.
import type { Session } from './target.ts';
import { describeOutcome } from './calls.ts';
import { decodeRunExit, KVM_RUN } from './kvm-uapi.ts';
import type { TraceCall, TraceFile } from './trace.ts';
import { fromHex, type WireResult } from './wire.ts';

export interface CallDiff {
  seq: number;
  label: string;
  /** What differs: "result", "out", "peek", "exit". */
  what: string;
  recorded: string;
  replayed: string;
}

/** Calls that bind a handle: the fd number or address is the target's business, only success counts. */
function bindsHandle(c: TraceCall): boolean {
  const r = c.request;
  return r.op === 'open' || r.op === 'mmap' || (r.op === 'ioctl' && r.as !== undefined);
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

function exitOf(hexStr: string | undefined): string {
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

export interface ReplayResult {
  calls: number;
  diffs: CallDiff[];
  results: WireResult[];
  /** Set when the target died mid-replay: later calls were not sent. */
  stoppedAt?: number;
}

/** Replay every call of the trace in one session (the caller opens and closes it). */
export async function replayCalls(trace: TraceFile, session: Session): Promise<ReplayResult> {
  const diffs: CallDiff[] = [];
  const results: WireResult[] = [];
  for (const c of trace.calls) {
    const got = await session.call(c.request);
    results.push(got);
    diffs.push(...compareCall(c, got));
    if (got.error?.startsWith('target-') || got.error === 'timeout') {
      if (c.result.error === undefined) return { calls: trace.calls.length, diffs, results, stoppedAt: c.seq };
    }
  }
  return { calls: trace.calls.length, diffs, results };
}

export function formatDiff(d: CallDiff): string {
  return `  call ${d.seq}: ${d.label}\n    ${d.what}: recorded ${d.recorded}\n    ${' '.repeat(d.what.length)}  replayed ${d.replayed}`;
}
