// Fault injection through ./run.sh, as a user or a CI job meets the faults:
// unusable output paths, a full disk, stale reports, a predictable name
// planted in the temp dir, Ctrl-C / SIGTERM at any moment (mid-run, during a
// qemu boot, with calls in flight), SIGKILL of the harness during a qemu run,
// and a target that stops answering. Each asserts the exit code, one line on
// stderr, no stack trace, and no process or file left behind.
//
// Hermetic: every run gets TMPDIR under this file's own temp dir, and the
// processes looked at are the ones these runs started, found by the
// KVM_CCA_OWNER mark the harness puts in its children's environment (never by
// name, so a parallel npm test is not seen). No wall-clock assertion.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import t from 'tap';
import { applicable, runChecks, type CheckDef } from '../harness/core/engine.ts';
import { getProfile } from '../profiles/index.ts';
import type { Call, Session, Target } from '../harness/core/target.ts';
import type { WireResult } from '../uapi/wire.ts';
import { qemuSkip } from './lib/qemu-guest.ts';
import { childrenOf, goneWithin } from './lib/procs.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN = `${ROOT}run.sh`;
// QEMU boots below: sized for a loaded 2-core machine (two npm test copies, CPU hogs).
t.setTimeout(1500000);

const base = mkdtempSync(join(tmpdir(), 'kvm-cca-faults-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));
/** TMPDIR of every run here: a shared one would show other processes' files. */
const TMP = join(base, 'tmp');
mkdirSync(TMP);
const env = { ...process.env, TMPDIR: TMP, KVM_CCA_TRACE_DIR: '' };
const dir = (name: string): string => mkdtempSync(join(base, `${name}-`));

function run(args: string[], extraEnv: Record<string, string> = {}) {
  const r = spawnSync(RUN, args, { cwd: ROOT, encoding: 'utf8', timeout: 300000, env: { ...env, ...extraEnv } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stderr.trim().split('\n').filter(Boolean) };
}

/** What a fault must look like: exit code, exactly one line on stderr naming it, no stack trace. */
function oneLine(
  tt: Pick<typeof t, 'equal' | 'match' | 'notMatch'>,
  r: { code: number | null; stderr: string },
  code: number,
  line: RegExp,
  what: string,
): void {
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  tt.equal(r.code, code, `${what}: exit ${code}`);
  tt.equal(lines.length, 1, `${what}: one line (${lines.join(' | ')})`);
  tt.match(lines[0] ?? '', line, `${what}: says what is wrong`);
  tt.notMatch(r.stderr, /^\s+at |internal error|Error:/m, `${what}: no stack trace`);
}

/** Files left in the runs' TMPDIR (tsx's compile cache aside). */
const tmpLeft = (): string[] => readdirSync(TMP).filter((f) => !f.startsWith('tsx-'));
const tmpFiles = (d: string): string[] => readdirSync(d).filter((f) => f.endsWith('.tmp'));

async function until(cond: () => boolean, what: string, ms = 600000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** ./run.sh in the background, stdout and stderr collected. */
function background(args: string[]): { p: ResultPromise; out: () => string; err: () => string } {
  const p = execa(RUN, args, { cwd: ROOT, env, reject: false, buffer: false, stdin: 'ignore' });
  let out = '';
  let err = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { p, out: () => out, err: () => err };
}

t.test('output paths are checked before any check runs', async (t) => {
  const d = dir('out');
  writeFileSync(join(d, 'file'), '');
  const cases: [string, string[], RegExp][] = [
    ['--junit in a missing directory', ['--junit', join(d, 'no/such/j.xml')], /^run\.sh: --junit .*j\.xml: directory .* does not exist$/],
    ['--junit is a directory', ['--junit', d], /^run\.sh: --junit .*: is a directory, not a file$/],
    ['--matrix under a file', ['--matrix', join(d, 'file/m.html')], /^run\.sh: --matrix .*m\.html: .*file is not a directory$/],
    ['--trace under a file', ['--trace', join(d, 'file/traces')], /^run\.sh: --trace .*: cannot create the directory \(ENOTDIR/],
    ['--trace in /proc', ['--trace', '/proc/kvm-cca-traces'], /^run\.sh: --trace \/proc\/kvm-cca-traces: cannot create the directory \(E[A-Z]+/],
  ];
  for (const [what, args, line] of cases) {
    const r = run(['--abi', 'v7', 'populate/', ...args]);
    oneLine(t, r, 2, line, what);
    t.equal(r.stdout, '', `${what}: nothing ran`);
  }
  const r = run(['repro', join(ROOT, 'test/fixtures/none.json'), '-o', join(d, 'no/such/r.c')]);
  oneLine(t, r, 2, /^run\.sh repro: -o .*r\.c: directory .* does not exist$/, 'repro -o in a missing directory');
  t.same(tmpFiles(d), [], 'no temp file left');
});

t.test('a full disk is one line, not a stack trace', async (t) => {
  const r = run(['--abi', 'v7', 'populate/', '--junit', '/dev/full']);
  oneLine(t, r, 2, /^run\.sh: cannot write JUnit report \/dev\/full: ENOSPC \(no space left on device\)$/, 'JUnit to /dev/full');
  t.match(r.stdout, /^ {2}ok 1 - /m, 'the checks ran and were reported');

  // Traces on a filesystem that fills up mid-run: said once, the run goes on, no partial file.
  const small = dir('small');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', small]).status === 0;
  if (!mounted) {
    t.comment('cannot mount a tmpfs here: the trace ENOSPC case is not run');
    return;
  }
  t.teardown(() => void spawnSync('umount', [small]));
  const full = run(['--abi', 'v7', '--trace', small]);
  oneLine(
    t,
    full,
    2,
    /^run\.sh: cannot write trace .*\.json: ENOSPC \(no space left on device\); no further traces are written$/,
    'traces on a full filesystem',
  );
  t.match(full.stdout, /^ {2}ok \d+ - v7\//m, 'every check still reported');
  t.notMatch(full.stdout, /^ *not ok/m, 'and none failed for it');
  t.same(tmpFiles(small), [], 'no temp file left on the full filesystem');
  for (const f of readdirSync(small)) JSON.parse(readFileSync(join(small, f), 'utf8')); // every trace written is whole
});

t.test('one private trace directory per run, printed once; a planted name is not followed', async (t) => {
  const decoy = dir('decoy');
  symlinkSync(decoy, join(TMP, 'kvm-cca-traces')); // the old predictable name
  t.teardown(() => rmSync(join(TMP, 'kvm-cca-traces'), { force: true }));
  // A bug switch caught in several revisions: failures in each, one directory for all.
  const r = run(['--abi', 'all', '--emulator-bug', 'create-rd-twice']);
  t.equal(r.code, 1, 'the bug is caught');
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('# traces:'));
  t.equal(lines.length, 1, 'one traces line');
  const m = /^# traces: (\d+) written to (\S+)$/.exec(lines[0] ?? '');
  t.ok(m && Number(m[1]) > 1, `several traces: ${String(lines[0])}`);
  t.match(m?.[2], new RegExp(`^${TMP}/kvm-cca-traces-[A-Za-z0-9]{6}$`), 'in a fresh mkdtemp directory of TMPDIR');
  t.same(readdirSync(decoy), [], 'nothing written through the planted symlink');
  const paths = [...r.stdout.matchAll(/trace: (\S+)/g)].map((x) => x[1] ?? '');
  t.ok(paths.length > 1 && paths.every((p) => p.startsWith(`${String(m?.[2])}/`)), 'every failing check names a file in it');
  rmSync(m?.[2] ?? join(TMP, 'none'), { recursive: true, force: true });
  t.same(
    tmpLeft().filter((f) => f !== 'kvm-cca-traces'),
    [],
    'nothing else in TMPDIR',
  );
});

for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  t.test(`${sig} mid-run: stop, write what finished, one line, exit ${code}`, async (t) => {
    const d = dir(`sig-${sig}`);
    const junit = join(d, 'j.xml');
    const matrix = join(d, 'm.md');
    writeFileSync(junit, 'STALE REPORT OF AN EARLIER RUN');
    const b = background(['--abi', 'all', '--junit', junit, '--matrix', matrix]);
    await until(() => /^ {2}ok 40 - /m.test(b.out()) || b.p.exitCode !== null, 'the 40th check');
    b.p.kill(sig);
    const r = await b.p;
    oneLine(
      t,
      { code: r.exitCode ?? null, stderr: b.err() },
      code,
      new RegExp(`^run\\.sh: interrupted by ${sig}; target stopped; (\\d+) checks finished, written to .*j\\.xml, .*m\\.md$`),
      sig,
    );
    const finished = Number(new RegExp(`(\\d+) checks finished`).exec(b.err())?.[1]);
    t.ok(finished >= 40 && finished < 1000, `stopped early: ${finished} checks finished`);
    t.notMatch(b.out(), /^ *not ok/m, 'no spurious failure');
    t.match(b.out(), new RegExp(`\\nBail out! interrupted by ${sig}\\n$`), 'TAP ends with a bail out');
    const j = readFileSync(junit, 'utf8');
    t.notMatch(j, /STALE/, 'the stale report is gone');
    t.equal((j.match(/<testcase /g) ?? []).length, finished, 'JUnit holds exactly the finished checks');
    t.match(j, new RegExp(`interrupted by ${sig}, ${finished} checks finished`), 'and says it is partial');
    t.match(readFileSync(matrix, 'utf8'), /interrupted by/, 'the matrix too');
    t.same(tmpFiles(d), [], 'no temp file left');
  });
}

t.test('a target that stops answering: one probe, then every later check fails at once with its fault', async (t) => {
  const abi = getProfile('v7')!;
  const { ALL_CHECKS } = await import('../checks/index.ts');
  const checks: CheckDef[] = applicable(ALL_CHECKS, abi).slice(0, 12);
  let calls = 0;
  let sessions = 0;
  // A real target (kind ssh) whose calls all end in the link's deadline, as a hung board does.
  const hung: Target = {
    kind: 'ssh',
    start: () => Promise.reject(new Error('not used')),
    stop: () => Promise.resolve(),
    session: (): Promise<Session> => {
      sessions++;
      return Promise.resolve({
        call: (_req: Call): Promise<WireResult> => {
          calls++;
          return Promise.resolve({ id: 0, ret: -1, errno: 0, error: 'timeout' });
        },
        close: () => Promise.resolve(),
      });
    },
  };
  const out = await runChecks(checks, { abi, target: hung, targetKind: 'ssh', allowCrash: false, callTimeoutMs: 100, checkTimeoutMs: 10000 });
  const ran = out.filter((o) => o.status !== 'skip');
  t.equal(ran[0]?.status, 'fail', 'the first check fails with the timeout');
  t.equal(sessions, 2, 'one session for the first check, one for the probe: no more');
  t.equal(calls, (ran[0]?.trace.length ?? 0) + 1, 'the probe made one call; later checks made none');
  const later = ran.slice(1);
  t.ok(later.length > 3, `${later.length} later checks`);
  const faults = new Set(later.map((o) => o.assertions.map((a) => a.message).join()));
  t.equal(faults.size, 1, 'all with the same fault');
  t.match([...faults][0], /^target-lost: the target did not answer a probe in time \(the target stopped answering during v7\/.*; later checks were not run\)$/);
  t.ok(
    later.every((o) => o.status === 'fail' && o.trace.length === 0 && o.targetFault),
    'each failed without calling the target',
  );
});

// ---- the qemu target: boots, so each case is one boot ----
const skip = qemuSkip(t);

t.test('SIGKILL of ./run.sh during a qemu run leaves no qemu or ssh process', { skip, timeout: 600000 }, async (t) => {
  const b = background(['--target', 'qemu', '--abi', 'absent']);
  const pid = b.p.pid;
  // Killed once qemu and the ssh master both run (the master is the first ssh).
  await until(() => {
    const c = childrenOf(pid);
    return (c.some((x) => x.includes(' qemu-system')) && c.some((x) => x.endsWith(' ssh'))) || b.p.exitCode !== null;
  }, 'qemu and ssh under the run');
  const before = childrenOf(pid);
  t.ok(before.length >= 2, `running: ${before.join(', ')}`);
  process.kill(pid ?? 0, 'SIGKILL');
  await b.p;
  t.same(await goneWithin(pid, 5000), [], 'every qemu and ssh of the run is gone within 5 s');
  t.ok(
    tmpLeft().some((f) => f.startsWith(`kvm-cca-ssh-${String(pid)}-`)),
    'its ssh control dir is left (node had no chance to clean)',
  );
  leftoverDirOf = pid;
});
let leftoverDirOf: number | undefined;

t.test(
  "a hung qemu guest mid-run: later checks fail fast with the same fault; the next run cleaned the dead run's dir",
  { skip, timeout: 600000 },
  async (t) => {
    const b = background(['--target', 'qemu', '--abi', 'absent', '--timeout', '2000']);
    const pid = b.p.pid;
    await until(() => /^ {2}ok 1 - /m.test(b.out()) || b.p.exitCode !== null, 'the first check');
    if (leftoverDirOf)
      t.notOk(
        tmpLeft().some((f) => f.startsWith(`kvm-cca-ssh-${String(leftoverDirOf)}-`)),
        "the killed run's control dir was removed by this run",
      );
    const qemu = childrenOf(pid).find((x) => x.includes(' qemu-system'));
    t.ok(qemu, `qemu runs: ${String(qemu)}`);
    process.kill(Number(qemu?.split(' ')[0]), 'SIGSTOP'); // the guest hangs: nothing answers any more
    const t0 = Date.now();
    const r = await b.p;
    t.comment(`the run ended ${Date.now() - t0} ms after the guest hung (a figure, not asserted)`);
    t.equal(r.exitCode, 1, 'the run fails');
    const fails = b
      .out()
      .split('\n')
      .filter((l) => /^ {2}not ok/.test(l));
    t.ok(fails.length >= 2, `${fails.length} checks failed`);
    // The YAML folds long strings: unfold before reading each check's target_fault.
    const faults = [
      ...b
        .out()
        .replace(/\n\s+/g, ' ')
        .matchAll(/target_fault: "(target-lost: [^"]*later checks were not run\))"/g),
    ].map((x) => x[1]);
    t.ok(
      faults.length >= 1 && fails.length - faults.length <= 1,
      `after the one that hung, each later check fails with the fault (${faults.length} of ${fails.length})`,
    );
    t.equal(new Set(faults).size, 1, `the same fault: ${String(faults[0])}`);
    t.notMatch(b.err(), /^\s+at |internal error/m, 'no stack trace');
    t.same(await goneWithin(pid, 5000), [], 'no qemu or ssh left');
    t.same(
      tmpLeft().filter((f) => f.startsWith('kvm-cca-ssh-')),
      [],
      'no control dir left',
    );
  },
);

t.test('SIGINT during the qemu boot: one line, exit 130, nothing left', { skip, timeout: 600000 }, async (t) => {
  const b = background(['--target', 'qemu', '--abi', 'absent']);
  const pid = b.p.pid;
  await until(() => childrenOf(pid).some((x) => x.includes(' qemu-system')) || b.p.exitCode !== null, 'qemu to start');
  b.p.kill('SIGINT');
  const r = await b.p;
  oneLine(t, { code: r.exitCode ?? null, stderr: b.err() }, 130, /^run\.sh: interrupted by SIGINT; target stopped; 0 checks finished$/, 'SIGINT in the boot');
  t.notMatch(b.out(), /^(not )?ok/m, 'no check reported');
  t.same(await goneWithin(pid, 5000), [], 'no qemu or ssh left');
  t.same(
    tmpLeft().filter((f) => f.startsWith('kvm-cca-ssh-')),
    [],
    'no control dir left',
  );
});

t.test('SIGTERM with calls in flight (revision detection, then checks): exit 143, no spurious failure', { skip, timeout: 600000 }, async (t) => {
  const d = dir('term-qemu');
  const junit = join(d, 'j.xml');
  const b = background(['--target', 'qemu', '--junit', junit]);
  const pid = b.p.pid;
  // Detection runs right after the guest is up; the first ok follows it.
  await until(() => /^ {2}ok 1 - /m.test(b.out()) || b.p.exitCode !== null, 'the first check');
  b.p.kill('SIGTERM');
  const r = await b.p;
  const lines = b
    .err()
    .trim()
    .split('\n')
    .filter((l) => l && !l.startsWith('#') && !/^(revision|  )/.test(l));
  t.equal(r.exitCode, 143, 'exit 143');
  t.match(lines.at(-1), /^run\.sh: interrupted by SIGTERM; target stopped; \d+ checks finished, written to .*j\.xml$/, 'one line');
  t.notMatch(b.err(), /^\s+at |internal error/m, 'no stack trace');
  t.notMatch(b.out(), /^ *not ok/m, 'no spurious failure');
  t.ok(existsSync(junit), 'the finished checks are in the JUnit report');
  t.same(await goneWithin(pid, 5000), [], 'no qemu or ssh left');
  t.same(
    tmpLeft().filter((f) => f.startsWith('kvm-cca-ssh-')),
    [],
    'no control dir left',
  );
});
