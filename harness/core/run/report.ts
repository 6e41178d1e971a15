// The run pipeline, step 3 of 3: report. The stderr summary (per-revision
// counts, causes, next steps, traces, CI lines), the exit code, and the files
// --junit, --matrix and --json ask for. Also what an interrupted run writes.
import type { AbiProfile } from '../../../profiles/types.ts';
import type { CheckDef, CheckOutcome } from '../engine.ts';
import { junitXml } from '../../tools/report/junit.ts';
import { causeLines, countLine, nextSteps } from '../../tools/report/summary.ts';
import { matrixHtml, matrixMarkdown } from '../../tools/report/matrix.ts';
import { resultsFile, type OutcomeRecord } from '../../tools/report/results.ts';
import { toolIdentity, type KernelIdentity } from '../../tools/identity.ts';
import type { TargetKind } from '../target.ts';
import { tracesLine } from '../../tools/ci.ts';
import { writeAtomic } from '../../tools/output.ts';
import type { Plan } from './plan.ts';

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
  return [
    k.procVersion ?? `${k.sysname} ${k.release} ${k.version} ${k.machine}`,
    k.gitDescribe ? `tree ${k.gitDescribe}` : '',
    k.configSha256 ? `config sha256 ${k.configSha256.slice(0, 16)}` : '',
  ]
    .filter(Boolean)
    .join('; ');
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
  if (p.junit)
    writeAtomic(
      p.junit,
      junitXml(outcomes, spec, { properties: props, hostname: tool.hostname, timestamp: p.started ?? new Date(), traceOf: (o) => traceOf.get(o) }),
      'JUnit report',
    );
  for (const file of p.matrix ?? []) {
    const kernel = identityLine(p.identity);
    const input = {
      profiles: p.profiles,
      checks: p.allChecks,
      outcomes,
      title: `${spec}, ${new Date().toISOString().slice(0, 10)}, ${outcomes.length} checks run${kernel ? `; ${kernel}` : ''}`,
    };
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

/** What the run step hands to the report step. */
export interface RunResult {
  /** The revisions the plan selected, in run order. */
  revisions: readonly { abi: AbiProfile }[];
  outcomes: readonly CheckOutcome[];
  records: readonly OutcomeRecord[];
  reports: ReportPlan;
  /** performance.now() at the start of the run. */
  t0: number;
  ciLines: readonly string[];
  traces: readonly string[];
  traceError: boolean;
  bailOut: string | undefined;
}

/** The summary on stderr, the report files; returns the exit code (kselftest: 0, 1, 2 or 4). */
export function report(p: Plan, r: RunResult): number {
  const { outcomes, records } = r;
  const count = (s: string): number => outcomes.filter((x) => x.status === s).length;
  const secs = ((performance.now() - r.t0) / 1000).toFixed(2);
  if (p.profiles.length > 1) {
    for (const { abi } of r.revisions) {
      const mine = outcomes.filter((o) => o.abi === abi.name);
      err(`#   ${abi.name.padEnd(7)} ${countLine(mine).replace(/^\d+/, (x) => x.padStart(4))}\n`);
    }
  }
  err(`# ${p.profiles.map((x) => x.name).join(',')} on ${p.targetSpec}: ${countLine(outcomes)} in ${secs}s\n`);
  for (const l of causeLines(outcomes)) err(`${l}\n`);
  const traceOf = new Map(records.map((x) => [x.outcome, x.trace]));
  const targetArgs = p.targetSpec === 'emulator' ? (p.targetOpts.bugs ?? []).flatMap((b) => ['--emulator-bug', b]) : ['--target', p.targetSpec];
  for (const l of nextSteps({ outcomes, traceOf: (o) => traceOf.get(o), targetArgs })) err(`${l}\n`);
  const tl = tracesLine(r.traces);
  if (tl) err(`${tl}\n`);
  for (const l of r.ciLines) err(`${l}\n`);
  const code = r.traceError ? 2 : count('fail') || count('blocked') || r.bailOut ? 1 : outcomes.length > 0 && count('skip') === outcomes.length ? 4 : 0;
  for (const l of writeReports(r.reports, outcomes, undefined, code)) err(`${l}\n`);
  return code;
}
