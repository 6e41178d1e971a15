// TAP 14 for the suite's output: one test point per check, a YAML block with
// what failed, where the expectation came from, and the last calls made.
import { stringify } from 'tap-yaml';
import { lastCalls, type CheckOutcome } from '../engine.ts';
import { withDocs } from '../spec-refs.ts';

export function tapHeader(plan: number, comment?: string): string {
  return `TAP version 14\n${comment ? `# ${comment}\n` : ''}1..${plan}\n`;
}

export function failedAssertions(o: CheckOutcome): string[] {
  return o.assertions.filter((a) => !a.ok).map((a) => a.message);
}

/** `extra` adds keys to a failure's YAML block (e.g. trace: PATH, baseline: reason). */
export function tapLine(o: CheckOutcome, n: number, extra?: Record<string, string>): string {
  const failed = o.assertions.some((a) => !a.ok);
  const okWord = o.status === 'skip' || !failed ? 'ok' : 'not ok';
  const title = `${o.abi}/${o.name}`.replace(/#/g, '\\#');
  let directive = '';
  if (o.status === 'skip') directive = ` # SKIP ${o.reason ?? ''}`;
  else if (o.status === 'todo') directive = ` # TODO ${o.reason ?? ''}`;
  let line = `${okWord} ${n} - ${title}${directive}\n`;
  if (failed) {
    // A blocked check says so first: the set-up call, not the condition under test, failed.
    const diag: Record<string, unknown> = {
      ...(o.status === 'blocked' && o.blockedBy ? { blocked_by: o.blockedBy } : {}),
      failed: failedAssertions(o),
      // each source with the page of docs/spec/ that says it
      sources: o.sources.map(withDocs),
    };
    const disputes = o.assertions.filter((a) => a.dispute && !a.ok).map((a) => a.dispute);
    if (disputes.length) diag.disputes = disputes;
    if (o.targetFault) diag.target_fault = o.targetFault;
    // the reports themselves, as the kernel logged them
    if (o.splats?.length) diag.kernel_log = o.splats.flatMap((s) => s.lines);
    diag.last_calls = lastCalls(o);
    if (extra) Object.assign(diag, extra);
    line += indentYaml(stringify(diag));
  }
  return line;
}

function indentYaml(y: string): string {
  return `  ---\n${y
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n  ...\n`;
}
