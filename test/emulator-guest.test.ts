// fixtures/guest.ts encodings, pinned to what aarch64-linux-gnu-as produces
// (binutils-aarch64-linux-gnu); when `as` is installed they are also
// re-assembled here, so a table typo cannot hide.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import * as G from '../fixtures/guest.ts';
import { CpuState, run, type GuestBus } from '../emulator/aarch64.ts';

const CASES: [string, number, string][] = [
  ['mov x1, #0x1000', G.movz(1, 0x1000), 'd2820001'],
  ['mov w2, #0x42', G.movz(2, 0x42, 0, 32), '52800842'],
  ['movz x3, #0x1234, lsl #48', G.movz(3, 0x1234, 48), 'd2e24683'],
  ['movk x3, #0xbeef, lsl #16', G.movk(3, 0xbeef, 16), 'f2b7dde3'],
  ['movk w4, #0x1, lsl #16', G.movk(4, 1, 16, 32), '72a00024'],
  ['movn x5, #0', G.movn(5, 0), '92800005'],
  ['add x1, x2, #4', G.addImm(1, 2, 4), '91001041'],
  ['add sp, sp, #16', G.addImm(31, 31, 16), '910043ff'],
  ['sub w3, w4, #0xfff', G.subImm(3, 4, 0xfff, 32), '513ffc83'],
  ['add x1, x2, #1, lsl #12', G.addImm(1, 2, 1, 64, true), '91400441'],
  ['str x2, [x1]', G.str(2, 1), 'f9000022'],
  ['str w2, [x1, #8]', G.str(2, 1, 8, 4), 'b9000822'],
  ['strb w2, [x1, #3]', G.str(2, 1, 3, 1), '39000c22'],
  ['strh w2, [x1, #6]', G.str(2, 1, 6, 2), '79000c22'],
  ['ldr x3, [x1, #16]', G.ldr(3, 1, 16), 'f9400823'],
  ['ldr w3, [sp, #4]', G.ldr(3, 31, 4, 4), 'b94007e3'],
  ['ldrb w3, [x1, #1]', G.ldr(3, 1, 1, 1), '39400423'],
  ['b .', G.b(0), '14000000'],
  ['b .+8', G.b(8), '14000002'],
  ['b .-4', G.b(-4), '17ffffff'],
  ['bl .+16', G.bl(16), '94000004'],
  ['cbz x1, .+8', G.cbz(1, 8), 'b4000041'],
  ['cbnz w2, .-8', G.cbnz(2, -8, 32), '35ffffc2'],
  ['br x3', G.br(3), 'd61f0060'],
  ['ret', G.ret(), 'd65f03c0'],
  ['hvc #0', G.hvc(0), 'd4000002'],
  ['smc #0', G.smc(0), 'd4000003'],
  ['hvc #5', G.hvc(5), 'd40000a2'],
  ['nop', G.NOP, 'd503201f'],
  ['wfi', G.WFI, 'd503207f'],
  ['udf #0', G.udf(0), '00000000'],
  ['msr vbar_el1, x1', G.msr('VBAR_EL1', 1), 'd518c001'],
  ['msr vbar_el1, x30', G.msr('VBAR_EL1', 30), 'd518c01e'],
  ['mrs x5, esr_el1', G.mrs(5, 'ESR_EL1'), 'd5385205'],
  ['mrs x2, elr_el1', G.mrs(2, 'ELR_EL1'), 'd5384022'],
  ['mrs x3, far_el1', G.mrs(3, 'FAR_EL1'), 'd5386003'],
  ['mrs x4, spsr_el1', G.mrs(4, 'SPSR_EL1'), 'd5384004'],
  ['mrs x7, vbar_el1', G.mrs(7, 'VBAR_EL1'), 'd538c007'],
];

t.test('encodings match binutils', (t) => {
  for (const [asm, got, want] of CASES) t.equal(got.toString(16).padStart(8, '0'), want, asm);
  t.end();
});

t.test('movImm picks the shortest MOVZ/MOVK sequence', (t) => {
  t.same(G.movImm(0, 0x84000008), [G.movz(0, 8), G.movk(0, 0x8400, 16)]);
  t.same(G.movImm(1, 0), [G.movz(1, 0)]);
  t.same(G.movImm(1, 2n ** 39n + 0x1000n), [G.movz(1, 0x1000), G.movk(1, 0x80, 32)]);
  t.end();
});

let asAvailable = true;
try {
  execFileSync('aarch64-linux-gnu-as', ['--version'], { stdio: 'ignore' });
} catch {
  asAvailable = false;
}

t.test('re-assemble with aarch64-linux-gnu-as', { skip: asAvailable ? false : 'binutils-aarch64-linux-gnu not installed' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'guest-as-'));
  writeFileSync(join(dir, 't.s'), CASES.map(([asm]) => asm).join('\n') + '\n');
  execFileSync('aarch64-linux-gnu-as', [join(dir, 't.s'), '-o', join(dir, 't.o')]);
  execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', '-j', '.text', join(dir, 't.o'), join(dir, 't.bin')]);
  const bin = readFileSync(join(dir, 't.bin'));
  CASES.forEach(([asm, got], i) => t.equal(bin.readUInt32LE(4 * i), got >>> 0, asm));
  t.end();
});

t.test('an SEA on a data access or fetch is taken at VBAR_EL1 + 0x200 once the guest wrote VBAR_EL1', (t) => {
  const code = G.assemble(G.movImm(1, 0x800), G.msr('VBAR_EL1', 1), G.movImm(1, 0x5000), G.ldr(2, 1, 0, 8));
  const handler = G.assemble(G.mrs(3, 'ESR_EL1'), G.mrs(4, 'ELR_EL1'), G.mrs(5, 'FAR_EL1'), G.mrs(6, 'SPSR_EL1'), G.hvc(0));
  const mem = new Uint8Array(0x2000);
  mem.set(code, 0);
  mem.set(handler, 0xa00);
  const bus: GuestBus = {
    fetch: (ipa) => (ipa < 0x2000n ? new DataView(mem.buffer).getUint32(Number(ipa), true) : { kind: 'sea', what: 'fetch' }),
    load: (ipa) => (ipa === 0x5000n ? { kind: 'sea', what: 'load' } : 0n),
    store: () => undefined,
  };
  const cpu = new CpuState();
  cpu.pstate = 0x3c4n;
  const { stop } = run(cpu, bus, 100);
  t.equal(stop.kind, 'hvc', 'the handler ran to its HVC');
  t.equal(cpu.x[3], (0x25n << 26n) | (1n << 25n) | 0x10n, 'ESR_EL1: data abort, same EL, IL, SEA');
  t.equal(cpu.x[4], 12n, 'ELR_EL1: the faulting load');
  t.equal(cpu.x[5], 0x5000n, 'FAR_EL1: the address');
  t.equal(cpu.x[6], 0x3c4n, 'SPSR_EL1: the PSTATE before');
  t.equal(cpu.pstate, 0x3c5n, 'EL1h, DAIF masked');

  const fetchCpu = new CpuState();
  fetchCpu.vbar = 0x800n;
  fetchCpu.pc = 0x9000n;
  t.equal(run(fetchCpu, bus, 100).stop.kind, 'hvc', 'a fetch SEA runs the handler too');
  t.equal(fetchCpu.x[3], (0x21n << 26n) | (1n << 25n) | 0x10n, 'ESR_EL1: instruction abort, same EL, IL, SEA');
  t.equal(fetchCpu.x[4], 0x9000n, 'ELR_EL1: the fetch address');

  const bare = new CpuState();
  bare.pc = 8n; // past the MSR: no vectors
  t.equal(run(bare, bus, 100).stop.kind, 'guest-exception', 'without VBAR_EL1 the vCPU stops (the stand-in)');
  t.end();
});
