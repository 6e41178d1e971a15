// What a check is and what it produces: its definition (CheckDef), the
// context it runs in (CheckContext: the profile's expectations, assertions,
// the DSL's /dev/kvm), and its outcome (CheckOutcome). The engine (engine.ts)
// selects and runs checks; reporters only read outcomes.
import type { AbiName, AbiProfile, Expect, ExpectKey, Generation } from '../../profiles/types.ts';
import { describeOutcome, succeeded, type CallRecord, type CallResult, type RecordingSession } from './calls.ts';
import { Kvm, setupFailure, type Vm } from './dsl/index.ts';
import { ERRNO } from '../../uapi/errno.ts';
import { returnsZero } from './returns.ts';
import type { Splat } from './kernel-log.ts';
import type { TargetKind } from './target.ts';

/** The areas of checks/, one per uAPI call or concern, in the order a VMM meets them; a check's name starts with its area and it lives in checks/<area>.ts. */
export const AREAS = [
  'generic',
  'absent',
  'probing',
  'create-vm',
  'enable-cap',
  'config',
  'vcpu-init',
  'create-realm',
  'init-ripas',
  'populate',
  'finalize-rec',
  'activate',
  'run',
  'psci-complete',
  'ordering',
  'lifecycle',
  'scenario',
] as const;
export type Area = (typeof AREAS)[number];

export interface CheckDef {
  /** Area-prefixed, unique within a revision: "populate/in-none". */
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
  /** Optional vCPU features the check's set-up uses: a target whose vCPU lacks one skips it. */
  needs?: readonly VcpuFeature[];
  run(c: CheckContext): Promise<void>;
}

/** Optional vCPU features, each with the capability that says whether KVM offers it. */
export const VCPU_FEATURES = {
  sve: { label: 'SVE', cap: 170, capName: 'KVM_CAP_ARM_SVE' },
  el1_32bit: { label: 'AArch32 EL1', cap: 93, capName: 'KVM_CAP_ARM_EL1_32BIT' },
} as const;
export type VcpuFeature = keyof typeof VCPU_FEATURES;

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
  /** The host CPUs run AArch32 at EL1 (KVM_CAP_ARM_EL1_32BIT reads 1). */
  hostEl1_32bit?: boolean;
}

const bool = (v: unknown): boolean => typeof v === 'boolean';
const intIn =
  (lo: number, hi: number) =>
  (v: unknown): boolean =>
    Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
/** What each setting may hold: the ranges the RMM's feature register and the host's IPA size can express. */
const SETTING_VALUES: Record<keyof EmulatorSettings, { ok: (v: unknown) => boolean; what: string }> = {
  rmmPresent: { ok: bool, what: 'true or false' },
  rmmSha512: { ok: bool, what: 'true or false' },
  rmmSve: { ok: bool, what: 'true or false' },
  // RMI_FEATURES SVE_VL: 4 bits
  rmmSveMaxVq: { ok: intIn(0, 15), what: 'an integer 0..15' },
  // S2SZ a realm may have: 32 bits at the least, 52 with LPA2 at the most
  rmmS2sz: { ok: intIn(32, 52), what: 'an integer 32..52' },
  rmmZeroDebugCounts: { ok: (v) => v === 'reject' || v === 'accept', what: '"reject" or "accept"' },
  hostIpaLimit: { ok: intIn(32, 52), what: 'an integer 32..52' },
  hostEl1_32bit: { ok: bool, what: 'true or false' },
};

/**
 * Why `v` is not emulator settings the suite itself would use, or undefined: a trace
 * from outside carries them (untrusted), and only known keys with sane values pass.
 */
export function emulatorSettingsProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be an object';
  for (const [k, x] of Object.entries(v)) {
    const d = (SETTING_VALUES as Partial<Record<string, (typeof SETTING_VALUES)[keyof EmulatorSettings]>>)[k];
    if (!d) return `unknown setting "${k}" (known: ${Object.keys(SETTING_VALUES).join(', ')})`;
    if (!d.ok(x)) return `"${k}" must be ${d.what}, not ${JSON.stringify(x)}`;
  }
  return undefined;
}

/**
 * blocked: a set-up step (a `must` call) failed before the check reached the
 * condition it tests; it is not a verdict on that condition, but the run still
 * fails (exit 1) unless a baseline names it.
 */
export type Status = 'pass' | 'fail' | 'blocked' | 'todo' | 'skip';

/** A status that makes the run fail: the check's condition failed, or its set-up did. */
export const isFailure = (s: Status): boolean => s === 'fail' || s === 'blocked';

export interface Assertion {
  ok: boolean;
  message: string;
  /** The condition id or mail the expectation came from. */
  source?: string;
  dispute?: string;
  /** The call the assertion judged, with its outcome: "KVM_ENABLE_CAP(RME, CREATE_REALM) = -1 ENXIO". */
  call?: string;
  /** Set on the assertion a kernel report made: the report's key ("WARN arch/arm64/kvm/rme.c:1213 kvm_realm_enable_cap"). */
  splat?: string;
  /** The trace seq of the call judged by a profile expectation, and what the profile expects of it. */
  seq?: number;
  expected?: { errno: string; ret?: number };
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
  /** For blocked: the set-up call that failed, with its outcome ("KVM_ENABLE_CAP(RME, CREATE_REALM) = -1 ENXIO"). */
  blockedBy?: string;
  /** Real targets: the kernel log lines logged while the check ran (up to 200). */
  kernelLog?: string[];
  /** The WARN/BUG/oops reports among them: each one fails the check. */
  splats?: Splat[];
}

export class CheckContext {
  readonly assertions: Assertion[] = [];
  readonly sources = new Set<string>();
  todoReason?: string;
  /** The expected refusals and successes the check saw, for the engine's "afterwards" observation. */
  readonly refusals: { seq: number; key: ExpectKey }[] = [];
  readonly successes: { seq: number; key: ExpectKey }[] = [];
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
      // A call whose API returns 0 on success is held to 0 where the profile pins nothing else.
      const req = r.seq !== undefined ? this.s.trace[r.seq - 1]?.request : undefined;
      const ret = e.ret ?? (req && returnsZero(this.abi, req) ? 0 : undefined);
      ok = succeeded(r) && (ret === undefined || r.ret === ret);
      wanted = ret === undefined ? 'success' : `${ret}`;
    } else {
      ok = r.error === undefined && r.ret === -1 && r.errno === ERRNO[e.errno];
      wanted = `-1 ${e.errno}`;
    }
    if (ok && r.seq !== undefined) (e.errno !== 0 ? this.refusals : this.successes).push({ seq: r.seq, key });
    const msg = `${r.label} ${describeOutcome(r)}${ok ? '' : `, expected ${wanted}`} (${e.source})${what ? `: ${what}` : ''}`;
    this.assertions.push({
      ok,
      message: msg,
      source: e.source,
      call: `${r.label} ${describeOutcome(r)}`,
      ...(e.dispute ? { dispute: e.dispute } : {}),
      ...(r.seq !== undefined ? { seq: r.seq } : {}),
      expected: { errno: e.errno === 0 ? '0' : e.errno, ...(e.ret !== undefined ? { ret: e.ret } : {}) },
    });
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
    if (!succeeded(r)) throw setupFailure(r);
    return p;
  }

  async mustAll(results: Promise<CallResult>[] | CallResult[]): Promise<void> {
    for (const r of await Promise.all(results.map(async (r) => r))) this.must(r);
  }

  /** /dev/kvm, opened once per check. */
  async kvm(): Promise<Kvm> {
    this.kvmHandle ??= await Kvm.open(this.s, this.abi);
    return this.kvmHandle;
  }

  async normalVm(ipaBits = 0): Promise<Vm> {
    const k = await this.kvm();
    return k.createVm(ipaBits);
  }

  async realmVm(ipaBits = 0): Promise<Vm> {
    const k = await this.kvm();
    return k.createVm(this.abi.vmTypeRealm + ipaBits);
  }
}

function fmtVal(v: unknown): string {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (typeof v === 'number') return Number.isInteger(v) && v > 9 ? `${v} (0x${v.toString(16)})` : String(v);
  return JSON.stringify(v);
}
