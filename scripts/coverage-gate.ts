// The coverage policy of `npm test`: tap reports coverage (allow-incomplete in
// .taprc) and this gate fails the run below the thresholds we mean:
// line coverage of everything the tests load, and of the two parts whose every
// branch a conformance verdict depends on (the emulator and the harness core).
import { readFileSync } from 'node:fs';

const THRESHOLDS: { prefix: string; lines: number; what: string }[] = [
  { prefix: '', lines: 80, what: 'all files the tests load' },
  { prefix: 'emulator/', lines: 80, what: 'the reference emulator' },
  { prefix: 'harness/abi/', lines: 90, what: 'the ABI profiles and encoders' },
];

interface Metric {
  total: number;
  covered: number;
}
type Summary = Record<string, { lines: Metric }>;

const file = process.argv[2] ?? '.tap/report/coverage-summary.json';
let summary: Summary;
try {
  summary = JSON.parse(readFileSync(file, 'utf8')) as Summary;
} catch (e) {
  console.error(`coverage-gate: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
const root = `${process.cwd()}/`;
let failed = false;
for (const t of THRESHOLDS) {
  let total = 0;
  let covered = 0;
  for (const [path, m] of Object.entries(summary)) {
    if (path === 'total' || !path.replace(root, '').startsWith(t.prefix)) continue;
    total += m.lines.total;
    covered += m.lines.covered;
  }
  if (total === 0) continue;
  const pct = (100 * covered) / total;
  const ok = pct >= t.lines;
  failed ||= !ok;
  console.log(`coverage: ${t.what} (${t.prefix || '*'}): ${pct.toFixed(1)}% of lines, threshold ${t.lines}% ${ok ? 'ok' : 'FAILED'}`);
}
process.exit(failed ? 1 : 0);
