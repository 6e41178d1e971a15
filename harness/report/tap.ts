// TAP 14 for the suite's output: one test point per check, a YAML block with
// what failed, where the expectation came from, and the last calls made.
import { stringify } from 'tap-yaml';
import { lastCalls, type CheckOutcome } from '../engine.ts';

export function tapHeader(plan: number, comment?: string): string {
  return `TAP version 14\n${comment ? `# ${comment}\n` : ''}1..${plan}\n`;
}

/** A name or reason on a test point line: a newline or control character there could forge TAP lines. */
export const oneLine = (s: string): string => s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export function failedAssertions(o: CheckOutcome): string[] {
  return o.assertions.filter((a) => !a.ok).map((a) => a.message);
}

/** `extra` adds keys to a failure's YAML block (e.g. trace: PATH, baseline: reason). */
export function tapLine(o: CheckOutcome, n: number, extra?: Record<string, string>): string {
  const failed = o.assertions.some((a) => !a.ok);
  const okWord = o.status === 'skip' || !failed ? 'ok' : 'not ok';
  const title = oneLine(`${o.abi}/${o.name}`).replace(/#/g, '\\#');
  let directive = '';
  if (o.status === 'skip') directive = ` # SKIP ${oneLine(o.reason ?? '')}`;
  else if (o.status === 'todo') directive = ` # TODO ${oneLine(o.reason ?? '')}`;
  let line = `${okWord} ${n} - ${title}${directive}\n`;
  if (failed) {
    const diag: Record<string, unknown> = {
      failed: failedAssertions(o),
      sources: o.sources,
    };
    const disputes = o.assertions.filter((a) => a.dispute && !a.ok).map((a) => a.dispute);
    if (disputes.length) diag.disputes = disputes;
    if (o.targetFault) diag.target_fault = o.targetFault;
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
