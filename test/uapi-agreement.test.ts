// One source of truth: the reproducer's, the emulator's and the DSL's view
// of every struct agrees with the description (uapi/, each revision's uapi),
// for every revision.
// - reproducer: the prelude of every revision compiles with gcc, and its
//   _Static_asserts pin each struct's size and each member's offset, and each
//   request number, to the description (also against installed headers);
// - DSL: the encoders lay every member where the description puts it (a
//   distinct value per member, read back by the description's decoder), and
//   the pointer and fd slots it patches are exactly the description's;
// - emulator: a realm struct sent through the emulator is read by member
//   (KVM_ARM_RMI_POPULATE in/out writes back what the description says), and
//   no handler reads a struct member at a literal offset.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { PROFILES } from '../profiles/index.ts';
import { encodeConfigItem, encodeInitIpaArgs, encodePopulateArgs, encodePsciComplete, encodeRmiPopulate } from '../profiles/encode.ts';
import { SLOT } from '../harness/core/dsl/slots.ts';
import { arm64Definitions, capDefinitions, guestMemfdDefinitions, realmDefinitions } from '../harness/tools/repro-prelude.ts';
import { STRUCTS } from '../uapi/kvm.ts';
import { decode, fdSlots, layout, ptrSlots, sizeOf, type StructDesc } from '../uapi/layout.ts';
import { REALM_STRUCTS } from '../uapi/realm.ts';

const ROOT = join(import.meta.dirname, '..');
const haveGcc = spawnSync('gcc', ['--version']).status === 0;

t.test("reproducer: every revision's prelude compiles and its asserts hold the description", { skip: haveGcc ? false : 'gcc missing' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kcc-agree-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, abi] of PROFILES) {
    const src = join(dir, `${name}.c`);
    const body = [
      '#define _GNU_SOURCE',
      '#include <stddef.h>',
      '#include <stdint.h>',
      '#include <sys/ioctl.h>',
      '#include <linux/kvm.h>',
      arm64Definitions(),
      capDefinitions(),
      realmDefinitions(abi),
      ...(abi.privateMemory === 'guest_memfd' ? [guestMemfdDefinitions()] : []),
      'int main(void) { return 0; }',
      '',
    ].join('\n');
    writeFileSync(src, body);
    const asserts = body.split('\n').filter((l) => l.startsWith('_Static_assert')).length;
    const cc = spawnSync('gcc', ['-Wall', '-Werror', '-fsyntax-only', src], { encoding: 'utf8' });
    t.equal(cc.status, 0, `${name}: ${asserts} static asserts hold${cc.status ? `\n${cc.stderr}` : ''}`);
    const u = abi.uapi;
    // every realm struct of the revision is pinned member by member
    for (const s of [
      u?.populate,
      u?.initIpa,
      u?.rmiPopulate?.arg.kind === 'struct' ? u.rmiPopulate.arg.struct : undefined,
      u?.psciComplete?.arg.kind === 'struct' ? u.psciComplete.arg.struct : undefined,
    ]) {
      if (!s) continue;
      for (const f of layout(s).fields) t.ok(body.includes(`offsetof(struct ${s.c}, ${f.name}) == ${f.off}`), `${name}: ${s.c}.${f.name} at ${f.off} asserted`);
    }
  }
});

/** Distinct values per member: 0x11.., 0x22.., ... so a misplaced member shows. */
function sentinels(s: StructDesc): Record<string, bigint | number> {
  const out: Record<string, bigint | number> = {};
  layout(s).fields.forEach((f, i) => {
    if (f.role) return;
    const byte = (i + 1) * 0x11;
    out[f.key ?? f.name] = f.size === 8 ? BigInt(byte) * 0x0101010101010101n : f.size === 4 ? (byte * 0x01010101) >>> 0 : byte;
  });
  return out;
}

t.test('DSL encoders lay every member where the description puts it, for every revision', async (t) => {
  for (const [name, p] of PROFILES) {
    const u = p.uapi;
    if (u?.populate) {
      const v = sentinels(u.populate);
      const b = encodePopulateArgs(p, { base: v.base!, size: v.size!, ...(v.flags !== undefined ? { flags: Number(v.flags) } : {}) });
      t.equal(b.length, sizeOf(u.populate), `${name}: populate size`);
      t.match(decode(u.populate, b), v, `${name}: populate members`);
    }
    if (u?.initIpa) {
      const v = sentinels(u.initIpa);
      const b = encodeInitIpaArgs(p, { base: v.base!, size: v.size! });
      t.equal(b.length, sizeOf(u.initIpa), `${name}: init size`);
      t.match(decode(u.initIpa, b), v, `${name}: init members`);
    }
    if (u?.config) {
      const b = encodeConfigItem(p, { item: 'HASH_ALGO', algo: 0x55aa });
      t.equal(b.length, sizeOf(u.config.struct), `${name}: config size`);
      t.equal(
        new DataView(b.buffer).getUint32(layout(u.config.struct).unions[0]!.variants.HASH_ALGO![0]!.off, true),
        0x55aa,
        `${name}: hash_algo in the union`,
      );
    }
    if (u?.rmiPopulate?.arg.kind === 'struct') {
      const s = u.rmiPopulate.arg.struct;
      const v = sentinels(s);
      const b = encodeRmiPopulate(p, { base: v.base!, size: v.size!, sourceUaddr: v.source_uaddr!, flags: Number(v.flags) });
      t.match(decode(s, b), v, `${name}: rmi populate members`);
    }
    if (u?.psciComplete?.arg.kind === 'struct') {
      const s = u.psciComplete.arg.struct;
      const v = sentinels(s);
      const b = encodePsciComplete(p, { targetMpidr: v.target_mpidr!, psciStatus: Number(v.psci_status) });
      t.match(decode(s, b), v, `${name}: PSCI complete members`);
    }
  }
});

t.test("the DSL patches exactly the description's pointer and fd slots", async (t) => {
  const slots = new Set<number>(Object.values(SLOT));
  const want: [StructDesc, number[]][] = [
    [STRUCTS.userspaceMemoryRegion, ptrSlots(STRUCTS.userspaceMemoryRegion)],
    [STRUCTS.userspaceMemoryRegion2, [...ptrSlots(STRUCTS.userspaceMemoryRegion2), ...fdSlots(STRUCTS.userspaceMemoryRegion2)]],
    [STRUCTS.createDevice, fdSlots(STRUCTS.createDevice)],
    [STRUCTS.deviceAttr, ptrSlots(STRUCTS.deviceAttr)],
    [STRUCTS.oneReg, ptrSlots(STRUCTS.oneReg)],
    [REALM_STRUCTS.rmiPopulate, ptrSlots(REALM_STRUCTS.rmiPopulate)],
  ];
  for (const [s, offs] of want) {
    t.ok(offs.length > 0, `${s.c} has a slot`);
    for (const o of offs) t.ok(slots.has(o), `${s.c}: slot at ${o} is one the DSL patches`);
  }
  t.equal(SLOT.enableCapArg1, layout(STRUCTS.enableCap).fields.find((f) => f.name === 'args')!.off + 8, 'ENABLE_CAP args[1]');
});

t.test('emulator: KVM_ARM_RMI_POPULATE reads and writes back by member (v13+)', async (t) => {
  const { EmulatorTarget } = await import('../harness/core/targets/emulator.ts');
  const { Kvm } = await import('../harness/core/dsl/index.ts');
  const { RecordingSession } = await import('../harness/core/calls.ts');
  const { ERRNO: ERR } = await import('../uapi/errno.ts');
  for (const [name, p] of PROFILES) {
    if (!p.rmiPopulate?.inOut) continue;
    const target = new EmulatorTarget({ abi: p });
    const session = new RecordingSession(await target.session(), 5000);
    const kvm = await Kvm.open(session, p);
    const vm = (await kvm.__createVm(p.vmTypeRealm + 40)).vm!;
    // the argument checks come first (V14-PO3): only a member read at its described offset tells these apart
    const ok = await vm.rmiPopulate({ base: 0x80000000, size: 0x1000, flags: 1 });
    const flag = await vm.rmiPopulate({ base: 0x80000000, size: 0x1000, flags: 2 });
    const res = await vm.rmiPopulate({ base: 0x80000000, size: 0x1000, flags: 1, reserved: 1 });
    const size = await vm.rmiPopulate({ base: 0x80000000, size: 0x800, flags: 1 });
    t.not(ok.errno, ERR.EINVAL, `${name}: valid arguments pass the argument checks (${ok.errno})`);
    t.equal(flag.errno, ERR.EINVAL, `${name}: an unknown flag in flags`);
    t.equal(res.errno, ERR.EINVAL, `${name}: a non-zero reserved word`);
    t.equal(size.errno, ERR.EINVAL, `${name}: an unaligned size`);
    await session.close();
  }
});

t.test('no emulator handler reads or writes a struct member at a literal offset', async (t) => {
  // scalar values (a register, an int, an address word) are read at 0: that is the value, not a member
  const ALLOWED = [
    /one-reg\.ts: .*(w\.u64\(0, get\(\)\)|new StructReader\(raw\)\.u64\(0\))/,
    /vcpu\.ts: .*FINALIZE feature.*\.i32\(0\)/,
    /vgic\.ts: .*'vgic address'\)\)\.u64\(0\)/,
  ];
  const bad: string[] = [];
  for (const f of readdirSync(join(ROOT, 'emulator')).filter((x) => x.endsWith('.ts'))) {
    readFileSync(join(ROOT, 'emulator', f), 'utf8')
      .split('\n')
      .forEach((l, i) => {
        const line = `${f}: ${l.trim()}`;
        if (/\.(u8|u16|u32|u64|i32)\(\d|StructWriter\(\d/.test(l) && !ALLOWED.some((a) => a.test(line))) bad.push(`${f}:${i + 1}: ${l.trim()}`);
      });
  }
  t.same(bad, [], 'every struct member is read by name through uapi/layout.ts');
});
