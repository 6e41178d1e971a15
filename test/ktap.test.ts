// KTAP that kernel parsers count right: the kernel's own parser (kunit.py
// parse) and node-tap's parser read the suite's output of a clean run, a
// failing run, a fully baselined run and a lost-target run, and their counts
// and verdicts agree with the suite's own summary and exit code. The mapping
// (harness/tools/report/ktap.ts): kunit "passed" = pass + todo (baselined failures
// and UNCONFIRMED checks are XFAIL/TODO on an "ok" line), "failed" = fail +
// blocked, "skipped" = skip.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';

type Tap = Pick<Test, 'equal' | 'match' | 'ok'>;
import { Parser, type FinalResults } from 'tap-parser';
import type { CheckOutcome } from '../harness/core/engine.ts';
import { ktapBailOut, ktapHeader, ktapLine, ktapSubtestHeader, ktapSubtestResult, nest } from '../harness/tools/report/ktap.ts';
import { kunitParse, kunitPy } from './lib/kunit.ts';
import { qemuSkip } from './lib/qemu-guest.ts';

const RUN = new URL('../run.sh', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'kvm-cca-ktap-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
t.setTimeout(600000);

const kunit = kunitPy();
const required = process.env.KVM_CCA_REQUIRE_QEMU === '1';
if ('missing' in kunit && required) t.fail(`kunit.py required but missing: ${kunit.missing}`);
const kunitSkip = 'missing' in kunit ? `kunit.py: ${kunit.missing}` : false;

interface SuiteCounts {
  total: number;
  pass: number;
  fail: number;
  blocked: number;
  todo: number;
  skip: number;
}

/** The suite's own closing summary line on stderr. */
function suiteCounts(stderr: string): SuiteCounts {
  const m = /^# \S+ on \S+: (\d+) checks, (\d+) passed, (\d+) failed, (\d+) blocked, (\d+) todo, (\d+) skipped/m.exec(stderr);
  if (!m) throw new Error(`no summary line in: ${stderr.slice(-500)}`);
  const [total, pass, fail, blocked, todo, skip] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return { total, pass, fail, blocked, todo, skip };
}

function tapParse(text: string): Promise<FinalResults> {
  return new Promise((resolve) => {
    const p = new Parser({ flat: false }, resolve);
    p.end(text);
  });
}

/** Each revision's subtest block, de-indented: a KTAP document of its own. */
function subtestBlocks(ktap: string): string[] {
  const blocks: string[] = [];
  let cur: string[] | undefined;
  for (const line of ktap.split('\n')) {
    if (line === '  KTAP version 1') cur = [];
    if (cur && /^(not )?ok \d+ - /.test(line)) {
      blocks.push(cur.join('\n') + '\n');
      cur = undefined;
      continue;
    }
    if (cur) cur.push(line.startsWith('  ') ? line.slice(2) : line);
  }
  return blocks;
}

/** What both parsers must say of one output, given the suite's own counts and exit code. */
async function agree(tt: Tap, name: string, stdout: string, s: SuiteCounts, code: number): Promise<void> {
  const file = join(work, `${name}.ktap`);
  writeFileSync(file, stdout);
  tt.match(stdout, /^KTAP version 1\n/, `${name}: KTAP version line`);
  if (!('missing' in kunit)) {
    const k = kunitParse(kunit.path, file);
    tt.equal(k.ran, s.total, `${name}: kunit.py ran = the suite's checks`);
    tt.equal(k.passed, s.pass + s.todo, `${name}: kunit.py passed = pass + todo (XFAIL/TODO on ok lines)`);
    tt.equal(k.failed + k.crashed, s.fail + s.blocked, `${name}: kunit.py failed = fail + blocked`);
    tt.equal(k.skipped, s.skip, `${name}: kunit.py skipped = skip`);
    tt.equal(k.exitCode === 0, code === 0 || code === 4, `${name}: kunit.py's verdict (exit ${k.exitCode}) = the suite's (exit ${code})`);
  }
  // node-tap's parser: each revision's block is a TAP document; their sum is the run.
  let pass = 0;
  let fail = 0;
  let skip = 0;
  let count = 0;
  for (const b of subtestBlocks(stdout)) {
    const r = await tapParse(b);
    count += r.count;
    fail += r.fail;
    skip += r.skip;
    pass += r.pass - r.skip;
  }
  tt.equal(count, s.total, `${name}: tap-parser counts every check`);
  tt.equal(fail, s.fail + s.blocked, `${name}: tap-parser failures = fail + blocked`);
  tt.equal(skip, s.skip, `${name}: tap-parser skips = skip`);
  tt.equal(pass, s.pass + s.todo, `${name}: tap-parser passes = pass + todo`);
  const top = await tapParse(stdout);
  tt.equal(top.ok, code === 0 || code === 4, `${name}: tap-parser's overall verdict = the suite's exit ${code}`);
}

function run(args: string[]) {
  const r = spawnSync(RUN, args, { encoding: 'utf8', env: { ...process.env, TMPDIR: work }, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

t.test('every status through both parsers (synthetic outcomes)', { skip: kunitSkip }, async (t) => {
  const base = { area: 'populate' as const, abi: 'v7', description: 'd', sources: ['V10-PO1'], trace: [], ms: 1 };
  const bad = [{ ok: false, message: 'KVM_RUN = -1 EINVAL, expected 0 (V10-V13)' }];
  const good = [{ ok: true, message: 'fine' }];
  const outs: CheckOutcome[] = [
    { ...base, name: 'populate/pass', status: 'pass', assertions: good },
    { ...base, name: 'populate/fail', status: 'fail', assertions: bad },
    { ...base, name: 'populate/blocked', status: 'blocked', blockedBy: 'KVM_ENABLE_CAP(RME, CREATE_REALM) = -1 ENXIO', assertions: bad },
    { ...base, name: 'populate/timeout', status: 'fail', targetFault: 'timeout', assertions: bad },
    { ...base, name: 'populate/lost', status: 'fail', targetFault: 'target-lost: ssh link down', assertions: bad },
    { ...base, name: 'populate/skip', status: 'skip', reason: 'needs SVE', assertions: [] },
    { ...base, name: 'populate/xfail', status: 'todo', reason: 'baseline: known', assertions: bad },
    { ...base, name: 'populate/todo-fails', status: 'todo', reason: 'UNCONFIRMED x', assertions: bad },
    { ...base, name: 'populate/todo-passes', status: 'todo', reason: 'UNCONFIRMED y', assertions: good },
  ];
  const text =
    ktapHeader(1, 'synthetic') +
    ktapSubtestHeader('v7', outs.length) +
    outs.map((o, i) => nest(ktapLine(o, i + 1))).join('') +
    ktapSubtestResult('v7', 1, outs);
  t.match(text, /^ {2}not ok 3 - v7\/populate\/blocked # ERROR blocked by: KVM_ENABLE_CAP\(RME, CREATE_REALM\) = -1 ENXIO$/m);
  t.match(text, /^ {2}not ok 4 - v7\/populate\/timeout # TIMEOUT timeout$/m);
  t.match(text, /^ {2}not ok 5 - v7\/populate\/lost # ERROR target-lost: ssh link down$/m);
  t.match(text, /^ {2}ok 7 - v7\/populate\/xfail # XFAIL baseline: known$/m);
  t.match(text, /^ {2}# KVM_RUN = -1 EINVAL, expected 0 \(V10-V13\)\n {2}not ok 2 - v7\/populate\/fail$/m, 'diagnostics before the result line');
  await agree(t, 'synthetic', text, { total: 9, pass: 1, fail: 3, blocked: 1, todo: 3, skip: 1 }, 1);
});

t.test('a clean run, a failing run and a fully baselined run', { skip: kunitSkip }, async (t) => {
  const clean = run(['--abi', 'v10']);
  t.equal(clean.code, 0);
  await agree(t, 'clean', clean.stdout, suiteCounts(clean.stderr), clean.code);

  const all = run([]);
  t.equal(all.code, 0);
  await agree(t, 'all-revisions', all.stdout, suiteCounts(all.stderr), all.code);

  const failing = run(['--abi', 'rfc-v1', '--emulator-bug', 'create-rd-twice']);
  t.equal(failing.code, 1);
  const fc = suiteCounts(failing.stderr);
  t.ok(fc.fail > 0, `${fc.fail} failures`);
  await agree(t, 'failing', failing.stdout, fc, failing.code);

  // every failure baselined: exit 0, and both parsers count no failure either
  const names = [...failing.stdout.matchAll(/^ {2}not ok \d+ - (\S+)/gm)].map((m) => m[1]);
  const baseline = join(work, 'baseline.txt');
  writeFileSync(baseline, names.map((n) => `${String(n)} known: create-rd-twice\n`).join(''));
  const known = run(['--abi', 'rfc-v1', '--emulator-bug', 'create-rd-twice', '--baseline', baseline]);
  t.equal(known.code, 0, 'a fully baselined run exits 0');
  t.notMatch(known.stdout, /^ {2}not ok/m);
  t.equal(
    [...known.stdout.matchAll(/^ {2}ok \d+ - \S+ # XFAIL baseline: known: create-rd-twice$/gm)].length,
    names.length,
    'each baselined failure is an XFAIL',
  );
  await agree(t, 'baselined', known.stdout, suiteCounts(known.stderr), known.code);
});

t.test('a lost target: Bail out!, both parsers fail the run, counts agree', { skip: qemuSkip(t) || kunitSkip }, async (t) => {
  const child = spawn(RUN, ['--target', 'qemu', '--abi', 'absent', '--timeout', '3000'], {
    env: { ...process.env, TMPDIR: work },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let killed = false;
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    // After the first check passed, the machine dies under the run.
    if (!killed && /^ {2}ok 1 - /m.test(stdout)) {
      killed = true;
      for (const pid of descendants(child.pid ?? 0)) if (cmdline(pid).includes('qemu-system')) process.kill(pid, 'SIGKILL');
    }
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  t.ok(killed, 'qemu was killed during the run');
  t.equal(code, 1, `exit 1 (stderr: ${stderr.split('\n').slice(-4).join(' | ')})`);
  t.match(stdout, /^Bail out! .*target/m, 'Bail out! names the lost target');
  await agree(t, 'lost-target', stdout, suiteCounts(stderr), code);
});

function descendants(pid: number): number[] {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(
        readFileSync(`/proc/${d}/stat`, 'utf8')
          .replace(/^.*\) /, '')
          .split(' ')[1],
      );
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const k of kids.get(p) ?? []) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

t.test('Bail out! is one line', async (t) => {
  t.equal(ktapBailOut('target-lost: a\nb'), 'Bail out! target-lost: a\\x0ab\n');
});
