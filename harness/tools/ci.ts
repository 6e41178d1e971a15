// The CLI's per-check hooks for bug reproduction and CI gates, kept out of
// cli.ts: write traces (always for a failure), apply the baseline, and say
// afterwards what a CI log needs (trace directory, baselined checks now passing).
import type { AbiName } from '../../profiles/types.ts';
import { Baseline, loadBaseline } from './baseline.ts';
import type { CheckDef, CheckOutcome } from '../core/engine.ts';
import type { TargetIdentity } from '../core/target.ts';
import { TraceWriter } from './trace.ts';

export interface CiOptions {
  abi: AbiName;
  /** --trace DIR: every check's trace; without it only failures, in a fresh temp dir. */
  traceDir?: string | undefined;
  /** --baseline FILE; a BaselineError (exit 2) is thrown here, before anything runs. */
  baselinePath?: string | undefined;
  bugs?: readonly string[];
}

export class CiHooks {
  readonly traces: TraceWriter;
  readonly baseline?: Baseline;

  constructor(o: CiOptions) {
    this.traces = new TraceWriter({
      dir: o.traceDir,
      abi: o.abi,
      ...(o.bugs ? { bugs: o.bugs } : {}),
      // Said when it happens (one line), and the run goes on without traces.
      onError: (line) => process.stderr.write(`run.sh: ${line}\n`),
    });
    if (o.baselinePath) this.baseline = new Baseline(loadBaseline(o.baselinePath));
  }

  started(id: TargetIdentity, detected?: string): void {
    this.traces.identity = id;
    if (detected) this.traces.detected = detected;
    if (this.baseline) this.baseline.release = id.info.release;
  }

  /** Call once per outcome, before reporting it; returns extra keys for the TAP YAML. */
  outcome(o: CheckOutcome, def?: CheckDef): Record<string, string> | undefined {
    const extra: Record<string, string> = {};
    // The trace first: it records the real status, before a baseline turns a failure into a TODO.
    const path = this.traces.record(o, def);
    if (path && o.assertions.some((a) => !a.ok)) extra.trace = path;
    const e = this.baseline?.apply(o);
    if (e && o.status === 'todo' && o.reason?.startsWith('baseline:')) extra.baseline = `${e.where}: ${e.reason}`;
    return Object.keys(extra).length ? extra : undefined;
  }

  /** Summary lines for stderr; `withTraces` false when the caller prints one traces line for several revisions. */
  finish(withTraces = true): string[] {
    const out: string[] = [];
    const line = withTraces ? tracesLine(this.traces.written) : undefined;
    if (line) out.push(line);
    if (this.baseline) out.push(...this.baseline.summary());
    return out;
  }
}

/** "# traces: N written to DIR": once per run. */
export function tracesLine(written: readonly string[]): string | undefined {
  if (!written.length) return undefined;
  const dirs = [...new Set(written.map((p) => p.slice(0, p.lastIndexOf('/'))))];
  return `# traces: ${written.length} written to ${dirs.join(', ')}`;
}
