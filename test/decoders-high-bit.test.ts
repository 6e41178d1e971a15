// Every decoder and describer of flags and bit fields, with the high bit set
// (bit 31 of a 32-bit field, bit 63 of a 64-bit one): what is printed is what
// the kernel sees, unsigned and with no bit lost. JS bit operators make 1 << 31
// a negative number, which once printed as "0x-80000000".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
import { decodeRmiPopulate, encodeRmiPopulate } from '../profiles/encode.ts';
import { StructWriter } from '../uapi/bytes.ts';
import { RecordingSession } from '../harness/core/calls.ts';
import { describeVmType, Kvm } from '../harness/core/dsl/index.ts';
import { decodeIoc, hex, iowr } from '../uapi/ioc.ts';
import * as K from '../uapi/kvm-uapi.ts';
import { exitOf } from '../harness/tools/replay.ts';
import { generateRepro } from '../harness/tools/repro.ts';
import type { TargetIdentity } from '../harness/core/target.ts';
import { createTargetSync } from '../harness/core/targets/index.ts';
import { buildTrace, requestName, type TraceFile } from '../harness/tools/trace.ts';
import { fromHex, toHex } from '../uapi/wire.ts';

const B31 = 1 << 31; // -2147483648 in JS: the case that printed wrong
const B63 = 1n << 63n;

t.test('hex: unsigned for 32- and 64-bit fields', async (t) => {
  t.equal(hex(B31), '0x80000000');
  t.equal(hex(B31 | 1), '0x80000001');
  t.equal(hex(-1n), '0xffffffffffffffff');
  t.equal(hex(B63), '0x8000000000000000');
  t.equal(hex(2 ** 63), '0x8000000000000000');
});

t.test('decodeIoc and requestName: dir bits 30-31', async (t) => {
  const req = iowr(0xae, 0xff, 32); // _IOWR: bit 31 set
  t.ok(req > 0x7fffffff, 'an unsigned request number');
  t.same(decodeIoc(req), { dir: 3, size: 32, type: 0xae, nr: 0xff });
  t.same(decodeIoc(req | 0), { dir: 3, size: 32, type: 0xae, nr: 0xff }, 'the same from a signed int');
  t.equal(requestName({ op: 'ioctl', fd: 'x', req, arg: { int: 0 } }), '_IOWR(0xae, 0xff, 32)');
});

t.test('describeVmType: bit 31 with and without the realm bit', async (t) => {
  const v14 = getProfile('v14')!;
  t.equal(describeVmType(v14, (0x40000000 | B31 | 40) >> 0), 'REALM | 0x80000000 | IPA 40', 'no bit lost next to REALM');
  t.equal(describeVmType(v14, B31), '0x80000000 | IPA default');
});

t.test('decodeRunExit: exit_reason, MMIO address, SYSTEM_EVENT type and data', async (t) => {
  const run = (reason: number, fill: (w: StructWriter) => void): Uint8Array => {
    const w = new StructWriter(256).u32(8, reason);
    fill(w);
    return w.bytes;
  };
  const odd = K.decodeRunExit(run(B31, () => undefined));
  t.equal(odd.exitReason, 0x80000000);
  t.equal(odd.reason, 'exit 2147483648');
  const mmio = K.decodeRunExit(
    run(K.KVM_EXIT.MMIO, (w) =>
      w
        .u64(32, B63 | 0x1000n)
        .u32(48, 4)
        .u8(52, 1),
    ),
  );
  t.ok('physAddr' in mmio && mmio.physAddr === (B63 | 0x1000n), 'bit 63 of the MMIO address');
  t.equal(
    exitOf(
      toHex(
        run(K.KVM_EXIT.MMIO, (w) =>
          w
            .u64(32, B63 | 0x1000n)
            .u32(48, 4)
            .u8(52, 1),
        ),
      ),
    ),
    'MMIO write 0x8000000000001000 len 4',
  );
  const ev = K.decodeRunExit(run(K.KVM_EXIT.SYSTEM_EVENT, (w) => w.u32(32, B31).u32(36, 1).u64(40, B63)));
  t.ok('type' in ev && ev.type === 0x80000000 && ev.data0 === B63, 'SYSTEM_EVENT type bit 31, data[0] bit 63');
  t.equal(exitOf(toHex(run(K.KVM_EXIT.SYSTEM_EVENT, (w) => w.u32(32, B31)))), 'SYSTEM_EVENT type 2147483648');
});

t.test('decodeRmiPopulate: flags and reserved bit 31, base/size/source bit 63', async (t) => {
  const v14 = getProfile('v14')!;
  const b = encodeRmiPopulate(v14, { base: B63, size: B63 | 1n, sourceUaddr: B63 | 2n, flags: B31 | 1, reserved: B31 });
  t.same(decodeRmiPopulate(b), { base: B63, size: B63 | 1n, sourceUaddr: B63 | 2n, flags: 0x80000001, reserved: 0x80000000 });
});

t.test('DSL labels: flags with the high bit', async (t) => {
  const abi = getProfile('v14')!;
  const target = createTargetSync('emulator', { abi });
  await target.start();
  const s = new RecordingSession(await target.session(), 2000);
  const kvm = await Kvm.open(s, abi);
  const vm = await kvm.createVm(abi.vmTypeRealm + 40);
  const g = await vm.__createGuestMemfd(0x200000, B63);
  t.match(g.r.label, /flags=0x8000000000000000\)/);
  const g31 = await vm.__createGuestMemfd(0x200000, B31);
  t.match(g31.r.label, /flags=0xffffffff80000000\)/, 'a negative number sign-extends into the u64: the label says what the bytes say');
  t.equal(
    new DataView(
      fromHex(
        s.trace[s.trace.length - 1]!.request.op === 'ioctl' && 'buf' in (s.trace[s.trace.length - 1]!.request as { arg: object }).arg
          ? (s.trace[s.trace.length - 1]!.request as { arg: { buf: { hex: string } } }).arg.buf.hex
          : '',
      ).buffer,
    ).getBigUint64(8, true),
    0xffffffff80000000n,
  );
  const a = await vm.setMemoryAttributes(0x80000000n, 0x1000n, 2 ** 63);
  t.match(a.label, /, 0x8000000000000000\)$/);
  const a2 = await vm.setMemoryAttributes(0x80000000n, 0x1000n, B63 | 8n);
  t.match(a2.label, /, PRIVATE \| 0x8000000000000000\)$/);
  const p = await vm.rmiPopulate({ base: 0x80000000n, size: 0x1000n, sourceUaddr: 0, flags: B31 | 1, reserved: B31 });
  t.match(p.label, /flags=0x80000001, reserved=0x80000000\)$/);
  const v10 = getProfile('v10')!;
  t.equal(describeVmType(v10, (v10.vmTypeRealm | B31) >> 0), 'REALM | 0x80000000 | IPA default');
  await s.close();
  await target.stop();
});

t.test('repro: flag words with the high bit reach the C unsigned and whole', async (t) => {
  const abi = getProfile('v14')!;
  const target = createTargetSync('emulator', { abi });
  await target.start();
  const s = new RecordingSession(await target.session(), 2000);
  const kvm = await Kvm.open(s, abi);
  const vm = await kvm.createVm(abi.vmTypeRealm + 40);
  await vm.__createGuestMemfd(0x200000, 2 ** 31);
  await vm.setMemoryAttributes(0x80000000n, 0x1000n, B63 | 8n);
  await vm.rmiPopulate({ base: 0x80000000n, size: 0x1000n, sourceUaddr: 0, flags: B31 | 1, reserved: 0 });
  await s.close();
  await target.stop();
  const ID: TargetIdentity = {
    kind: 'emulator',
    spec: 'emulator',
    info: { sysname: 'Linux', release: 'x', version: '#1', machine: 'aarch64', euid: 0, kvm: true, executor: 'emulator' },
  };
  const trace: TraceFile = buildTrace(
    {
      name: 'x/high-bits',
      area: 'generic',
      abi: 'v14',
      description: 'high bits',
      status: 'pass',
      assertions: [{ ok: true, message: 'x' }],
      sources: [],
      trace: s.trace,
      ms: 0,
    },
    undefined,
    { identity: ID, abi: 'v14' },
  );
  const c = generateRepro(trace, 'x.json');
  t.match(c, /\.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE \| 0x8000000000000000ULL,/, 'memory attributes: bit 63 kept next to PRIVATE');
  t.match(c, /\.flags = KVM_ARM_RMI_POPULATE_FLAGS_MEASURE \| 0x80000000,/, 'populate flags: bit 31 unsigned');
  t.match(c, /\.flags = 0x80000000ULL,/, 'guest_memfd flags');
  t.notMatch(c, /0x-/, 'no negative hex anywhere');
  const gmemCall = trace.calls.find((x) => x.request.op === 'ioctl' && x.request.req === K.KVM_CREATE_GUEST_MEMFD)!;
  t.equal(new DataView(fromHex(gmemCall.arg_bytes!).buffer).getBigUint64(8, true), 0x80000000n, 'the trace carries the bytes the kernel sees');
  if (spawnSync('sh', ['-c', 'command -v gcc']).status === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-cca-highbit-'));
    writeFileSync(join(dir, 'r.c'), c);
    const cc = spawnSync('gcc', ['-Wall', '-Werror', '-fsyntax-only', join(dir, 'r.c')], { encoding: 'utf8' });
    t.equal(cc.status, 0, `compiles with gcc -Wall -Werror ${cc.stderr}`);
  }
});

t.test('repro: memslot flags, vCPU feature bit 31, VM type bit 31, ENABLE_CAP flags', async (t) => {
  const { runChecks, applicable } = await import('../harness/core/engine.ts');
  const { ALL_CHECKS } = await import('../checks/index.ts');
  const abi = getProfile('v14')!;
  const def = applicable(ALL_CHECKS, abi).find((c) => c.name === 'populate/reserved')!;
  const target = createTargetSync('emulator', { abi });
  await target.start();
  const [o] = await runChecks([def], { abi, target, targetKind: 'emulator', allowCrash: true, callTimeoutMs: 2000, checkTimeoutMs: 10000 });
  await target.stop();
  const ID: TargetIdentity = {
    kind: 'emulator',
    spec: 'emulator',
    info: { sysname: 'Linux', release: 'x', version: '#1', machine: 'aarch64', euid: 0, kvm: true, executor: 'emulator' },
  };
  const trace = buildTrace(o!, def, { identity: ID, abi: 'v14' });
  // Set the high bit in the recorded words, as a trace from outside could have them.
  const patch = (req: number, at: number, set: (v: DataView) => void): void => {
    const c = trace.calls.find((x) => x.request.op === 'ioctl' && x.request.req === req)!;
    const r = c.request;
    if (r.op !== 'ioctl') return;
    if ('buf' in r.arg) {
      const b = fromHex(r.arg.buf.hex);
      set(new DataView(b.buffer, b.byteOffset + at));
      r.arg.buf.hex = toHex(b);
    }
  };
  patch(K.KVM_SET_USER_MEMORY_REGION2, 4, (v) => v.setUint32(0, (v.getUint32(0, true) | B31) >>> 0, true));
  patch(K.KVM_ARM_VCPU_INIT, 4, (v) => v.setUint32(0, (v.getUint32(0, true) | B31) >>> 0, true));
  const vmCall = trace.calls.find((x) => x.request.op === 'ioctl' && x.request.req === K.KVM_CREATE_VM)!;
  if (vmCall.request.op === 'ioctl' && 'int' in vmCall.request.arg) vmCall.request.arg.int = (vmCall.request.arg.int | B31) >>> 0;
  const c = generateRepro(trace, 'x.json');
  t.match(c, /\.flags = KVM_MEM_GUEST_MEMFD \| 0x80000000U,/, 'memslot flags: bit 31 unsigned next to GUEST_MEMFD');
  t.match(c, /\(1U << 31 \/\* no feature of this revision \*\/\)/, 'vCPU feature bit 31');
  t.match(c, /KVM_VM_TYPE_ARM_REALM \| KVM_VM_TYPE_ARM_PROTECTED \| KVM_VM_TYPE_ARM_IPA_SIZE\(40\)/, 'VM type bit 31 named');
  t.notMatch(c, /0x-/);
  if (spawnSync('sh', ['-c', 'command -v gcc']).status === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'kvm-cca-highbit-'));
    writeFileSync(join(dir, 'r.c'), c);
    const cc = spawnSync('gcc', ['-Wall', '-Werror', '-fsyntax-only', join(dir, 'r.c')], { encoding: 'utf8' });
    t.equal(cc.status, 0, `compiles with gcc -Wall -Werror ${cc.stderr}`);
  }
});
