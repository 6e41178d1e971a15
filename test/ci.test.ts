// The CI gates and bug-reproduction commands through ./run.sh, as CI uses them:
// baselines (exit 0 with only known failures, 1 on a new one, "now passes"),
// traces named in TAP, replay and repro exit codes, malformed files (exit 2,
// one line naming file and line), scenario files from outside.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Baseline, parseBaseline, BaselineError } from '../harness/tools/baseline.ts';
import type { CheckOutcome } from '../harness/core/engine.ts';

// Many ./run.sh starts: tap's 30 s default is too short on a shared 2-core machine.
t.setTimeout(300000);

const RUN = new URL('../run.sh', import.meta.url).pathname;
// Everything this file makes is under its own directory, removed at the end.
const own = mkdtempSync(join(tmpdir(), 'kvm-cca-ci-test-'));
const tmp = (): string => mkdtempSync(join(own, 'x-'));

// The runs' traces and temp files go under this file's own directory, never a shared name.
t.teardown(() => rmSync(own, { recursive: true, force: true }));
function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(RUN, args, { encoding: 'utf8', env: { ...process.env, TMPDIR: own, KVM_CCA_TRACE_DIR: join(own, 'traces'), ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Each case spawns ./run.sh (tsx start-up): on a loaded 2-core machine the file takes over 30 s.
t.setTimeout(300000);
const BUG = ['--emulator-bug', 'populate-ebusy-as-einval'];
const POPULATE_FAILS = [
  'populate/in-none',
  'populate/in-active',
  'populate/on-normal-vm',
  'ordering/populate-state-beats-alignment',
  'scenario/populate-before-create-rd',
];

t.test('baseline parsing', async (t) => {
  const e = parseBaseline('# known\nrfc-v1/populate/wrap kernel=6.2* RMM bet0 bug\n\ncreate-realm/*  fixed in v6   # trailing comment\n', 'b.txt');
  t.same(e, [
    { check: 'rfc-v1/populate/wrap', reason: 'RMM bet0 bug', kernel: '6.2*', where: 'b.txt:2' },
    { check: 'create-realm/*', reason: 'fixed in v6', where: 'b.txt:4' },
  ]);
  t.throws(() => parseBaseline('populate/wrap\n', 'b.txt'), new BaselineError('b.txt:1: "populate/wrap" needs a reason after the check name'));
  t.same(parseBaseline('[{"check": "a/b", "reason": "r", "kernel": "6.*"}]', 'b.json'), [
    { check: 'a/b', reason: 'r', kernel: '6.*', where: 'b.json: entry 1' },
  ]);
  t.same(parseBaseline('{"known_failures": [{"check": "a/b", "reason": "r"}]}', 'b.json')[0]?.check, 'a/b');
  t.throws(() => parseBaseline('[{"check": "a/b"}]', 'b.json'), { message: 'b.json: entry 1: "a/b" needs a "reason"' });
  t.throws(() => parseBaseline('[\n{"check": }]', 'b.json'), { message: /^b\.json:2: not valid JSON/ });

  const b = new Baseline(parseBaseline('rfc-v1/populate/* kernel=6.2* known\nprobing/x other\n', 'b'), '6.1.0');
  const o = (name: string, status: CheckOutcome['status']): CheckOutcome => ({
    name,
    abi: 'rfc-v1',
    area: 'populate',
    description: '',
    status,
    assertions: [],
    sources: [],
    trace: [],
    ms: 0,
  });
  t.equal(b.match(o('populate/wrap', 'fail')), undefined, 'kernel glob does not match 6.1.0');
  b.release = '6.2.0-cca';
  const f = o('populate/wrap', 'fail');
  t.equal(b.apply(f)?.reason, 'known');
  t.same([f.status, f.reason], ['todo', 'baseline: known']);
  t.equal(b.apply(o('probing/x', 'pass'))?.reason, 'other');
  t.match(b.summary().join('\n'), /1 known failure\(s\) still fail, 1 baselined check\(s\) now pass\n#   NOW PASSES rfc-v1\/probing\/x \(b:2: other\)/);
});

t.test('--baseline: known failures exit 0, a new one exits 1, fixed ones are named', async (t) => {
  const dir = tmp();
  const all = join(dir, 'all.txt');
  writeFileSync(
    all,
    `${POPULATE_FAILS.map((c) => `rfc-v1/${c}  EBUSY/EINVAL dispute (R1-PO2)`).join('\n')}\nrfc-v1/populate/one-page  pretend this was broken\n`,
  );
  const known = run(['--baseline', all, ...BUG, 'populate']);
  t.equal(known.code, 0, known.stderr);
  t.match(known.stdout, /^ {2}ok \d+ - rfc-v1\/populate\/in-none # XFAIL baseline: EBUSY\/EINVAL dispute \(R1-PO2\)$/m);
  t.match(known.stdout, /baseline: ".*all\.txt:1: EBUSY\/EINVAL dispute \(R1-PO2\)"|baseline: .*all\.txt:1/);
  t.match(known.stderr, /# baseline: 5 known failure\(s\) still fail, 1 baselined check\(s\) now pass/);
  t.match(known.stderr, /NOW PASSES rfc-v1\/populate\/one-page \(.*all\.txt:6: pretend this was broken\) - remove it from the baseline/);

  const some = join(dir, 'some.txt');
  writeFileSync(some, 'populate/in-none  known\n');
  const fresh = run(['--baseline', some, ...BUG, 'populate']);
  t.equal(fresh.code, 1, 'a failure the baseline does not name');
  t.match(fresh.stderr, /#   FAIL rfc-v1\/populate\/in-active/);
  t.notMatch(fresh.stderr, /FAIL rfc-v1\/populate\/in-none/);

  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, '\npopulate/in-none\n');
  const r = run(['--baseline', bad]);
  t.equal(r.code, 2);
  t.equal(r.stderr, `run.sh: ${bad}:2: "populate/in-none" needs a reason after the check name\n`);
});

t.test('a failure names its trace in TAP; replay reproduces it; repro writes C', async (t) => {
  const dir = tmp();
  const r = run([...BUG, '--junit', join(dir, 'junit.xml'), 'populate/in-none', 'create-realm/in-new']);
  t.equal(r.code, 1);
  const m = /^ {2}# trace: (\S+)$/m.exec(r.stdout);
  t.ok(m, 'TAP YAML has trace: PATH');
  const trace = m![1]!;
  t.match(r.stdout, /KVM_ENABLE_CAP\(RME, POPULATE_REALM, base=0x80001000 size=0x1000\) = -1\s+EINVAL, expected -1 EBUSY \(R1-PO2\)/);
  t.match(r.stderr, /# traces: 1 written to /);
  t.match(readFileSync(join(dir, 'junit.xml'), 'utf8'), /<failure message="KVM_ENABLE_CAP/);

  // Replay judges each call against the revision's spec: the bug again violates it (1), the fixed kernel conforms (0).
  // Exit: whether the recording was reproduced; with --verdict, the spec's verdict (as the C reproducer).
  t.equal(run(['replay', trace]).code, 0, 'the recording is reproduced');
  const same = run(['replay', trace, '--verdict']);
  t.equal(same.code, 1, same.stdout + same.stderr);
  t.match(
    same.stdout,
    /\n {2}5 KVM_ENABLE_CAP\(RME, POPULATE_REALM, base=0x80001000 size=0x1000\) = -1 EINVAL {3}spec: = -1 EBUSY \(R1-PO2\) {3}recorded: = -1 EINVAL {3}<-- violates the spec\n# replay: 1 of 1 judged calls violate the rfc-v1 spec; 0 of 5 calls differ from the recording\n/,
  );
  t.equal(run(['replay', trace, '--no-emulator-bugs']).code, 1, 'the fixed kernel does not reproduce the recording');
  const fixed = run(['replay', trace, '--no-emulator-bugs', '--verdict']);
  t.equal(fixed.code, 0, fixed.stdout);
  t.match(
    fixed.stdout,
    /\n {2}5 KVM_ENABLE_CAP\(RME, POPULATE_REALM, base=0x80001000 size=0x1000\) = -1 EBUSY {3}spec: = -1 EBUSY \(R1-PO2\) {3}recorded: = -1 EINVAL {3}<-- differs from the recording\n# replay: 0 of 1 judged calls violate the rfc-v1 spec; 1 of 5 calls differ from the recording\n/,
  );

  const c = run(['repro', trace]);
  t.equal(c.code, 0);
  t.match(c.stdout, /^\/\*\n \* Reproducer for rfc-v1\/populate\/in-none/);
  t.match(c.stdout, 'KVM_CAP_ARM_RME_POPULATE_REALM');

  const all = tmp();
  const every = run(['--trace', all, 'create-realm/']);
  t.equal(every.code, 0);
  t.ok(readdirSync(all).length >= 3, '--trace DIR keeps passing checks too');
  const pass = join(all, readdirSync(all)[0]!);
  const again = run(['replay', pass]);
  t.equal(again.code, 0, 'a passing trace replays identically on the emulator');
});

t.test('malformed inputs: exit 2, one line naming the file', async (t) => {
  const dir = tmp();
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{\n "format": "kvm-cca-trace/1",\n "check": \n}\n');
  for (const cmd of ['replay', 'repro']) {
    const r = run([cmd, bad]);
    t.equal(r.code, 2);
    t.equal(r.stderr, `run.sh ${cmd}: ${bad}:4: not valid JSON (Unexpected token '}')\n`);
    t.equal(r.stdout, '');
  }
  const wrong = join(dir, 'wrong.json');
  writeFileSync(
    wrong,
    JSON.stringify({
      format: 'kvm-cca-trace/1',
      check: 'x',
      abi: 'rfc-v1',
      target: { kind: 'emulator' },
      calls: [{ label: 'l', request: { op: 'fly' }, result: { ret: 0, errno: 0 } }],
    }),
  );
  const w = run(['replay', wrong]);
  t.equal(w.code, 2);
  t.equal(w.stderr, `run.sh replay: ${wrong}: call 1 (l): bad request: unknown op "fly"\n`);
  t.equal(run(['replay']).code, 2);
  t.equal(run(['replay', wrong, '--bogus']).code, 2);
});

t.test('scenario files from outside: run as scenario/<name>; malformed ones exit 2 with file:line', async (t) => {
  const dir = tmp();
  writeFileSync(
    join(dir, 'report-123.json'),
    JSON.stringify({
      name: 'report-123',
      description: 'activate twice',
      source: 'a bug report',
      area: 'create-realm',
      abi: ['rfc-v1'],
      steps: [{ do: 'create_vm', ipa: 40 }, { do: 'create_rd' }, { do: 'activate' }, { do: 'activate', expect: 'EBUSY' }],
    }),
  );
  const ok = run(['scenario/'], { KVM_CCA_SCENARIO_DIR: dir });
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^ {2}ok 1 - rfc-v1\/scenario\/report-123$/m);
  const caught = run(['scenario/', '--emulator-bug', 'activate-skips-state-check'], { KVM_CCA_SCENARIO_DIR: dir });
  t.equal(caught.code, 1);
  t.match(caught.stdout, /step 4: KVM_ENABLE_CAP\(RME, ACTIVATE_REALM\) = 0, expected -1 EBUSY/);

  writeFileSync(
    join(dir, 'typo.json'),
    '{\n "name": "typo", "description": "d", "source": "s",\n "steps": [\n  { "do": "create_vm" },\n  { "do": "populate", "base": 0 }\n ]\n}\n',
  );
  const bad = run([], { KVM_CCA_SCENARIO_DIR: dir });
  t.equal(bad.code, 2);
  t.equal(bad.stderr, `run.sh: ${join(dir, 'typo.json')}:5: step 2 (populate): missing "size"\n`);
  writeFileSync(join(dir, 'typo.json'), '{\n "name": "typo",\n "steps": [\n  { "do": "create_vm" },\n ]\n}\n');
  const json = run(['--list'], { KVM_CCA_SCENARIO_DIR: dir });
  t.equal(json.code, 2);
  t.match(json.stderr, new RegExp(`^run\\.sh: ${join(dir, 'typo.json')}:5: not valid JSON \\([^\\n]*\\)\\n$`));
});

t.test('the shipped scenario files run and pass on the emulator', async (t) => {
  const r = run(['scenario/']);
  t.equal(r.code, 0);
  for (const n of ['populate-before-create-rd', 'vcpu-after-activate-never-runs', 'config-after-create-rd'])
    t.match(r.stdout, new RegExp(`^ {2}ok \\d+ - rfc-v1/scenario/${n}$`, 'm'));
});
