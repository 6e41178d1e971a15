// The run pipeline, step 2 of 3: run. Executes a plan (plan.ts) revision by
// revision on a fresh target each, one KTAP stream on stdout (a condensed
// view on a terminal), traces and the baseline through the CI hooks. A
// revision the target cannot run fails its checks and the stream goes on; a
// target that stopped answering ends the stream (bail out). The summary and
// the report files are step 3 (report.ts).
import type { AbiProfile } from '../../../profiles/types.ts';
import { runChecks, type CheckOutcome, type EmulatorSettings } from '../engine.ts';
import { stdoutSink } from '../../tools/report/sink.ts';
import type { OutcomeRecord } from '../../tools/report/results.ts';
import { kernelIdentity, type RemoteShell } from '../../tools/identity.ts';
import { TargetSetupError, type Target, type TargetIdentity } from '../target.ts';
import { createTarget, createTargetSync, listEmulatorBugs, type TargetOptions } from '../targets/index.ts';
import { CiHooks } from '../../tools/ci.ts';
import { isInterrupted, onInterrupt } from '../lifecycle.ts';
import { detectAbi, wrongRevision } from '../../tools/detect.ts';
import { selectPlan, type Plan } from './plan.ts';
import { partialNote, type ReportPlan, type RunIdentity, type RunResult } from './report.ts';

/** Where the run writes besides the KTAP stream. */
export interface RunOutputs {
  junit?: string | undefined;
  /** --json FILE: the results file. */
  json?: string | undefined;
  matrix: readonly string[];
  traceDir?: string | undefined;
  baselinePath?: string | undefined;
  /** Raw KTAP on a terminal too (piped output is always KTAP). */
  ktap?: boolean;
  /** --kernel DIR: a kernel build tree whose `git describe` goes into the results. */
  kernelDir?: string | undefined;
}

const err = (s: string): boolean => process.stderr.write(s);

/** Bugs the emulator of this revision has a switch for (a bug names its revisions). */
function bugsFor(p: AbiProfile, bugs: readonly string[]): string[] {
  const known = new Map(listEmulatorBugs().map((b) => [b.name, b.revisions as readonly string[]]));
  return bugs.filter((b) => known.get(b)?.includes(p.name));
}

/**
 * Run the plan. Returns what the report step needs, or an exit code when the
 * run ended before it (a forced revision the kernel lacks: 4, said on stdout
 * and stderr). An interrupted run never returns: the signal handler ends it.
 */
export async function runPlan(p: Plan, out: RunOutputs): Promise<RunResult | number> {
  const plan = selectPlan(p);

  const started = new Date();
  const t0 = performance.now();
  const outcomes: CheckOutcome[] = [];
  const records: OutcomeRecord[] = [];
  let headerDone = false;
  const ident: RunIdentity = { revisions: [] };
  const reports: ReportPlan = {
    junit: out.junit,
    matrix: out.matrix,
    json: out.json,
    targetSpec: p.targetSpec,
    profiles: p.profiles,
    allChecks: p.allChecks,
    identity: ident,
    records,
    started,
  };
  onInterrupt((sig) => partialNote(reports, outcomes, sig));
  const sink = stdoutSink(out.ktap ?? false);
  const header = (comment: string): void => {
    if (headerDone) return;
    sink.header(plan.length, comment);
    headerDone = true;
  };

  const ciLines: string[] = [];
  const traces: string[] = [];
  let traceError = false;
  let bailOut: string | undefined;
  for (const [i, { abi, checks }] of plan.entries()) {
    const opts: TargetOptions = { ...p.targetOpts, abi, bugs: p.targetSpec === 'emulator' ? bugsFor(abi, p.targetOpts.bugs ?? []) : [] };
    const ci = new CiHooks({ abi: abi.name, traceDir: out.traceDir, baselinePath: out.baselinePath, bugs: opts.bugs ?? [] });
    ident.revisions.push({
      name: abi.name,
      ...(i === 0 && p.started ? { detection: p.started.detected, ...(p.started.evidence ? { evidence: [...p.started.evidence] } : {}) } : {}),
    });
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
        header(`kvm-cca-conformance: ${p.profiles.length} revisions on ${p.targetSpec}`);
        sink.subtestStart(abi.name, checks.length, why);
        const mine: CheckOutcome[] = [];
        for (const [j, c] of checks.entries()) {
          if (isInterrupted()) break;
          const o: CheckOutcome = {
            name: c.name,
            area: c.area,
            abi: abi.name,
            description: c.description,
            status: 'fail',
            assertions: [{ ok: false, message: why }],
            sources: [],
            trace: [],
            ms: 0,
          };
          outcomes.push(o);
          mine.push(o);
          records.push({ outcome: o });
          sink.result(o, j + 1);
        }
        sink.subtestEnd(abi.name, i + 1, mine);
        continue;
      }
      ci.started(id);
      // A forced revision whose realm uAPI the kernel lacks: say what it looks like, skip the run (exit 4).
      const wrong = target.kind === 'emulator' ? undefined : await forcedRevisionMissing(target, abi, p.callTimeoutMs);
      if (wrong) {
        await target.stop().catch(() => undefined);
        sink.skipAll(wrong);
        err(`run.sh: ${wrong}\n`);
        return 4;
      }
    }
    if (!ident.target) {
      ident.target = { kind: target.kind, spec: p.targetSpec, executor: id.info.executor };
      if (out.json || out.junit || out.matrix.length) ident.kernel = await kernelIdentity(id, remoteShellOf(target), out.kernelDir);
      else ident.kernel = { sysname: id.info.sysname, release: id.info.release, version: id.info.version, machine: id.info.machine };
      ident.emulatorBugs = p.targetSpec === 'emulator' ? [...(p.targetOpts.bugs ?? [])] : [];
    }
    const what = p.profiles.length === 1 ? abi.name : `${p.profiles.length} revisions (${p.profiles.map((x) => x.name).join(', ')})`;
    header(`kvm-cca-conformance: ${what} on ${p.targetSpec} (${id.info.release}, ${id.info.machine})`);
    sink.subtestStart(abi.name, checks.length, abi.title);
    const mine: CheckOutcome[] = [];
    try {
      await runChecks(checks, {
        abi,
        target,
        targetKind: target.kind,
        allowCrash: p.allowCrash,
        callTimeoutMs: p.callTimeoutMs,
        checkTimeoutMs: Math.min(2 ** 31 - 1, Math.max(30000, p.callTimeoutMs * 6)),
        targetFor: (settings: EmulatorSettings) => createTargetSync('emulator', { ...opts, emulatorSettings: settings }),
        cancelled: isInterrupted,
        onOutcome: (r, j) => {
          const extra = ci.outcome(r, checks[j]);
          outcomes.push(r);
          mine.push(r);
          records.push({ outcome: r, trace: extra?.trace, baseline: extra?.baseline });
          sink.result(r, j + 1, extra);
          bailOut ??= r.targetFault?.endsWith(' later checks were not run)') ? r.targetFault : undefined;
        },
      });
    } finally {
      await target.stop().catch(() => undefined);
    }
    ciLines.push(...ci.finish(false));
    traces.push(...ci.traces.written);
    traceError ||= ci.traces.error !== undefined;
    if (isInterrupted()) return new Promise<number>(() => undefined); // the signal handler ends the run
    sink.subtestEnd(abi.name, i + 1, mine);
    // The target is gone: later revisions cannot run on it either.
    if (bailOut) {
      sink.bailOut(bailOut);
      break;
    }
  }
  return { revisions: plan, outcomes, records, reports, t0, ciLines, traces, traceError, bailOut };
}

/** A forced --abi whose realm uAPI the kernel lacks: what the kernel looks like instead, and the hint. */
async function forcedRevisionMissing(target: Target, abi: AbiProfile, callTimeoutMs: number): Promise<string | undefined> {
  const s1 = await target.session();
  const wrong = await wrongRevision(s1, abi, callTimeoutMs).finally(() => s1.close().catch(() => undefined));
  if (!wrong) return undefined;
  const s2 = await target.session();
  const d = await detectAbi(s2, callTimeoutMs).finally(() => s2.close().catch(() => undefined));
  const looks = d.ambiguous ? `detection cannot tell (${d.reason})` : `it looks like ${d.reason}`;
  return `${wrong}; ${looks}; run with --abi auto${d.abi && !d.ambiguous ? ` (or --abi ${d.abi})` : ''}`;
}

/** The ssh link of a real target, for the few facts read with a shell (kernel identity). */
function remoteShellOf(t: Target): RemoteShell | undefined {
  const x = t as Partial<RemoteShell> & { sshTarget?: RemoteShell };
  if (typeof x.run === 'function') return x as RemoteShell;
  return x.sshTarget;
}
