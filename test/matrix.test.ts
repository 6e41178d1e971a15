// The conformance matrix: n/a where a check does not apply, the status where
// it ran, the revision's expectation and source on hover.
import t from 'tap';
import { buildMatrix, matrixHtml, matrixMarkdown } from '../harness/tools/report/matrix.ts';
import { getProfile } from '../profiles/index.ts';
import type { AbiProfile } from '../profiles/types.ts';
import type { CheckDef, CheckOutcome } from '../harness/core/engine.ts';

const p = (n: string): AbiProfile => getProfile(n)!;
const def = (name: string, expects: CheckDef['expects'], area: CheckDef['area'] = 'populate'): CheckDef => ({
  name,
  area,
  description: `${name} <desc>`,
  expects,
  run: async () => undefined,
});
const outcome = (abi: string, name: string, status: CheckOutcome['status']): CheckOutcome => ({
  name,
  area: 'populate',
  abi,
  description: '',
  status,
  assertions: status === 'fail' ? [{ ok: false, message: 'got EINVAL' }] : [{ ok: true, message: 'ok' }],
  sources: [],
  trace: [],
  ms: 0,
});

t.test('cells, counts and hover text', async (t) => {
  const checks = [def('populate/twice', ['populate.twice']), def('populate/after-run', ['rmi.populate-after-run'])];
  const profiles = [p('v10'), p('v14')];
  const outcomes = [outcome('v10', 'populate/twice', 'pass'), outcome('v14', 'populate/after-run', 'fail')];
  const m = buildMatrix({ profiles, checks, outcomes, title: 'test' });
  const rows = m.areas.flatMap((a) => a.rows);
  t.same(
    rows[0]?.cells.map((c) => c.cell),
    ['pass', 'n/a'],
  );
  t.same(
    rows[1]?.cells.map((c) => c.cell),
    ['n/a', 'fail'],
  );
  t.match(rows[0]?.cells[0]?.hover, /populate\.twice: -ENXIO \(V10-PO9/);
  t.match(rows[1]?.cells[1]?.hover, /-EBUSY \(V14-PO9\)[\s\S]*FAILED: got EINVAL/);
  t.equal(m.counts.v10?.pass, 1);
  t.equal(m.counts.v14?.fail, 1);
  const html = matrixHtml({ profiles, checks, outcomes, title: 'a <title>' });
  t.match(html, /<th class="rev" title="v10, 2025-08-20/);
  t.match(html, /a &lt;title&gt;/, 'escaped');
  t.match(html, /class="fail gen" title="rmi\.populate-after-run/, 'v14 starts the RMI generation');
  const md = matrixMarkdown({ profiles, checks, outcomes, title: 'x' });
  t.match(md, /\| `populate\/twice` \| ✓ \| · \|/);
});

t.test('failures first, and each area with its own counts', async (t) => {
  const checks = [
    def('populate/twice', ['populate.twice']),
    def('populate/one-page', ['populate.twice']),
    def('create-realm/in-new', ['populate.twice'], 'create-realm'),
  ];
  const profiles = [p('v10')];
  const outcomes = [
    outcome('v10', 'populate/twice', 'pass'),
    { ...outcome('v10', 'populate/one-page', 'blocked'), assertions: [{ ok: false, message: 'blocked' }] },
    { ...outcome('v10', 'create-realm/in-new', 'fail'), area: 'create-realm' as const },
  ];
  const m = buildMatrix({ profiles, checks, outcomes, title: 't' });
  t.same(
    m.failing.map((r) => r.check.name),
    ['populate/one-page', 'create-realm/in-new'],
    'every failed or blocked check, in check order',
  );
  const md = matrixMarkdown({ profiles, checks, outcomes, title: 'x' });
  const lines = md.split('\n');
  const at = (s: string): number => lines.findIndex((l) => l.includes(s));
  t.ok(
    at('**failing or blocked** (2)') < at('**create-realm**') && at('**failing or blocked**') < at('**populate**'),
    'the failing rows come before the areas',
  );
  t.match(md, /\| \*\*populate\*\* \| 1\/2 1✗ \|/, 'an area row: passed/run and its failures for each revision');
  t.match(md, /\| \*\*create-realm\*\* \| 0\/1 1✗ \|/);
  const html = matrixHtml({ profiles, checks, outcomes, title: 'x' });
  t.match(html, /<tr class="area failing"><th colspan="2">failing or blocked <span>\(2;/);
  t.match(html, /<tr class="area"><th>populate <span>\(2\)<\/span><\/th><th class="acount">1\/2 <b class="f">1✗<\/b><\/th><\/tr>/);
  const none = matrixMarkdown({ profiles, checks, outcomes: [outcome('v10', 'populate/twice', 'pass')], title: 'x' });
  t.notMatch(none, /failing or blocked/, 'no failures: no such section');
});
