// The check engine: which checks apply to a profile, running each in a fresh
// session, judging results against the profile, and collecting what happened.
// Reporters (TAP, JUnit, summary) only read the CheckOutcome list.
import type { AbiName, AbiProfile, Expect, ExpectKey, Generation } from './abi/types.ts';
import { describeOutcome, RecordingSession, succeeded, type CallRecord, type CallResult } from './calls.ts';
import { Kvm, type Vm } from './dsl.ts';
import { ERRNO, errnoName } from './errno.ts';
import type { Target, TargetKind } from './target.ts';

export const AREAS = ['probing', 'lifecycle', 'misordering', 'config', 'ipa-ranges', 'populate', 'vcpu', 'run', 'ordering', 'generic'] as const;
export type Area = (typeof AREAS)[number];

export interface CheckDef {
  /** Unique, area-prefixed: "populate/before-create". */
  name: string;
  area: Area;
  /** What the check establishes, one line. */
  description: string;
  /** Profile expectations the check reads; it applies to a profile only if all are present. */
  expects: readonly ExpectKey[];
  /** Restrict to profiles of these generations (default: any that has the expectations). */
  generations?: readonly Generation[];
  /** Restrict to these revisions (launch orders of one VMM branch). */
  abis?: readonly AbiName[];
  /**
   * The cause is an emulator setting (the RMM's feature register, an absent RMM),
   * which a real target cannot be asked to change. The string says why.
   */
  emulatorOnly?: string;
  /** Emulator settings this check needs (applied to a fresh emulator instance). */
  emulatorSettings?: EmulatorSettings;
  run(c: CheckContext): Promise<void>;
}

/** What a check may ask of the emulator's model (see emulator/rmm.ts). */
export interface EmulatorSettings {
  rmmPresent?: boolean;
  rmmSha512?: boolean;
  rmmSve?: boolean;
  rmmSveMaxVq?: number;
  rmmS2sz?: number;
  /** RMI_REALM_CREATE with 0 breakpoints/watchpoints: 'reject' (TF-RMM v0.6.0 on) or 'accept' (older RMMs). */
  rmmZeroDebugCounts?: 'reject' | 'accept';
  hostIpaLimit?: number;
}

export type Status = 'pass' | 'fail' | 'todo' | 'skip';

export interface Assertion {
  ok: boolean;
  message: string;
  /** The condition id or mail the expectation came from. */
  source?: string;
  dispute?: string;
}

export interface CheckOutcome {
  name: string;
  area: Area;
  abi: string;
  description: string;
  status: Status;
  /** For todo: the UNCONFIRMED reason; for skip: why it did not run. */
  reason?: string;
  assertions: Assertion[];
  /** The sources of every expectation the check read. */
  sources: string[];
  trace: CallRecord[];
  ms: number;
  /** A failure the target itself caused (timeout, crash): named in the diagnostic. */
  targetFault?: string;
}

export class SetupFailure extends Error {
  override name = 'SetupFailure';
}

export interface RunOptions {
  abi: AbiProfile;
  target: Target;
  targetKind: TargetKind;
  allowCrash: boolean;
  callTimeoutMs: number;
  /** A check that has not finished by then fails, and the run goes on. */
  checkTimeoutMs: number;
  /** Makes a target for checks that need their own emulator settings. */
  targetFor?: (settings: EmulatorSettings) => Target;
  onOutcome?: (o: CheckOutcome, index: number) => void;
}

export class CheckContext {
  readonly assertions: Assertion[] = [];
  readonly sources = new Set<string>();
  todoReason?: string;
  private kvmHandle?: Kvm;

  constructor(
    readonly abi: AbiProfile,
    readonly s: RecordingSession,
    readonly targetKind: TargetKind,
  ) {}

  /** The profile's expectation; records its source and makes the check todo if UNCONFIRMED. */
  expectation(key: ExpectKey): Expect {
    const e = this.abi.expect[key];
    if (!e) throw new Error(`${this.abi.name} has no expectation ${key}`);
    this.sources.add(e.source);
    if (e.unconfirmed && !this.todoReason) this.todoReason = e.unconfirmed;
    return e;
  }

  /** Judge one call against the profile's promise for `key`. */
  expect(r: CallResult, key: ExpectKey, what?: string): boolean {
    const e = this.expectation(key);
    let ok: boolean;
    let wanted: string;
    if (e.errno === 0) {
      ok = succeeded(r) && (e.ret === undefined || r.ret === e.ret);
      wanted = e.ret === undefined ? 'success' : `${e.ret}`;
    } else {
      ok = r.error === undefined && r.ret === -1 && r.errno === ERRNO[e.errno];
      wanted = `-1 ${e.errno}`;
    }
    const msg = `${r.label} ${describeOutcome(r)}${ok ? '' : `, expected ${wanted}`} (${e.source})${what ? `: ${what}` : ''}`;
    this.assertions.push({ ok, message: msg, source: e.source, ...(e.dispute ? { dispute: e.dispute } : {}) });
    return ok;
  }

  /** A plain assertion with its own source. */
  ok(cond: boolean, message: string, source?: string): boolean {
    if (source) this.sources.add(source);
    this.assertions.push({ ok: cond, message, ...(source ? { source } : {}) });
    return cond;
  }

  equal<T>(actual: T, expected: T, message: string, source?: string): boolean {
    const ok = actual === expected;
    return this.ok(ok, ok ? message : `${message}: got ${fmtVal(actual)}, expected ${fmtVal(expected)}`, source);
  }

  /** A step the scenario needs in order to reach the condition under test: it must succeed. */
  must<T extends { r: CallResult }>(p: T): NonNullable<Omit<T, 'r'>> & { r: CallResult };
  must(p: CallResult): CallResult;
  must(p: CallResult | { r: CallResult }): unknown {
    const r = 'r' in p ? p.r : p;
    if (!succeeded(r)) throw new SetupFailure(`setup step failed: ${r.label} ${describeOutcome(r)}`);
    return p;
  }

  async mustAll(results: Promise<CallResult>[] | CallResult[]): Promise<void> {
    for (const r of await Promise.all(results)) this.must(r);
  }

  /** /dev/kvm, opened once per check. */
  async kvm(): Promise<Kvm> {
    if (!this.kvmHandle) {
      const o = await Kvm.open(this.s, this.abi);
      if (!o.kvm) throw new SetupFailure(`setup step failed: ${o.r.label} ${describeOutcome(o.r)}`);
      this.kvmHandle = o.kvm;
    }
    return this.kvmHandle;
  }

  async normalVm(ipaBits = 0): Promise<Vm> {
    const k = await this.kvm();
    return this.must(await k.createVm(ipaBits)).vm as Vm;
  }

  async realmVm(ipaBits = 0): Promise<Vm> {
    const k = await this.kvm();
    return this.must(await k.createVm(this.abi.vmTypeRealm + ipaBits)).vm as Vm;
  }
}

function fmtVal(v: unknown): string {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (typeof v === 'number') return Number.isInteger(v) && v > 9 ? `${v} (0x${v.toString(16)})` : String(v);
  return JSON.stringify(v);
}

/** The checks that apply to a profile (all expectations present, generation matches). */
export function applicable(checks: readonly CheckDef[], abi: AbiProfile): CheckDef[] {
  return checks.filter(
    (c) =>
      (!c.generations || c.generations.includes(abi.generation)) &&
      (!c.abis || c.abis.includes(abi.name)) &&
      c.expects.every((k) => abi.expect[k] !== undefined),
  );
}

/** Why a check that applies to the profile does not run on this target, if it does not. */
export function skipReason(c: CheckDef, abi: AbiProfile, kind: TargetKind, allowCrash: boolean): string | undefined {
  if (c.emulatorOnly && kind !== 'emulator') return `emulator only: ${c.emulatorOnly}`;
  if (kind !== 'emulator' && !allowCrash) {
    const crash = c.expects.map((k) => abi.expect[k]?.crash).find((x) => x);
    if (crash) return `crashes the kernel (${crash}); run with --allow-crash`;
  }
  return undefined;
}

export function matchFilter(name: string, filters: readonly string[]): boolean {
  if (filters.length === 0) return true;
  return filters.some((f) => (f.includes('*') ? new RegExp(`^${f.split('*').map(escapeRe).join('.*')}$`).test(name) : name.includes(f)));
}
const escapeRe = (s: string): string => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SetupFailure(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Run one check in a fresh session; never throws. */
export async function runCheck(def: CheckDef, o: RunOptions): Promise<CheckOutcome> {
  const base = { name: def.name, area: def.area, abi: o.abi.name, description: def.description };
  const skip = skipReason(def, o.abi, o.targetKind, o.allowCrash);
  if (skip) return { ...base, status: 'skip', reason: skip, assertions: [], sources: [], trace: [], ms: 0 };

  const t0 = performance.now();
  let target = o.target;
  let own: Target | undefined;
  if (def.emulatorSettings && o.targetFor) {
    own = o.targetFor(def.emulatorSettings);
    await own.start();
    target = own;
  }
  const session = new RecordingSession(await target.session(), o.callTimeoutMs);
  const c = new CheckContext(o.abi, session, o.targetKind);
  for (const k of def.expects) c.expectation(k);
  let thrown: string | undefined;
  try {
    await withTimeout(def.run(c), o.checkTimeoutMs, 'check');
  } catch (e) {
    thrown = e instanceof SetupFailure ? e.message : `harness error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
  } finally {
    await session.close().catch(() => undefined);
    if (own) await own.stop().catch(() => undefined);
  }
  const fault = session.trace.map((r) => r.result.error).find((e) => e !== undefined);
  const assertions = [...c.assertions];
  if (thrown) assertions.push({ ok: false, message: thrown });
  if (assertions.length === 0) assertions.push({ ok: false, message: 'the check asserted nothing' });
  const failed = assertions.some((a) => !a.ok);
  const status: Status = c.todoReason ? 'todo' : failed ? 'fail' : 'pass';
  return {
    ...base,
    status,
    ...(c.todoReason ? { reason: c.todoReason } : {}),
    assertions,
    sources: [...c.sources],
    trace: session.trace,
    ms: performance.now() - t0,
    ...(fault ? { targetFault: fault } : {}),
  };
}

export async function runChecks(defs: readonly CheckDef[], o: RunOptions): Promise<CheckOutcome[]> {
  const out: CheckOutcome[] = [];
  for (const [i, d] of defs.entries()) {
    const r = await runCheck(d, o);
    out.push(r);
    o.onOutcome?.(r, i);
    // An emulated oops kills that kernel only; boot a fresh one for the next check.
    // A real target that crashed stays dead, and the checks after it say so.
    if (r.targetFault?.startsWith('target-crashed') && o.targetKind === 'emulator') {
      await o.target.stop();
      await o.target.start();
    }
  }
  return out;
}

/** Readable form of the last calls of a check, for diagnostics. */
export function lastCalls(o: CheckOutcome, n = 6): string[] {
  return o.trace.slice(-n).map((r) => `${r.label} ${describeOutcome(r.result)}`);
}

export { errnoName };
