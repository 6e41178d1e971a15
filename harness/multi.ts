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
import { causeLines, countLine, nextSteps } from './report/summary.ts';
import { matrixHtml, matrixMarkdown } from './report/matrix.ts';
import { stdoutSink } from './report/sink.ts';
import { resultsFile, type OutcomeRecord } from './report/results.ts';
import { kernelIdentity, toolIdentity, type KernelIdentity, type RemoteShell } from './identity.ts';
import { TargetSetupError, type Target, type TargetIdentity, type TargetKind } from './target.ts';
import { createTarget, createTargetSync, listEmulatorBugs, type TargetOptions } from './targets/index.ts';
import { CiHooks, tracesLine } from './ci.ts';
import { isInterrupted, onInterrupt } from './lifecycle.ts';
import { writeAtomic } from './output.ts';
import { detectAbi, formatDetection, wrongRevision } from './detect.ts';

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
  /** Raw KTAP on a terminal too (piped output is always KTAP). */
  ktap?: boolean;
  /** --json FILE: the results file. */
  json?: string | undefined;
  /** --kernel DIR: a kernel build tree whose `git describe` goes into the results. */
  kernelDir?: string | undefined;
  /** A target already started (by --abi auto) for the first profile. */
  started?: { target: Target; id: TargetIdentity; detected: string; evidence?: readonly string[] };
}

const err = (s: string): boolean => process.stderr.write(s);

export interface ReportPlan {
  junit?: string | undefined;
  matrix?: readonly string[];
  json?: string | undefined;
  targetSpec: string;
  profiles: readonly AbiProfile[];
  allChecks: readonly CheckDef[];
  /** Filled in as the run learns it: the target, the kernel, the revisions and how they were decided. */
  identity?: RunIdentity;
  records?: readonly OutcomeRecord[];
  started?: Date;
}

export interface RunIdentity {
  target?: { kind: TargetKind; spec: string; executor: string };
  kernel?: KernelIdentity;
  revisions: { name: string; detection?: string; evidence?: string[] }[];
  emulatorBugs?: string[];
}

/** One line of the kernel's identity, for report headers. */
export function identityLine(id: RunIdentity | undefined): string {
  const k = id?.kernel;
  if (!k) return '';
  return [k.procVersion ?? `${k.sysname} ${k.release} ${k.version} ${k.machine}`, k.gitDescribe ? `tree ${k.gitDescribe}` : '', k.configSha256 ? `config sha256 ${k.configSha256.slice(0, 16)}` : ''].filter(Boolean).join('; ');
}

/**
 * Write --junit, --matrix and --json (atomically; an OutputError is one line).
 * `partial` names why the run ended early: the reports then hold the checks
 * that finished.
 */
export function writeReports(p: ReportPlan, outcomes: readonly CheckOutcome[], partial?: string, exitCode = 1): string[] {
  const lines: string[] = [];
  const spec = partial ? `${p.targetSpec} (${partial}, ${outcomes.length} checks finished)` : p.targetSpec;
  const tool = toolIdentity();
  const props: Record<string, string> = {
    tool: `${tool.name} ${tool.version}${tool.commit ? ` (${tool.commit.slice(0, 12)})` : ''}`,
    ...(p.identity?.kernel ? kernelProps(p.identity.kernel) : {}),
    ...(p.identity?.revisions.length ? { revisions: p.identity.revisions.map((r) => r.name).join(', ') } : {}),
    ...(p.identity?.revisions.find((r) => r.detection) ? { detection: p.identity.revisions.find((r) => r.detection)?.detection ?? '' } : {}),
    ...(p.identity?.emulatorBugs?.length ? { emulator_bugs: p.identity.emulatorBugs.join(', ') } : {}),
  };
  const traceOf = new Map((p.records ?? []).map((r) => [r.outcome, r.trace]));
  if (p.junit) writeAtomic(p.junit, junitXml(outcomes, spec, { properties: props, hostname: tool.hostname, timestamp: p.started ?? new Date(), traceOf: (o) => traceOf.get(o) }), 'JUnit report');
  for (const file of p.matrix ?? []) {
    const kernel = identityLine(p.identity);
    const input = { profiles: p.profiles, checks: p.allChecks, outcomes, title: `${spec}, ${new Date().toISOString().slice(0, 10)}, ${outcomes.length} checks run${kernel ? `; ${kernel}` : ''}` };
    writeAtomic(file, /\.md$/i.test(file) ? matrixMarkdown(input) : matrixHtml(input), 'matrix');
    lines.push(`# matrix written to ${file}`);
  }
  if (p.json && p.identity?.target && p.identity.kernel) {
    const doc = resultsFile({
      tool,
      argv: process.argv.slice(2),
      started: p.started ?? new Date(),
      ended: new Date(),
      exitCode: partial ? 1 : exitCode === 2 ? 1 : exitCode,
      target: p.identity.target,
      kernel: p.identity.kernel,
      revisions: p.identity.revisions,
      emulatorBugs: p.identity.emulatorBugs ?? [],
      records: p.records ?? outcomes.map((o) => ({ outcome: o })),
    });
    writeAtomic(p.json, `${JSON.stringify(doc, null, 1)}\n`, 'results file');
    lines.push(`# results written to ${p.json}`);
  }
  return lines;
}

function kernelProps(k: KernelIdentity): Record<string, string> {
  return {
    'kernel.release': k.release,
    'kernel.version': k.version,
    'kernel.machine': k.machine,
    ...(k.procVersion ? { 'kernel.proc_version': k.procVersion } : {}),
    ...(k.cmdline ? { 'kernel.cmdline': k.cmdline } : {}),
    ...(k.configSha256 ? { 'kernel.config_sha256': k.configSha256 } : {}),
    ...(k.gitDescribe ? { 'kernel.git_describe': k.gitDescribe } : {}),
  };
}

/** For the interrupt line: what was written. */
export function partialNote(p: ReportPlan, outcomes: readonly CheckOutcome[], sig: string): string {
  const files = [p.junit, ...(p.matrix ?? []), p.json].filter((f): f is string => !!f);
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

  const started = new Date();
  const t0 = performance.now();
  const outcomes: CheckOutcome[] = [];
  const records: OutcomeRecord[] = [];
  let headerDone = false;
  const ident: RunIdentity = { revisions: [] };
  const reports: ReportPlan = { junit: p.junit, matrix: p.matrix, json: p.json, targetSpec: p.targetSpec, profiles: p.profiles, allChecks: p.allChecks, identity: ident, records, started };
  onInterrupt((sig) => partialNote(reports, outcomes, sig));
  const sink = stdoutSink(p.ktap ?? false);
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
    const ci = new CiHooks({ abi: abi.name, traceDir: p.traceDir, baselinePath: p.baselinePath, bugs: opts.bugs ?? [] });
    ident.revisions.push({ name: abi.name, ...(i === 0 && p.started ? { detection: p.started.detected, ...(p.started.evidence ? { evidence: [...p.started.evidence] } : {}) } : {}) });
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
          const o: CheckOutcome = { name: c.name, area: c.area, abi: abi.name, description: c.description, status: 'fail', assertions: [{ ok: false, message: why }], sources: [], trace: [], ms: 0 };
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
      if (p.json || p.junit || p.matrix.length) ident.kernel = await kernelIdentity(id, remoteShellOf(target), p.kernelDir);
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
          bailOut ??= r.targetFault && / later checks were not run\)$/.test(r.targetFault) ? r.targetFault : undefined;
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
  const traceOf = new Map(records.map((r) => [r.outcome, r.trace]));
  const targetArgs = p.targetSpec === 'emulator' ? (p.targetOpts.bugs ?? []).flatMap((b) => ['--emulator-bug', b]) : ['--target', p.targetSpec];
  for (const l of nextSteps({ outcomes, traceOf: (o) => traceOf.get(o), targetArgs })) err(`${l}\n`);
  const tl = tracesLine(traces);
  if (tl) err(`${tl}\n`);
  for (const l of ciLines) err(`${l}\n`);
  const code = traceError ? 2 : count('fail') || count('blocked') || bailOut ? 1 : outcomes.length > 0 && count('skip') === outcomes.length ? 4 : 0;
  for (const l of writeReports(reports, outcomes, undefined, code)) err(`${l}\n`);
  return code;
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

/**
 * --abi auto: start the target, probe it, print the decision and the
 * evidence on stderr; exit 2 when the evidence is ambiguous.
 */
export async function detectOnTarget(targetSpec: string, targetOpts: TargetOptions, callTimeoutMs: number): Promise<{ code: 2 } | { code: 0; abi: AbiProfile; target: Target; id: TargetIdentity; detected: string; evidence: readonly string[] }> {
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
  return { code: 0, abi, target, id, detected: d.reason, evidence: d.evidence };
}
