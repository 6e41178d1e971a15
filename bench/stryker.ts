// Mutation score of the emulator's realm, RMM and memory models under the
// conformance suite (StrykerJS, command runner; see stryker.config.mjs).
//   npx tsx bench/stryker.ts                       run every module (incremental), print the tables
//   npx tsx bench/stryker.ts --module rmm          one module (repeatable; --list names them)
//   npx tsx bench/stryker.ts --abi v7              the suite of one revision only (its own reports)
//   npx tsx bench/stryker.ts --report              print the tables of the last runs, run nothing
//   npx tsx bench/stryker.ts --survivors [--module M]   list the surviving mutants (id, place, change)
//   npx tsx bench/stryker.ts --mutate emulator/rmm.ts:200-230   an ad-hoc selection (Stryker's FILE:LINES)
//   npx tsx bench/stryker.ts --sample --out DIR   the fixed sample CI runs (SAMPLE below)
//   --retest   test the survivors again (after new checks), reuse every other result
//   --fresh    ignore the incremental file (re-run every mutant); --out DIR   reports there
// Per module: mutants, killed (+ timeouts), survived, equivalent (bench/stryker-triage.md),
// score = detected / (mutants - equivalent - errors). Per revision: of the mutants that
// revision's checks reach, how many its checks kill (scripts/stryker-suite.ts records it).
// Reports go to reports/stryker/<module>[@REV]/. Prints figures; asserts nothing.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MutantRecord } from '../scripts/stryker-suite.ts';
import { STRYKER_TRIAGE_CHECKS } from '../checks/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPORTS = join(ROOT, 'reports', 'stryker');
const TRIAGE = join(ROOT, 'bench', 'stryker-triage.md');

/** The mutated modules, by short name; "realm" modules carry the 90% target. */
export const MODULES: Record<string, { files: string[]; realm: boolean }> = {
  'realm-rme': { files: ['emulator/realm-rme.ts'], realm: true },
  'realm-rme-cap': { files: ['emulator/realm-rme-cap.ts'], realm: true },
  'realm-rmi': { files: ['emulator/realm-rmi.ts'], realm: true },
  'realm-rmi-populate': { files: ['emulator/realm-rmi-populate.ts'], realm: true },
  'realm-common': { files: ['emulator/realm-common.ts'], realm: true },
  'realm-module': { files: ['emulator/realm-module.ts'], realm: true },
  rmm: { files: ['emulator/rmm.ts'], realm: false },
  memory: { files: ['emulator/memory.ts', 'emulator/memslots.ts', 'emulator/guest_memfd.ts'], realm: false },
  // the per-revision switches: module-level data only, so every mutant needs a fresh process
  rules: { files: ['emulator/rules.ts'], realm: false },
};

/**
 * The fixed sample CI runs (test/stryker-sample.test.ts): a few lines whose every
 * mutant the suite must kill, on one revision so it stays short.
 */
export const SAMPLE = { file: 'emulator/realm-rmi-populate.ts', from: 'if (!vm.isPrivate(gfn, gfn + 1)) {', lines: 2, abi: 'v14' };

/** SAMPLE as Stryker's FILE:FIRST-LAST, found by its code (a reformat moves lines, not code). */
export function sampleRange(root = ROOT): string {
  const lines = readFileSync(join(root, SAMPLE.file), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(SAMPLE.from));
  if (i < 0) throw new Error(`${SAMPLE.file} no longer has "${SAMPLE.from}": choose a new sample in bench/stryker.ts`);
  return `${SAMPLE.file}:${i + 1}-${i + SAMPLE.lines}`;
}

interface ReportMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
  status: 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';
  statusReason?: string;
}
interface Report {
  files: Record<string, { source: string; mutants: ReportMutant[] }>;
}
/** Per mutant key, what the suite's revisions did (kept across incremental runs). */
type RevisionLog = Record<string, { ran: string[]; killedBy: Record<string, string>; killedByOld?: boolean }>;

/**
 * A mutant's name that survives code moving between files and lines (the emulator is
 * being split): what replaces what, on which line of code. Two identical lines share it.
 */
export const mutantKey = (source: string, m: ReportMutant): string =>
  `${m.mutatorName} ${original(source, m).replace(/\s+/g, ' ').slice(0, 80)} -> ${(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80)} @ ${(source.split('\n')[m.location.start.line - 1] ?? '').trim().slice(0, 160)}`;

function usage(msg?: string): never {
  if (msg) process.stderr.write(`stryker: ${msg}\n`);
  process.stderr.write(
    'usage: npx tsx bench/stryker.ts [--module NAME]... [--mutate FILE[:LINES]]... [--abi REV] [--out DIR] [--report] [--survivors] [--fresh] [--list]\n',
  );
  process.exit(msg ? 2 : 0);
}

/** A row writes a key's `|` as `\|` (a table cell); mutantKey has the plain `|`. A key may hold a backtick (a template string): the cell ends at the one before the verdict. */
const unescapeKey = (cell: string): string => cell.replace(/\\\|/g, '|');

/** Equivalent mutants, from the triage file: rows "| `key` | equivalent | reason |". */
/** Every mutant name the triage file has a row for, whatever its verdict. */
export function triaged(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\|\s*`(.+?)`\s*\|\s*(?:equivalent|killed|open)\b/.exec(line);
    if (m) out.add(unescapeKey(m[1]!));
  }
  return out;
}

export function equivalents(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\|\s*`(.+?)`\s*\|\s*equivalent\b/.exec(line);
    if (m) out.add(unescapeKey(m[1]!));
  }
  return out;
}

const dirOf = (mod: string, abi?: string): string => join(REPORTS, abi ? `${mod}@${abi}` : mod);

/** Fold a run's per-mutant records (keyed by that run's ids) into the kept log (keyed by mutant name). */
function fold(dir: string): void {
  const suite = join(dir, 'suite');
  const report = JSON.parse(readFileSync(join(dir, 'mutation.json'), 'utf8')) as Report;
  const logPath = join(dir, 'revisions.json');
  const old: RevisionLog = existsSync(logPath) ? (JSON.parse(readFileSync(logPath, 'utf8')) as RevisionLog) : {};
  const log: RevisionLog = {};
  const recDir = join(suite, 'mutants');
  for (const f of Object.values(report.files)) {
    for (const m of f.mutants) {
      const k = mutantKey(f.source, m);
      const p = join(recDir, `${m.id}.json`);
      if (existsSync(p)) {
        const r = JSON.parse(readFileSync(p, 'utf8')) as MutantRecord;
        log[k] = { ran: r.ran, killedBy: r.killedBy, killedByOld: r.killedByOld };
      } else if (old[k]) log[k] = old[k];
    }
  }
  writeFileSync(logPath, JSON.stringify(log, null, 1));
}

/**
 * Drop the survivors from the incremental file, so the next run tests them again
 * with the checks written since (Stryker reuses every result of a file whose code
 * did not change, survivors included, when the test runner reports no coverage).
 */
function forgetSurvivors(dir: string): number {
  const p = join(dir, 'incremental.json');
  if (!existsSync(p)) return 0;
  const inc = JSON.parse(readFileSync(p, 'utf8')) as Report;
  let n = 0;
  for (const f of Object.values(inc.files)) {
    const keep = f.mutants.filter((m) => m.status !== 'Survived' && m.status !== 'NoCoverage');
    n += f.mutants.length - keep.length;
    f.mutants = keep;
  }
  writeFileSync(p, JSON.stringify(inc));
  return n;
}

/** One Stryker run of `mutate` (file globs or ranges) into `dir`. */
async function runStryker(mutate: readonly string[], dir: string, abi: string | undefined, fresh: boolean, tempDir?: string): Promise<void> {
  const suite = join(dir, 'suite');
  rmSync(suite, { recursive: true, force: true });
  mkdirSync(suite, { recursive: true });
  process.env.STRYKER_SUITE_DIR = suite;
  if (abi) process.env.STRYKER_ABI = abi;
  else delete process.env.STRYKER_ABI;
  const { Stryker } = await import('@stryker-mutator/core');
  const t0 = performance.now();
  const stryker = new Stryker({
    mutate: [...mutate],
    ...(tempDir ? { tempDirName: tempDir } : {}),
    jsonReporter: { fileName: join(dir, 'mutation.json') },
    incremental: !fresh,
    force: fresh,
    incrementalFile: join(dir, 'incremental.json'),
  });
  await stryker.runMutationTest();
  const s = (performance.now() - t0) / 1000;
  fold(dir);
  const cov = join(suite, 'coverage.json');
  if (existsSync(cov)) writeFileSync(join(dir, 'coverage.json'), readFileSync(cov));
  const report = loadReport(dir)!;
  writeFileSync(
    join(dir, 'timing.txt'),
    `${s.toFixed(0)} s for ${Object.values(report.files).reduce((n, f) => n + f.mutants.length, 0)} mutants (${new Date().toISOString()})\n`,
  );
}

interface Row {
  name: string;
  mutants: number;
  killed: number;
  /** Killed by the suite without the checks of the triage (STRYKER_TRIAGE_CHECKS) (the first failure of some revision is an older check). */
  killedBefore: number;
  timeout: number;
  survived: number;
  nocov: number;
  errors: number;
  equivalent: number;
}
const score = (r: Row, before = false): number => {
  const valid = r.mutants - r.equivalent - r.errors;
  return valid > 0 ? (100 * ((before ? r.killedBefore : r.killed) + r.timeout)) / valid : 100;
};
const NEW_CHECKS = new Set(STRYKER_TRIAGE_CHECKS);
const isNew = (abiCheck: string): boolean => NEW_CHECKS.has(abiCheck.slice(abiCheck.indexOf('/') + 1));

/** The code a mutant replaces (the report's 1-based lines and columns). */
export function original(source: string, m: ReportMutant): string {
  const lines = source.split('\n');
  const { start, end } = m.location;
  if (start.line === end.line) return lines[start.line - 1]!.slice(start.column - 1, end.column - 1);
  return [lines[start.line - 1]!.slice(start.column - 1), ...lines.slice(start.line, end.line - 1), lines[end.line - 1]!.slice(0, end.column - 1)].join('\n');
}

/**
 * Survivors that are equivalent by construction, with the reason (the triage file
 * records them like any other; this only drafts the rows):
 * - a diagnostic text (a string with a space: fail()'s message, a copy's label) never
 *   reaches user space: the uAPI returns only the errno;
 * - a bug switch's name, or its test, made to read as the switch is in the suite's runs (off).
 */
export function autoVerdict(source: string, m: ReportMutant): string | undefined {
  const orig = original(source, m);
  const lineText = source.split('\n')[m.location.start.line - 1] ?? '';
  const before = lineText.slice(0, m.location.start.column - 1);
  if (m.mutatorName === 'StringLiteral' && /^['"`].* .*['"`]$/s.test(orig))
    return 'diagnostic text: never reaches user space (the call returns only its errno)';
  if (m.mutatorName === 'StringLiteral' && /\bbug\($/.test(before)) return "bug switch name: bug('') is off, as every switch is in the suite's runs";
  const bugCall = /^[\w.]*\bbug\('[^']*'\)$/;
  if (bugCall.test(orig) && m.replacement === 'false') return "bug switch test replaced by its value in the suite's runs (off)";
  if (/^![\w.]*\bbug\('[^']*'\)$/.test(orig) && m.replacement === 'true') return "negated bug switch test replaced by its value in the suite's runs (true)";
  return undefined;
}

function loadReport(dir: string): Report | undefined {
  const p = join(dir, 'mutation.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Report) : undefined;
}

function tables(mods: readonly { name: string; dir: string }[], abi: string | undefined, survivors: boolean, appendRows?: string[]): void {
  const text = existsSync(TRIAGE) ? readFileSync(TRIAGE, 'utf8') : '';
  const eq = equivalents(text);
  const done = triaged(text);
  const rows: Row[] = [];
  const perRev = new Map<string, { reached: number; killed: number; before: number }>();
  const total: Row = { name: 'realm modules', mutants: 0, killed: 0, killedBefore: 0, timeout: 0, survived: 0, nocov: 0, errors: 0, equivalent: 0 };
  for (const { name: mod, dir } of mods) {
    const rep = loadReport(dir);
    if (!rep) {
      process.stdout.write(`${mod}: no report in ${dir} (run it first)\n`);
      continue;
    }
    const logPath = join(dir, 'revisions.json');
    const log: RevisionLog = existsSync(logPath) ? (JSON.parse(readFileSync(logPath, 'utf8')) as RevisionLog) : {};
    const row: Row = { name: mod, mutants: 0, killed: 0, killedBefore: 0, timeout: 0, survived: 0, nocov: 0, errors: 0, equivalent: 0 };
    for (const f of Object.values(rep.files)) {
      for (const m of f.mutants) {
        const k = mutantKey(f.source, m);
        row.mutants++;
        if (m.status === 'Killed') {
          row.killed++;
          // a result reused from a run before the records had the flag counts as before
          if (log[k]?.killedByOld !== false) row.killedBefore++;
        } else if (m.status === 'Timeout') row.timeout++;
        else if (m.status === 'Survived' || m.status === 'NoCoverage') {
          // the command runner cannot tell Stryker which mutants no check reaches; the suite's records can
          const unreached = m.status === 'NoCoverage' || log[k]?.ran.length === 0;
          if (eq.has(k)) row.equivalent++;
          else if (unreached) row.nocov++;
          else row.survived++;
          if (survivors && !eq.has(k) && !(appendRows && done.has(k))) {
            const ran = log[k]?.ran;
            const auto = autoVerdict(f.source, m);
            const where = ran ? (ran.length ? `ran ${ran.join(',')}` : 'reached by no check') : '';
            const row = `| \`${k.replace(/\|/g, '\\|')}\` | ${auto ? 'equivalent' : 'open'} | ${auto ?? `not triaged yet (${where || 'not reached'})`} |\n`;
            if (appendRows) appendRows.push(row);
            else process.stdout.write(row);
          }
        } else row.errors++;
        const l = log[k];
        if (l && !eq.has(k)) {
          for (const r of l.ran) {
            const e = perRev.get(r) ?? { reached: 0, killed: 0, before: 0 };
            e.reached++;
            const by = l.killedBy[r];
            if (by) e.killed++;
            if (by && !isNew(by)) e.before++;
            perRev.set(r, e);
          }
        }
      }
    }
    rows.push(row);
    if (MODULES[mod]?.realm)
      for (const key of ['mutants', 'killed', 'killedBefore', 'timeout', 'survived', 'nocov', 'errors', 'equivalent'] as const) total[key] += row[key];
  }
  if (survivors) return;
  if (total.mutants) rows.push(total);
  const w = Math.max(...rows.map((r) => r.name.length), 14);
  process.stdout.write(`mutation score per module${abi ? ` (suite of ${abi} only)` : ''}\n`);
  process.stdout.write(
    `${'module'.padEnd(w)}  mutants  killed  timeout  survived  no-cov  equiv  errors   score  before  (no-cov: reached by no check, counted as survived; before: without the checks of the triage (STRYKER_TRIAGE_CHECKS))\n`,
  );
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(w)}  ${String(r.mutants).padStart(7)}  ${String(r.killed).padStart(6)}  ${String(r.timeout).padStart(7)}  ${String(r.survived).padStart(8)}  ${String(r.nocov).padStart(6)}  ${String(r.equivalent).padStart(5)}  ${String(r.errors).padStart(6)}  ${score(r).toFixed(1).padStart(5)}%  ${score(r, true).toFixed(1).padStart(5)}%\n`,
    );
  }
  if (perRev.size) {
    process.stdout.write('\nper revision (mutants the revision reaches, excluding equivalents; killed by that revision alone)\n');
    process.stdout.write('revision  reached  killed   score  before\n');
    for (const [r, e] of [...perRev].sort((a, b) => revOrder(a[0]) - revOrder(b[0]))) {
      process.stdout.write(
        `${r.padEnd(8)}  ${String(e.reached).padStart(7)}  ${String(e.killed).padStart(6)}  ${(e.reached ? (100 * e.killed) / e.reached : 100).toFixed(1).padStart(5)}%  ${(e.reached ? (100 * e.before) / e.reached : 100).toFixed(1).padStart(5)}%\n`,
      );
    }
  }
  for (const { name: mod, dir } of mods) {
    const t = join(dir, 'timing.txt');
    if (existsSync(t)) process.stdout.write(`# ${mod}: last run ${readFileSync(t, 'utf8').trim()}\n`);
  }
}

function revOrder(r: string): number {
  if (r === 'rfc-v1') return 1;
  const n = Number(r.replace(/^v/, ''));
  return Number.isFinite(n) ? n : 99;
}

export async function main(argv: readonly string[]): Promise<void> {
  const mods: string[] = [];
  let abi: string | undefined;
  let report = false;
  let survivors = false;
  let fresh = false;
  let refold = false;
  let retest = false;
  let triageAppend = false;
  const mutate: string[] = [];
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--module') mods.push(argv[++i] ?? usage('--module needs a name'));
    else if (a === '--abi') abi = argv[++i] ?? usage('--abi needs a revision');
    else if (a === '--report') report = true;
    else if (a === '--survivors') survivors = report = true;
    else if (a === '--triage-append') triageAppend = survivors = report = true;
    else if (a === '--fresh') fresh = true;
    else if (a === '--refold') refold = true;
    else if (a === '--retest') retest = true;
    else if (a === '--sample') {
      mutate.push(sampleRange());
      abi = SAMPLE.abi;
      fresh = true;
    } else if (a === '--mutate') mutate.push(argv[++i] ?? usage('--mutate needs a file or FILE:LINES'));
    else if (a === '--out') out = resolve(argv[++i] ?? usage('--out needs a directory'));
    else if (a === '--list') {
      for (const [n, m] of Object.entries(MODULES)) process.stdout.write(`${n}\t${m.files.join(' ')}${m.realm ? '\t(realm)' : ''}\n`);
      return;
    } else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  for (const m of mods) if (!MODULES[m]) usage(`unknown module ${m} (one of: ${Object.keys(MODULES).join(', ')})`);
  if (mutate.length) {
    // An ad-hoc selection (a file or FILE:LINES), reported on its own (--out, default reports/stryker/adhoc)
    if (mods.length) usage('--mutate and --module exclude each other');
    const dir = out ?? join(REPORTS, 'adhoc');
    if (!report) {
      process.chdir(ROOT);
      await runStryker(mutate, dir, abi, fresh, out ? join(out, 'tmp') : undefined);
    }
    tables([{ name: 'selection', dir }], abi, survivors);
    return;
  }
  const chosen = (mods.length ? mods : Object.keys(MODULES)).map((m) => ({ name: m, dir: out ? join(out, m) : dirOf(m, abi) }));
  if (refold) for (const m of chosen) if (existsSync(join(m.dir, 'mutation.json'))) fold(m.dir);
  if (triageAppend) {
    // rows for the survivors the triage file does not name yet: drafted equivalents, or open
    const rows: string[] = [];
    tables(chosen, abi, true, rows);
    writeFileSync(TRIAGE, `${readFileSync(TRIAGE, 'utf8').trimEnd()}\n${rows.join('')}`);
    process.stdout.write(`${rows.length} row(s) appended to ${TRIAGE}\n`);
    return;
  }
  if (!report) {
    process.chdir(ROOT);
    for (const m of chosen) {
      if (retest) process.stdout.write(`${m.name}: ${forgetSurvivors(m.dir)} survivor(s) to test again\n`);
      await runStryker(MODULES[m.name]!.files, m.dir, abi, fresh);
    }
  }
  tables(chosen, abi, survivors);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
