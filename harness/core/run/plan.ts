// The run pipeline, step 1 of 3: plan. From what the command line asked for
// (a revision, all, or auto) to the revisions to run and, for each, the
// checks the filters select. --abi auto decides the revision by probing the
// live kernel (harness/tools/detect.ts) and hands the started target on to the run.
// Steps 2 and 3: run.ts (execute the plan on the target, stream KTAP) and
// report.ts (the summary, the exit code, --junit/--json/--matrix).
import type { AbiProfile } from '../../../profiles/types.ts';
import { ALL_REVISIONS, getProfile } from '../../../profiles/index.ts';
import { absent } from '../../../profiles/absent.ts';
import { applicable, type CheckDef } from '../engine.ts';
import { selectChecks } from '../filter.ts';
import { isInterrupted } from '../lifecycle.ts';
import { TargetSetupError, type Target, type TargetIdentity } from '../target.ts';
import { createTarget, listEmulatorBugs, type TargetOptions } from '../targets/index.ts';
import { detectAbi, formatDetection } from '../../tools/detect.ts';

/** What to run, as the command line said it (options already validated). */
export interface RunRequest {
  /** A revision name, 'all' or 'auto'. */
  abiName: string;
  allChecks: readonly CheckDef[];
  filters: readonly string[];
  targetSpec: string;
  /** The target options (their `abi` is set per revision). */
  targetOpts: TargetOptions;
  allowCrash: boolean;
  callTimeoutMs: number;
  /** --list: only the plan is wanted; --abi auto cannot make one without probing. */
  list?: boolean;
}

/** A target already started (by --abi auto) for the first revision. */
export interface StartedTarget {
  target: Target;
  id: TargetIdentity;
  detected: string;
  evidence?: readonly string[];
}

export interface Plan {
  profiles: readonly AbiProfile[];
  allChecks: readonly CheckDef[];
  filters: readonly string[];
  targetSpec: string;
  targetOpts: TargetOptions;
  allowCrash: boolean;
  callTimeoutMs: number;
  started?: StartedTarget;
}

const err = (s: string): boolean => process.stderr.write(s);

/**
 * The revisions to run: the named one, every one, or the detected one.
 * Returns an exit code when the plan cannot be made and that was already said
 * (ambiguous detection: 2); throws TargetSetupError for a one-line refusal.
 */
export async function makePlan(r: RunRequest): Promise<Plan | number> {
  let profiles: AbiProfile[];
  let started: StartedTarget | undefined;
  if (r.abiName === 'auto') {
    if (r.list) throw new TargetSetupError('--list needs a revision: --abi auto decides it only by probing the target');
    const d = await detectOnTarget(r.targetSpec, r.targetOpts, r.callTimeoutMs);
    if (d.code === 2) return 2;
    profiles = [d.abi];
    started = { target: d.target, id: d.id, detected: d.detected, evidence: d.evidence };
  } else {
    profiles = (r.abiName === 'all' ? ALL_REVISIONS : [r.abiName]).map((n) => getProfile(n)!);
  }
  // One named revision: a bug switch must apply to it (with --abi all each revision takes its own).
  const bugs = r.targetOpts.bugs ?? [];
  if (profiles.length === 1 && bugs.length) {
    const applies = new Map(listEmulatorBugs().map((b) => [b.name, b.revisions as readonly string[]]));
    const off = bugs.filter((b) => !applies.get(b)?.includes(profiles[0]?.name ?? ''));
    if (off.length) throw new TargetSetupError(`emulator bug(s) ${off.join(', ')} do not apply to ${String(profiles[0]?.name)}`);
  }
  return {
    profiles,
    allChecks: r.allChecks,
    filters: r.filters,
    targetSpec: r.targetSpec,
    targetOpts: r.targetOpts,
    allowCrash: r.allowCrash,
    callTimeoutMs: r.callTimeoutMs,
    ...(started ? { started } : {}),
  };
}

/** Each revision with the checks the filters select; a filter that selects nothing is a setup error. */
export function selectPlan(p: Plan): { abi: AbiProfile; checks: CheckDef[] }[] {
  const sel = p.profiles.map((abi) => ({ abi, checks: selectChecks(abi.name, applicable(p.allChecks, abi), p.filters) }));
  const total = sel.reduce((n, x) => n + x.checks.length, 0);
  if (p.filters.length && total === 0) throw new TargetSetupError(noMatch(p));
  return sel;
}

/** "no check of v7 matches 'foo'" */
export function noMatch(p: Pick<Plan, 'profiles' | 'filters'>): string {
  return `no check of ${p.profiles.map((x) => x.name).join(', ')} matches ${p.filters.map((f) => `'${f}'`).join(' ')}`;
}

/**
 * --abi auto: start the target, probe it, print the decision and the
 * evidence on stderr; exit 2 when the evidence is ambiguous.
 */
export async function detectOnTarget(
  targetSpec: string,
  targetOpts: TargetOptions,
  callTimeoutMs: number,
): Promise<{ code: 2 } | { code: 0; abi: AbiProfile; target: Target; id: TargetIdentity; detected: string; evidence: readonly string[] }> {
  if (targetSpec === 'emulator')
    throw new TargetSetupError(
      '--abi auto probes a live kernel; the emulator emulates the revision --abi names (test/detect.test.ts runs detection against each)',
    );
  const target = await createTarget(targetSpec, { ...targetOpts, abi: absent });
  let id: TargetIdentity;
  try {
    id = await target.start();
  } catch (e) {
    await target.stop().catch(() => undefined);
    throw e;
  }
  const session = await target.session();
  const d = await detectAbi(session, callTimeoutMs).finally(() => session.close().catch(() => undefined));
  if (isInterrupted()) return new Promise(() => undefined); // the signal handler ends the run
  err(`${formatDetection(d)}\n`);
  const abi = d.abi ? getProfile(d.abi) : undefined;
  if (d.ambiguous || !abi) {
    await target.stop().catch(() => undefined);
    return { code: 2 };
  }
  return { code: 0, abi, target, id, detected: d.reason, evidence: d.evidence };
}
