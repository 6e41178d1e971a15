// Mutation testing of the suite against the emulator's known-bug catalogue:
// for every bug switch and every revision it applies to, run the whole suite
// in-process with that one bug on. A switch is caught when some check fails
// on each of its revisions; a switch nothing catches is a hole in the suite.
// The clean emulator must pass, or a "catch" means nothing.
import { getProfile } from '../../profiles/index.ts';
import type { AbiName, AbiProfile } from '../../profiles/types.ts';
import { applicable, isFailure, runChecks, type CheckDef, type CheckOutcome, type EmulatorSettings } from '../core/engine.ts';
import type { Target } from '../core/target.ts';
import { createTargetSync, listEmulatorBugs } from '../core/targets/index.ts';

export interface BugSwitch {
  name: string;
  description: string;
  revisions: readonly string[];
  source: string;
  /** The profile expectations the switch changes: their checks run first when a run stops at the first catch. */
  breaks?: readonly string[];
}

export interface MutationOptions {
  bugs?: readonly BugSwitch[];
  only?: readonly string[];
  /**
   * Stop each switch's run of a revision at its first failing check, the
   * checks of the switch's `breaks` keys first: whether a switch is caught is
   * the same, only the list of the checks that catch it is shorter (npm test).
   */
  firstCatch?: boolean;
}

export interface RevisionRun {
  abi: string;
  /** Set when the revision has no profile, so nothing could run. */
  untestable?: string;
  checks: number;
  /** "abi/check" of every check that failed. */
  failed: string[];
  ms: number;
}

export interface SwitchResult {
  bug: BugSwitch;
  runs: RevisionRun[];
  caught: boolean;
}

export interface MutationReport {
  clean: RevisionRun[];
  switches: SwitchResult[];
  caught: number;
  total: number;
  ok: boolean;
}

function emulator(abi: AbiProfile, bugs: readonly string[], settings: EmulatorSettings = {}): Target {
  return createTargetSync('emulator', { abi, bugs, emulatorSettings: settings });
}

/**
 * The whole suite for one revision on an emulator with `bugs` on, in-process.
 * `stopAt`: the checks reading these keys first, and the run ends at the first failure.
 */
export async function runSuite(abi: AbiProfile, bugs: readonly string[], checks: readonly CheckDef[], stopAt?: readonly string[]): Promise<CheckOutcome[]> {
  const target = emulator(abi, bugs);
  await target.start();
  let defs = applicable(checks, abi);
  let failed = false;
  if (stopAt) {
    const first = (d: CheckDef): boolean => d.expects.some((k) => stopAt.includes(k));
    defs = [...defs.filter(first), ...defs.filter((d) => !first(d))];
  }
  try {
    return await runChecks(defs, {
      abi,
      target,
      targetKind: 'emulator',
      allowCrash: true,
      callTimeoutMs: 5000,
      checkTimeoutMs: 30000,
      targetFor: (s) => emulator(abi, bugs, s),
      ...(stopAt
        ? {
            onOutcome: (o: CheckOutcome) => {
              failed ||= isFailure(o.status);
            },
            cancelled: () => failed,
          }
        : {}),
    });
  } finally {
    await target.stop();
  }
}

async function runOn(abiName: string, bugs: readonly string[], checks: readonly CheckDef[], stopAt?: readonly string[]): Promise<RevisionRun> {
  const abi = getProfile(abiName);
  if (!abi) return { abi: abiName, untestable: `no ABI profile for ${abiName}`, checks: 0, failed: [], ms: 0 };
  const t0 = performance.now();
  const outs = await runSuite(abi, bugs, checks, stopAt);
  return { abi: abiName, checks: outs.length, failed: outs.filter((o) => isFailure(o.status)).map((o) => `${o.abi}/${o.name}`), ms: performance.now() - t0 };
}

export async function runMutation(checks: readonly CheckDef[], opts: MutationOptions = {}): Promise<MutationReport> {
  const bugs = (opts.bugs ?? listEmulatorBugs()).filter((b) => !opts.only?.length || opts.only.includes(b.name));
  const revisions = [...new Set(bugs.flatMap((b) => b.revisions))];
  const clean: RevisionRun[] = [];
  for (const r of revisions) clean.push(await runOn(r, [], checks));
  const switches: SwitchResult[] = [];
  for (const bug of bugs) {
    const runs: RevisionRun[] = [];
    for (const r of bug.revisions) runs.push(await runOn(r, [bug.name], checks, opts.firstCatch ? (bug.breaks ?? []) : undefined));
    switches.push({ bug, runs, caught: runs.length > 0 && runs.every((x) => !x.untestable && x.failed.length > 0) });
  }
  const caught = switches.filter((s) => s.caught).length;
  const cleanOk = clean.every((c) => c.failed.length === 0);
  return { clean, switches, caught, total: switches.length, ok: cleanOk && caught === switches.length };
}

export function formatMutation(r: MutationReport): string[] {
  const out: string[] = [];
  for (const c of r.clean) {
    if (c.untestable) out.push(`clean ${c.abi}: ${c.untestable}`);
    else
      out.push(
        `clean ${c.abi}: ${c.checks} checks, ${c.failed.length ? `${c.failed.length} FAILED: ${c.failed.join(', ')}` : 'no failure'} (${c.ms.toFixed(0)} ms)`,
      );
  }
  for (const s of r.switches) {
    out.push(`${s.caught ? 'caught' : 'NOT CAUGHT'}  ${s.bug.name} [${s.bug.revisions.join(', ')}]  (${s.bug.source})`);
    for (const run of s.runs) {
      if (run.untestable) out.push(`    ${run.abi}: ${run.untestable}`);
      else if (run.failed.length) out.push(`    ${run.abi}: caught by ${run.failed.map((f) => f.slice(run.abi.length + 1)).join(', ')}`);
      else out.push(`    ${run.abi}: no check failed (${run.checks} ran): ${s.bug.description}`);
    }
  }
  const pct = r.total ? ((100 * r.caught) / r.total).toFixed(1) : '100.0';
  out.push(`kill rate: ${r.caught}/${r.total} switches caught (${pct}%)`);
  return out;
}

export type { AbiName };
