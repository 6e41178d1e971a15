// C reproducers of every revision, checked without a CCA kernel. Every check
// of every revision runs on the emulator and its trace becomes a reproducer:
// realm calls must be spelt with the revision's names and structs (no raw
// byte arrays), and for a sample covering every kind of call of each revision
// the C compiles with gcc -Wall -Werror and the static arm64 cross compiler,
// then runs under an LD_PRELOAD shim standing in for /dev/kvm
// (test/fixtures/ioctl-shim.c) and must issue exactly the trace's ioctls:
// same request numbers, same struct bytes, pointer and fd slots aside.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
import { ABI_NAMES, type AbiName } from '../profiles/types.ts';
import { applicable, runChecks, type CheckDef, type EmulatorSettings } from '../harness/core/engine.ts';
import { generateRepro } from '../harness/tools/repro.ts';
import { createTargetSync } from '../harness/core/targets/index.ts';
import type { TargetIdentity } from '../harness/core/target.ts';
import { buildTrace, type TraceFile } from '../harness/tools/trace.ts';
import { fromHex, type WireBuf } from '../uapi/wire.ts';
import { ALL_CHECKS } from '../checks/index.ts';

t.setTimeout(600000);
const have = (c: string): boolean => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0;
const required = process.env.KVM_CCA_REQUIRE_QEMU === '1';
const ID: TargetIdentity = {
  kind: 'emulator',
  spec: 'emulator',
  info: { sysname: 'Linux', release: 'emulator', version: '#1', machine: 'aarch64', euid: 0, kvm: true, executor: 'emulator' },
};
const KVM_ENABLE_CAP = 0x4068aea3;

/** The only reproducer allowed a raw argument: v14 calls the PSCI-complete number v14 removed, whose struct v14 no longer has. */
// checks that send, on purpose, a number the revision no longer has (an old PSCI-complete or POPULATE
// number): the reproducer has no name or struct of the revision for it and writes the bytes as recorded
const RAW_ALLOWED = new Set([
  'v14/psci-complete/removed',
  'v14/psci-complete/removed-on-normal-vm',
  'v13/populate/old-request-number',
  'v14/populate/old-request-number',
]);

async function traces(abiName: AbiName): Promise<{ def: CheckDef; trace: TraceFile }[]> {
  const abi = getProfile(abiName)!;
  const defs = applicable(ALL_CHECKS, abi);
  const target = createTargetSync('emulator', { abi });
  await target.start();
  const outs = await runChecks(defs, {
    abi,
    target,
    targetKind: 'emulator',
    allowCrash: true,
    callTimeoutMs: 2000,
    checkTimeoutMs: 10000,
    targetFor: (settings: EmulatorSettings) => createTargetSync('emulator', { abi, emulatorSettings: settings }),
  });
  return outs.map((o, i) => ({ def: defs[i]!, trace: buildTrace(o, defs[i], { identity: ID, abi: abiName }) }));
}

/** What kind of call this is: the request, and for KVM_ENABLE_CAP its cap and sub-command. */
function callKinds(trace: TraceFile): string[] {
  return trace.calls.flatMap((c) => {
    const r = c.request;
    if (r.op !== 'ioctl') return [];
    if (r.req === KVM_ENABLE_CAP && 'buf' in r.arg) {
      const b = fromHex(r.arg.buf.hex);
      const v = new DataView(b.buffer, b.byteOffset);
      return [`${r.req}/${v.getUint32(0, true)}/${v.getUint32(8, true)}`];
    }
    return [`${r.req}/${'int' in r.arg ? 'int' : 'buf'}`];
  });
}

/** Greedy cover: few traces that together make every kind of call the revision's checks make. */
function cover(items: { def: CheckDef; trace: TraceFile }[]): { def: CheckDef; trace: TraceFile }[] {
  const left = new Set(items.flatMap((i) => callKinds(i.trace)));
  const chosen: { def: CheckDef; trace: TraceFile }[] = [];
  while (left.size) {
    let best = items[0]!;
    let gain = -1;
    for (const i of items) {
      const g = new Set(callKinds(i.trace).filter((k) => left.has(k))).size;
      if (g > gain) [best, gain] = [i, g];
    }
    if (gain <= 0) break;
    chosen.push(best);
    for (const k of callKinds(best.trace)) left.delete(k);
  }
  return chosen;
}

/** The shim's script (test/fixtures/ioctl-shim.c): each ioctl answers as the trace recorded it. */
function recordedAnswers(trace: TraceFile): string {
  return trace.calls
    .filter((c) => c.request.op === 'ioctl')
    .map((c) => {
      const r = c.result;
      if (r.error !== undefined) return '0 0';
      const run = c.request.op === 'ioctl' && c.request.req === 0xae80 && r.peek?.[0] ? ` run ${r.peek[0]}` : '';
      return `${r.ret} ${r.errno}${r.out !== undefined ? ` out ${r.out}` : ''}${run}`;
    })
    .join('\n');
}

/** Bytes equal except at the pointer (8 bytes) and fd (4 bytes) slots the executor patches. */
function sameBytes(want: WireBuf, gotHex: string): string | undefined {
  const w = fromHex(want.hex);
  const g = fromHex(gotHex.slice(0, want.hex.length));
  if (g.length < w.length) return `${g.length} bytes, the trace has ${w.length}`;
  const masked = new Set<number>();
  for (const p of want.ptrs ?? []) for (let i = 0; i < 8; i++) masked.add(p.at + i);
  for (const f of want.fds ?? []) for (let i = 0; i < 4; i++) masked.add(f.at + i);
  for (let i = 0; i < w.length; i++) if (!masked.has(i) && w[i] !== g[i]) return `byte ${i}: 0x${g[i]!.toString(16)}, the trace has 0x${w[i]!.toString(16)}`;
  return undefined;
}

/** Compare the shim's log with the trace's ioctls, in order. */
function compare(trace: TraceFile, log: string): string[] {
  const lines = log.split('\n').filter((l) => l);
  const got: { req: number; kind: string; value: string; nested?: string }[] = [];
  for (const l of lines) {
    const [tag, a, b, c] = l.split(' ');
    if (tag === 'I') got.push({ req: Number(a), kind: b!, value: c ?? '' });
    else if (tag === 'N' && got.length) got[got.length - 1]!.nested = a;
  }
  const want = trace.calls.map((c) => c.request).filter((r) => r.op === 'ioctl');
  const diffs: string[] = [];
  if (got.length !== want.length) diffs.push(`${got.length} ioctls, the trace has ${want.length}`);
  want.forEach((w, i) => {
    const g = got[i];
    if (!g) return;
    const at = `ioctl ${i + 1} (${trace.calls.filter((c) => c.request.op === 'ioctl')[i]!.label})`;
    if (g.req !== w.req) return diffs.push(`${at}: request 0x${g.req.toString(16)}, the trace has 0x${w.req.toString(16)}`);
    if ('int' in w.arg) {
      if (g.kind === 'int' ? Number(g.value) !== w.arg.int : g.kind !== 'bad' || Number(g.value) !== w.arg.int)
        diffs.push(`${at}: argument ${g.kind} ${g.value}, the trace has ${w.arg.int}`);
      return;
    }
    if (!('buf' in w.arg)) return;
    if (g.kind !== 'buf') return diffs.push(`${at}: argument ${g.kind}, the trace has a buffer`);
    const d = sameBytes(w.arg.buf, g.value);
    if (d) return diffs.push(`${at}: ${d}`);
    const nested = w.arg.buf.ptrs?.find((p) => p.at === 16)?.to;
    if (w.req === KVM_ENABLE_CAP && nested && 'buf' in nested) {
      const nd = g.nested === undefined ? 'no nested struct' : sameBytes(nested.buf, g.nested);
      if (nd) diffs.push(`${at}, args[1]: ${nd}`);
    }
  });
  return diffs;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 20000);
    p.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const missing = !have('gcc') ? 'gcc' : undefined;
if (missing && required) t.fail(`${missing} is required: run scripts/install-deps.sh`);

t.test(
  "every revision: reproducers spell realm calls, compile, and issue the trace's ioctls",
  { skip: missing && !required ? `${missing} missing` : false, timeout: 600000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-cca-repro-rev-'));
    const shim = join(dir, 'shim.so');
    const sb = spawnSync('gcc', ['-shared', '-fPIC', '-Wall', '-Werror', '-o', shim, 'test/fixtures/ioctl-shim.c'], { encoding: 'utf8' });
    t.equal(sb.status, 0, `the ioctl shim builds${sb.stderr ? `\n${sb.stderr}` : ''}`);
    const cross = have('aarch64-linux-gnu-gcc');
    if (!cross) t.comment('aarch64-linux-gnu-gcc missing: cross-compile step skipped');
    let total = 0;
    for (const abiName of ABI_NAMES) {
      const all = await traces(abiName);
      total += all.length;
      const raw = all.filter(
        ({ trace }) => /argument as recorded|argument bytes as recorded/.test(generateRepro(trace, 'x.json')) && !RAW_ALLOWED.has(`${abiName}/${trace.check}`),
      );
      t.same(
        raw.map((r) => r.trace.check),
        [],
        `${abiName}: all ${all.length} reproducers spell every call with names and structs`,
      );
      const sample = cover(all);
      for (const { trace } of sample) {
        const name = `${abiName}__${trace.check.replace(/\//g, '_')}`;
        const src = join(dir, `${name}.c`);
        writeFileSync(src, generateRepro(trace, `${name}.json`));
        const cc = spawnSync('gcc', ['-Wall', '-Werror', '-o', `${src}.out`, src], { encoding: 'utf8' });
        if (cc.status !== 0) {
          t.fail(`${name}: gcc -Wall -Werror\n${cc.stderr}`);
          continue;
        }
        if (cross) {
          const xc = spawnSync('aarch64-linux-gnu-gcc', ['-Wall', '-Werror', '-static', '-o', `${src}.arm64`, src], { encoding: 'utf8' });
          t.equal(xc.status, 0, `${name}: aarch64-linux-gnu-gcc -static${xc.stderr ? `\n${xc.stderr}` : ''}`);
        }
        const log = join(dir, `${name}.log`);
        // The shim answers each ioctl as the trace recorded it: a passing check's reproducer must then exit 0.
        writeFileSync(`${src}.answers`, recordedAnswers(trace));
        const r = await run(`${src}.out`, [], { ...process.env, LD_PRELOAD: shim, REPRO_SHIM_LOG: log, REPRO_SHIM_ANSWERS: `${src}.answers` });
        t.not(r.status, null, `${name}: ran to the end`);
        if (trace.status === 'pass') t.equal(r.status, 0, `${name}: a passing trace's reproducer, answered as recorded, exits 0\n${r.stdout}`);
        t.same(compare(trace, readFileSync(log, 'utf8')), [], `${name}: the reproducer issues the trace's ${trace.calls.length} calls' ioctls byte for byte`);
      }
      t.comment(
        `${abiName}: ${all.length} reproducers, ${sample.length} compiled and run to cover ${new Set(all.flatMap((a) => callKinds(a.trace))).size} kinds of call`,
      );
    }
    t.ok(total > 1000, `${total} reproducers generated`);
  },
);

t.test('the comparison catches a reproducer that sends other bytes', async (t) => {
  const [first] = await traces('v10');
  const { trace } = first!;
  const ioctls = trace.calls.filter((c) => c.request.op === 'ioctl');
  const log = ioctls
    .map((c) => {
      const r = c.request;
      if (r.op !== 'ioctl') return '';
      if ('int' in r.arg) return `I 0x${r.req.toString(16)} int 0x${r.arg.int.toString(16)}`;
      if ('buf' in r.arg) return `I 0x${r.req.toString(16)} buf ${r.arg.buf.hex}`;
      return `I 0x${r.req.toString(16)} buf `;
    })
    .join('\n');
  t.same(compare(trace, log), [], 'the trace against itself: no difference');
  t.match(
    compare(
      trace,
      log.replace(/int 0x([0-9a-f]+)$/m, (_, v: string) => `int 0x${(parseInt(v, 16) + 1).toString(16)}`),
    ).join('\n'),
    /argument int/,
    'a changed integer argument is reported',
  );
  t.match(compare(trace, log.split('\n').slice(1).join('\n')).join('\n'), /ioctls, the trace has/, 'a missing call is reported');
});
