// The check engine: which checks apply to a profile, running each in a fresh
// session, judging results against the profile, and collecting what happened.
// What a check is (CheckDef, CheckContext, CheckOutcome) lives in check.ts.
// Reporters (TAP, JUnit, summary) only read the CheckOutcome list.
import { declaredAfterwards, observeEffect, observePartialRefusal, observeRefusal, visibleEffect } from './afterwards.ts';
import type { AbiProfile } from '../../profiles/types.ts';
import { describeOutcome, RecordingSession } from './calls.ts';
import { SetupFailure } from './dsl/index.ts';
import { errnoName } from '../../uapi/errno.ts';
import { findSplats, kernelLogOf } from './kernel-log.ts';
import type { Target, TargetKind } from './target.ts';
import { CheckContext, VCPU_FEATURES, type CheckDef, type CheckOutcome, type EmulatorSettings, type Status, type VcpuFeature } from './check.ts';

// What a check is (harness/core/check.ts), for the modules that import it from here.
export {
  AREAS,
  CheckContext,
  isFailure,
  VCPU_FEATURES,
  type Area,
  type Assertion,
  type CheckDef,
  type CheckOutcome,
  type EmulatorSettings,
  type Status,
  type VcpuFeature,
} from './check.ts';

/**
 * Which optional vCPU features the target's KVM offers: KVM_CHECK_EXTENSION on
 * /dev/kvm, in a session of its own (the emulator answers from its settings).
 * A feature the probe cannot read is taken as present: the check then runs and says what happened.
 */
export async function probeVcpuFeatures(target: Target, callTimeoutMs: number): Promise<Map<VcpuFeature, boolean>> {
  const out = new Map<VcpuFeature, boolean>();
  const s = await target.session();
  try {
    const kvm = await s.call({ op: 'open', path: '/dev/kvm', flags: 2, as: 'kvm', timeout_ms: callTimeoutMs });
    for (const [f, d] of Object.entries(VCPU_FEATURES) as [VcpuFeature, (typeof VCPU_FEATURES)[VcpuFeature]][]) {
      if (kvm.ret < 0 || kvm.error) break;
      const r = await s.call({ op: 'ioctl', fd: 'kvm', req: 0xae03 /* KVM_CHECK_EXTENSION */, arg: { int: d.cap }, timeout_ms: callTimeoutMs });
      if (!r.error && r.ret >= 0) out.set(f, r.ret > 0);
    }
  } finally {
    await s.close().catch(() => undefined);
  }
  return out;
}

// A must() call, or an asserting DSL call (createVm, createVcpu, ...), that failed.
export { SetupFailure };

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
  /** The target vCPU's optional features; probed by runChecks when a check needs one. */
  vcpuFeatures?: ReadonlyMap<VcpuFeature, boolean>;
  onOutcome?: (o: CheckOutcome, index: number) => void;
  /** Checked before each check: true ends the run here (a signal is being handled). */
  cancelled?: () => boolean;
  /** Deadline of the one probe after a real target stopped answering (ms); default callTimeoutMs. */
  probeTimeoutMs?: number;
  /** Observe what every expected refusal left behind and every success did (harness/core/afterwards.ts); default on. */
  afterwards?: boolean;
}

/** Where the rule that a refused call changes nothing is written down. */
export const AFTERWARDS_SOURCE = 'docs/spec/precedence.md#a-refused-call-changes-nothing';

/** The engine's "and afterwards" for every refusal and visible success the check expected: one assertion each. */
async function observeAfterwards(c: CheckContext, target: Target, o: RunOptions): Promise<void> {
  // The check's own session stands for the "with" side of the observation of its last call
  // (afterwards.ts: differential); once, since the probe changes it.
  let live: RecordingSession | undefined = c.s;
  const liveFor = (seq: number): RecordingSession | undefined => {
    if (!live || seq !== c.s.trace.length) return undefined;
    const s = live;
    live = undefined;
    return s;
  };
  for (const { seq, key } of c.refusals) {
    const declared = declaredAfterwards(key, o.abi);
    if (declared && 'unobservable' in declared) continue;
    if (declared && 'partial' in declared) {
      const p = await observePartialRefusal(target, o.abi, c.s.trace, seq, o.callTimeoutMs, declared.done, liveFor(seq));
      if (p.observed) c.ok(p.ok, p.message, declared.partial);
      continue;
    }
    const r = await observeRefusal(target, o.abi, c.s.trace, seq, o.callTimeoutMs, liveFor(seq));
    if (!r.observed) continue;
    if (declared && 'changes' in declared) {
      c.ok(
        !r.ok,
        r.ok
          ? `afterwards: the refusal should leave a trace (${declared.changes}) but the probe saw none`
          : r.message.replace('changed what follows', 'changed what follows, as it should'),
        declared.changes,
      );
    } else c.ok(r.ok, r.message, AFTERWARDS_SOURCE);
  }
  // A success that should show: once per call (a check may judge one call twice).
  const seen = new Set<number>();
  for (const { seq } of c.successes) {
    const rec = c.s.trace[seq - 1];
    if (seen.has(seq) || !rec || !visibleEffect(o.abi, rec.request)) continue;
    seen.add(seq);
    const r = await observeEffect(target, o.abi, c.s.trace, seq, o.callTimeoutMs, liveFor(seq));
    if (r.observed) c.ok(r.ok, r.message, AFTERWARDS_SOURCE);
  }
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

/** "needs SVE: ..." when the target's vCPU lacks a feature the check needs. */
export function featureSkip(c: CheckDef, have: ReadonlyMap<VcpuFeature, boolean> | undefined): string | undefined {
  const missing = (c.needs ?? []).find((f) => have?.get(f) === false);
  if (!missing) return undefined;
  const d = VCPU_FEATURES[missing];
  return `needs ${d.label}: the target's vCPU has none (KVM_CHECK_EXTENSION(${d.capName}) = 0)`;
}

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
  // a check with its own emulator settings runs on an emulator whose host they describe, not on the probed target
  const ownHost = def.emulatorSettings !== undefined && o.targetFor !== undefined;
  const skip = skipReason(def, o.abi, o.targetKind, o.allowCrash) ?? (ownHost ? undefined : featureSkip(def, o.vcpuFeatures));
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
  let blockedBy: string | undefined;
  try {
    await withTimeout(def.run(c), o.checkTimeoutMs, 'check');
    // Only a check that passed so far: a failure is already the verdict, and a todo's facts are not facts.
    if (o.afterwards !== false && !c.todoReason && c.refusals.length + c.successes.length > 0 && c.assertions.every((a) => a.ok))
      await withTimeout(observeAfterwards(c, target, o), o.checkTimeoutMs, 'afterwards');
  } catch (e) {
    thrown = e instanceof SetupFailure ? e.message : `harness error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    if (e instanceof SetupFailure) blockedBy = e.call;
  } finally {
    await session.close().catch(() => undefined);
    if (own) await own.stop().catch(() => undefined);
  }
  const fault = session.trace.map((r) => r.result.error).find((e) => e !== undefined);
  const assertions = [...c.assertions];
  // Blocked only if nothing the check judged before the set-up step had failed already.
  if (blockedBy && assertions.some((a) => !a.ok)) blockedBy = undefined;
  if (thrown)
    assertions.push({
      ok: false,
      message: blockedBy ? `blocked by: ${blockedBy} (a set-up step; the condition under test was not reached)` : thrown,
      ...(blockedBy ? { call: blockedBy } : {}),
    });
  if (assertions.length === 0) assertions.push({ ok: false, message: 'the check asserted nothing' });
  const failed = assertions.some((a) => !a.ok);
  const status: Status = c.todoReason ? 'todo' : blockedBy ? 'blocked' : failed ? 'fail' : 'pass';
  return {
    ...base,
    status,
    ...(c.todoReason ? { reason: c.todoReason } : {}),
    ...(status === 'blocked' && blockedBy ? { blockedBy } : {}),
    assertions,
    sources: [...c.sources],
    trace: session.trace,
    ms: performance.now() - t0,
    ...(fault ? { targetFault: fault } : {}),
  };
}

const KERNEL_LOG_KEEP = 200;

/** Attach the kernel log a check produced; a report in it fails the check (a todo stays todo). */
export function judgeKernelLog(r: CheckOutcome, texts: readonly string[], note?: string): void {
  if (texts.length)
    r.kernelLog = texts.length > KERNEL_LOG_KEEP ? [...texts.slice(0, KERNEL_LOG_KEEP), `[... ${texts.length - KERNEL_LOG_KEEP} more]`] : [...texts];
  if (note) (r.kernelLog ??= []).push(`[${note}]`);
  const splats = findSplats(texts);
  if (splats.length === 0) return;
  r.splats = splats;
  for (const s of splats)
    r.assertions.push({ ok: false, message: `the kernel logged a ${s.kind} report during the check: ${s.title}`, call: `kernel ${s.key}`, splat: s.key });
  if (r.status === 'pass' || r.status === 'blocked') {
    r.status = 'fail';
    delete r.blockedBy;
  }
}

export async function runChecks(defs: readonly CheckDef[], o: RunOptions): Promise<CheckOutcome[]> {
  const out: CheckOutcome[] = [];
  // Real targets: the kernel log from the end of one check to the end of the next
  // belongs to the next (closing its handles, e.g. destroying a realm, included).
  const klog = kernelLogOf(o.target);
  await klog.mark();
  if (!o.vcpuFeatures && defs.some((d) => d.needs?.length)) o = { ...o, vcpuFeatures: await probeVcpuFeatures(o.target, o.callTimeoutMs) };
  // Set once a real target failed its probe: every later check fails with it at once.
  let dead: string | undefined;
  for (const [i, d] of defs.entries()) {
    // The emulator answers in microtasks: yield so a pending signal is handled between checks.
    await new Promise<void>((r) => setImmediate(r));
    if (o.cancelled?.()) break;
    const r = dead ? deadOutcome(d, o, dead) : await runCheck(d, o);
    if (o.cancelled?.()) break; // its failure is the signal's doing, not the target's
    if (!dead && r.status !== 'skip' && !lostTarget(r)) {
      const got = await klog.next();
      if (got)
        judgeKernelLog(
          r,
          got.records.map((x) => x.text),
          got.note,
        );
    }
    out.push(r);
    o.onOutcome?.(r, i);
    // An emulated oops kills that kernel only; boot a fresh one for the next check.
    if (r.targetFault?.startsWith('target-crashed') && o.targetKind === 'emulator') {
      await o.target.stop();
      await o.target.start();
    }
    // A real target that lost, hung or crashed is probed once; if it does not answer,
    // the rest of the run fails fast with its fault instead of waiting out every call.
    if (!dead && o.targetKind !== 'emulator' && lostTarget(r)) {
      const fault = await probe(o);
      if (fault) dead = `${fault} (the target stopped answering during ${r.abi}/${r.name}; later checks were not run)`;
    }
  }
  return out;
}

/** The first call a failed or blocked check did not get the expected answer from: its cause, for grouping. */
export function firstCause(o: CheckOutcome): string {
  if (o.blockedBy) return o.blockedBy;
  const a = o.assertions.find((x) => !x.ok);
  if (!a) return '(none)';
  if (a.call) return a.call;
  if (o.targetFault) return `<${o.targetFault}>`;
  return a.message.length > 120 ? `${a.message.slice(0, 117)}...` : a.message;
}

/** The check failed because the target did not answer, not because of an errno. */
function lostTarget(r: CheckOutcome): boolean {
  if (r.targetFault && /^(timeout|target-lost|target-crashed)/.test(r.targetFault)) return true;
  return r.assertions.some((a) => !a.ok && / did not finish within \d+ ms$/.test(a.message));
}

/** One fresh session and an `info`: undefined if the target answers, else its fault. */
async function probe(o: RunOptions): Promise<string | undefined> {
  const ms = o.probeTimeoutMs ?? o.callTimeoutMs;
  const attempt = (async () => {
    const s = await o.target.session();
    try {
      const r = await s.call({ op: 'info', timeout_ms: ms });
      return r.error;
    } finally {
      void s.close().catch(() => undefined);
    }
  })();
  try {
    // The session's own reset has the link's deadline; this bounds the whole probe.
    const err = await withTimeout(attempt, ms * 3 + 5000, 'probe');
    return err === undefined ? undefined : err === 'timeout' ? 'target-lost: the target did not answer a probe in time' : err;
  } catch (e) {
    attempt.catch(() => undefined);
    return `target-lost: ${e instanceof Error ? e.message : String(e)}`;
  }
}

function deadOutcome(def: CheckDef, o: RunOptions, fault: string): CheckOutcome {
  const base = { name: def.name, area: def.area, abi: o.abi.name, description: def.description };
  const skip = skipReason(def, o.abi, o.targetKind, o.allowCrash);
  if (skip) return { ...base, status: 'skip', reason: skip, assertions: [], sources: [], trace: [], ms: 0 };
  return { ...base, status: 'fail', assertions: [{ ok: false, message: fault }], sources: [], trace: [], ms: 0, targetFault: fault };
}

/** Readable form of the last calls of a check, for diagnostics. */
export function lastCalls(o: CheckOutcome, n = 6): string[] {
  return o.trace.slice(-n).map((r) => `${r.label} ${describeOutcome(r.result)}`);
}

export { errnoName };
