// Traces, their reading, and C reproducers, on a scripted fake target (no
// emulator needed): what a trace holds, that a failure always writes one,
// that malformed traces give one line naming the file, and that reproducers
// compile with gcc -Wall -Werror and the arm64 cross compiler.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
import { CiHooks } from '../harness/tools/ci.ts';
import { applicable, runChecks, type CheckOutcome } from '../harness/core/engine.ts';
import { ERRNO } from '../uapi/errno.ts';
import { ktapLine } from '../harness/tools/report/ktap.ts';
import { generateRepro } from '../harness/tools/repro.ts';
import type { Call, Session, Target, TargetIdentity } from '../harness/core/target.ts';
import { buildTrace, parseTrace, readTrace, TraceError, traceFileName, type TraceFile } from '../harness/tools/trace.ts';
import type { WireResult } from '../uapi/wire.ts';
import { createTargetSync } from '../harness/core/targets/index.ts';
import { ALL_CHECKS } from '../checks/index.ts';

const abi = getProfile('rfc-v1')!;
const ID: TargetIdentity = {
  kind: 'emulator',
  spec: 'emulator',
  info: { sysname: 'Linux', release: '6.2.0-fake', version: '#1', machine: 'aarch64', euid: 0, kvm: true, executor: 'fake' },
};

/** Everything succeeds, except POPULATE_REALM (ENABLE_CAP sub-command 3) away from the entry page, which is EINVAL. */
function fakeTarget(): Target {
  let fd = 3;
  const session: Session = {
    async call(req: Call): Promise<WireResult> {
      const r: WireResult = { id: 0, ret: 'as' in req && req.as ? fd++ : 0, errno: 0, us: 1 };
      if (req.op === 'ioctl' && 'buf' in req.arg) {
        r.out = req.arg.buf.hex;
        const nested = req.arg.buf.ptrs?.[0]?.to;
        const entry = nested && 'buf' in nested && nested.buf.hex.startsWith('0000008000000000');
        if (req.req === 0x4068aea3 && req.arg.buf.hex.slice(16, 18) === '03' && !entry) Object.assign(r, { ret: -1, errno: ERRNO.EINVAL });
      }
      if (req.op === 'ioctl' && req.peek) r.peek = req.peek.map((p) => '00'.repeat(p.len));
      return r;
    },
    close: () => Promise.resolve(),
  };
  return { kind: 'emulator', start: async () => ID, session: async () => session, stop: () => Promise.resolve() };
}

async function run(names: string[]): Promise<CheckOutcome[]> {
  const checks = names.map((n) => applicable(ALL_CHECKS, abi).find((c) => c.name === n)!);
  return runChecks(checks, { abi, target: fakeTarget(), targetKind: 'emulator', allowCrash: true, callTimeoutMs: 1000, checkTimeoutMs: 5000 });
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'kvm-cca-trace-test-'));

t.test('--trace DIR writes one file per check with calls and identity', async (t) => {
  const dir = tmp();
  const ci = new CiHooks({ abi: 'rfc-v1', traceDir: dir, bugs: ['some-bug'] });
  ci.started(ID);
  const outs = await run(['populate/one-page', 'config/hash-sha256']);
  const extras = outs.map((o) =>
    ci.outcome(
      o,
      applicable(ALL_CHECKS, abi).find((c) => c.name === o.name),
    ),
  );
  t.same(readdirSync(dir).sort(), [traceFileName('rfc-v1', 'config/hash-sha256'), traceFileName('rfc-v1', 'populate/one-page')].sort());
  t.equal(traceFileName('rfc-v1', 'populate/one-page'), 'rfc-v1__populate_one-page.json');
  const tr = readTrace(join(dir, 'rfc-v1__populate_one-page.json'));
  t.match(tr, {
    format: 'kvm-cca-trace/1',
    check: 'populate/one-page',
    abi: 'rfc-v1',
    status: 'fail',
    target: { kind: 'emulator', release: '6.2.0-fake', machine: 'aarch64', revision: { selected: 'rfc-v1' } },
    emulator: { bugs: ['some-bug'], settings: {} },
  });
  const pop = tr.calls.findLast((c) => c.label.startsWith('KVM_ENABLE_CAP(RME, POPULATE_REALM'))!;
  t.match(pop, {
    request_name: 'KVM_ENABLE_CAP',
    request_nr: '0x4068aea3',
    fields: { subcmd: 'POPULATE_REALM', base: '0x80100000', size: '0x1000' },
    result: { ret: -1, errno: 22, errno_name: 'EINVAL' },
  });
  t.match(pop.arg_bytes, /^2c01000000000000/, 'argument bytes: cap 300, flags 0');
  t.type(pop.ms, 'number');
  t.match(tr.calls[0], { request_name: 'open', request: { op: 'open', path: '/dev/kvm' } });
  t.equal(extras[0]?.trace, join(dir, 'rfc-v1__populate_one-page.json'), 'the failure names its trace');
  t.equal(extras[1], undefined, 'a pass has no extra diagnostic');
  const tap = ktapLine(outs[0]!, 1, extras[0]);
  t.match(tap, /KVM_ENABLE_CAP\(RME, POPULATE_REALM, base=0x80100000 size=0x1000\) = -1\s+EINVAL, expected 0/);
  t.match(tap, new RegExp(`trace: ${dir}/rfc-v1__populate_one-page.json`));
  t.match(tap, /last_calls:/);
});

t.test('a failing check writes its trace without --trace; a passing one does not', async (t) => {
  const base = tmp();
  process.env.KVM_CCA_TRACE_DIR = base;
  t.teardown(() => {
    delete process.env.KVM_CCA_TRACE_DIR;
  });
  const ci = new CiHooks({ abi: 'rfc-v1' });
  ci.started(ID);
  const outs = await run(['populate/in-none', 'config/hash-sha256']);
  const extras = outs.map((o) => ci.outcome(o));
  t.equal(outs[0]!.status, 'fail');
  t.match(extras[0]?.trace, new RegExp(`^${base}/.*/rfc-v1__populate_in-none.json$`));
  t.equal(extras[1], undefined);
  t.equal(ci.traces.written.length, 1);
  t.match(ci.finish()[0], /^# traces: 1 written to /);
  const tr = readTrace(extras[0]!.trace!);
  t.match(
    tr.assertions.find((a) => !a.ok)?.message,
    'KVM_ENABLE_CAP(RME, POPULATE_REALM, base=0x80001000 size=0x1000) = -1 EINVAL, expected -1 EBUSY (R1-PO2)',
  );
});

t.test('malformed traces: one line naming the file and the problem', async (t) => {
  const good = buildTrace((await run(['config/hash-sha256']))[0]!, undefined, { identity: ID, abi: 'rfc-v1' });
  const bad = (text: string): string => {
    try {
      parseTrace(text, 'x.json');
    } catch (e) {
      t.ok(e instanceof TraceError);
      return (e as Error).message;
    }
    return 'no error';
  };
  t.match(bad('{\n "format": \n}'), /^x\.json:3: not valid JSON/);
  t.equal(bad('{"format": "other"}'), 'x.json: not a trace (format must be "kvm-cca-trace/1", got "other")');
  t.equal(bad(JSON.stringify({ ...good, abi: 'v99' })), 'x.json: unknown ABI revision "v99"');
  const broken = JSON.parse(JSON.stringify(good)) as TraceFile;
  (broken.calls[1]!.request as { req?: unknown }).req = 'KVM_CREATE_VM';
  t.match(bad(JSON.stringify(broken)), /^x\.json: call 2 \(KVM_CREATE_VM\(REALM \| IPA default\)\): bad request: req must be an integer/);
  t.throws(() => readTrace('/nonexistent/t.json'), { message: '/nonexistent/t.json: cannot read (ENOENT)' });
  t.notOk(bad(JSON.stringify(good)).includes('\n'));
});

function compilers(): { cc: string; args: string[] }[] {
  const have = (c: string): boolean => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
  const out: { cc: string; args: string[] }[] = [];
  if (have('gcc')) out.push({ cc: 'gcc', args: ['-Wall', '-Werror'] });
  if (have('aarch64-linux-gnu-gcc')) out.push({ cc: 'aarch64-linux-gnu-gcc', args: ['-Wall', '-Werror', '-static'] });
  return out;
}

/** Checks on the emulator, with a bug switched on so POPULATE in the wrong state is EINVAL. */
async function onEmulator(names: string[], bugs: string[]): Promise<CheckOutcome[]> {
  const target = createTargetSync('emulator', { abi, bugs });
  await target.start();
  const checks = names.map((n) => applicable(ALL_CHECKS, abi).find((c) => c.name === n)!);
  return runChecks(checks, { abi, target, targetKind: 'emulator', allowCrash: true, callTimeoutMs: 1000, checkTimeoutMs: 5000 });
}

t.test('C reproducers: readable names and structs, compile cleanly', async (t) => {
  const outs = await onEmulator(
    [
      'populate/in-none',
      'lifecycle/qemu-rfc',
      'config/hash-sha512',
      'generic/normal-vm-mmio-exit',
      'vcpu-init/rec-bit',
      'lifecycle/kvmtool-rfc',
      'config/bad-pointer',
    ],
    ['populate-ebusy-as-einval'],
  );
  t.same(
    outs.map((o) => o.status),
    ['fail', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass'],
  );
  const dir = tmp();
  const files: string[] = [];
  for (const o of outs) {
    const c = generateRepro(buildTrace(o, undefined, { identity: ID, abi: 'rfc-v1' }), `${o.name}.json`);
    const f = join(dir, `${o.name.replace(/\//g, '_')}.c`);
    writeFileSync(f, c);
    files.push(f);
  }
  const pop = readFileSync(files[0]!, 'utf8');
  t.match(pop, 'struct kvm_cap_arm_rme_populate_realm_args args = {\n\t\t\t.populate_ipa_base = 0x80001000ULL,\n\t\t\t.populate_ipa_size = 0x1000ULL,\n\t\t};');
  t.match(pop, '.args = { KVM_CAP_ARM_RME_POPULATE_REALM, (__u64)(uintptr_t)&args },');
  t.match(pop, '#ifndef KVM_CAP_ARM_RME\n#define KVM_CAP_ARM_RME 300\n#endif');
  // The judged call: the spec's expectation (EBUSY, R1-PO2) and the recorded result (EINVAL) side by side.
  t.match(
    pop,
    'report(5, "KVM_ENABLE_CAP(RME, POPULATE_REALM, base=0x80001000 size=0x1000)", ret, err, 0, &(const struct spec){ EBUSY, 0, 0L, "R1-PO2" },\n\t\t       1, -1L, EINVAL, 0, NULL);',
  );
  t.match(pop, 'ioctl(h_kvm1, KVM_CREATE_VM, (unsigned long)(KVM_VM_TYPE_ARM_REALM | KVM_VM_TYPE_ARM_IPA_SIZE(40)))');
  const qemu = readFileSync(files[1]!, 'utf8');
  t.match(qemu, /\.cfg = KVM_CAP_ARM_RME_CFG_HASH_ALGO,\n\s*\.hash_algo = KVM_CAP_ARM_RME_MEASUREMENT_ALGO_SHA512,/);
  t.match(qemu, '.features = { (1U << KVM_ARM_VCPU_POWER_OFF) | (1U << KVM_ARM_VCPU_PSCI_0_2) }');
  t.match(qemu, 'int feature = KVM_ARM_VCPU_REC;');
  t.match(qemu, /check_exit\(h_run\d+, KVM_EXIT_SYSTEM_EVENT, 1\);/);
  for (const f of files.slice(1))
    t.notMatch(readFileSync(f, 'utf8'), /argument as recorded/, `${String(f.split('/').pop())}: every call has a struct spelling`);
  const ccs = compilers();
  if (!ccs.length) t.comment('no C compiler: compile step skipped');
  for (const { cc, args } of ccs)
    for (const f of files) {
      const r = spawnSync(cc, [...args, '-o', `${f}.${cc}.out`, f], { encoding: 'utf8' });
      t.equal(r.status, 0, `${cc} ${args.join(' ')} ${String(f.split('/').pop())}${r.stderr ? `\n${r.stderr}` : ''}`);
    }
  if (ccs[0]?.cc === 'gcc' && process.arch === 'x64') {
    // An x86 host has no realm VMs (no /dev/kvm, or KVM_CREATE_VM refuses the realm type): the realm uAPI is absent, exit 4.
    const r = spawnSync(`${String(files[0])}.gcc.out`, [], { encoding: 'utf8' });
    t.equal(r.status, 4, `exit 4 without the realm uAPI\n${r.stdout}`);
    t.match(r.stdout, /^uname -a: Linux /, 'uname -a first');
    t.match(
      r.stdout,
      /^\s*[12] (open\("\/dev\/kvm"|KVM_CREATE_VM)\(.*\) = -1 \w+   recorded: = ok \(handle\)   <-- the realm uAPI is absent$/m,
      'the call that shows it',
    );
    t.match(r.stdout, /the realm uAPI is absent on this kernel/);
  }
});
