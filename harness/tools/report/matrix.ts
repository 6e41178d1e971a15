// The conformance matrix: revisions as columns, checks as rows grouped by
// area, one cell per (check, revision): pass / fail / blocked (a set-up step
// failed first) / todo / skip, or n/a when
// the check does not apply to that revision. Hovering a cell shows what the
// revision's profile expects and where that comes from.
import type { AbiProfile } from '../../../profiles/types.ts';
import { AREAS, applicable, type CheckDef, type CheckOutcome } from '../../core/engine.ts';
import { esc } from './xml.ts';

export type Cell = 'pass' | 'fail' | 'blocked' | 'todo' | 'skip' | 'n/a' | 'not run';

export interface MatrixInput {
  profiles: readonly AbiProfile[];
  checks: readonly CheckDef[];
  /** Outcomes of the run, any order. */
  outcomes: readonly CheckOutcome[];
  /** One line: target and date. */
  title: string;
}

interface Row {
  check: CheckDef;
  cells: { cell: Cell; hover: string }[];
}

function expectText(p: AbiProfile, c: CheckDef, o: CheckOutcome | undefined): string {
  const lines = c.expects.map((k) => {
    const e = p.expect[k];
    if (!e) return `${k}: —`;
    const want = e.errno === 0 ? (e.ret === undefined ? 'success' : `= ${e.ret}`) : `-${e.errno}`;
    return `${k}: ${want} (${e.source})${e.dispute ? ` [dispute: ${e.dispute}]` : ''}${e.unconfirmed ? ` [UNCONFIRMED: ${e.unconfirmed}]` : ''}${e.crash ? ` [crash: ${e.crash}]` : ''}`;
  });
  if (lines.length === 0 && o) lines.push(...o.sources);
  if (o?.status === 'fail') lines.push(...o.assertions.filter((a) => !a.ok).map((a) => `FAILED: ${a.message}`));
  if (o?.status === 'blocked') lines.push(`BLOCKED by the set-up call ${o.blockedBy ?? '?'}`);
  if (o?.reason) lines.push(`${o.status}: ${o.reason}`);
  return lines.join('\n');
}

export function buildMatrix(m: MatrixInput): { areas: { area: string; rows: Row[] }[]; counts: Record<string, Record<Cell, number>>; failing: Row[] } {
  const byKey = new Map(m.outcomes.map((o) => [`${o.abi}\u0000${o.name}`, o]));
  // One row per name: a name may stand for one check per era (the RME-era and the RMI-era
  // populate/bad-pointer); each revision's cell comes from the check that applies to it.
  const applies = new Map(m.profiles.map((p) => [p.name, new Map(applicable(m.checks, p).map((c) => [c.name, c]))]));
  const counts: Record<string, Record<Cell, number>> = {};
  for (const p of m.profiles) counts[p.name] = { pass: 0, fail: 0, blocked: 0, todo: 0, skip: 0, 'n/a': 0, 'not run': 0 };
  const first = new Map<string, CheckDef>();
  for (const c of m.checks) if (!first.has(c.name) && m.profiles.some((p) => applies.get(p.name)?.has(c.name))) first.set(c.name, c);
  const rows: Row[] = [...first.values()].map((c) => ({
    check: c,
    cells: m.profiles.map((p) => {
      const def = applies.get(p.name)?.get(c.name);
      const o = byKey.get(`${p.name}\u0000${c.name}`);
      const cell: Cell = !def ? 'n/a' : o ? o.status : 'not run';
      counts[p.name]![cell]++;
      return { cell, hover: !def ? `${p.name} has no expectation for ${c.expects.join(', ') || 'this check'}` : expectText(p, def, o) };
    }),
  }));
  const areas = AREAS.map((a) => ({ area: a, rows: rows.filter((r) => r.check.area === a) })).filter((x) => x.rows.length > 0);
  // Failures first: every check with a failed or blocked cell, before the areas.
  const failing = rows.filter((r) => r.cells.some((c) => c.cell === 'fail' || c.cell === 'blocked'));
  return { areas, counts, failing };
}

/** An area's passed/run and failed (+blocked) count for the revision in column `i`. */
function areaCount(rows: readonly Row[], i: number): { pass: number; run: number; bad: number } {
  let pass = 0;
  let run = 0;
  let bad = 0;
  for (const r of rows) {
    const c = r.cells[i]?.cell;
    if (!c || c === 'n/a') continue;
    run++;
    if (c === 'pass') pass++;
    if (c === 'fail' || c === 'blocked') bad++;
  }
  return { pass, run, bad };
}

const SYMBOL: Record<Cell, string> = { pass: '✓', fail: '✗', blocked: 'b', todo: '?', skip: 's', 'n/a': '·', 'not run': '–' };

export function matrixHtml(m: MatrixInput): string {
  const { areas, counts, failing } = buildMatrix(m);
  // a thicker rule where the uAPI generation changes (multiplexed | RMI)
  const gen = (i: number): string => (i > 0 && m.profiles[i]?.generation !== m.profiles[i - 1]?.generation ? ' gen' : '');
  const cols = m.profiles.map((p, i) => `<th class="rev${gen(i)}" title="${esc(`${p.title}\n${p.source}`)}">${esc(p.name)}</th>`).join('');
  const total = (p: AbiProfile): string => {
    const k = counts[p.name]!;
    return `<td class="count${gen(m.profiles.indexOf(p))}" title="pass ${k.pass}, fail ${k.fail}, blocked ${k.blocked}, todo ${k.todo}, skip ${k.skip}, n/a ${k['n/a']}">${k.pass}/${k.pass + k.fail + k.blocked + k.todo + k.skip + k['not run']}${k.fail ? `<br><b class="f">${k.fail} ✗</b>` : ''}${k.blocked ? `<br><b class="bl">${k.blocked} b</b>` : ''}</td>`;
  };
  const row = (r: Row): string =>
    `<tr><th class="name" title="${esc(r.check.description)}">${esc(r.check.name)}</th>${r.cells
      .map((c, i) => `<td class="${c.cell.replace(/[^a-z]/g, '')}${gen(i)}" title="${esc(c.hover)}">${SYMBOL[c.cell]}</td>`)
      .join('')}</tr>`;
  // Each area's header row carries its own passed/run per revision, and its failures.
  const areaHead = (area: string, rows: readonly Row[]): string =>
    `<tr class="area"><th>${esc(area)} <span>(${rows.length})</span></th>${m.profiles
      .map((_, i) => {
        const k = areaCount(rows, i);
        return `<th class="acount${gen(i)}">${k.run ? `${k.pass}/${k.run}${k.bad ? ` <b class="f">${k.bad}✗</b>` : ''}` : ''}</th>`;
      })
      .join('')}</tr>`;
  const first = failing.length
    ? `<tr class="area failing"><th colspan="${m.profiles.length + 1}">failing or blocked <span>(${failing.length}; each also under its area)</span></th></tr>\n${failing.map(row).join('\n')}\n`
    : '';
  const body = first + areas.map(({ area, rows }) => `${areaHead(area, rows)}\n${rows.map(row).join('\n')}`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>KVM CCA host uAPI conformance matrix</title>
<style>
body{font:13px/1.35 system-ui,sans-serif;margin:16px;color:#1d2330}
h1{font-size:18px;margin:0 0 4px} p.sub{margin:0 0 10px;color:#555}
.legend span{display:inline-block;margin-right:14px}
.legend b{display:inline-block;width:18px;text-align:center;border-radius:3px;margin-right:4px}
table{border-collapse:collapse}
th,td{border:1px solid #d8dce3;padding:2px 5px}
thead th{position:sticky;top:0;background:#f3f5f9;z-index:1}
th.rev{writing-mode:horizontal-tb;min-width:38px}
th.name{text-align:left;font-weight:normal;font-family:ui-monospace,monospace;font-size:12px;white-space:nowrap}
tr.area th{background:#e6eaf2;text-align:left;font-size:13px;padding:5px} tr.area span{color:#667;font-weight:normal}
tr.area th.acount{text-align:center;font-size:11px;font-weight:normal} tr.failing th{background:#f9d3d3}
td{text-align:center;min-width:34px;cursor:help}
td.pass,.legend b.pass{background:#d7f2dc;color:#176b2c}
td.fail,.legend b.fail{background:#f9d3d3;color:#9b1c1c;font-weight:bold}
td.blocked,.legend b.blocked{background:#f6e0c8;color:#8a4b08}
td.todo,.legend b.todo{background:#fff1c2;color:#7a5b00}
td.skip,.legend b.skip{background:#e4e8f0;color:#4a5568}
td.na,.legend b.na{background:#fafbfc;color:#c3c8d0}
td.notrun,.legend b.notrun{background:#fff;color:#999}
td.count{font-size:11px;background:#f3f5f9} b.f{color:#9b1c1c} b.bl{color:#8a4b08}
.gen{border-left:3px solid #7b8599}
</style></head><body>
<h1>Arm CCA realm host uAPI in KVM — conformance matrix</h1>
<p class="sub">${esc(m.title)}. Hover a cell for the revision's expectation and its source (conditions.md / abi-evolution.md / mail id); hover a revision for its ABI patch.</p>
<p class="legend"><span><b class="pass">✓</b>pass</span><span><b class="fail">✗</b>fail</span><span><b class="blocked">b</b>blocked (a set-up step failed before the condition was reached)</span><span><b class="todo">?</b>todo (UNCONFIRMED in the spec)</span><span><b class="skip">s</b>skipped on this target</span><span><b class="na">·</b>not applicable to this revision</span><span><b class="notrun">–</b>not run</span></p>
<table>
<thead><tr><th>check</th>${cols}</tr></thead>
<tbody>
<tr><th class="name">passed / run</th>${m.profiles.map(total).join('')}</tr>
${body}
</tbody></table>
</body></html>
`;
}

/** A check name inside a Markdown table cell: no line break, no cell or code-span end. */
const mdCell = (s: string): string =>
  s
    .replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, ' ')
    .replace(/\|/g, '\\|')
    .replace(/`/g, "'");

export function matrixMarkdown(m: MatrixInput): string {
  const { areas, counts, failing } = buildMatrix(m);
  const head = `| check | ${m.profiles.map((p) => p.name).join(' | ')} |\n|---|${m.profiles.map(() => ':-:').join('|')}|`;
  const cnt = `| **passed / run** | ${m.profiles
    .map((p) => {
      const k = counts[p.name]!;
      return `${k.pass}/${k.pass + k.fail + k.blocked + k.todo + k.skip + k['not run']}`;
    })
    .join(' | ')} |`;
  const out = [
    `# KVM CCA host uAPI conformance matrix`,
    '',
    m.title,
    '',
    'Legend: ✓ pass, ✗ fail, b blocked (a set-up step failed), ? todo (UNCONFIRMED), s skip, · not applicable, – not run. Sources: the HTML matrix (hover) or the profiles in profiles/.',
    '',
    head,
    cnt,
  ];
  const row = (r: Row): string => `| \`${mdCell(r.check.name)}\` | ${r.cells.map((c) => SYMBOL[c.cell]).join(' | ')} |`;
  // Failures first, then each area with its own passed/run per revision.
  if (failing.length) {
    out.push(`| **failing or blocked** (${failing.length}) |${m.profiles.map(() => '').join('|')}|`);
    for (const r of failing) out.push(row(r));
  }
  for (const { area, rows } of areas) {
    out.push(
      `| **${area}** |${m.profiles
        .map((_, i) => {
          const k = areaCount(rows, i);
          return k.run ? ` ${k.pass}/${k.run}${k.bad ? ` ${k.bad}✗` : ''} ` : '';
        })
        .join('|')}|`,
    );
    for (const r of rows) out.push(row(r));
  }
  return `${out.join('\n')}\n`;
}
