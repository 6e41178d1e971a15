// The recorded call layer between scenarios and a target session: every call
// gets a readable label, is timed, and lands in the check's trace.
import { errnoName } from '../../uapi/errno.ts';
import type { CallPolicy } from './policy.ts';
import type { Call, Session } from './target.ts';
import { fromHex, type WireResult } from '../../uapi/wire.ts';

/** One call as a check made it: what it meant, what went out, what came back. */
export interface CallRecord {
  /** e.g. "KVM_ENABLE_CAP(RME, POPULATE_REALM, base=0x80000000 size=0x1000)" */
  label: string;
  request: Call;
  result: WireResult;
  /** Harness-side wall time in ms (transport included). */
  ms: number;
  /** Decoded argument fields, per the active profile. */
  fields?: Record<string, string | number>;
}

export interface CallResult {
  label: string;
  ret: number;
  errno: number;
  /** Top-level argument buffer after the call. */
  out?: Uint8Array;
  peek?: Uint8Array[];
  /** Set when the call could not be executed (timeout, dead target). */
  error?: string;
  /** The call's place in the check's trace (1-based): lets an assertion name the call it judged. */
  seq?: number;
}

export const succeeded = (r: CallResult): boolean => r.error === undefined && r.ret >= 0;

/** "= 0", "= -1 EINVAL", "= <timeout>" */
export function describeOutcome(r: { ret: number; errno: number; error?: string }): string {
  if (r.error !== undefined) return `= <${r.error}>`;
  return r.ret < 0 ? `= ${r.ret} ${errnoName(r.errno)}` : `= ${r.ret}`;
}

export class RecordingSession {
  readonly trace: CallRecord[] = [];
  private handleSeq = 0;
  /** Set for programs from outside (scenario files): a call it refuses is never sent. */
  policy?: CallPolicy;
  constructor(
    private readonly session: Session,
    private readonly callTimeoutMs: number,
  ) {}

  /** A handle name unique within this session. */
  handle(prefix: string): string {
    return `${prefix}${++this.handleSeq}`;
  }

  async call(label: string, request: Call, fields?: Record<string, string | number>): Promise<CallResult> {
    const req = { timeout_ms: this.callTimeoutMs, ...request } as Call;
    const t0 = performance.now();
    const refused = this.policy?.admit(req);
    const result: WireResult = refused ? { id: 0, ret: -1, errno: 0, error: `bad-request: refused by policy: ${refused}` } : await this.session.call(req);
    const ms = performance.now() - t0;
    this.trace.push({ label, request: req, result, ms, ...(fields ? { fields } : {}) });
    const r: CallResult = { label, ret: result.ret, errno: result.errno, seq: this.trace.length };
    if (result.out !== undefined) r.out = fromHex(result.out);
    if (result.peek !== undefined) r.peek = result.peek.map(fromHex);
    if (result.error !== undefined) r.error = result.error;
    return r;
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
