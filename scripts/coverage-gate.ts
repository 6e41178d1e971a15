// The coverage gate of `npm test` (`tap && tsx scripts/coverage-gate.ts`).
//
// tap 21 collects coverage (one raw V8 file per node process in .tap/coverage,
// written by @tapjs/processinfo: the test processes and every node process
// they spawn, such as ./run.sh) but its own merged report is wrong here, so
// .taprc turns it off and this gate computes the figures:
//  - the ./run.sh children run TypeScript through tsx, which leaves
//    `sourcesContent: [null]` in its source maps when NODE_V8_COVERAGE is not
//    set (processinfo uses the inspector instead): c8 then sees an empty source
//    and counts each such file as 1 line, covered;
//  - c8 merges the V8 ranges of all processes by URL *before* applying source
//    maps, but the test processes compile the same .ts with ts-node
//    (@tapjs/typescript) and the children with tsx: different JS, so the
//    merged ranges mean nothing. Together these made every file a child loads
//    "100%" (in CI: emulator/ at 100%, the whole project at 99.7%).
// So each process is converted on its own (with the null sourcesContent
// dropped, so the .ts is read from disk) and the per-line results are merged.
//
// Policy: every .ts file under harness/ and emulator/ counts; a file no test
// loads counts as 0% of its lines (a types-only file, which has no code at run
// time, is listed and left out). Line coverage of the lines that hold code
// (c8 also counts blank and comment lines, as covered when their function
// ran), per directory, with thresholds a few points under what the suite
// reaches, and a floor per file so an untested new file cannot hide in a
// large directory. harness/core/targets/ is reached mostly by the tests that boot
// the qemu guest: when those were skipped (no qemu, KVM_CCA_REQUIRE_QEMU unset),
// its threshold is not applied and the gate says so.
//
//   tsx scripts/coverage-gate.ts [--files] [COVERAGE_DIR]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Report } from 'c8';
import { qemuMissing, qemuRequired } from '../test/lib/qemu-guest.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Line-coverage thresholds (%) per directory (its own files, not subdirectories). */
const THRESHOLDS: { dir: string; lines: number; what: string }[] = [
  { dir: 'emulator/', lines: 90, what: 'the reference emulator' },
  { dir: 'harness/core/', lines: 90, what: 'the harness core (engine, calls, afterwards, steps)' },
  { dir: 'harness/tools/', lines: 90, what: 'the harness tools (cli, replay, repro, trace, detect, baseline)' },
  { dir: 'uapi/', lines: 90, what: 'the uAPI description and the wire' },
  { dir: 'profiles/', lines: 95, what: 'the ABI profiles and encoders' },
  { dir: 'harness/tools/report/', lines: 90, what: 'TAP, JUnit and matrix reports' },
  { dir: 'harness/core/dsl/', lines: 90, what: 'the scenario DSL (kvm, vm, vcpu, mem)' },
  { dir: 'harness/core/targets/', lines: 85, what: 'the targets (emulator, agent, ssh, qemu)' },
];
/** No file under SOURCE_DIRS below this (%). */
const FILE_FLOOR = 60;
const SOURCE_DIRS = ['harness', 'emulator', 'uapi', 'profiles', 'revisions'];

interface Lines {
  total: number;
  covered: number;
}
interface FileCov {
  /** line number -> hits (v8-to-istanbul makes one statement per line; c8-ignored lines are absent). */
  getLineCoverage(): Record<string, number>;
}
interface CoverageMap {
  files(): string[];
  fileCoverageFor(f: string): FileCov;
  merge(other: CoverageMap): void;
}
interface ReportWithMap {
  getCoverageMapFromAllCoverageFiles(): Promise<CoverageMap>;
}
interface V8Coverage {
  result: unknown[];
  'source-map-cache'?: Record<string, { data?: { sourcesContent?: (string | null)[] } }>;
}

function fail(msg: string): never {
  console.error(`coverage-gate: ${msg}`);
  process.exit(1);
}

const args = process.argv.slice(2);
const listFiles = args.includes('--files');
const covDir = args.find((a) => !a.startsWith('--')) ?? join(ROOT, '.tap/coverage');
process.chdir(ROOT); // c8 matches include/exclude relative to the cwd

let raw: string[];
try {
  raw = readdirSync(covDir).filter((f) => f.endsWith('.json'));
} catch (e) {
  fail(`cannot read ${covDir}: ${(e as Error).message} (run tap first)`);
}
if (raw.length === 0) fail(`no coverage in ${covDir} (run tap first)`);

/** Every process on its own: see the header for why c8 must not merge them. */
async function perProcess(): Promise<CoverageMap | undefined> {
  let merged: CoverageMap | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'kvm-cca-coverage-'));
  try {
    for (const f of raw) {
      const cov = JSON.parse(readFileSync(join(covDir, f), 'utf8')) as V8Coverage;
      for (const sm of Object.values(cov['source-map-cache'] ?? {})) {
        if (sm.data?.sourcesContent?.some((s) => s == null)) delete sm.data.sourcesContent;
      }
      const one = mkdtempSync(join(tmp, 'p-'));
      writeFileSync(join(one, f), JSON.stringify(cov));
      // only the directories the policy judges: converting checks/, test/ and the rest per process was most of the gate's time
      const r = new Report({
        reporter: [],
        tempDirectory: one,
        reportsDirectory: one,
        excludeNodeModules: true,
        include: SOURCE_DIRS.map((d) => `${d}/**`),
      }) as unknown as ReportWithMap;
      const map = await r.getCoverageMapFromAllCoverageFiles();
      if (merged) merged.merge(map);
      else merged = map;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return merged;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

/**
 * The numbers (1-based) of the lines that hold code: not blank, not only a
 * comment. c8 counts every line, and a comment inside a function that ran is
 * "covered": counting only code lines keeps the figures from looking better
 * than the tests are.
 */
function codeLines(text: string): number[] {
  const out: number[] = [];
  let inBlock = false;
  text.split(/\r?\n/).forEach((line, i) => {
    let l = line.trim();
    if (inBlock) {
      const end = l.indexOf('*/');
      if (end < 0) return;
      inBlock = false;
      l = l.slice(end + 2).trim();
    }
    while (l.startsWith('/*')) {
      const end = l.indexOf('*/', 2);
      if (end < 0) {
        inBlock = true;
        return;
      }
      l = l.slice(end + 2).trim();
    }
    if (l === '' || l.startsWith('//')) return;
    out.push(i + 1);
  });
  return out;
}

/** True when the file compiles to no code at all (interfaces, types, `import type`). */
async function typesOnly(text: string): Promise<boolean> {
  const ts = (await import('typescript')).default;
  const js = ts.transpileModule(text, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  return (
    js
      .replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      .replace(/export\s*\{\s*\};?/g, '')
      .trim() === ''
  );
}

const t0 = performance.now();
const map = await perProcess();
const byFile = new Map<string, Record<string, number>>();
for (const f of map?.files() ?? []) byFile.set(relative(ROOT, f), map!.fileCoverageFor(f).getLineCoverage());

interface Row extends Lines {
  file: string;
  loaded: boolean;
}
const rows: Row[] = [];
const skippedTypes: string[] = [];
for (const file of SOURCE_DIRS.flatMap(sources)) {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const code = codeLines(text);
  const hits = byFile.get(file);
  if (hits) {
    const counted = code.filter((n) => hits[n] !== undefined); // c8-ignored lines are not counted
    rows.push({ file, loaded: true, total: counted.length, covered: counted.filter((n) => (hits[n] ?? 0) > 0).length });
  } else if (code.length === 0 || (await typesOnly(text))) skippedTypes.push(file);
  else rows.push({ file, loaded: false, total: code.length, covered: 0 });
}

const pct = (l: Lines): number => (l.total ? (100 * l.covered) / l.total : 100);
const sum = (rs: Row[]): Lines => rs.reduce((a, r) => ({ total: a.total + r.total, covered: a.covered + r.covered }), { total: 0, covered: 0 });
const dirOf = (f: string): string => f.slice(0, f.lastIndexOf('/') + 1);

/** What the qemu tests lacked when they were skipped (and QEMU was not required), else undefined. */
const qemuSkipped = qemuRequired ? undefined : qemuMissing();
let failed = false;
const dirs = [...new Set(rows.map((r) => dirOf(r.file)))].sort();
for (const d of dirs) {
  const rs = rows.filter((r) => dirOf(r.file) === d);
  const l = sum(rs);
  const th = THRESHOLDS.find((x) => x.dir === d);
  let verdict = 'no threshold';
  if (th && d === 'harness/core/targets/' && qemuSkipped !== undefined)
    verdict = `threshold ${th.lines}% not applied: the qemu tests were skipped (${qemuSkipped} missing)`;
  else if (th) {
    const ok = pct(l) >= th.lines;
    failed ||= !ok;
    verdict = `threshold ${th.lines}% ${ok ? 'ok' : 'FAILED'}`;
  }
  const unloaded = rs.filter((r) => !r.loaded).length;
  console.log(
    `coverage: ${d.padEnd(17)} ${pct(l).toFixed(1).padStart(5)}% of ${String(l.total).padStart(5)} lines, ${rs.length} files` +
      `${unloaded ? ` (${unloaded} loaded by no test)` : ''}: ${verdict}`,
  );
}
const all = sum(rows);
console.log(
  `coverage: ${'harness/ emulator/'.padEnd(17)} ${pct(all).toFixed(1).padStart(5)}% of ${String(all.total).padStart(5)} lines, ${rows.length} files in all`,
);

for (const r of rows) {
  const low = pct(r) < FILE_FLOOR && !(qemuSkipped !== undefined && dirOf(r.file) === 'harness/core/targets/');
  if (low) failed = true;
  if (low || !r.loaded || listFiles)
    console.log(
      `coverage:   ${r.file}: ${pct(r).toFixed(1)}% of ${r.total} lines${r.loaded ? '' : ', loaded by no test'}${low ? `: below the ${FILE_FLOOR}% floor per file, FAILED` : ''}`,
    );
}
if (skippedTypes.length) console.log(`coverage: types only, no code to cover: ${skippedTypes.join(', ')}`);
console.log(`coverage: ${raw.length} processes, ${((performance.now() - t0) / 1000).toFixed(1)} s${failed ? '; FAILED' : ''}`);
process.exit(failed ? 1 : 0);
