// The test command StrykerJS's command runner runs for each mutant (stryker.config.mjs):
// the conformance suite on the emulator, in-process, every revision (or --abi REV,...).
// Exit 1 when a check fails (the mutant is killed), 0 when every check passes.
//
// Speed-ups, both sound:
// - within a revision the run stops at the first failed check (one is enough to kill);
// - with STRYKER_SUITE_DIR set, the dry run (no active mutant) records which
//   mutants each check reaches (Stryker's own coverage counters, per check as its
//   perTest coverage analysis does); a mutant's run then runs only the checks that
//   reach it. A mutant reached while the modules load (a "static" mutant) runs
//   every check. Sound as long as checks share no state (each makes its own VMs).
// With STRYKER_SUITE_DIR set, each mutant run also writes DIR/mutants/ID.json: the
// revisions it ran and the first failed check of each revision that killed it;
// bench/stryker.ts turns these into the per-revision table.
//   node --import tsx scripts/stryker-suite.ts [--abi rfc-v1,v14]
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ALL_REVISIONS, getProfile } from '../profiles/index.ts';
import type { AbiProfile } from '../profiles/types.ts';
import { applicable, isFailure, runChecks, type CheckDef } from '../harness/core/engine.ts';
import { createTargetSync } from '../harness/core/targets/index.ts';
import { ALL_CHECKS } from '../checks/index.ts';
import { STRYKER_TRIAGE_CHECKS } from '../checks/index.ts';

/** The part of Stryker's instrumentation namespace (globalThis.__stryker__) used here. */
interface StrykerNamespace {
  activeMutant?: string;
  currentTestId?: string;
  hitCount?: number;
  hitLimit?: number;
  mutantCoverage?: { static: Record<string, number>; perTest: Record<string, Record<string, number>> };
}
export interface SuiteCoverage {
  static: string[];
  /** "abi/area/check" -> the mutants that check reached. */
  perCheck: Record<string, string[]>;
  /** Mutant -> times the dry run reached it. */
  hits: Record<string, number>;
}
export interface MutantRecord {
  id: string;
  /** Revisions whose checks reach this mutant (and were run). */
  ran: string[];
  /** Revision -> first failed check ("abi/area/check"). */
  killedBy: Record<string, string>;
  /** Some revision's first failure is a check older than the triage's checks (the suite before the Stryker triage). */
  killedByOld: boolean;
  ms: number;
}

function fail(msg: string): never {
  process.stderr.write(`stryker-suite: ${msg}\n`);
  process.exit(2);
}

function revisionsFromArgs(argv: readonly string[]): string[] {
  let list = process.env.STRYKER_ABI ?? '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--abi') list = argv[++i] ?? fail('--abi needs a revision');
    else if (a.startsWith('--abi=')) list = a.slice(6);
    else fail(`unknown argument ${a}`);
  }
  const revs = !list || list === 'all' ? [...ALL_REVISIONS] : list.split(',').filter(Boolean);
  for (const r of revs) if (!getProfile(r)) fail(`no ABI profile for ${r} (one of: ${ALL_REVISIONS.join(', ')})`);
  return revs;
}

/**
 * One revision's suite; resolves to the first failed check's name, or undefined if none failed.
 * `coverFor`: the dry run's hook, told the name of each check before it runs.
 */
async function firstFailure(abi: AbiProfile, checks: readonly CheckDef[], coverFor?: (check: string) => void): Promise<string | undefined> {
  const target = createTargetSync('emulator', { abi, bugs: [] });
  const defs = applicable(checks, abi);
  let failed: string | undefined;
  let ran = 0;
  // What the target's start reaches (the kernel and RMM every check of the revision then uses)
  // is recorded as the revision's own: a mutant there runs every check of the revision.
  coverFor?.(`${abi.name}/${START}`);
  await target.start();
  if (defs[0]) coverFor?.(`${abi.name}/${defs[0].name}`);
  try {
    await runChecks(defs, {
      abi,
      target,
      targetKind: 'emulator',
      allowCrash: true,
      callTimeoutMs: 5000,
      checkTimeoutMs: 30000,
      targetFor: (s) => createTargetSync('emulator', { abi, bugs: [], emulatorSettings: s }),
      onOutcome: (o, i) => {
        ran++;
        // what runs from here to the next outcome belongs to the next check
        const next = defs[i + 1];
        if (next) coverFor?.(`${abi.name}/${next.name}`);
        if (!failed && isFailure(o.status)) failed = `${o.abi}/${o.name}`;
      },
      cancelled: () => failed !== undefined,
    });
  } finally {
    await target.stop();
  }
  if (process.env.STRYKER_SUITE_VERBOSE) process.stderr.write(`stryker-suite: ${abi.name}: ${ran} checks${failed ? `, first failure ${failed}` : ''}\n`);
  return failed;
}

/** The coverage key of a revision's target start (no check has this name: check names have a "/"). */
const START = '(start)';

const ns = (): StrykerNamespace => {
  const g = globalThis as { __stryker__?: StrykerNamespace };
  return (g.__stryker__ ??= {});
};

const argv = process.argv.slice(2);
const serveAt = argv[0] === '--serve' ? argv[1] : undefined;
const revisions = revisionsFromArgs(serveAt ? argv.slice(2) : argv);
const dir = process.env.STRYKER_SUITE_DIR;

/** The dry run: every revision must pass; records what each check reaches. Returns the exit code. */
async function dryRun(): Promise<number> {
  const staticIds = Object.keys(ns().mutantCoverage?.static ?? {});
  const failures: string[] = [];
  for (const r of revisions) {
    const f = await firstFailure(getProfile(r)!, ALL_CHECKS, (check) => {
      ns().currentTestId = check;
    });
    if (f) failures.push(f);
  }
  delete ns().currentTestId;
  if (dir) {
    const perTest = ns().mutantCoverage?.perTest ?? {};
    const hits: Record<string, number> = {};
    for (const v of Object.values(perTest)) for (const [id, n] of Object.entries(v)) hits[id] = (hits[id] ?? 0) + n;
    const cov: SuiteCoverage = { static: staticIds, perCheck: Object.fromEntries(Object.entries(perTest).map(([k, v]) => [k, Object.keys(v)])), hits };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'coverage.json'), JSON.stringify(cov));
    // the thin client (stryker-command.mjs) only needs to know which mutants must run in a fresh process
    writeFileSync(join(dir, 'static.json'), JSON.stringify(staticIds));
  }
  for (const f of failures) process.stderr.write(`stryker-suite: failed without a mutant: ${f}\n`);
  return failures.length ? 1 : 0;
}

let coverage: SuiteCoverage | undefined | null = null;
function loadCoverage(): SuiteCoverage | undefined {
  if (coverage !== null) return coverage;
  try {
    coverage = dir ? (JSON.parse(readFileSync(join(dir, 'coverage.json'), 'utf8')) as SuiteCoverage) : undefined;
  } catch {
    coverage = undefined;
  }
  return coverage;
}

/** One mutant: the checks that reach it, per revision. Returns the exit code (1: killed). */
async function mutantRun(active: string): Promise<number> {
  const t0 = performance.now();
  const cov = loadCoverage();
  // every check without a dry-run record
  let reaches = (_check: string): boolean => true;
  if (cov && !cov.static.includes(active)) {
    const covering = new Set(
      Object.entries(cov.perCheck)
        .filter(([, ids]) => ids.includes(active))
        .map(([k]) => k),
    );
    reaches = (check) => covering.has(check);
  } else if (cov) {
    // A static mutant (a module-level value) acts through the code of its module that reads it:
    // every check of each revision that reaches some mutant of the run (bench/stryker.ts runs one
    // module at a time). Revisions that never execute the module cannot see its values.
    const revs = new Set(
      Object.entries(cov.perCheck)
        .filter(([, ids]) => ids.length > 0)
        .map(([k]) => k.slice(0, k.indexOf('/'))),
    );
    reaches = (check) => revs.has(check.slice(0, check.indexOf('/')));
  }
  // An endless loop through the mutant fails the check that runs it (Stryker's hit limit: 100x the dry run's hits)
  const n = ns();
  n.hitCount = 0;
  n.hitLimit = Math.max(10000, 100 * (cov?.hits[active] ?? 0));
  const killedBy: Record<string, string> = {};
  const toRun: string[] = [];
  try {
    for (const r of revisions) {
      const abi = getProfile(r)!;
      const checks = reaches(`${r}/${START}`) ? ALL_CHECKS : ALL_CHECKS.filter((d) => reaches(`${r}/${d.name}`));
      if (!checks.length) continue;
      toRun.push(r);
      const f = await firstFailure(abi, checks);
      if (f) killedBy[r] = f;
    }
  } finally {
    delete n.hitCount;
    delete n.hitLimit;
  }
  if (dir) {
    // the triage's checks runs last in every revision: a first failure there means no older check failed
    const newNames = new Set(STRYKER_TRIAGE_CHECKS);
    const killedByOld = Object.values(killedBy).some((n) => !newNames.has(n.slice(n.indexOf('/') + 1)));
    const rec: MutantRecord = { id: active, ran: toRun, killedBy, killedByOld, ms: Math.round(performance.now() - t0) };
    mkdirSync(join(dir, 'mutants'), { recursive: true });
    writeFileSync(join(dir, 'mutants', `${active}.json`), JSON.stringify(rec));
  }
  return Object.keys(killedBy).length ? 1 : 0;
}

/**
 * The warm worker: Stryker's mutant switching is a run-time test of
 * __stryker__.activeMutant, so one process can run mutant after mutant (as
 * Stryker's in-process runners do). It takes "ID\n" on a unix socket, answers
 * "EXIT\n", one at a time; it exits when idle for a minute or when its
 * sandbox is gone (Stryker removed it), so nothing is left behind.
 */
function serve(path: string): void {
  let busy = Promise.resolve();
  let last = Date.now();
  const server = createServer((sock) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const id = buf.slice(0, nl).trim();
      busy = busy.then(async () => {
        last = Date.now();
        ns().activeMutant = id;
        let code = 2;
        try {
          code = await mutantRun(id);
        } catch (e) {
          process.stderr.write(`stryker-suite: mutant ${id}: ${String(e)}\n`);
        } finally {
          delete ns().activeMutant;
          last = Date.now();
        }
        sock.end(`${code}\n`);
      });
    });
    sock.on('error', () => undefined);
  });
  server.listen(path);
  const timer = setInterval(() => {
    if (Date.now() - last > 60_000 || !existsSync(path)) {
      clearInterval(timer);
      server.close();
      rmSync(path, { force: true });
      process.exit(0);
    }
  }, 2000);
}

if (serveAt) serve(serveAt);
else {
  const active = process.env.__STRYKER_ACTIVE_MUTANT__;
  process.exitCode = active === undefined ? await dryRun() : await mutantRun(active);
}
