// JUnit XML, one testsuite per ABI revision, for CI systems that read it.
import { failedAssertions } from './tap.ts';
import type { CheckOutcome } from '../engine.ts';

// Control characters XML 1.0 cannot carry even escaped (and unpaired surrogates) become U+FFFD.
const esc = (s: string): string =>
  s
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

export function junitXml(outcomes: readonly CheckOutcome[], target: string): string {
  const byAbi = new Map<string, CheckOutcome[]>();
  for (const o of outcomes) byAbi.set(o.abi, [...(byAbi.get(o.abi) ?? []), o]);
  const suites = [...byAbi].map(([abi, os]) => {
    const failures = os.filter((o) => o.status === 'fail').length;
    const skipped = os.filter((o) => o.status === 'skip' || o.status === 'todo').length;
    const time = os.reduce((a, o) => a + o.ms, 0) / 1000;
    const cases = os.map((o) => {
      const head = `    <testcase classname="${esc(`${abi}.${o.area}`)}" name="${esc(o.name)}" time="${(o.ms / 1000).toFixed(4)}"`;
      if (o.status === 'fail') {
        const msg = failedAssertions(o).join('\n');
        return `${head}>\n      <failure message="${esc(msg.split('\n')[0] ?? '')}">${esc(msg)}\nsources: ${esc(o.sources.join(', '))}</failure>\n    </testcase>`;
      }
      if (o.status === 'skip' || o.status === 'todo') return `${head}>\n      <skipped message="${esc(`${o.status}: ${o.reason ?? ''}`)}"/>\n    </testcase>`;
      return `${head}/>`;
    });
    return `  <testsuite name="${esc(`kvm-cca-conformance ${abi} on ${target}`)}" tests="${os.length}" failures="${failures}" skipped="${skipped}" time="${time.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${suites.join('\n')}\n</testsuites>\n`;
}
