// JUnit XML, one testsuite per ABI revision, for CI systems that read it. It
// validates against the Jenkins xunit plugin's schema (test/reports.test.ts):
// every testsuite has tests/failures/errors/skipped, a timestamp and the
// hostname, and the run's identity (tool, kernel, revision) as <properties>.
// A failed check is a <failure>; a blocked one (its set-up broke) or one the
// target faulted in (timeout, crash, lost link) an <error>; skip, todo and
// baselined failures are <skipped>. A failure's <system-out> has its trace
// path and last calls, so the report alone says how to reproduce it.
import { failedAssertions } from './ktap.ts';
import { lastCalls, type CheckOutcome } from '../../core/engine.ts';
import { withDocs } from '../../core/spec-refs.ts';
import { esc } from './xml.ts';

export interface JunitMeta {
  /** name -> value, written as every testsuite's <properties>. */
  properties?: Record<string, string>;
  hostname?: string;
  timestamp?: Date;
  /** The trace file of an outcome, when one was written. */
  traceOf?: (o: CheckOutcome) => string | undefined;
}

export function junitXml(outcomes: readonly CheckOutcome[], target: string, meta: JunitMeta = {}): string {
  const byAbi = new Map<string, CheckOutcome[]>();
  for (const o of outcomes) byAbi.set(o.abi, [...(byAbi.get(o.abi) ?? []), o]);
  const isError = (o: CheckOutcome): boolean => o.status === 'blocked' || (o.status === 'fail' && o.targetFault !== undefined);
  const stamp = (meta.timestamp ?? new Date()).toISOString().replace(/\.\d+Z$/, '');
  const props =
    meta.properties && Object.keys(meta.properties).length
      ? `    <properties>\n${Object.entries(meta.properties)
          .map(([k, v]) => `      <property name="${esc(k)}" value="${esc(v)}"/>`)
          .join('\n')}\n    </properties>\n`
      : '';
  let allTests = 0;
  let allFailures = 0;
  let allErrors = 0;
  let allTime = 0;
  const suites = [...byAbi].map(([abi, os]) => {
    const errors = os.filter(isError).length;
    const failures = os.filter((o) => o.status === 'fail').length - os.filter((o) => o.status === 'fail' && isError(o)).length;
    const skipped = os.filter((o) => o.status === 'skip' || o.status === 'todo').length;
    const time = os.reduce((a, o) => a + o.ms, 0) / 1000;
    allTests += os.length;
    allFailures += failures;
    allErrors += errors;
    allTime += time;
    const cases = os.map((o) => {
      const head = `    <testcase classname="${esc(`${abi}.${o.area}`)}" name="${esc(o.name)}" time="${(o.ms / 1000).toFixed(4)}"`;
      const msg = failedAssertions(o).join('\n');
      const body = `${esc(msg)}\nsources: ${esc(o.sources.map(withDocs).join(', '))}`;
      const trace = meta.traceOf?.(o);
      const out = `\n      <system-out>${esc([...(trace ? [`trace: ${trace}`] : []), 'last calls:', ...lastCalls(o).map((l) => `  ${l}`)].join('\n'))}</system-out>`;
      if (o.status === 'blocked')
        return `${head}>\n      <error type="blocked" message="${esc(`blocked by: ${o.blockedBy ?? '?'}`)}">${body}</error>${out}\n    </testcase>`;
      if (o.status === 'fail' && o.targetFault)
        return `${head}>\n      <error type="target" message="${esc(o.targetFault)}">${body}</error>${out}\n    </testcase>`;
      if (o.status === 'fail') return `${head}>\n      <failure message="${esc(msg.split('\n')[0] ?? '')}">${body}</failure>${out}\n    </testcase>`;
      if (o.status === 'skip' || o.status === 'todo') {
        const kind = o.status === 'todo' && o.reason?.startsWith('baseline:') ? 'xfail' : o.status;
        return `${head}>\n      <skipped message="${esc(`${kind}: ${o.reason ?? ''}`)}"/>\n    </testcase>`;
      }
      return `${head}/>`;
    });
    const host = meta.hostname ? ` hostname="${esc(meta.hostname)}"` : '';
    return `  <testsuite name="${esc(`kvm-cca-conformance ${abi} on ${target}`)}" tests="${os.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time.toFixed(3)}" timestamp="${stamp}"${host}>\n${props}${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="kvm-cca-conformance" tests="${allTests}" failures="${allFailures}" errors="${allErrors}" time="${allTime.toFixed(3)}">\n${suites.join('\n')}\n</testsuites>\n`;
}
