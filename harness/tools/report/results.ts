// --json FILE: one results file per run, for machines. Per check a dotted
// path, a status, the duration, the failed assertions with their sources and
// the trace; per run the kernel's identity, the target, the revision(s) and
// how they were decided, the emulator bug switches, the tool and the times.
// Each test also carries its KernelCI KCIDB mapping (kcidb: path, status,
// waived), so a KCIDB submitter only copies fields. Schema:
// harness/tools/report/results.schema.json (test/results.test.ts validates).
import type { CheckOutcome } from '../../core/engine.ts';
import type { KernelIdentity, ToolIdentity } from '../identity.ts';
import type { TargetKind } from '../../core/target.ts';

export const RESULTS_FORMAT = 'kvm-cca-results/1';

/** pass, fail, skip; error: the target faulted (timeout, crash, lost link); blocked: a set-up call failed; xfail: a baselined failure; todo: rests on an UNCONFIRMED fact. */
export type ResultStatus = 'pass' | 'fail' | 'skip' | 'error' | 'blocked' | 'xfail' | 'todo';
export type KcidbStatus = 'PASS' | 'FAIL' | 'SKIP' | 'ERROR' | 'MISS' | 'DONE';

export interface TestRecord {
  /** Check name as printed: REV/area/check. */
  name: string;
  /** Dotted path, e.g. kvm_cca.v10.misordering.create-in-new. */
  path: string;
  revision: string;
  area: string;
  description: string;
  status: ResultStatus;
  duration_ms: number;
  reason?: string;
  failures: { message: string; source?: string; dispute?: string }[];
  sources: string[];
  trace?: string;
  target_fault?: string;
  baseline?: string;
  kcidb: { path: string; status: KcidbStatus; waived: boolean; duration: number };
}

export interface ResultsFile {
  format: typeof RESULTS_FORMAT;
  tool: ToolIdentity;
  run: { argv: string[]; start_time: string; end_time: string; exit_code: number };
  target: { kind: TargetKind; spec: string; executor: string };
  kernel: KernelIdentity;
  revisions: { name: string; detection?: string; evidence?: string[] }[];
  emulator_bugs: string[];
  summary: Record<ResultStatus, number> & { total: number };
  tests: TestRecord[];
}

export interface OutcomeRecord {
  outcome: CheckOutcome;
  trace?: string | undefined;
  baseline?: string | undefined;
}

export interface ResultsInput {
  tool: ToolIdentity;
  argv: readonly string[];
  started: Date;
  ended: Date;
  exitCode: number;
  target: { kind: TargetKind; spec: string; executor: string };
  kernel: KernelIdentity;
  revisions: { name: string; detection?: string; evidence?: string[] }[];
  emulatorBugs: readonly string[];
  records: readonly OutcomeRecord[];
}

/** The results file's status of one outcome (after the baseline was applied). */
export function resultStatus(o: CheckOutcome): ResultStatus {
  const s: string = o.status;
  if (s === 'blocked') return 'blocked';
  if (s === 'todo') return o.reason?.startsWith('baseline:') ? 'xfail' : 'todo';
  if (s === 'fail') return o.targetFault ? 'error' : 'fail';
  if (s === 'skip') return 'skip';
  return 'pass';
}

const KCIDB: Record<ResultStatus, KcidbStatus> = {
  pass: 'PASS',
  fail: 'FAIL',
  xfail: 'FAIL', // waived: a known failure still failed
  skip: 'SKIP',
  error: 'ERROR',
  blocked: 'MISS', // the condition under test was never reached
  todo: 'DONE', // ran, but its expectation is not a confirmed fact: no verdict
};

/** KCIDB paths are dot-separated; a check name's own separators become dots. */
export function dottedPath(revision: string, name: string): string {
  return ['kvm_cca', revision, ...name.split('/')].map((p) => p.replace(/[^A-Za-z0-9_-]/g, '_')).join('.');
}

export function resultsFile(i: ResultsInput): ResultsFile {
  const tests = i.records.map(({ outcome: o, trace, baseline }): TestRecord => {
    const status = resultStatus(o);
    const path = dottedPath(o.abi, o.name);
    return {
      name: `${o.abi}/${o.name}`,
      path,
      revision: o.abi,
      area: o.area,
      description: o.description,
      status,
      duration_ms: Math.round(o.ms * 1000) / 1000,
      ...(o.reason ? { reason: o.reason } : {}),
      failures: o.assertions
        .filter((a) => !a.ok)
        .map((a) => ({ message: a.message, ...(a.source ? { source: a.source } : {}), ...(a.dispute ? { dispute: a.dispute } : {}) })),
      sources: o.sources,
      ...(trace ? { trace } : {}),
      ...(o.targetFault ? { target_fault: o.targetFault } : {}),
      ...(baseline ? { baseline } : {}),
      kcidb: { path, status: KCIDB[status], waived: status === 'xfail', duration: Math.round(o.ms) / 1000 },
    };
  });
  const summary = { total: tests.length, pass: 0, fail: 0, skip: 0, error: 0, blocked: 0, xfail: 0, todo: 0 };
  for (const t of tests) summary[t.status]++;
  return {
    format: RESULTS_FORMAT,
    tool: i.tool,
    run: { argv: [...i.argv], start_time: i.started.toISOString(), end_time: i.ended.toISOString(), exit_code: i.exitCode },
    target: i.target,
    kernel: i.kernel,
    revisions: i.revisions,
    emulator_bugs: [...i.emulatorBugs],
    summary,
    tests,
  };
}
