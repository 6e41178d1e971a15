// The emulator across every revision: the whole suite passes on each profile
// (UNCONFIRMED checks too, as todo), every bug switch is caught by a check of
// each revision it lists, and the wire-level pieces the v2+ uAPI needs
// (as_fd_at, guest_memfd fd slots, REGION2, memory attributes,
// KVM_ARM_RMI_POPULATE in/out and its copy-out) behave as the kernel's.
import t from 'tap';
import { PROFILES } from '../profiles/index.ts';
import type { AbiProfile } from '../profiles/types.ts';
import { encodeRmiPopulate, decodeRmiPopulate } from '../profiles/encode.ts';
import { StructWriter } from '../uapi/bytes.ts';
import { applicable, isFailure, runChecks, type CheckOutcome } from '../harness/core/engine.ts';
import { ERRNO, errnoName } from '../uapi/errno.ts';
import * as K from '../uapi/kvm-uapi.ts';
import type { Session } from '../harness/core/target.ts';
import { createTargetSync } from '../harness/core/targets/index.ts';
import { EmulatorTarget, emulatorBugs } from '../harness/core/targets/emulator.ts';
import { toHex, type WireArg, type WireResult } from '../uapi/wire.ts';
import { RME_RULES } from '../emulator/rules.ts';
import { RMI_RULES } from '../emulator/rules.ts';
import { ALL_CHECKS } from '../checks/index.ts';

const profile = (n: string): AbiProfile => PROFILES.get(n as AbiProfile['name'])!;

async function suite(abi: AbiProfile, bugs: readonly string[] = [], only?: (name: string) => boolean): Promise<CheckOutcome[]> {
  const target = createTargetSync('emulator', { abi, bugs });
  await target.start();
  const defs = applicable(ALL_CHECKS, abi).filter((d) => !only || only(d.name));
  return runChecks(defs, {
    abi,
    target,
    targetKind: 'emulator',
    allowCrash: false,
    callTimeoutMs: 5000,
    checkTimeoutMs: 20000,
    targetFor: (s) => createTargetSync('emulator', { abi, bugs, emulatorSettings: s }),
  });
}

const failing = (o: CheckOutcome): boolean => o.status === 'fail' || o.assertions.some((a) => !a.ok);

t.test('every revision passes the whole suite, UNCONFIRMED checks included', async (t) => {
  for (const [name, abi] of PROFILES) {
    const out = await suite(abi);
    t.ok(out.length > 0, `${name}: checks apply`);
    const bad = out.filter(failing).map(
      (o) =>
        `${o.name}: ${o.assertions
          .filter((a) => !a.ok)
          .map((a) => a.message)
          .join(' | ')}`,
    );
    t.same(bad, [], `${name}: ${out.length} checks, none failing`);
  }
});

t.test('each bug switch is caught on every revision it lists, by a check reading a key it breaks', async (t) => {
  const bugs = emulatorBugs();
  const revs = new Set(bugs.flatMap((b) => b.revisions));
  t.ok(
    [...PROFILES.keys()].filter((n) => n !== 'absent').every((n) => revs.has(n)),
    'every revision has a switch',
  );
  t.ok(bugs.length >= 25);
  for (const bug of bugs) {
    for (const rev of bug.revisions) {
      const abi = profile(rev);
      const keys = new Set<string>(bug.breaks);
      const names = new Set(
        applicable(ALL_CHECKS, abi)
          .filter((d) => d.expects.some((k) => keys.has(k)))
          .map((d) => d.name),
      );
      t.ok(names.size > 0, `${bug.name} on ${rev}: some check reads ${[...keys].join(', ')}`);
      const out = await suite(abi, [bug.name], (n) => names.has(n));
      const caught = out.filter((o) => isFailure(o.status)).map((o) => o.name);
      t.ok(caught.length > 0, `${bug.name} on ${rev}: caught by ${caught.join(', ') || 'nothing'}`);
    }
  }
  t.throws(() => new EmulatorTarget({ abi: profile('v14'), bugs: ['populate-skips-state-check'] }), /do not apply to v14/);
});

t.test('revision rules agree with the profiles on the wrong-state errnos', async (t) => {
  for (const n of ['v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10'] as const) {
    const r = RME_RULES[n]!;
    const e = profile(n).expect;
    t.equal(r.errno.populate, e['populate.before-create']?.errno, `${n} populate`);
    t.equal(r.errno.init, e['init.before-create']?.errno, `${n} init`);
    t.equal(r.errno.activate, e['activate.before-create']?.errno, `${n} activate`);
    t.equal(r.rmmAbsentRealmType, e['vm.realm-no-rmm']?.errno, `${n} realm without RMM`);
    t.equal(r.populateNoGmem, e['populate.no-guest-memfd']?.errno, `${n} populate without guest_memfd`);
  }
  for (const n of ['v12', 'v13', 'v14'] as const) {
    t.equal(RMI_RULES[n]!.populateNotRealm, profile(n).expect['rmi.populate-normal-vm']?.errno, `${n} populate on a normal VM`);
    // DEAD before the irqchip check is what makes the run after adding the vGIC fail
    t.equal(RMI_RULES[n]!.deadBeforeIrqchip, profile(n).expect['rmi.run-after-irqchip-added']?.errno !== 0, `${n} DEAD before the irqchip check`);
  }
});

// ---------------------------------------------------------------- wire level

class W {
  constructor(readonly s: Session) {}
  ioctl(fd: string, req: number, arg: WireArg, extra: { as?: string; as_fd_at?: number } = {}): Promise<WireResult> {
    return this.s.call({ op: 'ioctl', fd, req, arg, ...extra });
  }
  async vm(type: number): Promise<WireResult> {
    await this.s.call({ op: 'open', path: '/dev/kvm', flags: K.O_RDWR, as: 'kvm' });
    return this.ioctl('kvm', K.KVM_CREATE_VM, { int: type }, { as: 'vm' });
  }
  map(as: string, len: number, prot = K.PROT_READ | K.PROT_WRITE): Promise<WireResult> {
    return this.s.call({ op: 'mmap', as, len, prot, flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS });
  }
  gmem(as: string, size: number, flags = 0): Promise<WireResult> {
    return this.ioctl('vm', K.KVM_CREATE_GUEST_MEMFD, { buf: { hex: toHex(K.encodeCreateGuestMemfd(size, flags)) } }, { as });
  }
  region2(slot: number, gpa: number, size: number, mem: string, gmem?: { fd: string; offset?: number }): Promise<WireResult> {
    const bytes = K.encodeMemoryRegion2({ slot, flags: gmem ? K.KVM_MEM_GUEST_MEMFD : 0, gpa, size, uaddr: 0, gmemOffset: gmem?.offset ?? 0 });
    return this.ioctl('vm', K.KVM_SET_USER_MEMORY_REGION2, {
      buf: { hex: toHex(bytes), ptrs: [{ at: 24, to: { mem, offset: 0 } }], ...(gmem ? { fds: [{ at: 40, fd: gmem.fd }] } : {}) },
    });
  }
  attrs(gpa: number, size: number, a = K.KVM_MEMORY_ATTRIBUTE_PRIVATE, flags = 0): Promise<WireResult> {
    return this.ioctl('vm', K.KVM_SET_MEMORY_ATTRIBUTES, { buf: { hex: toHex(K.encodeMemoryAttributes(gpa, size, a, flags)) } });
  }
}

const errOf = (r: WireResult): string => (r.error ? r.error : r.errno ? errnoName(r.errno) : `ok(${r.ret})`);

async function wire<T>(abi: string, fn: (w: W) => Promise<T>): Promise<T> {
  const target = new EmulatorTarget({ abi: profile(abi) });
  const s = await target.session();
  try {
    return await fn(new W(s));
  } finally {
    await s.close();
  }
}

const RAM = 0x80000000;
const SZ = 0x200000;

t.test('as_fd_at binds the fd KVM_CREATE_DEVICE wrote into its struct', async (t) => {
  await wire('v14', async (w) => {
    await w.vm(profile('v14').vmTypeRealm + 40);
    const c = await w.ioctl('vm', K.KVM_CREATE_DEVICE, { buf: { hex: toHex(K.encodeCreateDevice(K.KVM_DEV_TYPE_ARM_VGIC_V3)) } }, { as: 'vgic', as_fd_at: 4 });
    t.equal(c.ret, 0, 'CREATE_DEVICE returns 0');
    const fd = Buffer.from(c.out!, 'hex').readUInt32LE(4);
    t.ok(fd > 2, `the struct carries fd ${fd}`);
    const v = toHex(new StructWriter(8).u64(0, 0x08000000).bytes);
    const r = await w.ioctl('vgic', K.KVM_SET_DEVICE_ATTR, {
      buf: { hex: toHex(K.encodeDeviceAttr(K.KVM_DEV_ARM_VGIC_GRP_ADDR, K.KVM_VGIC_V3_ADDR_TYPE_DIST)), ptrs: [{ at: 16, to: { buf: { hex: v } } }] },
    });
    t.equal(errOf(r), 'ok(0)', 'SET_DEVICE_ATTR reaches the vGIC through the bound handle');
    t.match((await w.ioctl('vm', K.KVM_CREATE_DEVICE, { int: 0 }, { as: 'x', as_fd_at: 4 })).error, /^bad-request: as_fd_at/, 'as_fd_at needs a buf argument');
  });
});

t.test('guest_memfd, REGION2 and memory attributes (upstream rules)', async (t) => {
  await wire('v10', async (w) => {
    await w.vm(0x100 + 40);
    t.equal(errOf(await w.gmem('g', 0x1800)), 'EINVAL', 'size not page-aligned');
    t.equal(errOf(await w.gmem('g', SZ, 1)), 'EINVAL', 'unknown flags');
    t.ok((await w.gmem('g', SZ)).ret > 2, 'KVM_CREATE_GUEST_MEMFD returns an fd');
    await w.map('m', SZ);
    t.equal(errOf(await w.region2(0, RAM, SZ, 'm', { fd: 'g', offset: 0x1000 })), 'EINVAL', 'range past the guest_memfd size');
    t.equal(errOf(await w.region2(0, RAM, SZ, 'm', { fd: 'g' })), 'ok(0)', 'REGION2 with the fd patched into the struct');
    t.equal(errOf(await w.region2(1, RAM + SZ, SZ, 'm', { fd: 'g' })), 'EEXIST', 'the same guest_memfd range bound twice');
    t.equal(errOf(await w.region2(1, RAM + SZ, SZ, 'm', { fd: 'kvm' })), 'EINVAL', 'an fd that is not a guest_memfd');
    t.equal(errOf(await w.attrs(RAM, 0)), 'EINVAL', 'attributes: size 0');
    t.equal(errOf(await w.attrs(RAM + 1, 0x1000)), 'EINVAL', 'attributes: unaligned');
    t.equal(errOf(await w.attrs(RAM, 0x1000, 1)), 'EINVAL', 'attributes: unsupported bit');
    t.equal(errOf(await w.attrs(RAM, 0x1000, K.KVM_MEMORY_ATTRIBUTE_PRIVATE, 1)), 'EINVAL', 'attributes: flags');
    t.equal(errOf(await w.attrs(RAM, SZ)), 'ok(0)', 'PRIVATE over the memslot');
  });
  await wire('rfc-v1', async (w) => {
    await w.vm(0);
    t.equal(errOf(await w.gmem('g', SZ)), 'EINVAL', 'RFC v1 (6.2): no guest_memfd');
  });
});

/** A v13/v14 realm with private guest_memfd RAM at RAM, the shared mapping 'm' as the populate source. */
/** vCPU 0 initialised (PSCI 0.2): the VM's ID registers exist, so the RD POPULATE creates gets real breakpoint counts. */
async function vcpu0(w: W): Promise<void> {
  await w.ioctl('vm', K.KVM_CREATE_VCPU, { int: 0 }, { as: 'vcpu0' });
  await w.ioctl('vcpu0', K.KVM_ARM_VCPU_INIT, { buf: { hex: toHex(K.encodeVcpuInit(K.KVM_ARM_TARGET_GENERIC_V8, [K.KVM_ARM_VCPU_PSCI_0_2])) } });
}

async function rmiRealm(w: W, abi: AbiProfile): Promise<void> {
  await w.vm(abi.vmTypeRealm + 40);
  await vcpu0(w);
  await w.gmem('g', SZ);
  await w.map('m', SZ);
  await w.region2(0, RAM, SZ, 'm', { fd: 'g' });
  await w.attrs(RAM, SZ);
}

t.test('KVM_ARM_RMI_POPULATE: in/out progress, copy-out -EFAULT wins, v12 returns bytes', async (t) => {
  const v14 = profile('v14');
  await wire('v14', async (w) => {
    await rmiRealm(w, v14);
    const req = v14.rmiPopulate!.req;
    const args = toHex(encodeRmiPopulate(v14, { base: RAM, size: 3 * 0x1000, flags: 1 }));
    const r = await w.ioctl('vm', req, { buf: { hex: args, ptrs: [{ at: 16, to: { mem: 'm', offset: 0 } }] } });
    t.equal(r.ret, 0, 'returns 0');
    const after = decodeRmiPopulate(Buffer.from(r.out!, 'hex'));
    t.equal(after.base, BigInt(RAM + 0x3000), 'base advanced');
    t.equal(after.size, 0n, 'size down to 0');
    t.equal(errOf(await w.ioctl('vm', req, { int: 0x10 })), 'EFAULT', 'struct pointer faults (V14-PO2)');
  });
  await wire('v14', async (w) => {
    // V14-PO18: a read-only all-zero struct (base 0, size 0, source 0) over a guest_memfd memslot at IPA 0:
    // the RD is made and 0 pages populated, then the copy-out faults and -EFAULT is what the caller sees
    await w.vm(v14.vmTypeRealm + 40);
    await vcpu0(w);
    await w.gmem('g', SZ);
    await w.map('m', SZ);
    await w.region2(0, 0, SZ, 'm', { fd: 'g' });
    await w.s.call({ op: 'mmap', as: 'ro', len: 0x1000, prot: K.PROT_READ, flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS });
    t.equal(errOf(await w.ioctl('vm', v14.rmiPopulate!.req, { mem: 'ro', offset: 0 })), 'EFAULT', 'V14-PO18: copy-out -EFAULT overrides');
    await w.s.call({ op: 'mmap', as: 'rw', len: 0x1000, prot: K.PROT_READ | K.PROT_WRITE, flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS });
    t.equal(errOf(await w.ioctl('vm', v14.rmiPopulate!.req, { mem: 'rw', offset: 0 })), 'ok(0)', 'the same struct writable: 0 (V14-PO5)');
  });
  const v12 = profile('v12');
  await wire('v12', async (w) => {
    await rmiRealm(w, v12);
    const args = toHex(encodeRmiPopulate(v12, { base: RAM + SZ - 0x1000, size: 2 * 0x1000, flags: 1 }));
    const r = await w.ioctl('vm', v12.rmiPopulate!.req, { buf: { hex: args, ptrs: [{ at: 16, to: { mem: 'm', offset: SZ - 0x1000 } }] } });
    t.equal(r.ret, 0x1000, 'v12: the bytes populated, clipped to the memslot (V14-PO12)');
    t.equal(
      ERRNO.ENXIO,
      (await w.ioctl('vm', v12.rmiPopulate!.req, { buf: { hex: args, ptrs: [{ at: 16, to: { mem: 'm', offset: SZ - 0x1000 } }] } })).errno,
      'the same page again: -ENXIO',
    );
  });
});

t.test("a check's emulator settings reach the emulator it gets, the host IPA limit too", async (t) => {
  for (const limit of [40, 44]) {
    const target = createTargetSync('emulator', { abi: profile('v10'), emulatorSettings: { hostIpaLimit: limit, rmmS2sz: 40 } });
    if (!(target instanceof EmulatorTarget)) {
      t.fail('an emulator target');
      continue;
    }
    const k = target.emulator.kernel;
    t.equal(k.host.ipaLimit, limit, `host IPA limit ${limit}`);
    t.equal(k.rmm.settings.s2sz, 40, 'and the RMM S2SZ beside it');
  }
});
