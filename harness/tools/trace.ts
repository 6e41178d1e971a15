// Traces: one JSON file per check with every call it made (wire request,
// request name and number, argument bytes, decoded fields, result, timing) and
// the identity of the target. Replay (harness/tools/replay.ts) and the C reproducer
// (harness/tools/repro.ts) read nothing else, so a trace must be self-contained:
// it also carries what an emulator needs to behave the same (revision, bug
// switches, settings).
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AbiName } from '../../profiles/types.ts';
import { ABI_NAMES } from '../../profiles/types.ts';
import { PROFILES } from '../../profiles/index.ts';
import { requestOf } from '../../uapi/layout.ts';
import { describeOutcome, type CallRecord } from '../core/calls.ts';
import type { Assertion, CheckDef, CheckOutcome, EmulatorSettings, Status } from '../core/engine.ts';
import { emulatorSettingsProblem } from '../core/check.ts';
import { ERRNO, errnoName, isErrnoName } from '../../uapi/errno.ts';
import { jsonErrorAt } from './json-error.ts';
import { fsReason, mkdirs, OutputError, writeAtomic } from './output.ts';
import { decodeIoc, hex } from '../../uapi/ioc.ts';
import { GENERIC_IOCTL_NAMES } from '../../uapi/kvm-uapi.ts';
import type { Call, TargetIdentity, TargetKind } from '../core/target.ts';
import { checkRequest, checkResult, type WireResult } from '../../uapi/wire.ts';

export const TRACE_FORMAT = 'kvm-cca-trace/1';

export interface TraceTarget {
  kind: TargetKind;
  spec: string;
  sysname: string;
  release: string;
  machine: string;
  executor: string;
  /** The revision the checks were judged against, and the one probing found (when it ran). */
  revision: { selected: AbiName; detected?: string };
}

/** What an emulator must be told to answer the same way on replay. */
export interface TraceEmulator {
  bugs: string[];
  settings: EmulatorSettings;
}

export interface TraceCall {
  seq: number;
  label: string;
  /** "KVM_ENABLE_CAP", or the op ("open", "mmap", "poke", ...). */
  request_name: string;
  /** The full _IOC number, hex ("0x4068aea3"), for ioctls. */
  request_nr?: string;
  /** The top-level argument bytes as sent (hex), pointer slots still zero. */
  arg_bytes?: string;
  /** Decoded argument fields per the active profile (from the DSL). */
  fields?: Record<string, string | number>;
  /** The wire request, verbatim: replay sends exactly this. */
  request: Call;
  result: WireResult & { errno_name?: string };
  ms: number;
}

export interface TraceFile {
  format: typeof TRACE_FORMAT;
  check: string;
  area: string;
  abi: AbiName;
  description: string;
  status: Status;
  reason?: string;
  assertions: Assertion[];
  sources: string[];
  target_fault?: string;
  /** For a blocked check: the set-up call that failed. */
  blocked_by?: string;
  /** Real targets: the kernel log lines the check produced (WARN splats included). */
  kernel_log?: string[];
  ms: number;
  recorded_at: string;
  target: TraceTarget;
  emulator?: TraceEmulator;
  calls: TraceCall[];
}

export class TraceError extends Error {
  override name = 'TraceError';
}

/** The request's name: generic KVM ioctls by number, otherwise its _IOC spelling. */
export function requestName(req: Call, extraNames?: ReadonlyMap<number, string>): string {
  if (req.op !== 'ioctl') return req.op;
  const known = GENERIC_IOCTL_NAMES.get(req.req) ?? extraNames?.get(req.req);
  if (known) return known;
  const d = decodeIoc(req.req);
  const dir = ['_IO', '_IOW', '_IOR', '_IOWR'][d.dir];
  return `${dir!}(${hex(d.type)}, ${hex(d.nr)}, ${d.size})`; // dir is two bits: always one of the four
}

/** The realm ioctls a revision names (its uAPI description): PSCI complete, RMI populate and any it adds. */
export function realmRequestNames(abi: string): ReadonlyMap<number, string> {
  const p = PROFILES.get(abi as AbiName);
  const m = new Map<number, string>();
  if (p?.psciComplete) m.set(p.psciComplete.req, p.psciComplete.name);
  if (p?.rmiPopulate) m.set(p.rmiPopulate.req, p.rmiPopulate.name);
  for (const d of p?.uapi?.ioctls ?? []) m.set(requestOf(d), d.name);
  return m;
}

export function traceCall(r: CallRecord, seq: number, names?: ReadonlyMap<number, string>): TraceCall {
  const req = r.request;
  const result: TraceCall['result'] = { ...r.result };
  if (r.result.errno) result.errno_name = errnoName(r.result.errno);
  return {
    seq,
    label: r.label,
    request_name: requestName(req, names),
    ...(req.op === 'ioctl' ? { request_nr: hex(req.req) } : {}),
    ...(req.op === 'ioctl' && 'buf' in req.arg ? { arg_bytes: req.arg.buf.hex } : {}),
    ...(req.op === 'poke' ? { arg_bytes: req.hex } : {}),
    ...(r.fields ? { fields: r.fields } : {}),
    request: req,
    result,
    ms: Math.round(r.ms * 1000) / 1000,
  };
}

export interface TraceContext {
  identity: TargetIdentity;
  abi: AbiName;
  detected?: string;
  /** Emulator bug switches of the run (emulator targets only). */
  bugs?: readonly string[];
}

/** A trace's `target`: what ran the calls, and the revision selected (and detected). */
export function traceTarget(id: TargetIdentity, selected: AbiName, detected?: string): TraceFile['target'] {
  return {
    kind: id.kind,
    spec: id.spec,
    sysname: id.info.sysname,
    release: id.info.release,
    machine: id.info.machine,
    executor: id.info.executor,
    revision: { selected, ...(detected ? { detected } : {}) },
  };
}

export function buildTrace(o: CheckOutcome, def: Pick<CheckDef, 'emulatorSettings'> | undefined, ctx: TraceContext): TraceFile {
  const id = ctx.identity;
  return {
    format: TRACE_FORMAT,
    check: o.name,
    area: o.area,
    abi: ctx.abi,
    description: o.description,
    status: o.status,
    ...(o.reason ? { reason: o.reason } : {}),
    assertions: o.assertions,
    sources: o.sources,
    ...(o.targetFault ? { target_fault: o.targetFault } : {}),
    ...(o.blockedBy ? { blocked_by: o.blockedBy } : {}),
    ...(o.kernelLog?.length ? { kernel_log: o.kernelLog } : {}),
    ms: Math.round(o.ms * 1000) / 1000,
    recorded_at: new Date().toISOString(),
    target: traceTarget(id, ctx.abi, ctx.detected),
    ...(id.kind === 'emulator' ? { emulator: { bugs: [...(ctx.bugs ?? [])], settings: def?.emulatorSettings ?? {} } } : {}),
    calls: o.trace.map((r, i) => traceCall(r, i + 1, realmRequestNames(ctx.abi))),
  };
}

/** "rfc-v1__populate_before-create.json": safe on every filesystem, still readable. */
export function traceFileName(abi: string, check: string): string {
  return `${`${abi}__${check}`.replace(/\//g, '_').replace(/[^A-Za-z0-9._-]+/g, '-')}.json`;
}

let runTraceDir: string | undefined;

/**
 * Where failing traces go when --trace was not given: one private directory
 * per run (mkdtemp: no predictable name in a shared temp dir), made on first
 * use and shared by every revision of the run.
 */
export function defaultTraceDir(): string {
  if (runTraceDir) return runTraceDir;
  const base = process.env.KVM_CCA_TRACE_DIR || tmpdir();
  try {
    if (process.env.KVM_CCA_TRACE_DIR) mkdirs(base);
    runTraceDir = mkdtempSync(join(base, 'kvm-cca-traces-'));
  } catch (e) {
    throw new OutputError(`cannot make a trace directory in ${base}: ${fsReason(e)}`);
  }
  return runTraceDir;
}

/**
 * Writes traces as checks finish: every check with `dir`, and always a check
 * that failed (an assertion failed), so a CI log names a file to replay.
 * Each file is written atomically. A write that fails (ENOSPC, ...) is said
 * once (`error`) and ends trace writing for the run; checks go on.
 */
export class TraceWriter {
  identity?: TargetIdentity;
  detected?: string;
  readonly written: string[] = [];
  /** The first write error, one line; no trace is written after it. */
  error: string | undefined;

  constructor(
    private readonly opts: { dir?: string | undefined; abi: AbiName; bugs?: readonly string[]; fallbackDir?: () => string; onError?: (line: string) => void },
  ) {}

  private dirFor(all: boolean): string | undefined {
    if (this.opts.dir) return resolve(this.opts.dir);
    if (all) return undefined;
    this.fallback ??= (this.opts.fallbackDir ?? defaultTraceDir)();
    return this.fallback;
  }
  private fallback?: string;

  /** Write the outcome's trace if it should be kept; returns the path written. */
  record(o: CheckOutcome, def?: Pick<CheckDef, 'emulatorSettings'>): string | undefined {
    if (o.status === 'skip' || !this.identity || this.error) return undefined;
    const failed = o.assertions.some((a) => !a.ok);
    if (!this.opts.dir && !failed) return undefined;
    const t = buildTrace(o, def, {
      identity: this.identity,
      abi: this.opts.abi,
      ...(this.detected ? { detected: this.detected } : {}),
      ...(this.opts.bugs ? { bugs: this.opts.bugs } : {}),
    });
    try {
      const dir = this.dirFor(!failed)!;
      const path = join(dir, traceFileName(o.abi, o.name));
      writeAtomic(path, `${JSON.stringify(t, null, 1)}\n`, 'trace');
      this.written.push(path);
      return path;
    } catch (e) {
      if (!(e instanceof OutputError)) throw e;
      this.error = `${e.message}; no further traces are written`;
      this.opts.onError?.(this.error);
      return undefined;
    }
  }
}

// ---- reading (replay, repro): untrusted input, one clear error naming the file

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseTrace(text: string, path: string): TraceFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const at = jsonErrorAt(text, e);
    throw new TraceError(`${path}${at.line ? `:${at.line}` : ''}: not valid JSON (${at.message})`);
  }
  const bad = (msg: string): never => {
    throw new TraceError(`${path}: ${msg}`);
  };
  if (!isObj(v)) bad('a trace must be a JSON object');
  const t = v as Record<string, unknown>;
  if (t.format !== TRACE_FORMAT) bad(`not a trace (format must be "${TRACE_FORMAT}", got ${JSON.stringify(t.format)})`);
  for (const f of ['check', 'abi'] as const) if (typeof t[f] !== 'string' || !t[f]) bad(`missing "${f}"`);
  if (!(ABI_NAMES as readonly string[]).includes(t.abi as string)) bad(`unknown ABI revision "${String(t.abi)}"`);
  if (!isObj(t.target) || typeof t.target.kind !== 'string') bad('missing "target" identity');
  if (t.emulator !== undefined) {
    const e = t.emulator;
    if (!isObj(e) || !Array.isArray(e.bugs) || !e.bugs.every((b) => typeof b === 'string') || !isObj(e.settings))
      bad('"emulator" must be {bugs: [names], settings: {}}');
    const why = emulatorSettingsProblem((e as Record<string, unknown>).settings);
    if (why) bad(`"emulator.settings": ${why}`);
  }
  if (!Array.isArray(t.calls)) bad('"calls" must be an array');
  (t.calls as unknown[]).forEach((c, i) => {
    const where = `call ${i + 1}`;
    if (!isObj(c)) bad(`${where} must be an object`);
    const call = c as Record<string, unknown>;
    if (typeof call.label !== 'string') bad(`${where}: missing "label"`);
    try {
      checkRequest({ ...(isObj(call.request) ? call.request : { op: undefined }), id: 0 });
    } catch (e) {
      bad(`${where} (${String(call.label)}): bad request: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      checkResult({ ...(isObj(call.result) ? call.result : {}), id: 0 });
    } catch (e) {
      bad(`${where} (${String(call.label)}): bad result: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  return v as TraceFile;
}

export function readTrace(path: string): TraceFile {
  let text: string;
  try {
    // A FIFO or a terminal would block the read for ever: only a regular file is a trace.
    const st = statSync(path);
    if (!st.isFile()) throw new TraceError(`${path}: not a regular file (${st.isDirectory() ? 'a directory' : 'a special file'})`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof TraceError) throw e;
    throw new TraceError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseTrace(text, path);
}

// ---- what the revision's spec expects of each call (untrusted: every field checked)

/** A profile's promise for one call: errno 0 = success (any ret >= 0 unless `ret` pins it), else -1 with that errno. */
export interface CallExpectation {
  errno: number;
  ret?: number;
  /** The expectation's source (condition id or mail), as the trace has it. */
  source: string;
}

const expectedErrno = (s: unknown): number | undefined => (s === '0' || s === 0 ? 0 : typeof s === 'string' && isErrnoName(s) ? ERRNO[s] : undefined);

/**
 * Per call seq, the expectation of the assertion that judged it. Traces
 * written since the assertion carries `seq`/`expected` say it directly; for
 * older ones the assertion's `call` ("LABEL = RESULT") names the call and its
 * message the expectation (", expected -1 EINVAL (source)" when it failed).
 * Calls no profile expectation judged (set-up) are absent from the map.
 */
export function callExpectations(trace: TraceFile): Map<number, CallExpectation> {
  const out = new Map<number, CallExpectation>();
  const calls = Array.isArray(trace.calls) ? trace.calls : [];
  const taken = new Set<number>();
  for (const a of Array.isArray(trace.assertions) ? (trace.assertions as unknown[]) : []) {
    if (!isObj(a) || typeof a.source !== 'string' || typeof a.ok !== 'boolean') continue;
    // Traces written before assertions named their call (the real-stack recordings among them):
    // the call is the start of the message, "LABEL = RESULT (source)" or "LABEL = RESULT, expected ...".
    const msg = typeof a.message === 'string' ? a.message : '';
    const names = (text: string): boolean =>
      typeof a.call === 'string' ? a.call === text : msg.startsWith(`${text} (`) || msg.startsWith(`${text}, expected `);
    let seq: number | undefined;
    let exp: CallExpectation | undefined;
    if (Number.isSafeInteger(a.seq) && isObj(a.expected)) {
      const e = expectedErrno(a.expected.errno);
      const ret = a.expected.ret;
      if (e === undefined || (ret !== undefined && !Number.isSafeInteger(ret))) continue;
      seq = a.seq as number;
      exp = { errno: e, ...(ret !== undefined ? { ret: ret as number } : {}), source: a.source };
    } else {
      const c = calls.find((x) => !taken.has(x.seq) && names(`${x.label} ${describeOutcome(x.result)}`));
      if (!c) continue;
      seq = c.seq;
      if (a.ok) exp = c.result.ret < 0 ? { errno: c.result.errno, source: a.source } : { errno: 0, source: a.source };
      else {
        const m = /, expected (success|-?\d+|-1 (E[A-Z0-9]+)) \(/.exec(msg);
        if (!m) continue;
        const e = m[2] !== undefined ? expectedErrno(m[2]) : 0;
        if (e === undefined) continue;
        exp = { errno: e, ...(m[1] !== 'success' && m[2] === undefined ? { ret: Number(m[1]) } : {}), source: a.source };
      }
    }
    if (!calls.some((c) => c.seq === seq) || out.has(seq)) continue;
    taken.add(seq);
    out.set(seq, exp);
  }
  return out;
}

/** "= -1 EINVAL (V14-PO3)", "= 0", "success": the spec's side of one call. */
export function describeExpectation(e: CallExpectation): string {
  return e.errno ? `= -1 ${errnoName(e.errno)}` : e.ret !== undefined ? `= ${e.ret}` : 'success';
}

/** Whether a result is what the expectation promises. */
export function meetsExpectation(e: CallExpectation, r: { ret: number; errno: number; error?: string }): boolean {
  if (r.error !== undefined) return false;
  if (e.errno) return r.ret === -1 && r.errno === e.errno;
  return r.ret >= 0 && (e.ret === undefined || r.ret === e.ret);
}
