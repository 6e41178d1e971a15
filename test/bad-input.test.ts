// The bad-input battery (issue 11, items 1 and 6): each bad option, value,
// baseline, scenario directory or trace given to ./run.sh gets exit 2 and
// exactly one line on stderr, never a stack trace; nothing is left behind (no
// process in the run's process group, no file in its private TMPDIR). A
// baseline entry naming no check is a one-line warning on a run that goes on.
// Names that reach TAP, JUnit, HTML or Markdown cannot add lines or break the
// markup.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import t from 'tap';
import type { CheckOutcome } from '../harness/core/engine.ts';
import { junitXml } from '../harness/tools/report/junit.ts';
import { matrixHtml, matrixMarkdown } from '../harness/tools/report/matrix.ts';
import { ktapLine } from '../harness/tools/report/ktap.ts';
import { getProfile } from '../profiles/index.ts';
import type { CheckDef } from '../harness/core/engine.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN = `${ROOT}run.sh`;
// About sixty ./run.sh starts (tsx) on a shared 2-core machine.
t.setTimeout(600000);

const base = mkdtempSync(join(tmpdir(), 'kvm-cca-bad-input-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));
const inputs = join(base, 'inputs');
mkdirSync(inputs);
const f = (name: string, content: string | Buffer): string => {
  const p = join(inputs, name);
  writeFileSync(p, content);
  return p;
};

// ---- inputs
const binary = f('baseline.bin', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0xff, 0xfe]));
const empty = f('baseline.empty', '');
const blank = f('baseline.blank', '\n  \n');
const ctrl = f('baseline.json', JSON.stringify([{ check: 'v7/populate/one-page', reason: 'known\nok 99 - forged' }]));
const noMatch = f('baseline.txt', 'v7/populate/one-page  still fails on this board\nno/such/check  a typo\n');
const dirAsFile = join(inputs, 'a-directory');
mkdirSync(dirAsFile);
const fifo = join(inputs, 'fifo');
spawnSync('mkfifo', [fifo]);

const scenario = (name: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ name, description: 'a scenario', source: 'test', steps: [{ do: 'create_vm' }], ...extra });
function scenarioDir(name: string, files: Record<string, string>): string {
  const d = join(inputs, name);
  mkdirSync(d);
  for (const [n, c] of Object.entries(files)) {
    if (c === 'DIR') mkdirSync(join(d, n));
    else if (c === 'DANGLING') symlinkSync(join(d, 'nowhere.json'), join(d, n));
    else writeFileSync(join(d, n), c);
  }
  return d;
}
const scDirIsDir = scenarioDir('sc-dir', { 'a.json': scenario('a'), 'b.json': 'DIR' });
const scDangling = scenarioDir('sc-dangling', { 'a.json': 'DANGLING' });
const scDuplicate = scenarioDir('sc-duplicate', { 'a.json': scenario('same'), 'b.json': scenario('same') });
const scNewline = scenarioDir('sc-newline', { 'a.json': scenario('x\nok 99 - forged') });
const scControl = scenarioDir('sc-control', { 'a.json': scenario('ok', { description: 'bell\u0007' }) });
const scHash = scenarioDir('sc-hash', { 'a.json': scenario('a # SKIP forged') });
const scHuge = scenarioDir('sc-huge', {
  'a.json': scenario('huge', { steps: [{ do: 'create_vm' }, { do: 'memslot', slot: 0, gpa: 0, size: '0x10000000000' }] }),
});
const scNotJson = scenarioDir('sc-notjson', { 'a.json': '{"name": ' });

const traceOf = (calls: unknown[], extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    format: 'kvm-cca-trace/1',
    check: 'x/y',
    abi: 'v8',
    target: { kind: 'emulator', spec: 'emulator' },
    calls: calls.map((request, i) => ({ seq: i + 1, label: `call ${i + 1}`, request, result: { ret: 0, errno: 0 } })),
    ...extra,
  });
const kvmOpen = { op: 'open', path: '/dev/kvm', flags: 0x80002, as: 'kvm' };
const trKvm = f('kvm.json', traceOf([kvmOpen]));
const trOpen = f('open.json', traceOf([{ op: 'open', path: '/etc/passwd', flags: 0, as: 'pw' }]));
const trMap = f('map.json', traceOf([kvmOpen, { op: 'mmap', as: 'm', len: 4096, prot: 3, flags: 1, fd: 'kvm', offset: 0 }]));
const trPoke = f(
  'poke.json',
  traceOf([
    { op: 'mmap', as: 'm', len: 4096, prot: 3, flags: 0x22 },
    { op: 'poke', mem: 'm', offset: 4096, hex: '00' },
  ]),
);
const trIoctl = f('ioctl.json', traceOf([kvmOpen, { op: 'ioctl', fd: 'kvm', req: 0x5401, arg: { int: 0 } }]));
const trTimeout = f('timeout.json', traceOf([{ op: 'info', timeout_ms: 2 ** 31 }]));
const trTimeoutBig = f('timeout-big.json', traceOf([{ op: 'info', timeout_ms: 1e99 }]));
const trNotJson = f('notjson.json', '{"format": "kvm-cca-trace/1", ');
// emulator settings no run of the suite would use: an RMM feature field past its 4 bits, a key the suite does not know
const trSettings = f('settings.json', traceOf([kvmOpen], { emulator: { bugs: [], settings: { rmmSveMaxVq: 4096 } } }));
const trSettingKey = f('setting-key.json', traceOf([kvmOpen], { emulator: { bugs: [], settings: { hostCpus: 1e9 } } }));
const trLabel = f('label.json', traceOf([{ op: 'open', path: '/etc/shadow', flags: 0, as: 'x' }]).replace('"call 1"', '"a\\nb\\u0000c"'));

interface Case {
  cls: string;
  what: string;
  args: string[];
  env?: Record<string, string>;
  /** Expected exit code (default 2). */
  code?: number;
  /** The one stderr line (or, with warn, the one warning line). */
  line: RegExp;
  /** A run that goes on: only the lines matching `line` are counted, and there must be one. */
  warn?: boolean;
}

const cases: Case[] = [
  // deadlines
  ...['2147483648', '1e99', '1.5', '-1', '0', 'abc', '0x10', ''].map((v): Case => ({
    cls: 'timeout',
    what: `--timeout '${v}'`,
    args: ['--abi', 'v7', `--timeout=${v}`],
    line: /^run\.sh: --timeout takes a whole number of milliseconds from 1 to 2147483647, not/,
  })),
  // duplicate options
  { cls: 'duplicate', what: '--abi twice', args: ['--abi', 'v7', '--abi', 'v8'], line: /^run\.sh: --abi given twice/ },
  { cls: 'duplicate', what: '--target twice', args: ['--target', 'emulator', '--target=emulator'], line: /^run\.sh: --target given twice/ },
  { cls: 'duplicate', what: '--timeout twice', args: ['--abi', 'v7', '--timeout', '100', '--timeout', '200'], line: /^run\.sh: --timeout given twice/ },
  {
    cls: 'duplicate',
    what: '--junit twice',
    args: ['--abi', 'v7', '--junit', join(base, 'a.xml'), '--junit', join(base, 'b.xml')],
    line: /^run\.sh: --junit given twice/,
  },
  {
    cls: 'duplicate',
    what: 'qemu-guest --kernel twice',
    args: ['qemu-guest', '--kernel', '/a', '--kernel', '/b'],
    line: /^run\.sh qemu-guest: --kernel given twice/,
  },
  {
    cls: 'duplicate',
    what: 'replay --target twice',
    args: ['replay', trOpen, '--target', 'emulator', '--target', 'emulator'],
    line: /^run\.sh replay: --target given twice/,
  },
  // conflicting options
  { cls: 'conflict', what: '--kernel on the emulator', args: ['--kernel', '/x'], line: /^run\.sh: --kernel needs --target qemu$/ },
  { cls: 'conflict', what: '--qemu-arg on ssh', args: ['--target', 'ssh://root@h', '--qemu-arg=-s'], line: /^run\.sh: --qemu-arg needs --target qemu$/ },
  // the same target options and rules in every sub-command (harness/tools/qemu-options.ts)
  {
    cls: 'conflict',
    what: 'replay: --kernel on the emulator',
    args: ['replay', trKvm, '--kernel', '/x'],
    line: /^run\.sh replay: --kernel needs --target qemu$/,
  },
  { cls: 'conflict', what: 'explore: --console on the emulator', args: ['explore', '--console'], line: /^run\.sh explore: --console needs --target qemu$/ },
  {
    cls: 'conflict',
    what: '--ssh-key on the emulator',
    args: ['--ssh-key', '/k'],
    line: /^run\.sh: --ssh-key and --ssh-option need an ssh:\/\/ or qemu target/,
  },
  { cls: 'conflict', what: '--list with --junit', args: ['--list', '--junit', join(base, 'j.xml')], line: /^run\.sh: --list runs nothing: --junit/ },
  { cls: 'conflict', what: '--list with --matrix', args: ['--list', '--matrix', join(base, 'm.md')], line: /^run\.sh: --list runs nothing: --matrix/ },
  {
    cls: 'conflict',
    what: '--emulator-bug on ssh',
    args: ['--target', 'ssh://root@h', '--abi', 'v7', '--emulator-bug', 'create-rd-twice'],
    line: /^run\.sh: --emulator-bug needs --target emulator$/,
  },
  {
    cls: 'conflict',
    what: 'replay --emulator-bug with --no-emulator-bugs',
    args: ['replay', trPoke, '--emulator-bug', 'x', '--no-emulator-bugs'],
    line: /^run\.sh replay: .*(contradict|refused)/,
  },
  // --matrix suffix
  ...['m.txt', 'm', 'm.html.bak', 'm.htm'].map((m): Case => ({
    cls: 'matrix',
    what: `--matrix ${m}`,
    args: ['--matrix', join(base, m)],
    line: /must end in \.html or \.md/,
  })),
  // --baseline
  { cls: 'baseline', what: 'binary', args: ['--abi', 'v7', '--baseline', binary], line: /a binary file, not a baseline/ },
  { cls: 'baseline', what: 'empty', args: ['--abi', 'v7', '--baseline', empty], line: /empty: no known failures/ },
  { cls: 'baseline', what: 'blank', args: ['--abi', 'v7', '--baseline', blank], line: /empty: no known failures/ },
  { cls: 'baseline', what: 'a directory', args: ['--abi', 'v7', '--baseline', dirAsFile], line: /not a regular file/ },
  { cls: 'baseline', what: 'missing', args: ['--abi', 'v7', '--baseline', join(base, 'nope')], line: /cannot read \(ENOENT\)/ },
  { cls: 'baseline', what: 'a newline in a reason', args: ['--abi', 'v7', '--baseline', ctrl], line: /control character or newline/ },
  {
    cls: 'baseline-warn',
    what: 'an entry matching no check',
    args: ['--abi', 'v7', '--baseline', noMatch, 'populate/one-page'],
    code: 0,
    warn: true,
    line: /^run\.sh: warning: .*baseline\.txt:2: "no\/such\/check" matches no check$/,
  },
  // scenario files
  {
    cls: 'scenario',
    what: 'a directory named .json',
    args: ['--list'],
    env: { KVM_CCA_SCENARIO_DIR: scDirIsDir },
    line: /b\.json: not a regular file \(a directory\)$/,
  },
  {
    cls: 'scenario',
    what: 'a dangling link',
    args: ['--list'],
    env: { KVM_CCA_SCENARIO_DIR: scDangling },
    line: /a\.json: cannot read \(a dangling symbolic link\)$/,
  },
  {
    cls: 'scenario',
    what: 'a duplicate name',
    args: ['--list'],
    env: { KVM_CCA_SCENARIO_DIR: scDuplicate },
    line: /b\.json: scenario name "same" is also the name in .*a\.json$/,
  },
  {
    cls: 'scenario',
    what: 'a newline in the name',
    args: ['--list'],
    env: { KVM_CCA_SCENARIO_DIR: scNewline },
    line: /"name" has a control character or newline/,
  },
  {
    cls: 'scenario',
    what: 'a control character in the description',
    args: ['--list'],
    env: { KVM_CCA_SCENARIO_DIR: scControl },
    line: /"description" has a control character/,
  },
  { cls: 'scenario', what: 'a TAP directive in the name', args: ['--list'], env: { KVM_CCA_SCENARIO_DIR: scHash }, line: /"name" .* must be letters, digits/ },
  {
    cls: 'scenario',
    what: 'a 1 TiB memslot',
    args: ['--list'],
    env: { KVM_CCA_SCENARIO_DIR: scHuge },
    line: /step 2 \(memslot\): size \d+ is outside 1\.\.1073741824/,
  },
  { cls: 'scenario', what: 'not JSON', args: ['--list'], env: { KVM_CCA_SCENARIO_DIR: scNotJson }, line: /a\.json(:\d+)?: not valid JSON/ },
  // traces from outside: replay refuses before running, repro of a malformed one
  {
    cls: 'trace',
    what: 'replay: an open of /etc/passwd',
    args: ['replay', trOpen],
    line: /^run\.sh replay: .*open\.json: call 1 \(call 1\): refused: open of "\/etc\/passwd": only \/dev\/kvm may be opened$/,
  },
  {
    cls: 'trace',
    what: 'replay: a shared mapping of /dev/kvm',
    args: ['replay', trMap],
    line: /call 2 .*refused: mmap of kvm: only an fd the uAPI handed out/,
  },
  { cls: 'trace', what: 'replay: a poke past a mapping', args: ['replay', trPoke], line: /call 2 .*refused: range 0x1000\+1 is past mapping m/ },
  { cls: 'trace', what: 'replay: an ioctl of no revision', args: ['replay', trIoctl], line: /call 2 .*refused: ioctl 0x5401 is not a request of v8/ },
  { cls: 'trace', what: 'replay: timeout_ms 2^31', args: ['replay', trTimeout], line: /call 1 .*bad request: timeout_ms must be below 2\^31/ },
  { cls: 'trace', what: 'replay: timeout_ms 1e99', args: ['replay', trTimeoutBig], line: /call 1 .*bad request: timeout_ms must be an integer/ },
  {
    cls: 'trace',
    what: 'replay: a label with a newline and NUL',
    args: ['replay', trLabel],
    line: /call 1 \(a\\x0ab\\x00c\): refused: open of "\/etc\/shadow"/,
  },
  { cls: 'trace', what: 'replay: not JSON', args: ['replay', trNotJson], line: /notjson\.json(:\d+)?: not valid JSON/ },
  {
    cls: 'trace',
    what: 'replay: an RMM setting out of range',
    args: ['replay', trSettings],
    line: /settings\.json: "emulator\.settings": "rmmSveMaxVq" must be an integer 0\.\.15, not 4096$/,
  },
  {
    cls: 'trace',
    what: 'replay: an unknown emulator setting',
    args: ['replay', trSettingKey],
    line: /setting-key\.json: "emulator\.settings": unknown setting "hostCpus"/,
  },
  { cls: 'trace', what: 'replay: a directory', args: ['replay', dirAsFile], line: /a-directory: not a regular file \(a directory\)$/ },
  { cls: 'trace', what: 'replay: a FIFO (would block for ever)', args: ['replay', fifo], line: /fifo: not a regular file \(a special file\)$/ },
  { cls: 'baseline', what: 'a FIFO (would block for ever)', args: ['--abi', 'v7', '--baseline', fifo], line: /fifo: not a regular file$/ },
  { cls: 'trace', what: 'repro: not JSON', args: ['repro', trNotJson], line: /^run\.sh repro: .*not valid JSON/ },
];

const STACK = /^\s+at |\bError: |internal error|node:internal/m;

/** Run one case in its own process group and TMPDIR; report what was left. */
async function runCase(c: Case): Promise<{ code: number | undefined; stdout: string; stderr: string; leftFiles: string[]; leftGroup: boolean }> {
  const tmp = mkdtempSync(join(base, 'tmp-'));
  const p = execa(RUN, c.args, { cwd: ROOT, reject: false, detached: true, timeout: 120000, env: { ...process.env, TMPDIR: tmp, ...c.env }, stdin: 'ignore' });
  const r = await p;
  const left = inGroup(p.pid ?? -1);
  if (left.length) process.kill(-(p.pid ?? 0), 'SIGKILL');
  // tsx keeps its compile cache in TMPDIR (tsx-UID): the tool's, reused by every run, not something a run leaves.
  return {
    code: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    leftFiles: readdirSync(tmp).filter((n) => !/^tsx-\d+$/.test(n)),
    leftGroup: left.length > 0,
  };
}

/** Live processes of a process group, from /proc (field 5 of stat is the group). */
function inGroup(pgid: number): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z') out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

t.test('bad inputs: one line, exit 2, no stack trace, nothing left', async (t) => {
  const classes = new Set(cases.map((c) => c.cls));
  t.comment(`${cases.length} cases in ${classes.size} classes: ${[...classes].join(', ')}`);
  // Two at a time: the machine is shared.
  const results = new Array<Awaited<ReturnType<typeof runCase>>>(cases.length);
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < cases.length) {
        const i = next++;
        results[i] = await runCase(cases[i]!);
      }
    }),
  );
  for (const [i, c] of cases.entries()) {
    const r = results[i]!;
    const name = `${c.cls}: ${c.what}`;
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    t.equal(r.code, c.code ?? 2, `${name}: exit ${c.code ?? 2} (stderr: ${r.stderr.trim().slice(0, 300)})`);
    if (c.warn) t.equal(lines.filter((l) => c.line.test(l)).length, 1, `${name}: one warning line`);
    else {
      t.equal(lines.length, 1, `${name}: one line on stderr`);
      t.match(lines[0] ?? '', c.line, `${name}: says what is wrong`);
    }
    t.notMatch(r.stderr, STACK, `${name}: no stack trace`);
    t.same(r.leftFiles, [], `${name}: no file left in its TMPDIR`);
    t.notOk(r.leftGroup, `${name}: no process left`);
  }
});

t.test('names cannot inject TAP lines or break XML, HTML or Markdown', async (t) => {
  const evil = 'a\nok 99 - forged\r# SKIP\u0000\u0007|`<b>&"\ud800';
  const o: CheckOutcome = {
    name: evil,
    area: 'create-realm',
    abi: 'v7',
    description: evil,
    status: 'todo',
    reason: `baseline: ${evil}`,
    assertions: [{ ok: false, message: evil }],
    sources: [evil],
    trace: [],
    ms: 1,
  };
  const line = ktapLine(o, 1);
  const first = line.split('\n').find((l) => /^(not )?ok /.test(l)) ?? '';
  t.match(first, /^ok 1 - v7\/a\\x0aok 99 - forged\\x0d\\# SKIP\\x00\\x07.* # XFAIL baseline: a\\x0aok 99/, 'name and reason stay on the result line');
  const failing = ktapLine({ ...o, status: 'fail', reason: undefined }, 2);
  t.equal(failing.split('\n').filter((l) => /^(not )?ok \d/.test(l)).length, 1, "a failure's # diagnostics forge no result line either");
  t.equal(line.split('\n').filter((l) => /^(not )?ok \d/.test(l)).length, 1, 'one result line');
  const xml = junitXml([o], 'emulator');
  t.notMatch(xml, /[\x00-\x08\x0b\x0c\x0e-\x1f]/, 'no character XML 1.0 forbids');
  t.notMatch(xml, /<b>/, 'markup escaped');
  t.notMatch(xml, /[\ud800-\udfff]/, 'no lone surrogate');
  const abi = getProfile('v7')!;
  const check: CheckDef = { name: evil, area: 'create-realm', description: evil, expects: [], run: () => Promise.resolve() };
  const html = matrixHtml({ profiles: [abi], checks: [check], outcomes: [o], title: evil });
  t.notMatch(html, /<b>|[\x00-\x08\x0b\x0c\x0e-\x1f]/, 'HTML: markup escaped, no control character');
  const md = matrixMarkdown({ profiles: [abi], checks: [check], outcomes: [o], title: 'm' });
  const row = md.split('\n').find((l) => l.includes('forged')) ?? '';
  t.equal(row.split(/(?<!\\)\|/).length, 4, 'Markdown: the name stays in its cell, on its row');
});
