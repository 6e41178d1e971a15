// Runs that span revisions or decide the revision themselves:
//   --abi all    every revision (not 'absent') on the emulator, one after another, one TAP stream
//   --abi auto   probe a live kernel (harness/detect.ts), say what was decided and why, then run it
//   --matrix F   after the run, the conformance matrix (HTML or Markdown by extension)
import type { AbiProfile } from './abi/types.ts';
import { getProfile } from './abi/index.ts';
import { absent } from './abi/absent.ts';
import { applicable, runChecks, type CheckDef, type CheckOutcome, type EmulatorSettings } from './engine.ts';
import { selectChecks } from './filter.ts';
import { junitXml } from './report/junit.ts';
import { causeLines, countLine } from './report/summary.ts';
import { matrixHtml, matrixMarkdown } from './report/matrix.ts';
import { tapHeader, tapLine } from './report/tap.ts';
import { TargetSetupError, type Target, type TargetIdentity } from './target.ts';
import { createTarget, createTargetSync, listEmulatorBugs, type TargetOptions } from './targets/index.ts';
import { CiHooks, tracesLine } from './ci.ts';
import { isInterrupted, onInterrupt } from './lifecycle.ts';
import { writeAtomic } from './output.ts';
import { detectAbi, formatDetection } from './detect.ts';

export interface MultiPlan {
  profiles: readonly AbiProfile[];
  allChecks: readonly CheckDef[];
  filters: readonly string[];
  targetSpec: string;
  targetOpts: TargetOptions;
  allowCrash: boolean;
  callTimeoutMs: number;
  junit?: string | undefined;
  traceDir?: string | undefined;
  baselinePath?: string | undefined;
  matrix: readonly string[];
  /** A target already started (by --abi auto) for the first profile. */
  started?: { target: Target; id: TargetIdentity; detected: string };
}

const out = (s: string): boolean => process.stdout.write(s);
const err = (s: string): boolean => process.stderr.write(s);

export interface ReportPlan {
  junit?: string | undefined;
  matrix?: readonly string[];
  targetSpec: string;
  profiles: readonly AbiProfile[];
  allChecks: readonly CheckDef[];
}

/**
 * Write --junit and --matrix (atomically; an OutputError is one line). `partial`
 * names why the run ended early: the reports then hold the checks that finished.
 */
export function writeReports(p: ReportPlan, outcomes: readonly CheckOutcome[], partial?: string): string[] {
  const lines: string[] = [];
  const spec = partial ? `${p.targetSpec} (${partial}, ${outcomes.length} checks finished)` : p.targetSpec;
  if (p.junit) writeAtomic(p.junit, junitXml(outcomes, spec), 'JUnit report');
  for (const file of p.matrix ?? []) {
    const input = { profiles: p.profiles, checks: p.allChecks, outcomes, title: `${spec}, ${new Date().toISOString().slice(0, 10)}, ${outcomes.length} checks run` };
    writeAtomic(file, /\.md$/i.test(file) ? matrixMarkdown(input) : matrixHtml(input), 'matrix');
    lines.push(`# matrix written to ${file}`);
  }
  return lines;
}

/** For the interrupt line: what was written. */
export function partialNote(p: ReportPlan, outcomes: readonly CheckOutcome[], sig: string): string {
  const files = [p.junit, ...(p.matrix ?? [])].filter((f): f is string => !!f);
  writeReports(p, outcomes, `interrupted by ${sig}`);
  return `${outcomes.length} checks finished${files.length ? `, written to ${files.join(', ')}` : ''}`;
}

/** Bugs the emulator of this revision has a switch for (a bug names its revisions). */
function bugsFor(p: AbiProfile, bugs: readonly string[]): string[] {
  const known = new Map(listEmulatorBugs().map((b) => [b.name, b.revisions as readonly string[]]));
  return bugs.filter((b) => known.get(b)?.includes(p.name));
}

export async function runMulti(p: MultiPlan): Promise<number> {
  const plan = p.profiles.map((abi) => ({ abi, checks: selectChecks(abi.name, applicable(p.allChecks, abi), p.filters) }));
  const total = plan.reduce((n, x) => n + x.checks.length, 0);
  if (p.filters.length && total === 0) throw new TargetSetupError(`no check of ${p.profiles.map((x) => x.name).join(', ')} matches ${p.filters.map((f) => `'${f}'`).join(' ')}`);

  const t0 = performance.now();
  const outcomes: CheckOutcome[] = [];
  let n = 0;
  let headerDone = false;
  const reports: ReportPlan = { junit: p.junit, matrix: p.matrix, targetSpec: p.targetSpec, profiles: p.profiles, allChecks: p.allChecks };
  onInterrupt((sig) => partialNote(reports, outcomes, sig));

  const ciLines: string[] = [];
  const traces: string[] = [];
  let traceError = false;
  for (const [i, { abi, checks }] of plan.entries()) {
    const opts: TargetOptions = { ...p.targetOpts, abi, bugs: p.targetSpec === 'emulator' ? bugsFor(abi, p.targetOpts.bugs ?? []) : [] };
    const ci = new CiHooks({ abi: abi.name, traceDir: p.traceDir, baselinePath: p.baselinePath, bugs: opts.bugs ?? [] });
    let target: Target;
    let id: TargetIdentity;
    if (i === 0 && p.started) {
      ({ target, id } = p.started);
      ci.started(id, p.started.detected);
    } else {
      let made: Target | undefined;
      try {
        made = await createTarget(p.targetSpec, opts);
        id = await made.start();
        target = made;
      } catch (e) {
        await made?.stop().catch(() => undefined);
        if (e instanceof TargetSetupError || p.profiles.length === 1) throw e;
        // e.g. the emulator does not model this revision yet: its checks fail, the stream goes on
        const why = `target ${p.targetSpec} cannot run ${abi.name}: ${e instanceof Error ? e.message : String(e)}`;
        if (!headerDone) {
          out(tapHeader(total, `kvm-cca-conformance: ${p.profiles.length} revisions on ${p.targetSpec}`));
          headerDone = true;
        }
        out(`# ${abi.name}: ${checks.length} checks — ${why}\n`);
        for (const c of checks) {
          if (isInterrupted()) break;
          const o: CheckOutcome = { name: c.name, area: c.area, abi: abi.name, description: c.description, status: 'fail', assertions: [{ ok: false, message: why }], sources: [], trace: [], ms: 0 };
          outcomes.push(o);
          out(tapLine(o, ++n));
        }
        continue;
      }
      ci.started(id);
    }
    if (!headerDone) {
      const what = p.profiles.length === 1 ? abi.name : `${p.profiles.length} revisions (${p.profiles.map((x) => x.name).join(', ')})`;
      out(tapHeader(total, `kvm-cca-conformance: ${what} on ${p.targetSpec} (${id.info.release}, ${id.info.machine})`));
      headerDone = true;
    }
    if (p.profiles.length > 1) out(`# ${abi.name}: ${checks.length} checks — ${abi.title}\n`);
    try {
      const got = await runChecks(checks, {
        abi,
        target,
        targetKind: target.kind,
        allowCrash: p.allowCrash,
        callTimeoutMs: p.callTimeoutMs,
        checkTimeoutMs: Math.max(30000, p.callTimeoutMs * 6),
        targetFor: (settings: EmulatorSettings) => createTargetSync('emulator', { ...opts, emulatorSettings: settings }),
        cancelled: isInterrupted,
        onOutcome: (r, j) => {
          outcomes.push(r);
          out(tapLine(r, ++n, ci.outcome(r, checks[j])));
        },
      });
      void got;
    } finally {
      await target.stop().catch(() => undefined);
    }
    ciLines.push(...ci.finish(false));
    traces.push(...ci.traces.written);
    traceError ||= ci.traces.error !== undefined;
    if (isInterrupted()) return new Promise<number>(() => undefined); // the signal handler ends the run
  }

  const count = (s: string): number => outcomes.filter((x) => x.status === s).length;
  const secs = ((performance.now() - t0) / 1000).toFixed(2);
  if (p.profiles.length > 1) {
    for (const { abi } of plan) {
      const mine = outcomes.filter((o) => o.abi === abi.name);
      err(`#   ${abi.name.padEnd(7)} ${countLine(mine).replace(/^\d+/, (x) => x.padStart(4))}\n`);
    }
  }
  err(`# ${p.profiles.map((x) => x.name).join(',')} on ${p.targetSpec}: ${countLine(outcomes)} in ${secs}s\n`);
  for (const l of causeLines(outcomes)) err(`${l}\n`);
  const tl = tracesLine(traces);
  if (tl) err(`${tl}\n`);
  for (const l of ciLines) err(`${l}\n`);
  for (const l of writeReports(reports, outcomes)) err(`${l}\n`);
  if (traceError) return 2;
  if (count('fail') || count('blocked')) return 1;
  if (outcomes.length > 0 && count('skip') === outcomes.length) return 4;
  return 0;
}

/**
 * --abi auto: start the target, probe it, print the decision and the
 * evidence on stderr; exit 2 when the evidence is ambiguous.
 */
export async function detectOnTarget(targetSpec: string, targetOpts: TargetOptions, callTimeoutMs: number): Promise<{ code: 2 } | { code: 0; abi: AbiProfile; target: Target; id: TargetIdentity; detected: string }> {
  if (targetSpec === 'emulator') throw new TargetSetupError('--abi auto probes a live kernel; the emulator emulates the revision --abi names (test/detect.test.ts runs detection against each)');
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
  return { code: 0, abi, target, id, detected: d.reason };
}
