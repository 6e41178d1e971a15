// The verdict of a reproducer and of replay, as a kernel CI reads it: per call
// the result, the spec's expectation and the recorded result; exit 0 when the
// kernel conforms, 1 when it violates the spec (or a structural call failed:
// the program stops there, no cascade of EBADF), 4 when the realm uAPI is
// absent. The C runs on this host under the /dev/kvm shim of
// test/fixtures/ioctl-shim.c, scripted to answer as the trace recorded, as a
// violating kernel or as a kernel without the realm uAPI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
import type { AbiName } from '../profiles/types.ts';
import { applicable, runChecks } from '../harness/core/engine.ts';
import { KVM_CREATE_VCPU, KVM_CREATE_VM, KVM_RUN } from '../uapi/kvm-uapi.ts';
import { absenceProbe, replayCalls, showsAbsence } from '../harness/tools/replay.ts';
import { generateRepro } from '../harness/tools/repro.ts';
import type { TargetIdentity } from '../harness/core/target.ts';
import { createTargetSync } from '../harness/core/targets/index.ts';
import { buildTrace, callExpectations, type TraceCall, type TraceFile } from '../harness/tools/trace.ts';
import { ALL_CHECKS } from '../checks/index.ts';

t.setTimeout(300000);
const ID: TargetIdentity = {
  kind: 'emulator',
  spec: 'emulator',
  info: { sysname: 'Linux', release: 'emulator', version: '#1', machine: 'aarch64', euid: 0, kvm: true, executor: 'emulator' },
};

async function traceOf(abiName: AbiName, check: string, bugs: string[] = []): Promise<TraceFile> {
  const abi = getProfile(abiName)!;
  const def = applicable(ALL_CHECKS, abi).find((c) => c.name === check);
  if (!def) throw new Error(`no check ${check}`);
  const target = createTargetSync('emulator', { abi, bugs, ...(def.emulatorSettings ? { emulatorSettings: def.emulatorSettings } : {}) });
  await target.start();
  const [o] = await runChecks([def], { abi, target, targetKind: 'emulator', allowCrash: true, callTimeoutMs: 2000, checkTimeoutMs: 10000 });
  await target.stop();
  return buildTrace(o!, def, { identity: ID, abi: abiName, bugs });
}

/** The shim's script: one line per ioctl, answering as the trace recorded unless `change` says otherwise. */
function answers(trace: TraceFile, change: (c: TraceCall) => string | undefined = () => undefined): string {
  return trace.calls
    .filter((c) => c.request.op === 'ioctl')
    .map((c) => {
      const own = change(c);
      if (own !== undefined) return own;
      const r = c.result;
      if (r.error !== undefined) return '0 0';
      let line = `${r.ret} ${r.errno}`;
      if (r.out !== undefined) line += ` out ${r.out}`;
      if (c.request.op === 'ioctl' && c.request.req === KVM_RUN && r.peek?.[0]) line += ` run ${r.peek[0]}`;
      return line;
    })
    .join('\n');
}

const have = (c: string): boolean => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'kvm-cca-repro-verdict-'));
const shim = join(dir, 'shim.so');
let n = 0;

/** Build the trace's reproducer and run it under the shim with the script; the exit code, stdout and the ioctls it made. */
function runRepro(trace: TraceFile, script: string, env: Record<string, string> = {}): { status: number | null; stdout: string; ioctls: number } {
  const src = join(dir, `r${++n}.c`);
  writeFileSync(src, generateRepro(trace, `${trace.check}.json`));
  const cc = spawnSync('gcc', ['-Wall', '-Werror', '-o', `${src}.out`, src], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc: ${cc.stderr}`);
  writeFileSync(`${src}.answers`, script);
  const r = spawnSync(`${src}.out`, [], {
    encoding: 'utf8',
    timeout: 20000,
    env: { ...process.env, LD_PRELOAD: shim, REPRO_SHIM_LOG: `${src}.log`, REPRO_SHIM_ANSWERS: `${src}.answers`, ...env },
  });
  let log: string;
  try {
    log = readFileSync(`${src}.log`, 'utf8');
  } catch {
    log = '';
  }
  return { status: r.status, stdout: r.stdout, ioctls: log.split('\n').filter((l) => l.startsWith('I ')).length };
}

const noGcc = !have('gcc') ? 'gcc missing' : false;

t.test('reproducers: uname, expected and recorded per call, exit 0 / 1 / 4', { skip: noGcc }, async (t) => {
  const sb = spawnSync('gcc', ['-shared', '-fPIC', '-Wall', '-Werror', '-o', shim, 'test/fixtures/ioctl-shim.c'], { encoding: 'utf8' });
  t.equal(sb.status, 0, `the shim builds ${sb.stderr}`);

  // A failing v14 trace: the kernel (here the emulator with the bug) accepts a non-zero reserved word.
  const failing = await traceOf('v14', 'populate/reserved', ['rmi-populate-reserved-unchecked']);
  t.equal(failing.status, 'fail');
  const judged = failing.assertions.find((a) => !a.ok);
  t.ok(judged?.seq !== undefined && judged.expected?.errno === 'EINVAL', 'the failed assertion names the call it judged and the expectation');
  const f = runRepro(failing, answers(failing));
  t.equal(f.status, 1, `a kernel answering as the failing recording violates the spec: exit 1\n${f.stdout}`);
  t.match(f.stdout, /^uname -a: Linux \S+ \S+ .*\n/, 'uname -a comes first');
  t.match(
    f.stdout,
    /KVM_ARM_RMI_POPULATE\(.*reserved=0x1\) = 0 {3}spec: = -1 EINVAL \(V14-PO3\) {3}recorded: = 0 {3}<-- VIOLATES THE SPEC/,
    'the judged call: result, spec with its source, recorded',
  );
  t.match(
    f.stdout,
    /\n {2}1 open\("\/dev\/kvm", O_RDWR\|O_CLOEXEC\) = ok \(handle\) {3}recorded: = ok \(handle\)\n/,
    'a set-up call: result and recorded only',
  );
  t.match(f.stdout, /exit 1: the kernel violates the spec/);

  // The same check on a conforming kernel: recorded as passing, answered as recorded.
  const passing = await traceOf('v14', 'populate/reserved');
  t.equal(passing.status, 'pass');
  const p = runRepro(passing, answers(passing));
  t.equal(p.status, 0, `a kernel answering as the conforming recording: exit 0\n${p.stdout}`);
  t.match(p.stdout, /spec: = -1 EINVAL \(V14-PO3\) {3}recorded: = -1 EINVAL\n/);
  // The failing trace's reproducer on a conforming kernel: 0, and it says the result differs from the recording.
  const seq = judged!.seq!;
  const fixed = runRepro(
    failing,
    answers(failing, (c) => (c.seq === seq ? '-1 22' : undefined)),
  );
  t.equal(fixed.status, 0, `the failing trace's reproducer on a fixed kernel: exit 0\n${fixed.stdout}`);
  t.match(fixed.stdout, /<-- differs from the recording/);
  // A conforming trace's reproducer on a violating kernel.
  const broken = runRepro(
    passing,
    answers(passing, (c) => (c.seq === seq ? '0 0' : undefined)),
  );
  t.equal(broken.status, 1, `the passing trace's reproducer on a kernel ignoring the reserved word: exit 1\n${broken.stdout}`);

  // No realm uAPI: KVM_CREATE_VM(realm) refused with EINVAL stops the program with exit 4, nothing after it.
  const vmSeq = passing.calls.find((c) => c.request.op === 'ioctl' && c.request.req === KVM_CREATE_VM)!.seq;
  const absent = runRepro(
    passing,
    answers(passing, (c) => (c.seq === vmSeq ? '-1 22' : undefined)),
  );
  t.equal(absent.status, 4, `realm VM type refused: exit 4\n${absent.stdout}`);
  t.match(absent.stdout, /the realm uAPI is absent on this kernel \(call 2 = -1 EINVAL\): no realm VM type/);
  t.equal(absent.ioctls, 1, 'no ioctl after the one that showed the uAPI absent');
  const noKvm = runRepro(passing, answers(passing), { REPRO_SHIM_NO_KVM: '1' });
  t.equal(noKvm.status, 4, `no /dev/kvm: exit 4\n${noKvm.stdout}`);
  t.equal(noKvm.ioctls, 0);

  // The realm CAP answering 0 where the spec promises 1: absent, 4 (a violation otherwise).
  const cap = await traceOf('v14', 'probing/cap-on-system-fd');
  const capSeq = cap.calls.find((c) => c.request.op === 'ioctl')!.seq;
  const c0 = runRepro(
    cap,
    answers(cap, (c) => (c.seq === capSeq ? '0 0' : undefined)),
  );
  t.equal(c0.status, 4, `realm CAP = 0: exit 4\n${c0.stdout}`);
  t.match(c0.stdout, /spec: = 1 \(V14-CE1\) {3}recorded: = 1 {3}<-- the realm uAPI is absent\n/);
  t.equal(runRepro(cap, answers(cap)).status, 0, 'realm CAP = 1 as recorded: exit 0');
  t.equal(
    runRepro(
      cap,
      answers(cap, (c) => (c.seq === capSeq ? '2 0' : undefined)),
    ).status,
    1,
    'realm CAP = 2: the spec pins 1, exit 1',
  );

  // A structural call failing (not absence): one line, exit 1, no cascade of EBADF.
  const vcpuSeq = passing.calls.find((c) => c.request.op === 'ioctl' && c.request.req === KVM_CREATE_VCPU)!.seq;
  const stop = runRepro(
    passing,
    answers(passing, (c) => (c.seq === vcpuSeq ? '-1 12' : undefined)),
  );
  t.equal(stop.status, 1, `KVM_CREATE_VCPU failing: exit 1\n${stop.stdout}`);
  t.match(stop.stdout, new RegExp(`stopped: call ${vcpuSeq} failed; the calls after it need what it makes\\n`));
  t.notMatch(stop.stdout, /EBADF/);
  t.equal(stop.ioctls, passing.calls.filter((c) => c.request.op === 'ioctl' && c.seq <= vcpuSeq).length, 'no ioctl after the failed structural call');

  // The absent revision expects the realm type refused: such a kernel conforms (0), not 4.
  const abs = await traceOf('absent', 'absent/init-rec-bit-7');
  const a = runRepro(abs, answers(abs));
  t.equal(a.status, 0, `absent revision, answered as recorded: exit 0\n${a.stdout}`);

  // Conforming traces with KVM_RUN exits and populate write-backs: exit 0 answered as recorded.
  for (const check of ['populate/progress-loop', 'lifecycle/openvmm-v14', 'lifecycle/qemu-nvidia-0d79ce9', 'run/first-run-then-populate']) {
    if (!ALL_CHECKS.some((c) => c.name === check)) continue;
    const tr = await traceOf('v14', check);
    t.equal(tr.status, 'pass', `${check} passes on the emulator`);
    const r = runRepro(tr, answers(tr));
    t.equal(r.status, 0, `${check}: exit 0 answered as recorded\n${r.stdout}`);
  }
  t.ok(
    have('aarch64-linux-gnu-gcc')
      ? spawnSync('aarch64-linux-gnu-gcc', ['-Wall', '-Werror', '-static', '-o', join(dir, 'f.arm64'), join(dir, 'r1.c')]).status === 0
      : true,
    'the failing reproducer cross-compiles static for arm64',
  );
});

t.test('replay: the same verdict per call and exit code', async (t) => {
  const failing = await traceOf('v14', 'populate/reserved', ['rmi-populate-reserved-unchecked']);
  const spec = getProfile('v14')!;
  const on = async (abi: AbiName, bugs: string[]) => {
    const target = createTargetSync('emulator', { abi: getProfile(abi)!, bugs });
    await target.start();
    const s = await target.session();
    const r = await replayCalls(failing, s, spec);
    await s.close();
    await target.stop();
    return r;
  };
  const bad = await on('v14', ['rmi-populate-reserved-unchecked']);
  t.equal(bad.exitCode, 1, 'the buggy kernel again: 1');
  const v = bad.verdicts.find((x) => x.violates)!;
  t.equal(v.spec, '= -1 EINVAL (V14-PO3)');
  t.equal(v.recorded, '= 0');
  t.equal((await on('v14', [])).exitCode, 0, 'a conforming kernel: 0');
  const none = await on('absent', []);
  t.equal(none.exitCode, 4, 'a kernel without the realm uAPI: 4');
  t.match(none.absent, /KVM_CREATE_VM\(realm type\) = -1 EINVAL/);
  t.equal(none.results.length, 2, 'nothing sent after the call that showed it');
});

t.test('expectations from old traces and hostile ones', async (t) => {
  const failing = await traceOf('v14', 'populate/reserved', ['rmi-populate-reserved-unchecked']);
  const seq = failing.assertions.find((a) => !a.ok)!.seq!;
  // A trace written before assertions carried seq: the call text and message still name it.
  const old = { ...failing, assertions: failing.assertions.map(({ seq: _s, expected: _e, ...a }) => a) };
  t.same(callExpectations(old).get(seq), { errno: 22, source: 'V14-PO3' });
  // Older still (the real-stack recordings): no call text either; the message starts with the call.
  const older = { ...failing, assertions: failing.assertions.map(({ seq: _s, expected: _e, call: _c, ...a }) => a) };
  t.same(callExpectations(older).get(seq), { errno: 22, source: 'V14-PO3' });
  // A passing assertion of a recording names its call as well: the expectation is what was recorded.
  const rec = JSON.parse(
    readFileSync(new URL('../fixtures/real-kernel/cca-host-v7/pristine/v7__probing_realm-ipa-too-large.json', import.meta.url), 'utf8'),
  ) as TraceFile;
  t.same(
    [...callExpectations(rec).values()].map((e) => e.errno),
    [22],
    'KVM_CREATE_VM(IPA 63) is judged: -EINVAL expected, so no "uAPI absent" stop',
  );
  // Hostile fields are dropped, never trusted.
  const hostile = {
    ...failing,
    assertions: [
      { ok: false, message: 'x', source: 's', call: 'c', seq: 1, expected: { errno: 'EVIL' } },
      { ok: false, message: 'x', source: 's', call: 'c', seq: 99, expected: { errno: '0' } },
    ],
  } as unknown as TraceFile;
  t.same([...callExpectations(hostile)], []);
  const c = generateRepro(
    { ...failing, assertions: [{ ok: false, message: 'm', source: '*/ evil("??/")', call: 'c', seq, expected: { errno: 'EINVAL' } }] },
    'x.json',
  );
  t.ok(c.includes('"*/ evil(\\"?\\?/\\")"'), 'a source reaches C only as an escaped string, no trigraph');
  writeFileSync(join(dir, 'hostile.c'), c);
  if (!noGcc) t.equal(spawnSync('gcc', ['-fsyntax-only', '-Wall', '-Werror', join(dir, 'hostile.c')]).status, 0, 'and compiles');
});

t.test('absence probes', async (t) => {
  const v14 = getProfile('v14')!;
  const call = (req: number, arg: number): TraceCall => ({
    seq: 1,
    label: 'x',
    request_name: 'x',
    request: { op: 'ioctl', fd: 'kvm1', req, arg: { int: arg } },
    result: { id: 0, ret: 3, errno: 0 },
    ms: 0,
  });
  t.equal(absenceProbe(call(KVM_CREATE_VM, v14.vmTypeRealm + 40), v14, undefined), 'vm');
  t.equal(absenceProbe(call(KVM_CREATE_VM, 40), v14, undefined), undefined, 'a normal VM says nothing about realms');
  t.equal(
    absenceProbe(call(KVM_CREATE_VM, v14.vmTypeRealm + 3), v14, { errno: 22, source: 's' }),
    undefined,
    'a check expecting EINVAL of a realm type is not a probe',
  );
  t.equal(absenceProbe(call(0xae03, v14.cap.nr), v14, undefined), 'cap');
  t.match(showsAbsence('cap', v14, { ret: 0, errno: 0 }), /does not offer the realm uAPI/);
  t.equal(showsAbsence('cap', v14, { ret: 1, errno: 0 }), undefined);
  t.equal(absenceProbe(call(KVM_CREATE_VM, v14.vmTypeRealm), getProfile('absent')!, undefined), undefined, 'never for the absent revision');
});
