// The reference emulator, driven only through wire requests (as checks do).
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
const rfcV1 = getProfile('rfc-v1')!;
import { encodeConfigItem, encodeInitIpaArgs, encodePopulateArgs, realmVmType, type ConfigItem } from '../profiles/encode.ts';
import type { AbiProfile, ExpectKey, SubcommandNumbers } from '../profiles/types.ts';
import { StructWriter } from '../uapi/bytes.ts';
import { ERRNO, errnoName } from '../uapi/errno.ts';
import * as K from '../uapi/kvm-uapi.ts';
import type { Call, Session } from '../harness/core/target.ts';
import { EmulatorTarget, emulatorBugs, type EmulatorTargetOptions } from '../harness/core/targets/emulator.ts';
import { toHex, type WireArg, type WireResult } from '../uapi/wire.ts';
import { RME_RULES } from '../emulator/rules.ts';
import { assemble, b, ldr, mmioLoadEchoThenOff, mmioStoreThenOff, movImm, psciVersionThenOff, spinForever, str, systemOff, udf } from '../fixtures/guest.ts';

const RAM = 0x40000000;
const RAM_SIZE = 0x10000;
const PSCI = K.KVM_ARM_VCPU_PSCI_0_2;

/** A wire-level helper: every method issues real requests with real struct bytes. */
class Proc {
  constructor(
    readonly s: Session,
    readonly p: AbiProfile = rfcV1,
  ) {}
  call(c: Call): Promise<WireResult> {
    return this.s.call(c);
  }
  ioctl(fd: string, req: number, arg: WireArg, extra: { as?: string; peek?: { mem: string; offset: number; len: number }[] } = {}): Promise<WireResult> {
    return this.call({ op: 'ioctl', fd, req, arg, ...extra });
  }
  open(): Promise<WireResult> {
    return this.call({ op: 'open', path: '/dev/kvm', flags: K.O_RDWR, as: 'kvm' });
  }
  async vm(type = 0): Promise<WireResult> {
    await this.open();
    return this.ioctl('kvm', K.KVM_CREATE_VM, { int: type }, { as: 'vm' });
  }
  realmVm(ipa = 0): Promise<WireResult> {
    return this.vm(realmVmType(this.p, ipa));
  }
  async memslot(slot: number, gpa: number, size: number, code?: Uint8Array): Promise<WireResult> {
    const mem = `mem${slot}`;
    await this.call({ op: 'mmap', as: mem, len: size, prot: K.PROT_READ | K.PROT_WRITE, flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS });
    if (code) await this.call({ op: 'poke', mem, offset: 0, hex: toHex(code) });
    const region = K.encodeMemoryRegion({ slot, gpa, size, uaddr: 0 });
    return this.ioctl('vm', K.KVM_SET_USER_MEMORY_REGION, { buf: { hex: toHex(region), ptrs: [{ at: 24, to: { mem, offset: 0 } }] } });
  }
  async vcpu(id = 0, features: number[] = [PSCI], pc: number = RAM): Promise<WireResult> {
    const v = `vcpu${id}`;
    const r = await this.ioctl('vm', K.KVM_CREATE_VCPU, { int: id }, { as: v });
    if (r.errno) return r;
    await this.call({ op: 'mmap', as: `run${id}`, len: 8192, prot: 3, flags: K.MAP_SHARED, fd: v });
    const init = await this.init(id, features);
    if (init.errno) return init;
    return this.setReg(id, K.CORE_REG_PC, pc);
  }
  init(id: number, features: number[]): Promise<WireResult> {
    return this.ioctl(`vcpu${id}`, K.KVM_ARM_VCPU_INIT, { buf: { hex: toHex(K.encodeVcpuInit(K.KVM_ARM_TARGET_GENERIC_V8, features)) } });
  }
  setReg(id: number, reg: bigint, value: number | bigint): Promise<WireResult> {
    const v = toHex(new StructWriter(8).u64(0, value).bytes);
    return this.ioctl(`vcpu${id}`, K.KVM_SET_ONE_REG, { buf: { hex: toHex(K.encodeOneReg(reg)), ptrs: [{ at: 8, to: { buf: { hex: v } } }] } });
  }
  async getReg(id: number, reg: bigint): Promise<bigint> {
    const r = await this.ioctl(`vcpu${id}`, K.KVM_GET_ONE_REG, {
      buf: { hex: toHex(K.encodeOneReg(reg)), ptrs: [{ at: 8, to: { buf: { hex: '00'.repeat(8) } } }] },
    });
    if (r.errno) throw new Error(`GET_ONE_REG ${errnoName(r.errno)}`);
    // the nested buffer is not echoed; read the register back through a mapping instead
    return BigInt(r.ret);
  }
  async run(id = 0): Promise<{ r: WireResult; exit?: K.RunExit }> {
    const r = await this.ioctl(`vcpu${id}`, K.KVM_RUN, { int: 0 }, { peek: [{ mem: `run${id}`, offset: 0, len: K.KVM_RUN_PEEK_LEN }] });
    return { r, exit: r.peek ? K.decodeRunExit(Buffer.from(r.peek[0]!, 'hex')) : undefined };
  }
  /** ENABLE_CAP(realm CAP, args[0] = sub-command, args[1] = pointer to `arg`). */
  rme(sub: keyof SubcommandNumbers, arg?: Uint8Array | { bad: number }, flags = 0): Promise<WireResult> {
    const nr = this.p.subcmd![sub];
    const hasPtr = arg !== undefined && !('bad' in arg);
    const ptrVal = arg && 'bad' in arg ? arg.bad : 0;
    const capBytes = K.encodeEnableCap(this.p.cap.nr, [nr, ptrVal], flags);
    return this.ioctl('vm', K.KVM_ENABLE_CAP, {
      buf: { hex: toHex(capBytes), ptrs: hasPtr ? [{ at: 16, to: { buf: { hex: toHex(arg) } } }] : [] },
    });
  }
  config(c: ConfigItem): Promise<WireResult> {
    return this.rme('CONFIG_REALM', encodeConfigItem(this.p, c));
  }
  create(): Promise<WireResult> {
    return this.rme('CREATE');
  }
  initIpa(base: number | bigint, size: number | bigint): Promise<WireResult> {
    return this.rme('INIT_IPA', encodeInitIpaArgs(this.p, { base, size }));
  }
  populate(base: number | bigint, size: number | bigint): Promise<WireResult> {
    return this.rme('POPULATE', encodePopulateArgs(this.p, { base, size }));
  }
  activate(): Promise<WireResult> {
    return this.rme('ACTIVATE');
  }
  finalizeRec(id = 0): Promise<WireResult> {
    return this.ioctl(`vcpu${id}`, K.KVM_ARM_VCPU_FINALIZE, { buf: { hex: toHex(new StructWriter(4).u32(0, this.p.recFeature!).bytes) } });
  }
}

const errOf = (r: WireResult): string => (r.error ? r.error : r.errno ? errnoName(r.errno) : `ok(${r.ret})`);

async function withProc<T>(opts: Partial<EmulatorTargetOptions>, fn: (p: Proc, target: EmulatorTarget) => Promise<T>): Promise<T> {
  const target = new EmulatorTarget({ abi: rfcV1, ...opts });
  await target.start();
  const s = await target.session();
  try {
    return await fn(new Proc(s), target);
  } finally {
    await s.close();
  }
}

/** Unprotected-half IPA for a 40-bit realm: top bit set. */
const SHARED = 2 ** 39;
/** The realm payload: store 0x42 to the unprotected half (MMIO), then SMC SYSTEM_OFF. */
const realmCode = (): Uint8Array => mmioStoreThenOff({ addr: SHARED + 0x1000, conduit: 'smc' });

/** A realm VM with its code memslot, up to (and including) `upTo`. */
async function realmTo(p: Proc, upTo: 'vm' | 'created' | 'rec' | 'populated' | 'active'): Promise<void> {
  await p.realmVm();
  await p.memslot(0, RAM, RAM_SIZE, realmCode());
  if (upTo === 'vm') return;
  assertOk(await p.config({ item: 'HASH_ALGO', algo: 0 }), 'config');
  assertOk(await p.create(), 'create');
  if (upTo === 'created') return;
  assertOk(await p.vcpu(0), 'vcpu');
  assertOk(await p.finalizeRec(0), 'finalize rec');
  if (upTo === 'rec') return;
  assertOk(await p.initIpa(RAM, RAM_SIZE), 'init ipa');
  assertOk(await p.populate(RAM, 0x1000), 'populate');
  if (upTo === 'populated') return;
  assertOk(await p.activate(), 'activate');
}

function assertOk(r: WireResult, what: string): void {
  if (r.error || r.errno) throw new Error(`${what}: ${errOf(r)}`);
}

t.test('generic sanity flow: MMIO store exit, then PSCI SYSTEM_OFF', (t) =>
  withProc({}, async (p) => {
    t.equal((await p.open()).ret, 3, '/dev/kvm is fd 3');
    t.equal((await p.ioctl('kvm', K.KVM_GET_API_VERSION, { int: 0 })).ret, 12);
    t.equal((await p.ioctl('kvm', K.KVM_CHECK_EXTENSION, { int: K.CAP.KVM_CAP_ARM_VM_IPA_SIZE })).ret, 48);
    t.equal((await p.ioctl('kvm', K.KVM_CHECK_EXTENSION, { int: K.CAP.KVM_CAP_ARM_PSCI_0_2 })).ret, 1);
    t.equal((await p.ioctl('kvm', K.KVM_GET_VCPU_MMAP_SIZE, { int: 0 })).ret, 8192);
    t.equal((await p.ioctl('kvm', K.KVM_CREATE_VM, { int: 0 }, { as: 'vm' })).errno, 0);
    const pt = await p.ioctl('vm', K.KVM_ARM_PREFERRED_TARGET, { buf: { hex: '00'.repeat(32) } });
    t.equal(pt.out!.slice(0, 8), '05000000', 'preferred target 5');
    t.equal(errOf(await p.memslot(0, RAM, RAM_SIZE, mmioStoreThenOff())), 'ok(0)');
    t.equal(errOf(await p.vcpu(0)), 'ok(0)');
    const first = await p.run();
    t.equal(first.r.ret, 0);
    t.match(first.exit, { reason: 'MMIO', physAddr: 0x1000n, len: 4, isWrite: true });
    t.same([...(first.exit as { data: Uint8Array }).data], [0x42, 0, 0, 0]);
    const second = await p.run();
    t.match(second.exit, { reason: 'SYSTEM_EVENT', type: K.KVM_SYSTEM_EVENT_SHUTDOWN });
    // every vCPU is stopped after SYSTEM_OFF: the next run sleeps forever
    t.equal((await p.run()).r.error, 'timeout');
    t.match((await p.open()).error, /session ended by a timeout/);
  }),
);

t.test('interpreter paths: MMIO read round trip, PSCI_VERSION, SMC in a normal VM, budget, undefined instruction', async (t) => {
  await withProc({}, async (p) => {
    await p.vm();
    await p.memslot(0, RAM, RAM_SIZE, mmioLoadEchoThenOff({ addr: 0x2000, echoAddr: 0x3000, size: 8 }));
    await p.vcpu(0);
    const load = await p.run();
    t.match(load.exit, { reason: 'MMIO', physAddr: 0x2000n, len: 8, isWrite: false });
    // the VMM answers the read in kvm_run.mmio.data
    await p.call({ op: 'poke', mem: 'run0', offset: 40, hex: '1122334455667788' });
    const echo = await p.run();
    t.match(echo.exit, { reason: 'MMIO', physAddr: 0x3000n, len: 8, isWrite: true });
    t.equal(toHex((echo.exit as { data: Uint8Array }).data), '1122334455667788');
    t.match((await p.run()).exit, { reason: 'SYSTEM_EVENT' });
  });
  await withProc({}, async (p) => {
    await p.vm();
    await p.memslot(0, RAM, RAM_SIZE, psciVersionThenOff({ addr: 0x1000 }));
    await p.vcpu(0);
    const v = await p.run();
    t.equal(toHex((v.exit as { data: Uint8Array }).data), '01000100', 'PSCI 1.1 (KVM_ARM_PSCI_LATEST since 5.18)');
  });
  await withProc({}, async (p) => {
    // 6.1 handle_smc: SMC from a normal guest returns -1 and steps over it
    await p.vm();
    await p.memslot(0, RAM, RAM_SIZE, assemble(movImm(0, 0x84000000), 0xd4000003, movImm(1, 0x1000), str(0, 1, 0, 8), systemOff()));
    await p.vcpu(0);
    t.equal(toHex(((await p.run()).exit as { data: Uint8Array }).data), 'ffffffffffffffff');
  });
  await withProc({}, async (p) => {
    await p.vm();
    await p.memslot(0, RAM, RAM_SIZE, spinForever());
    await p.vcpu(0);
    t.equal((await p.run()).r.error, 'timeout', 'a spinning guest is a hung KVM_RUN');
  });
  await withProc({}, async (p) => {
    await p.vm();
    await p.memslot(0, RAM, RAM_SIZE, assemble(udf(0)));
    await p.vcpu(0);
    t.match((await p.run()).exit, { reason: 'INTERNAL_ERROR' }, 'guest exceptions are not modelled');
  });
  await withProc({}, async (p) => {
    // a load from a memslot page reads the VMM's bytes
    await p.vm();
    await p.memslot(0, RAM, RAM_SIZE, assemble(movImm(1, RAM + 0x800), ldr(2, 1, 0, 8), movImm(3, 0x1000), str(2, 3, 0, 8), b(0)));
    await p.call({ op: 'poke', mem: 'mem0', offset: 0x800, hex: 'efbeadde00000000' });
    await p.vcpu(0);
    t.equal(toHex(((await p.run()).exit as { data: Uint8Array }).data), 'efbeadde00000000');
  });
});

t.test('generic errno cases', (t) =>
  withProc({}, async (p) => {
    t.equal((await p.call({ op: 'open', path: '/dev/nope', flags: 2, as: 'x' })).errno, ERRNO.ENOENT);
    await p.vm();
    // a pointer argument given as a small integer faults at the copy (G1)
    t.equal((await p.ioctl('vm', K.KVM_ENABLE_CAP, { int: 8 })).errno, ERRNO.EFAULT);
    t.equal((await p.ioctl('vm', K.KVM_ENABLE_CAP, { buf: { hex: toHex(K.encodeEnableCap(220, [], 1)) } })).errno, ERRNO.EINVAL, 'flags != 0 (G3)');
    t.equal((await p.ioctl('kvm', K.KVM_CREATE_VM, { int: 0x20 }, { as: 'vm32' })).errno, 0, 'IPA 32');
    t.equal((await p.ioctl('kvm', K.KVM_CREATE_VM, { int: 0x31 })).errno, ERRNO.EINVAL, 'IPA 49 > limit');
    t.equal((await p.ioctl('kvm', K.KVM_CREATE_VM, { int: 0x1f })).errno, ERRNO.EINVAL, 'IPA 31 < 32');
    t.equal((await p.ioctl('kvm', K.KVM_CREATE_VM, { int: 0x200 })).errno, ERRNO.EINVAL, 'unknown type field');
    t.equal((await p.ioctl('kvm', 0xae99, { int: 0 })).errno, ERRNO.EINVAL, 'unknown /dev/kvm ioctl');
    t.equal(errOf(await p.memslot(0, RAM, RAM_SIZE)), 'ok(0)');
    t.equal(errOf(await p.memslot(1, RAM + 0x8000, RAM_SIZE)), 'EEXIST', 'overlap');
    t.equal(errOf(await p.memslot(2, 2 ** 40, RAM_SIZE)), 'EFAULT', 'beyond the 40-bit IPA');
    t.equal(errOf(await p.memslot(3, RAM + 0x10800, RAM_SIZE)), 'EINVAL', 'gpa not aligned');
    await p.ioctl('vm', K.KVM_CREATE_VCPU, { int: 0 }, { as: 'vcpu0' });
    await p.call({ op: 'mmap', as: 'run0', len: 8192, prot: 3, flags: K.MAP_SHARED, fd: 'vcpu0' });
    t.equal(errOf((await p.run()).r), 'ENOEXEC', 'KVM_RUN before VCPU_INIT (G5)');
    t.equal(errOf(await p.setReg(0, K.CORE_REG_PC, RAM)), 'ENOEXEC', 'ONE_REG before VCPU_INIT');
    t.equal(errOf(await p.init(0, [PSCI, 7])), 'ENOENT', 'bit 7 >= KVM_VCPU_MAX_FEATURES (G8)');
    t.equal(errOf(await p.init(0, [PSCI])), 'ok(0)');
    t.equal(errOf(await p.ioctl('vcpu0', 0xaeff, { int: 0 })), 'EINVAL', 'unknown vCPU ioctl');
    // read-only struct for an _IOR: copy_to_user faults
    await p.call({ op: 'mmap', as: 'ro', len: 4096, prot: K.PROT_READ, flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS });
    t.equal(errOf(await p.ioctl('vm', K.KVM_ARM_PREFERRED_TARGET, { mem: 'ro', offset: 0 })), 'EFAULT');
    // a struct that runs off the end of a mapping faults
    t.equal(errOf(await p.ioctl('vcpu0', K.KVM_ARM_VCPU_INIT, { mem: 'ro', offset: 4096 - 16 })), 'EFAULT');
  }),
);

t.test('vGIC: G9 and the first-run checks (UP-vgic)', (t) =>
  withProc({}, async (p) => {
    await p.vm();
    await p.memslot(0, RAM, RAM_SIZE, mmioStoreThenOff());
    await p.vcpu(0);
    const cd = await p.ioctl('vm', K.KVM_CREATE_DEVICE, { buf: { hex: toHex(K.encodeCreateDevice(K.KVM_DEV_TYPE_ARM_VGIC_V3)) } });
    t.equal(cd.errno, 0);
    const fd = Buffer.from(cd.out!, 'hex').readUInt32LE(4);
    t.ok(fd > 3, 'device fd copied back');
    // bind the device fd to a name: recreate through the test path (a second device is EEXIST)
    t.equal(errOf(await p.ioctl('vm', K.KVM_CREATE_DEVICE, { buf: { hex: toHex(K.encodeCreateDevice(K.KVM_DEV_TYPE_ARM_VGIC_V3)) } })), 'EEXIST');
    t.equal(errOf(await p.ioctl('vm', K.KVM_CREATE_DEVICE, { buf: { hex: toHex(K.encodeCreateDevice(5)) } })), 'ENODEV', 'no GICv2 emulation');
  }),
);

t.test('RFC v1 realm lifecycle to a successful run', (t) =>
  withProc({}, async (p) => {
    t.equal((await p.open()).ret, 3);
    t.equal((await p.ioctl('kvm', K.KVM_CHECK_EXTENSION, { int: 300 })).ret, 1, 'R1-CE1');
    await realmTo(p, 'active');
    const mmio = await p.run();
    t.equal(mmio.r.ret, 0);
    t.match(mmio.exit, { reason: 'MMIO', physAddr: BigInt(SHARED + 0x1000), len: 4, isWrite: true });
    t.match((await p.run()).exit, { reason: 'SYSTEM_EVENT', type: K.KVM_SYSTEM_EVENT_SHUTDOWN });
    // R1-PO13: the VMM's populated page is delegated: touching it kills the process
    const peek = await p.call({ op: 'peek', mem: 'mem0', offset: 0, len: 4 });
    t.match(peek.error, /target-crashed: agent killed by SIGBUS/);
    t.match((await p.open()).error, /SIGBUS/, 'the process is gone');
  }),
);

t.test('realm PC is captured at FINALIZE(REC) (R1-V8) and a realm with RAM faults pages in', (t) =>
  withProc({}, async (p) => {
    await p.realmVm();
    // code at RAM+0x1000; a wrong PC set after FINALIZE must not matter
    const code = new Uint8Array(0x2000);
    code.set(realmCode(), 0x1000);
    await p.memslot(0, RAM, RAM_SIZE, code);
    await p.create();
    await p.vcpu(0, [PSCI], RAM + 0x1000);
    assertOk(await p.finalizeRec(0), 'rec');
    assertOk(await p.setReg(0, K.CORE_REG_PC, 0x1234), 'pc after rec');
    assertOk(await p.initIpa(RAM, RAM_SIZE), 'init');
    assertOk(await p.populate(RAM + 0x1000, 0x1000), 'populate');
    assertOk(await p.activate(), 'activate');
    t.match((await p.run()).exit, { reason: 'MMIO' });
  }),
);

// ---- the RFC v1 profile, condition by condition: each scenario ends with the call under test
type Scenario = (p: Proc) => Promise<WireResult>;
const bad = { bad: 8 };
const SCENARIOS: Partial<Record<ExpectKey, Scenario>> = {
  'probe.cap-on-system-fd': async (p) => (await p.open(), p.ioctl('kvm', K.KVM_CHECK_EXTENSION, { int: 300 })),
  'probe.cap-on-normal-vm': async (p) => (await p.vm(), p.ioctl('vm', K.KVM_CHECK_EXTENSION, { int: 300 })),
  'probe.cap-on-realm-vm': async (p) => (await p.realmVm(), p.ioctl('vm', K.KVM_CHECK_EXTENSION, { int: 300 })),
  'vm.realm-default-ipa': (p) => p.realmVm(),
  'vm.realm-ipa-40': (p) => p.realmVm(40),
  'vm.type-stray-bits': (p) => p.vm(0x1000 | 0x100),
  'vm.type-unknown-value': (p) => p.vm(0x200),
  'vm.realm-ipa-too-large': (p) => p.realmVm(49),
  'vm.realm-ipa-too-small': (p) => p.realmVm(31),
  'cap.bad-struct-pointer': async (p) => (await p.realmVm(), p.ioctl('vm', K.KVM_ENABLE_CAP, { int: 8 })),
  'cap.flags-nonzero': async (p) => (await p.realmVm(), p.rme('ACTIVATE', undefined, 1)),
  'cap.unknown-subcmd': async (p) => (await p.realmVm(), p.ioctl('vm', K.KVM_ENABLE_CAP, { buf: { hex: toHex(K.encodeEnableCap(300, [5, 0])) } })),
  'cap.normal-vm-subcmd': async (p) => (await p.vm(), p.activate()),
  'config.rpv': async (p) => (await p.realmVm(), p.config({ item: 'RPV', rpv: new Uint8Array(64).fill(7) })),
  'config.rpv-repeat': async (p) => (
    await p.realmVm(),
    await p.config({ item: 'RPV', rpv: new Uint8Array(64) }),
    p.config({ item: 'RPV', rpv: new Uint8Array(64).fill(1) })
  ),
  'config.hash-sha256': async (p) => (await p.realmVm(), p.config({ item: 'HASH_ALGO', algo: 0 })),
  'config.hash-sha512': async (p) => (await p.realmVm(), p.config({ item: 'HASH_ALGO', algo: 1 })),
  'config.hash-unknown': async (p) => (await p.realmVm(), p.config({ item: 'HASH_ALGO', algo: 2 })),
  'config.sve-ok': async (p) => (await p.realmVm(), p.config({ item: 'SVE', sveVq: 3 })),
  'config.sve-zero': async (p) => (await p.realmVm(), p.config({ item: 'SVE', sveVq: 0 })),
  'config.sve-too-large': async (p) => (await p.realmVm(), p.config({ item: 'SVE', sveVq: 16 })),
  'config.dbg': async (p) => (await p.realmVm(), p.config({ item: 'DBG', numBrps: 2, numWrps: 2 })),
  'config.pmu': async (p) => (await p.realmVm(), p.config({ item: 'PMU', numPmuCntrs: 1 })),
  'config.unknown-item': async (p) => (await p.realmVm(), p.config({ item: 'RAW', cfg: 9 })),
  'config.after-create': async (p) => (await realmTo(p, 'created'), p.config({ item: 'HASH_ALGO', algo: 0 })),
  'config.bad-pointer': async (p) => (await p.realmVm(), p.rme('CONFIG_REALM', bad)),
  'config.after-create-bad-pointer': async (p) => (await realmTo(p, 'created'), p.rme('CONFIG_REALM', bad)),
  'create.ok': async (p) => (await p.realmVm(), p.create()),
  'create.twice': async (p) => (await realmTo(p, 'created'), p.create()),
  'create.normal-vm': async (p) => (await p.vm(), p.create()),
  'create.after-vcpu': async (p) => (await p.realmVm(), await p.vcpu(0), p.create()),
  'create.ipa-beyond-rmm': async (p) => (await p.realmVm(44), p.create()),
  'init.ok': async (p) => (await realmTo(p, 'created'), p.initIpa(RAM, RAM_SIZE)),
  'init.bad-pointer': async (p) => (await realmTo(p, 'created'), p.rme('INIT_IPA', bad)),
  'init.wrap': async (p) => (await realmTo(p, 'created'), p.initIpa(2n ** 64n - 0x1000n, 0x2000)),
  'init.wrap-before-create': async (p) => (await p.realmVm(), p.initIpa(2n ** 64n - 0x1000n, 0x2000)),
  'init.before-create': async (p) => (await p.realmVm(), p.initIpa(RAM, RAM_SIZE)),
  'init.after-activate': async (p) => (await realmTo(p, 'active'), p.initIpa(RAM, RAM_SIZE)),
  'init.normal-vm': async (p) => (await p.vm(), p.initIpa(RAM, RAM_SIZE)),
  'init.zero-size': async (p) => (await realmTo(p, 'created'), p.initIpa(RAM, 0)),
  'init.unaligned-base': async (p) => (await realmTo(p, 'created'), p.initIpa(RAM + 0x800, 0x1000)),
  'init.unaligned-size': async (p) => (await realmTo(p, 'created'), p.initIpa(RAM, 0x1800)),
  'init.beyond-ipa': async (p) => (await realmTo(p, 'created'), p.initIpa(2 ** 40, 0x1000)),
  'init.unprotected-half': async (p) => (await realmTo(p, 'created'), p.initIpa(SHARED, 0x1000)),
  'init.no-memslot': async (p) => (await realmTo(p, 'created'), p.initIpa(0x80000000, 0x1000)),
  'init.two-memslots': async (p) => (await realmTo(p, 'created'), await p.memslot(1, RAM + RAM_SIZE, RAM_SIZE), p.initIpa(RAM + 0x8000, RAM_SIZE)),
  'init.over-populated': async (p) => (await realmTo(p, 'populated'), p.initIpa(RAM, 0x1000)),
  'populate.ok': async (p) => (await realmTo(p, 'created'), p.populate(RAM, 0x1000)),
  'populate.bad-pointer': async (p) => (await realmTo(p, 'created'), p.rme('POPULATE', bad)),
  'populate.before-create': async (p) => (await realmTo(p, 'vm'), p.populate(RAM, 0x1000)),
  'populate.after-activate': async (p) => (await realmTo(p, 'active'), p.populate(RAM + 0x1000, 0x1000)),
  'populate.normal-vm': async (p) => (await p.vm(), await p.memslot(0, RAM, RAM_SIZE), p.populate(RAM, 0x1000)),
  'populate.state-beats-alignment': async (p) => (await realmTo(p, 'vm'), p.populate(RAM + 0x800, 0x1000)),
  'populate.unaligned-base': async (p) => (await realmTo(p, 'created'), p.populate(RAM + 0x800, 0x1000)),
  'populate.unaligned-size': async (p) => (await realmTo(p, 'created'), p.populate(RAM, 0x800)),
  'populate.wrap': async (p) => (await realmTo(p, 'created'), p.populate(2n ** 64n - 0x1000n, 0x2000)),
  'populate.no-memslot': async (p) => (await realmTo(p, 'created'), p.populate(0x80000000, 0x1000)),
  'populate.zero-size-no-memslot': async (p) => (await realmTo(p, 'created'), p.populate(0x80000000, 0)),
  'populate.zero-size': async (p) => (await realmTo(p, 'created'), p.populate(RAM, 0)),
  'populate.beyond-ipa': async (p) => (await realmTo(p, 'created'), p.populate(2 ** 40, 0x1000)),
  'populate.two-memslots': async (p) => (
    await realmTo(p, 'created'),
    await p.memslot(1, RAM + RAM_SIZE, RAM_SIZE),
    p.populate(RAM + RAM_SIZE - 0x1000, 0x2000)
  ),
  'populate.past-memslot-end': async (p) => (await realmTo(p, 'created'), p.populate(RAM + RAM_SIZE - 0x1000, 0x2000)),
  'populate.unprotected-half': async (p) => (await realmTo(p, 'created'), await p.memslot(1, SHARED, RAM_SIZE), p.populate(SHARED, 0x1000)),
  'populate.twice': async (p) => (await realmTo(p, 'created'), await p.populate(RAM, 0x1000), p.populate(RAM, 0x1000)),
  'activate.ok': async (p) => (await realmTo(p, 'populated'), p.activate()),
  'activate.before-create': async (p) => (await p.realmVm(), p.activate()),
  'activate.twice': async (p) => (await realmTo(p, 'active'), p.activate()),
  'vcpu.init-rec-bit': async (p) => (await p.realmVm(), p.vcpu(0, [PSCI, rfcV1.recFeature!])),
  'vcpu.init-psci': async (p) => (await p.realmVm(), p.vcpu(0, [PSCI])),
  'rec.ok': async (p) => (await realmTo(p, 'created'), await p.vcpu(0), p.finalizeRec(0)),
  'rec.not-initialised': async (p) => (await realmTo(p, 'created'), await p.ioctl('vm', K.KVM_CREATE_VCPU, { int: 0 }, { as: 'vcpu0' }), p.finalizeRec(0)),
  'rec.bad-pointer': async (p) => (await realmTo(p, 'created'), await p.vcpu(0), p.ioctl('vcpu0', K.KVM_ARM_VCPU_FINALIZE, { int: 8 })),
  'rec.normal-vm': async (p) => (await p.vm(), await p.vcpu(0), p.finalizeRec(0)),
  'rec.before-create': async (p) => (await p.realmVm(), await p.vcpu(0), p.finalizeRec(0)),
  'rec.after-activate': async (p) => (await realmTo(p, 'active'), await p.vcpu(1), p.finalizeRec(1)),
  'rec.no-psci': async (p) => (await realmTo(p, 'created'), await p.vcpu(0, []), p.finalizeRec(0)),
  'rec.twice': async (p) => (await realmTo(p, 'rec'), p.finalizeRec(0)),
  'run.not-initialised': async (p) => (
    await realmTo(p, 'created'),
    await p.ioctl('vm', K.KVM_CREATE_VCPU, { int: 0 }, { as: 'vcpu0' }),
    await p.call({ op: 'mmap', as: 'run0', len: 8192, prot: 3, flags: 1, fd: 'vcpu0' }),
    (await p.run()).r
  ),
  'run.before-activate': async (p) => (await realmTo(p, 'populated'), (await p.run()).r),
  'run.no-rec': async (p) => (await realmTo(p, 'created'), await p.vcpu(0), await p.populate(RAM, 0x1000), await p.activate(), (await p.run()).r),
  'run.vcpu-after-activate': async (p) => (await realmTo(p, 'active'), await p.vcpu(1), await p.finalizeRec(1), (await p.run(1)).r),
  'run.ok': async (p) => (await realmTo(p, 'active'), await p.run(), (await p.run()).r),
};

/** Emulator settings a scenario needs to reach its condition (the RMM-tagged rows). */
const SETTINGS: Partial<Record<ExpectKey, Partial<EmulatorTargetOptions>>> = {
  'create.ipa-beyond-rmm': { rmm: { s2sz: 40 } },
};

async function outcome(key: ExpectKey, opts: Partial<EmulatorTargetOptions> = {}): Promise<WireResult> {
  return withProc({ ...SETTINGS[key], ...opts }, (p) => SCENARIOS[key]!(p));
}

function matches(r: WireResult, errno: string | 0, ret?: number): boolean {
  if (r.error) return false;
  if (errno === 0) return r.errno === 0 && r.ret >= 0 && (ret === undefined || r.ret === ret);
  return r.ret === -1 && r.errno === ERRNO[errno as keyof typeof ERRNO];
}

t.test('RFC v1 profile: every modelled condition gives the profile result', async (t) => {
  for (const [key] of Object.entries(SCENARIOS) as [ExpectKey, Scenario][]) {
    const exp = rfcV1.expect[key];
    if (!exp) continue;
    const r = await outcome(key);
    t.ok(matches(r, exp.errno, exp.ret), `${key}: want ${exp.errno || 'success'} (${exp.source}), got ${errOf(r)}`);
  }
});

t.test('RMM settings decide the RMM-tagged rows', async (t) => {
  t.equal(errOf(await withProc({ rmm: { s2sz: 40 } }, (p) => SCENARIOS['create.ipa-beyond-rmm']!(p))), 'ENXIO', 'R1-VM6: IPA 44 > S2SZ 40');
  t.equal(errOf(await withProc({ rmm: { sha512: false } }, (p) => SCENARIOS['config.hash-sha512']!(p))), 'EINVAL', 'config.hash-unsupported (R1-CF5)');
  t.equal(errOf(await withProc({ rmm: { sve: false } }, (p) => SCENARIOS['config.sve-ok']!(p))), 'EINVAL', 'config.sve-unsupported (R1-CF6)');
  t.equal(errOf(await withProc({ rmm: { sveMaxVq: 2 } }, (p) => SCENARIOS['config.sve-ok']!(p))), 'EINVAL', 'sve_vq 3 > SVE_VL 2');
  // no RMM: the static key is off
  await withProc({ rmm: { present: false } }, async (p) => {
    await p.open();
    t.equal((await p.ioctl('kvm', K.KVM_CHECK_EXTENSION, { int: 300 })).ret, 0, 'R1-CE1 without an RMM');
    t.equal(errOf(await p.realmVm()), 'ok(5)', 'vm.realm-no-rmm: a normal VM (R1-VM4)');
    t.equal(errOf(await p.create()), 'EINVAL', 'R1-EC3');
    await p.memslot(0, RAM, RAM_SIZE, mmioStoreThenOff());
    await p.vcpu(0);
    t.match((await p.run()).exit, { reason: 'MMIO' }, 'it runs as a normal VM');
    t.equal(errOf(await p.finalizeRec(0)), 'EINVAL', 'R1-V3 without an RMM');
  });
  t.equal(rfcV1.expect['vm.realm-no-rmm']?.errno, 0);
});

t.test('R1-CF12: CONFIG(RPV) on a normal VM oopses the kernel for good', async (t) => {
  const target = new EmulatorTarget({ abi: rfcV1 });
  const s = await target.session();
  const p = new Proc(s);
  await p.vm();
  t.equal(errOf(await p.config({ item: 'HASH_ALGO', algo: 2 })), 'EINVAL', 'a failing check returns first');
  const r = await p.config({ item: 'RPV', rpv: new Uint8Array(64) });
  t.equal(r.error, 'target-crashed: kernel oops: NULL dereference in kvm_rme_config_realm (R1-CF12)');
  t.match((await p.open()).error, /^target-crashed: kernel oops/);
  const s2 = await target.session();
  t.match((await s2.call({ op: 'info' })).error, /^target-crashed/, 'every later session too');
  await target.stop();
  const s3 = await target.session();
  t.equal((await s3.call({ op: 'info' })).info?.kvm, true, 'stop() + a new session is a reboot');
});

t.test('each RFC v1 bug switch changes the outcome it targets', async (t) => {
  // RFC v1's switches here; every revision's in emulator-revisions.test.ts
  const bugs = emulatorBugs().filter((b) => (b.revisions as readonly string[]).includes('rfc-v1'));
  t.ok(bugs.length >= 8);
  for (const bug of bugs) {
    t.match(bug.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    t.ok(bug.description && bug.source);
    if (bug.shows) {
      // caught by the suite's checks all the same (test/mutation.test.ts); not by this one-member stimulus
      t.comment(`${bug.name}: shows ${bug.shows === 'afterwards' ? 'only in what follows the call (test/afterwards.test.ts)' : 'only with a second member'}`);
      continue;
    }
    const key = bug.breaks.find((k) => SCENARIOS[k] && rfcV1.expect[k])!;
    t.ok(key, `${bug.name} targets a key with a scenario`);
    const exp = rfcV1.expect[key]!;
    const good = await outcome(key);
    const buggy = await outcome(key, { bugs: [bug.name] });
    t.ok(matches(good, exp.errno, exp.ret), `${key} without ${bug.name}: ${errOf(good)}`);
    t.notOk(matches(buggy, exp.errno, exp.ret), `${key} with ${bug.name}: ${errOf(buggy)} (want not ${exp.errno || 'success'})`);
  }
  t.throws(() => new EmulatorTarget({ abi: rfcV1, bugs: ['no-such-bug'] }), /unknown emulator bug/);
});

t.test('bug outcomes are the documented ones', async (t) => {
  t.equal(errOf(await outcome('populate.before-create', { bugs: ['populate-ebusy-as-einval'] })), 'EINVAL');
  t.equal(errOf(await outcome('populate.before-create', { bugs: ['populate-skips-state-check'] })), 'ok(1)', 'raw RMI_ERROR_INPUT (R1-PO10 path)');
  t.equal(errOf(await outcome('init.beyond-ipa', { bugs: ['init-ipa-accepts-past-ipa'] })), 'ok(0)');
  t.equal(errOf(await outcome('create.twice', { bugs: ['create-rd-twice'] })), 'ok(0)');
  t.equal(errOf(await outcome('rec.before-create', { bugs: ['finalize-rec-before-create'] })), 'ok(0)');
  t.equal(errOf(await outcome('vcpu.init-rec-bit', { bugs: ['vcpu-init-accepts-rec-bit'] })), 'ok(0)');
  t.equal(errOf(await outcome('run.before-activate', { bugs: ['run-before-activate'] })), 'EINVAL');
  t.equal(errOf(await outcome('init.wrap-before-create', { bugs: ['init-ipa-state-before-wrap'] })), 'EBUSY');
  t.equal(errOf(await outcome('config.after-create-bad-pointer', { bugs: ['config-copy-before-state'] })), 'EFAULT');
});

t.test('revision rules agree with the profile', async (t) => {
  const r = RME_RULES['rfc-v1']!;
  const e = rfcV1.expect;
  t.equal(r.errno.config, e['config.after-create']?.errno);
  t.equal(r.errno.create, e['create.twice']?.errno);
  t.equal(r.errno.init, e['init.before-create']?.errno);
  t.equal(r.errno.populate, e['populate.before-create']?.errno);
  t.equal(r.errno.activate, e['activate.before-create']?.errno);
  t.equal(r.errno.rec, e['rec.before-create']?.errno);
});
