// A terminal that helps: on a TTY a condensed view in colour (NO_COLOR
// honoured), raw KTAP when piped or with --ktap; after a failure the exact
// commands to rerun it, replay its trace and write its C reproducer (each one
// run here); --version; option errors in the suite's own words.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

const RUN = new URL('../run.sh', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'kvm-cca-terminal-test-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: work };
delete env.NO_COLOR;

function run(args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(RUN, args, { encoding: 'utf8', env: { ...env, ...extra }, cwd: work, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Under a pseudo-terminal (util-linux script): what a person at a terminal sees. */
function onTty(args: string[], extra: Record<string, string> = {}) {
  const cmd = [RUN, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...env, TERM: 'xterm', ...extra }, cwd: work });
  return { code: r.status ?? -1, out: r.stdout };
}

const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;
// CREATE's own checks: the switch fails in-new and in-active by their errno (elsewhere the afterwards probe catches it too)
const BUG = ['--abi', 'rfc-v1', '--emulator-bug', 'create-rd-twice', 'create-realm/'];

t.test('a terminal gets a condensed, coloured view; a pipe gets KTAP', { skip: hasScript ? false : 'script (util-linux) missing' }, async (t) => {
  const tty = onTty(BUG);
  t.equal(tty.code, 1);
  t.notMatch(tty.out, /KTAP version/, 'no raw KTAP on a terminal');
  t.match(
    tty.out,
    /\x1b\[31mFAIL\x1b\[0m rfc-v1\/create-realm\/in-new\r?\n\s+\S*KVM_ENABLE_CAP\(RME, CREATE_RD\) = 0, expected -1 EEXIST/,
    'each failure on its own line, in red, with its first failed call',
  );
  t.notMatch(tty.out, /^ {2}ok \d+ /m, 'passing checks are not listed one by one');
  t.match(tty.out, /rfc-v1\S* \S*✗\S* 5 checks, 3 passed, 2 failed/, 'the revision line with its counts');

  const plain = onTty(BUG, { NO_COLOR: '1' });
  t.notMatch(plain.out, /\x1b\[3\dm/, 'NO_COLOR: no colour');
  t.match(plain.out, /FAIL rfc-v1\/create-realm\/in-new/);

  const raw = onTty([...BUG, '--ktap']);
  t.match(raw.out, /^KTAP version 1/m, '--ktap: raw KTAP on a terminal');

  const piped = run(BUG);
  t.match(piped.stdout, /^KTAP version 1\n/, 'piped: KTAP');
  t.notMatch(piped.stdout, /\x1b\[/, 'piped: no escape codes');
});

t.test('after a failure, the next steps are commands that work as printed', async (t) => {
  const r = run(BUG);
  t.equal(r.code, 1);
  const block = r.stderr.slice(r.stderr.indexOf('# next steps'));
  const rerun = /rerun it: +(\.\/run\.sh .*)$/m.exec(block)?.[1];
  const replay = /replay its trace: +(\.\/run\.sh .*)$/m.exec(block)?.[1];
  const repro = /C reproducer: +(\.\/run\.sh .*)$/m.exec(block)?.[1];
  t.ok(rerun && replay && repro, block);
  const sh = (cmd: string) => spawnSync('sh', ['-c', cmd.replace(/^\.\/run\.sh/, `'${RUN}'`)], { encoding: 'utf8', env, cwd: work });
  const a = sh(rerun ?? 'false');
  t.equal(a.status, 1, 'rerun: the same failure again');
  t.match(a.stdout, /^ {2}not ok 1 - rfc-v1\/create-realm\/in-new$/m, 'rerun: that check alone');
  const b = sh(replay ?? 'false');
  t.equal(b.status, 0, 'replay: the recording is reproduced (exit 0)');
  t.match(
    b.stdout,
    /# replay: [1-9]\d* of \d+ judged calls violate the rfc-v1 spec; 0 of \d+ calls differ from the recording\n$/,
    'replay: the recorded results again',
  );
  const c = sh(repro ?? 'false');
  t.equal(c.status, 0, 'repro writes the C file');
  t.ok(existsSync(join(work, 'create-realm_in-new.c')), 'the C file is where the command says');
});

t.test("--version, and option errors in the suite's words", async (t) => {
  const v = run(['--version']);
  t.equal(v.code, 0);
  t.match(v.stdout, /^kvm-cca-conformance \d+\.\d+\.\d+( \([0-9a-f]{12}\))?\n$/);
  const cases: [string[], RegExp][] = [
    [['--lsit'], /^run\.sh: unknown option --lsit \(did you mean --list\?\) \(see --help\)$/],
    [['--junit'], /^run\.sh: --junit needs a value \(see --help\)$/],
    [['--list=3'], /^run\.sh: --list takes no value \(see --help\)$/],
    [['--abi', '--list'], /^run\.sh: --abi needs a value; a value starting with '-' is written --abi=-VALUE \(see --help\)$/],
  ];
  for (const [args, line] of cases) {
    const r = run(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr.trim(), line);
    t.equal((r.stderr.match(/'/g) ?? []).length % 2, 0, `${args.join(' ')}: quotes balanced`);
  }
});
