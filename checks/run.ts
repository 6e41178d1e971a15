// KVM_RUN: what a vCPU needs before it may run (initialised, a REC, the
// realm active, an in-kernel irqchip), what the guest's exits look like, and
// in the RMI era the realm's activation by the first run and what follows
// it (no more POPULATE or vCPUs; a failed activation leaves the realm DEAD).
import * as K from '../uapi/kvm-uapi.ts';
import { ERRNO } from '../uapi/errno.ts';
import { FLAG_BITS } from '../uapi/kvm.ts';
import { describeOutcome } from '../harness/core/calls.ts';
import type { CheckContext, CheckDef } from '../harness/core/engine.ts';
import type { AbiName } from '../profiles/types.ts';
import type { Mem, Vm } from '../harness/core/dsl/index.ts';
import { ENTRY, PAGE, RAM2_BASE, RAM_BASE, RAM_SIZE, REALM_IPA_BITS, UNPROTECTED_BASE } from '../fixtures/layout.ts';
import { assemble, b, br, cbnz, ldr, movImm, movz, mrs, msr, psciCall, str, subImm, systemOff } from '../fixtures/guest.ts';
import { mmioStoreThenOff } from '../fixtures/payloads.ts';
import { activateAndRun, initVcpu, measure, realmIn, realmWithRam, realmWithRec, vcpuFirst } from './setup/rme-realm.ts';
import { populateAt, populateLoop, rmiRealm, runPopulatedToSystemOff, SYSOFF, type RmiRealm } from './setup/rmi-realm.ts';
import { RME_AFTER_RFC, RME_ERA, RMI_ERA } from './eras.ts';
import { check } from './table.ts';

const RME = { generations: RME_ERA };
const RMI = { generations: RMI_ERA };
const MID = RAM_BASE + 0x100000;
/** KVM_MEM_READONLY (include/uapi/linux/kvm.h). */
const KVM_MEM_READONLY = 1 << FLAG_BITS.KVM_MEM_READONLY;
/** PSCI 0.2 SYSTEM_RESET (PSCI spec DEN0022, function 0x84000009): the guest's "wrong" answer. */
const PSCI_SYSTEM_RESET = 0x84000009;

/**
 * Guest code: store a value into a page at `addr` the VMM never populated, read
 * it back twice (the first access faults the page in, the later ones find it
 * mapped), then SYSTEM_OFF if it read what it stored, SYSTEM_RESET if not.
 */
export function storeLoadThenOff(addr: number): Uint8Array {
  const off = systemOff('smc');
  return assemble(
    movImm(1, addr),
    movz(2, 0x123),
    str(2, 1, 0x10, 8),
    ldr(3, 1, 0x10, 8),
    ldr(3, 1, 0x10, 8),
    subImm(3, 3, 0x123),
    cbnz(3, 4 * (1 + off.length)),
    off,
    psciCall(PSCI_SYSTEM_RESET, 'smc'),
  );
}

/** The guest's exception vectors (VBAR_EL1, 2 KB aligned) in its populated code page, and its handler's report address. */
const VECTORS = ENTRY + 0x800;
/** A gpa no memslot backs: its unprotected alias is MMIO, where the handler reports. */
const SEA_REPORT = 0x1000;

/**
 * Guest code: install vectors at VECTORS, load from `target` (or, with
 * `fetch`, branch to it), then SYSTEM_OFF (nothing aborted). The handler of a
 * synchronous exception taken at EL1 with SP_EL1 (VBAR_EL1 + 0x200, Arm ARM
 * D1.10) stores ESR_EL1 to the unprotected alias of SEA_REPORT (an MMIO exit)
 * and spins.
 */
function seaHandlerGuest(target: number, fetch = false): Uint8Array {
  const access = fetch ? [br(1)] : [ldr(2, 1, 0, 8), systemOff('smc')];
  const main = [movImm(1, VECTORS), msr('VBAR_EL1', 1), movImm(1, target), access].flat(2);
  const handler = [mrs(5, 'ESR_EL1'), movImm(6, UNPROTECTED_BASE + SEA_REPORT), str(5, 6, 0, 8), b(0)].flat();
  const words = new Array<number>((VECTORS - ENTRY + 0x200) / 4).fill(0);
  main.forEach((w, i) => (words[i] = w));
  return assemble(words, handler);
}

/**
 * The guest took a synchronous external abort: KVM_RUN exits with MMIO at the
 * handler's report address carrying ESR_EL1, an abort from the same EL (EC 0x25
 * for a data access, 0x21 for a fetch) with FSC 0x10. The RMM builds it for
 * both sources (TF-RMM inject_sync_idabort: the syndrome of the abort, EC made
 * "current EL", FSC SEA; KVM asks for it with REC_ENTER_FLAG_INJECT_SEA, v6
 * 18/43). The exit's IPA is compared below the top IPA bit: whether KVM
 * reports that bit is UNCONFIRMED on RFC v1 (v10 20/43 reports it without).
 */
function seaTaken(c: CheckContext, res: { exit?: K.RunExit }, src: string, ec = 0x25n): void {
  const ex = res.exit;
  const at = ex?.reason === 'MMIO' && 'physAddr' in ex ? ex.physAddr : undefined;
  const esr = ex?.reason === 'MMIO' && 'data' in ex ? Buffer.from(ex.data).readBigUInt64LE(0) : undefined;
  c.ok(
    at !== undefined &&
      (at & BigInt(UNPROTECTED_BASE - 1)) === BigInt(SEA_REPORT) &&
      esr !== undefined &&
      ((esr >> 26n) & 0x3fn) === ec &&
      (esr & 0x3fn) === 0x10n,
    `the guest's handler reports ESR_EL1 (EC 0x${ec.toString(16)}, FSC 0x10) by MMIO at 0x${SEA_REPORT.toString(16)}, got ${ex?.reason ?? 'none'}${at !== undefined ? ` at 0x${at.toString(16)}` : ''}${esr !== undefined ? ` ESR 0x${esr.toString(16)}` : ''}`,
    src,
  );
}

/** One synchronous external abort a realm guest with vectors takes: what it touches, how, and why (the source). */
interface SeaRow {
  name: string;
  description: string;
  /** The IPA the guest loads from or branches to. */
  target: number;
  fetch: boolean;
  /** RME era: make the target RAM by INIT_IPA first (RAM where no memslot is). */
  initIpa?: boolean;
  abis?: readonly AbiName[];
  src: string;
}

const SEA_DESC = "and the guest's handler reports ESR_EL1 by MMIO";

// RFC v1..v10: the RMM injects on RIPAS EMPTY and on a fetch outside the protected range (TF-RMM
// handle_data_abort / handle_instruction_abort, inject_sync_idabort with FSC SEA, no REC exit); KVM asks
// for one from v6 when a protected IPA has no memslot (io_mem_abort for a REC: v6 18/43,
// lore:20241212155610.76522-19-steven.price@arm.com; v10 18/43, lore:20250820145606.180644-19-steven.price@arm.com)
const SEA_RME: SeaRow[] = [
  {
    name: 'ripas-empty-load-takes-sea',
    description: `a realm guest with exception vectors loads from a page of its memslot left RIPAS EMPTY (never INIT_IPA'd nor populated): the RMM injects a synchronous external abort, ${SEA_DESC}`,
    target: MID,
    fetch: false,
    src: 'TF-RMM inject_sync_idabort (RIPAS EMPTY: SEA, no REC exit)',
  },
  {
    name: 'protected-ram-outside-memslots-takes-sea',
    description: `INIT_IPA makes a page RAM where no memslot is: the realm guest with exception vectors loads from it, KVM injects a synchronous external abort (v6+), ${SEA_DESC}`,
    target: RAM2_BASE,
    fetch: false,
    initIpa: true,
    abis: ['v6', 'v7', 'v8', 'v9', 'v10'],
    src: 'mmio.c io_mem_abort (a REC: kvm_inject_dabt); v6 18/43, v10 18/43',
  },
  {
    name: 'ripas-empty-fetch-takes-sea',
    description: `a realm guest with exception vectors branches to a page of its memslot left RIPAS EMPTY: the RMM injects a synchronous external abort on the fetch, ${SEA_DESC}`,
    target: MID,
    fetch: true,
    src: 'TF-RMM handle_instruction_abort (RIPAS EMPTY: SEA, no REC exit)',
  },
  {
    name: 'unprotected-fetch-takes-sea',
    description: `a realm guest with exception vectors branches to the first IPA of the unprotected half: the RMM injects a synchronous external abort on the fetch, ${SEA_DESC}`,
    target: UNPROTECTED_BASE,
    fetch: true,
    src: 'TF-RMM handle_instruction_abort (unprotected IPA: SEA, no REC exit)',
  },
];

// v12..v14: RIPAS RAM only over guest_memfd memslots (V14-A10), so RAM2_BASE, outside every memslot, stays EMPTY
const SEA_RMI: SeaRow[] = [
  {
    name: 'ripas-empty-load-takes-sea',
    description: `a realm guest with exception vectors loads from a protected IPA outside every memslot (RIPAS EMPTY: the first run makes only the memslots RAM): the RMM injects a synchronous external abort, ${SEA_DESC}`,
    target: RAM2_BASE,
    fetch: false,
    src: 'V14-A10; TF-RMM inject_sync_idabort (RIPAS EMPTY: SEA, no REC exit)',
  },
  {
    name: 'ripas-empty-fetch-takes-sea',
    description: `a realm guest with exception vectors branches to a protected IPA outside every memslot (RIPAS EMPTY): the RMM injects a synchronous external abort on the fetch, ${SEA_DESC}`,
    target: RAM2_BASE,
    fetch: true,
    src: 'V14-A10; TF-RMM handle_instruction_abort (RIPAS EMPTY: SEA, no REC exit)',
  },
  {
    name: 'unprotected-fetch-takes-sea',
    description: `a realm guest with exception vectors branches to the first IPA of the unprotected half: the RMM injects a synchronous external abort on the fetch, ${SEA_DESC}`,
    target: UNPROTECTED_BASE,
    fetch: true,
    src: 'TF-RMM handle_instruction_abort (unprotected IPA: SEA, no REC exit)',
  },
];

const seaEc = (r: SeaRow): bigint => (r.fetch ? 0x21n : 0x25n);

function rmeSeaCheck(r: SeaRow): CheckDef {
  return check(
    'run',
    r.name,
    r.abis ? { generations: RME_ERA, abis: r.abis } : RME,
    r.description,
    r.initIpa ? ['init.ok', 'run.ok'] : ['run.ok'],
    async (c) => {
      const { vm, ram, v } = await realmWithRec(c);
      c.must(await ram.poke(ENTRY - RAM_BASE, seaHandlerGuest(r.target, r.fetch)));
      c.must(await vm.populate({ base: ENTRY, size: PAGE, ...measure(c) }));
      if (r.initIpa) c.expect(await vm.initIpa({ base: r.target, size: PAGE }), 'init.ok');
      const res = await activateAndRun(c, vm, v);
      c.expect(res, 'run.ok');
      seaTaken(c, res, r.src, seaEc(r));
    },
  );
}

function rmiSeaCheck(r: SeaRow): CheckDef {
  return check('run', r.name, { generations: RMI_ERA }, r.description, ['rmi.run-ok'], async (c) => {
    const rr = await rmiRealm(c, { vgic: true });
    c.must(await rr.ram.poke(0, seaHandlerGuest(r.target, r.fetch)));
    c.must(await populateAt(rr, RAM_BASE, PAGE));
    const res = await rr.vcpu!.run();
    c.expect(res, 'rmi.run-ok');
    seaTaken(c, res, r.src, seaEc(r));
  });
}

/**
 * A realm guest's load from protected RAM with nothing usable behind it, which KVM_RUN itself fails:
 * RAM2_BASE made RAM by INIT_IPA, with `slot` (what the VMM put there, if anything) before the vCPUs.
 */
interface RamFaultRow {
  name: string;
  abis?: readonly AbiName[];
  description: string;
  slot?: (c: CheckContext, vm: Vm) => Promise<void>;
  errno: keyof typeof ERRNO;
  src: string;
}

const RAM_FAULTS: RamFaultRow[] = [
  // a plain memslot is not private: the fault goes to user_mem_abort, which finds no VMA at the memslot's hva
  // and returns -EFAULT before it maps anything (RFC v1 16/28 and v10 20/43,
  // lore:20250820145606.180644-21-steven.price@arm.com, keep mmu.c's vma_lookup first)
  {
    name: 'protected-ram-without-user-memory-faults',
    description:
      "a plain memslot made with userspace_addr 0 (nothing mapped there), its page made RAM by INIT_IPA: the realm guest's first load from it fails KVM_RUN with -EFAULT",
    slot: async (c, vm) => {
      c.must(await vm.setMemoryRegion({ slot: 1, gpa: RAM2_BASE, size: PAGE }, undefined));
    },
    errno: 'EFAULT',
    src: 'mmu.c user_mem_abort (no VMA: -EFAULT); RFC v1 16/28, v10 20/43',
  },
  // the memslot is not private, so user_mem_abort takes the fault, finds the page and then refuses a protected IPA
  // with -EINVAL (v8 30/43, lore:20250416134208.383984-31-steven.price@arm.com: changed in v7 to keep every page
  // not from guest_memfd out of the protected half; v10 and v13 37/48 keep it)
  {
    name: 'protected-ram-plain-memslot-refused',
    abis: ['v7', 'v8', 'v9', 'v10'],
    description:
      "a plain memslot (no guest_memfd, its user page mapped) made RAM by INIT_RIPAS: the realm guest's load from it fails KVM_RUN with -EINVAL (v7+ keep every page not from guest_memfd out of the protected half)",
    slot: async (_c, vm) => {
      await vm.memslot({ slot: 1, gpa: RAM2_BASE, size: PAGE });
    },
    errno: 'EINVAL',
    src: 'v8 30/43 user_mem_abort (a protected IPA outside guest_memfd: -EINVAL, since v7)',
  },
  // no memslot: kvm_handle_guest_abort hands the abort to io_mem_abort; the RMM gives a protected IPA's abort no
  // syndrome (TF-RMM handle_data_abort, ESR_NONEMULATED_ABORT_MASK), and without KVM_CAP_ARM_NISV_TO_USER the
  // generic code fails with -ENOSYS: RFC v1 15/28 (lore:20230127112932.38045-16-steven.price@arm.com) leaves
  // io_mem_abort so; v6 18/43 (lore:20241212155610.76522-19-steven.price@arm.com) first injects an SEA for a REC there
  {
    name: 'protected-ram-outside-memslots',
    abis: ['rfc-v1', 'v2', 'v3', 'v4', 'v5'],
    description:
      "INIT_IPA makes a page RAM where no memslot is: the realm guest's load from it fails KVM_RUN with -ENOSYS (RFC v1..v5; v6+ inject an SEA instead, a guest exception no check may expect)",
    errno: 'ENOSYS',
    src: 'mmio.c io_mem_abort (no valid syndrome: -ENOSYS); RFC v1 15/28; v6 18/43 (the SEA branch, absent before)',
  },
];

function ramFaultCheck(r: RamFaultRow): CheckDef {
  return check('run', r.name, r.abis ? { generations: RME_ERA, abis: r.abis } : RME, r.description, ['init.ok'], async (c) => {
    const { vm, ram, v } = await realmWithRec(c, REALM_IPA_BITS, r.slot && ((vm) => r.slot!(c, vm)));
    c.must(await ram.poke(ENTRY - RAM_BASE, assemble(movImm(1, RAM2_BASE), ldr(2, 1, 0, 8), systemOff('smc'))));
    c.must(await vm.populate({ base: ENTRY, size: PAGE, ...measure(c) }));
    c.expect(await vm.initIpa({ base: RAM2_BASE, size: PAGE }), 'init.ok');
    const res = await activateAndRun(c, vm, v);
    c.ok(res.error === undefined && res.ret === -1 && res.errno === ERRNO[r.errno], `KVM_RUN ${describeOutcome(res)}, want -1 ${r.errno}`, r.src);
  });
}

/** The value the VMM leaves in shared memory, and the one the guest writes back beside it. */
const SHARED_IN = 0x123;
const SHARED_OUT = 0x456;

/**
 * Guest code: through the unprotected alias of `gpa` (its IPA with the top bit
 * set), read what the VMM wrote at +0x10 and write SHARED_OUT at +0x18; then
 * SYSTEM_OFF if it read SHARED_IN, SYSTEM_RESET if not.
 */
function sharedReadWriteThenOff(gpa: number): Uint8Array {
  const off = systemOff('smc');
  return assemble(
    movImm(1, UNPROTECTED_BASE + gpa),
    ldr(3, 1, 0x10, 8),
    movz(2, SHARED_OUT),
    str(2, 1, 0x18, 8),
    subImm(3, 3, SHARED_IN),
    cbnz(3, 4 * (1 + off.length)),
    off,
    psciCall(PSCI_SYSTEM_RESET, 'smc'),
  );
}

/** The guest's write through the alias reached the VMM's mapping of the memslot. */
async function sharedWriteSeen(c: CheckContext, ram: Mem, at: number): Promise<void> {
  const r = await ram.peek(at + 0x18, 8);
  const got = r.out && r.out.length >= 8 ? Buffer.from(r.out).readBigUInt64LE(0) : undefined;
  c.ok(
    got === BigInt(SHARED_OUT),
    `the VMM reads the guest's write through the unprotected alias, got ${got ?? 'nothing'}`,
    'v10 20/43 (realm_map_non_secure)',
  );
}

const le64 = (v: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
};

/** A realm whose first run fails in activation (vCPU 1 lacks PSCI_0_2), leaving it DEAD (V14-A9). */
async function deadRealm(c: CheckContext): Promise<RmiRealm> {
  // vCPU 1 is created but never initialised, so it has no PSCI_0_2 and its REC cannot be made;
  // initialising it without PSCI_0_2 is no longer possible (one feature set per VM since 6.7)
  const r = await rmiRealm(c);
  c.must(await populateAt(r, ENTRY, PAGE));
  await r.vm.createVcpu(1);
  c.must(await r.vm.createVgicV3());
  c.expect(await r.vcpu!.run(), 'rmi.first-run-rec-fails');
  return r;
}

export const checks = [
  // ---- RME era
  check('run', 'not-initialised', RME, 'KVM_RUN of a realm vCPU that never had KVM_ARM_VCPU_INIT', ['run.not-initialised'], async (c) => {
    const vm = await c.realmVm();
    const vcpu = await vm.createVcpu(0);
    c.expect(await vcpu.run(), 'run.not-initialised');
  }),
  check('run', 'before-create', RME, 'KVM_RUN of an initialised realm vCPU before CREATE', ['run.before-activate'], async (c) => {
    const vm = await c.realmVm();
    const v = await initVcpu(c, vm);
    c.expect(await v.run(), 'run.before-activate');
  }),
  check('run', 'rec-before-activate', RME, 'KVM_RUN of a finalised REC while the realm is NEW', ['run.before-activate'], async (c) => {
    const { vcpu } = await realmIn(c, 'NEW');
    c.expect(await vcpu!.run(), 'run.before-activate');
  }),
  check('run', 'without-rec', RME, 'KVM_RUN after ACTIVATE of a vCPU that was initialised but never finalised as a REC', ['run.no-rec'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    const v = await initVcpu(c, vm, 1);
    c.must(await vm.activate());
    c.expect(await v.run(), 'run.no-rec');
  }),
  check(
    'run',
    'vcpu-created-after-activate',
    RME,
    'a vCPU created after ACTIVATE can never run',
    ['run.vcpu-after-activate', 'rec.after-activate'],
    async (c) => {
      const { vm } = await realmIn(c, 'ACTIVE');
      const v = await initVcpu(c, vm, 1);
      c.expect(await v.finalizeRec(), 'rec.after-activate');
      c.expect(await v.run(), 'run.vcpu-after-activate');
    },
  ),
  check('run', 'mmio-to-unprotected-half', RME, 'a realm guest store to the unprotected half exits to the VMM as MMIO', ['run.mmio-unprotected'], async (c) => {
    const { vm, ram } = await realmWithRam(c);
    const early = vcpuFirst(c) ? await initVcpu(c, vm) : undefined;
    c.must(await vm.createRd());
    const v = early ?? (await initVcpu(c, vm));
    c.must(await v.finalizeRec());
    c.must(await ram.poke(ENTRY - RAM_BASE, mmioStoreThenOff(UNPROTECTED_BASE + 0x1000, 'smc')));
    c.must(await vm.populate({ base: ENTRY, size: PAGE, ...measure(c) }));
    c.must(await vm.activate());
    const r = await v.run();
    c.expect(r, 'run.mmio-unprotected');
    const ex = r.exit;
    c.ok(
      ex?.reason === 'MMIO' && 'physAddr' in ex && ex.physAddr === BigInt(UNPROTECTED_BASE + 0x1000),
      `exit is MMIO at the unprotected IPA, got ${ex?.reason ?? 'none'}`,
    );
  }),
  check(
    'run',
    'second-vcpu-without-rec',
    RME,
    'two vCPUs, only the first finalised as a REC: after ACTIVATE the first runs to SYSTEM_OFF, the second is refused',
    ['run.ok', 'run.no-rec'],
    async (c) => {
      const { vm, vcpu } = await realmIn(c, 'NEW');
      const v1 = await initVcpu(c, vm, 1);
      // v2+ (V10-V14): the first run needs an in-kernel irqchip, made once every vCPU exists
      if (c.abi.firstRunNeedsIrqchip === true) c.must(await vm.createVgicV3());
      c.must(await vm.activate());
      const r = await vcpu!.run();
      c.expect(r, 'run.ok', 'vCPU 0 is a REC');
      SYSOFF(c, r, 'R1-V9, V10-V13');
      c.expect(await v1.run(), 'run.no-rec', 'vCPU 1 is not');
    },
  ),
  // The realm's only vCPU lacks the REC bit: a second vCPU with other features than the first
  // cannot be initialised (one feature set per VM since 6.7; seen on the cca-host/v7 stack)
  check(
    'run',
    'without-rec-bit',
    { ...RME, abis: RME_AFTER_RFC },
    'KVM_RUN after ACTIVATE of a realm whose vCPU was initialised without the REC bit',
    ['run.no-rec-bit'],
    async (c) => {
      const { vcpu } = await realmIn(c, 'ACTIVE', { rec: false, features: [K.KVM_ARM_VCPU_PSCI_0_2] });
      c.expect(await vcpu!.run(), 'run.no-rec-bit');
    },
  ),
  check(
    'run',
    'no-irqchip-then-fixed',
    { ...RME, abis: RME_AFTER_RFC },
    'first KVM_RUN of an active realm without an irqchip fails; with the vGIC added it runs to SYSTEM_OFF',
    ['run.no-irqchip', 'run.ok'],
    async (c) => {
      const { vm, vcpu } = await realmIn(c, 'ACTIVE', { irqchip: false });
      c.expect(await vcpu!.run(), 'run.no-irqchip');
      c.must(await vm.createVgicV3());
      const r = await vcpu!.run();
      c.expect(r, 'run.ok', 'retried every run (V10-V14)');
      c.ok(r.exit?.reason === 'SYSTEM_EVENT', `exits with SYSTEM_EVENT, got ${r.exit?.reason ?? 'none'}`, 'V10-V14');
    },
  ),

  // ---- from the StrykerJS triage (bench/stryker-triage.md): a RAM page the VMM never populated
  check(
    'run',
    'unpopulated-ram-keeps-stores',
    RME,
    'INIT_IPA makes a never-populated page RAM: the realm guest stores to it and reads the value back, then powers off',
    ['init.ok', 'run.ok'],
    async (c) => {
      const { vm, ram, v } = await realmWithRec(c);
      c.must(await ram.poke(ENTRY - RAM_BASE, storeLoadThenOff(MID)));
      c.must(await vm.populate({ base: ENTRY, size: PAGE, ...measure(c) }));
      // RIPAS RAM, no contents: the first access faults it in from the memslot
      // (RFC v1: its own page; v2+: guest_memfd) with DATA_CREATE_UNKNOWN (R1-IP, V10-IR)
      c.expect(await vm.initIpa({ base: MID, size: PAGE }), 'init.ok');
      const r = await activateAndRun(c, vm, v);
      c.expect(r, 'run.ok');
      SYSOFF(c, r, 'R1-V9, V10-V13 (SYSTEM_RESET: the page lost the store)');
    },
  ),

  check(
    'run',
    'shared-alias-is-the-memslot',
    RME,
    'a realm guest reads and writes a shared page through the unprotected alias of its memslot (the IPA with the top bit set), without an exit',
    ['run.ok'],
    async (c) => {
      const { vm, ram } = await realmWithRam(c);
      // guest_memfd revisions: the page must be shared, or the access is a memory fault (v10 20/43)
      if (c.abi.privateMemory === 'guest_memfd') c.must(await vm.setMemoryAttributes(MID, PAGE, 0));
      c.must(await ram.poke(MID - RAM_BASE + 0x10, le64(SHARED_IN)));
      const early = vcpuFirst(c) ? await initVcpu(c, vm) : undefined;
      c.must(await vm.createRd());
      const v = early ?? (await initVcpu(c, vm));
      c.must(await v.finalizeRec());
      c.must(await ram.poke(ENTRY - RAM_BASE, sharedReadWriteThenOff(MID)));
      c.must(await vm.populate({ base: ENTRY, size: PAGE, ...measure(c) }));
      const r = await activateAndRun(c, vm, v);
      // the memslot is found with the top IPA bit clear: RFC v1 gpa_stolen_mask, v10 20/43 kvm_gpa_from_fault
      c.expect(r, 'run.ok');
      SYSOFF(c, r, "R1-V9, V10-V13 (SYSTEM_RESET: the guest did not read the VMM's value)");
      await sharedWriteSeen(c, ram, MID - RAM_BASE);
    },
  ),

  // ---- from the StrykerJS triage, third round (realm-common): what KVM_RUN returns for protected RAM with nothing behind it
  ...RAM_FAULTS.map(ramFaultCheck),

  // ---- guest exceptions: a synchronous external abort the RMM or KVM injects, taken at the guest's vectors
  ...SEA_RME.map(rmeSeaCheck),
  check(
    'run',
    'protected-alias-of-delegated-page',
    { generations: RME_ERA, abis: ['rfc-v1'] },
    "RFC v1: a second memslot over the user page behind a RAM page the realm already faulted in (so delegated): the realm guest's load through it fails KVM_RUN with -ENXIO",
    ['init.ok'],
    async (c) => {
      // slot 1 aliases the user page behind MID (KVM allows two memslots on one user address)
      const { vm, ram, v } = await realmWithRec(c, REALM_IPA_BITS, async (vm, ram) => {
        c.must(await vm.setMemoryRegion({ slot: 1, gpa: RAM2_BASE, size: PAGE }, ram, MID - RAM_BASE));
      });
      c.must(await ram.poke(ENTRY - RAM_BASE, assemble(movImm(1, MID), ldr(2, 1, 0, 8), movImm(1, RAM2_BASE), ldr(2, 1, 0, 8), systemOff('smc'))));
      c.must(await vm.populate({ base: ENTRY, size: PAGE, ...measure(c) }));
      c.expect(await vm.initIpa({ base: MID, size: PAGE }), 'init.ok');
      c.expect(await vm.initIpa({ base: RAM2_BASE, size: PAGE }), 'init.ok');
      const res = await activateAndRun(c, vm, v);
      // the first load delegates the user page (realm_map_protected, added by RFC v1 16/28,
      // lore:20230127112932.38045-17-steven.price@arm.com, called from the fault path of 17/28); the second
      // finds it delegated, reads the RTT entry of its own IPA (not ASSIGNED: no racing vCPU mapped it) and
      // gives up with -ENXIO, which the fault handler returns from KVM_RUN
      c.ok(
        res.error === undefined && res.ret === -1 && res.errno === ERRNO.ENXIO,
        `KVM_RUN ${describeOutcome(res)}, want -1 ENXIO`,
        'RFC v1 16/28 realm_map_protected (delegation refused, no matching entry: -ENXIO)',
      );
    },
  ),

  // ---- RMI era: the first KVM_RUN activates the realm
  check(
    'run',
    'first-run-then-populate',
    RMI,
    'populate, vGIC, first KVM_RUN to SYSTEM_OFF; then POPULATE is refused and no vCPU can be added',
    ['rmi.run-ok', 'rmi.populate-after-run', 'rmi.vcpu-after-run'],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      const l = await populateLoop(c, r, ENTRY, PAGE);
      c.ok(!l.error, `entry page populated${l.error ? `: ${l.error}` : ''}`, 'V14-PO19');
      const res = await r.vcpu!.run();
      c.expect(res, 'rmi.run-ok');
      SYSOFF(c, res, 'V14-A12');
      c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-after-run');
      c.expect((await r.vm.__createVcpu(1)).r, 'rmi.vcpu-after-run');
    },
  ),
  check('run', 'no-irqchip', RMI, 'first KVM_RUN of a populated realm without an in-kernel irqchip is refused', ['rmi.first-run-no-irqchip'], async (c) => {
    const r = await rmiRealm(c);
    c.must(await populateAt(r, ENTRY, PAGE));
    c.expect(await r.vcpu!.run(), 'rmi.first-run-no-irqchip');
  }),
  check(
    'run',
    'no-irqchip-then-fixed',
    RMI,
    'after a first KVM_RUN refused for want of an irqchip, the vGIC is added and the vCPU run again: v13+ activate the realm, v12 left it DEAD',
    ['rmi.first-run-no-irqchip', 'rmi.run-after-irqchip-added'],
    async (c) => {
      const r = await rmiRealm(c);
      c.must(await populateAt(r, ENTRY, PAGE));
      c.expect(await r.vcpu!.run(), 'rmi.first-run-no-irqchip', 'the precondition: the first run failed');
      c.must(await r.vm.createVgicV3());
      const res = await r.vcpu!.run();
      c.expect(res, 'rmi.run-after-irqchip-added');
      // where the run is promised to succeed, it must reach the guest's SYSTEM_OFF
      if (c.expectation('rmi.run-after-irqchip-added').errno === 0) SYSOFF(c, res, '§4.7 row 1');
    },
  ),
  check(
    'run',
    'populate-after-no-irqchip',
    RMI,
    'POPULATE after a first KVM_RUN refused for want of an irqchip: v13+ left the realm NEW, v12 left it DEAD',
    ['rmi.first-run-no-irqchip', 'rmi.populate-after-no-irqchip-run'],
    async (c) => {
      const r = await rmiRealm(c);
      c.must(await populateAt(r, ENTRY, PAGE));
      c.expect(await r.vcpu!.run(), 'rmi.first-run-no-irqchip', 'the precondition: the first run failed');
      c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-after-no-irqchip-run');
    },
  ),
  check(
    'run',
    'dead-realm-stays-dead',
    RMI,
    'activation fails (vCPU 1 was never initialised: no PSCI_0_2): the realm is DEAD, a second KVM_RUN must not revive it',
    ['rmi.first-run-rec-fails', 'rmi.second-run-after-failed-run'],
    async (c) => {
      const r = await deadRealm(c);
      c.expect(await r.vcpu!.run(), 'rmi.second-run-after-failed-run');
      c.expect(await r.vcpu!.run(), 'rmi.second-run-after-failed-run', 'and every later run');
    },
  ),
  check(
    'run',
    'populate-after-failed-run',
    RMI,
    'POPULATE after activation failed: the dead realm refuses it',
    ['rmi.first-run-rec-fails', 'rmi.populate-after-failed-run'],
    async (c) => {
      const r = await deadRealm(c);
      c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-after-failed-run');
    },
  ),
  // ---- from the StrykerJS triage (bench/stryker-triage.md): every member of a set, the offending one last
  check(
    'run',
    'unpopulated-ram-is-ram-every-memslot',
    { generations: RMI_ERA },
    'the first KVM_RUN makes every guest_memfd memslot RAM in full: the guest reads a never-populated page of the first memslot, then of the second, and powers off',
    ['rmi.run-ok'],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      await r.vm.privateMemslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE });
      // loads from RIPAS EMPTY memory would be an abort the RMM injects; RAM reads as zeroes
      const code = assemble(movImm(1, MID), ldr(2, 1, 0, 8), movImm(1, RAM2_BASE + RAM_SIZE - PAGE), ldr(2, 1, 0, 8), systemOff('smc'));
      c.must(await r.ram.poke(0, code));
      await runPopulatedToSystemOff(c, r, 'V14-A10 (RIPAS RAM over every guest_memfd memslot in full)');
    },
  ),
  check(
    'run',
    'unpopulated-ram-keeps-stores',
    { generations: RMI_ERA },
    'the first KVM_RUN makes guest_memfd RAM of a never-populated page: the realm guest stores to it and reads the value back, then powers off',
    ['rmi.run-ok'],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      c.must(await r.ram.poke(0, storeLoadThenOff(MID)));
      await runPopulatedToSystemOff(c, r, 'V14-A10, V14-A12 (SYSTEM_RESET: the page lost the store)');
    },
  ),
  check(
    'run',
    'shared-alias-is-the-memslot',
    { generations: RMI_ERA },
    'a realm guest reads and writes a shared page through the unprotected alias of its guest_memfd memslot, without an exit',
    ['rmi.run-ok'],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      // the page must be shared, or the access is a memory fault (kvm_gpa_from_fault and the private check kept from v10 20/43)
      c.must(await r.vm.setMemoryAttributes(MID, PAGE, 0));
      c.must(await r.ram.poke(MID - RAM_BASE + 0x10, le64(SHARED_IN)));
      c.must(await r.ram.poke(0, sharedReadWriteThenOff(MID)));
      await runPopulatedToSystemOff(c, r, "V14-A12 (SYSTEM_RESET: the guest did not read the VMM's value)");
      await sharedWriteSeen(c, r.ram, MID - RAM_BASE);
    },
  ),
  check(
    'run',
    'second-vcpu-cpu-on',
    { generations: RMI_ERA },
    'two vCPUs: vCPU 0 starts vCPU 1 with PSCI CPU_ON, which succeeds (only REC 0 is runnable after activation), and reports the PSCI result in an MMIO store; vCPU 1 then runs from the CPU_ON entry to SYSTEM_OFF',
    ['rmi.run-ok'],
    async (c) => {
      const r = await rmiRealm(c);
      const v1 = await r.vm.createVcpu(1);
      c.must(await v1.init([K.KVM_ARM_VCPU_PSCI_0_2]));
      c.must(await r.vm.createVgicV3());
      const entry1 = ENTRY + PAGE;
      const report = UNPROTECTED_BASE + 0x1000;
      // vCPU 0: CPU_ON(MPIDR 1, entry1, 0), store x0 (the PSCI result) to the unprotected half, spin
      const code0 = assemble(movImm(1, 1), movImm(2, entry1), movImm(3, 0), psciCall(K.PSCI_0_2_FN64_CPU_ON, 'smc'), movImm(1, report), str(0, 1, 0, 8), b(0));
      c.must(await r.ram.poke(ENTRY - RAM_BASE, code0));
      c.must(await r.ram.poke(entry1 - RAM_BASE, assemble(systemOff('smc'))));
      const l = await populateLoop(c, r, ENTRY, 2 * PAGE);
      c.ok(!l.error, `both code pages populated${l.error ? `: ${l.error}` : ''}`, 'V14-PO19');
      const res0 = await r.vcpu!.run();
      c.expect(res0, 'rmi.run-ok', 'vCPU 0 activates the realm');
      const ex = res0.exit;
      const ret = ex?.reason === 'MMIO' && 'data' in ex ? Buffer.from(ex.data).readBigUInt64LE(0) : undefined;
      // V14-A9: only vCPU 0's REC is made runnable, so CPU_ON of vCPU 1 is PSCI SUCCESS (0), not ALREADY_ON (-4)
      c.ok(
        ex?.reason === 'MMIO' && 'physAddr' in ex && ex.physAddr === BigInt(report) && ret === 0n,
        `vCPU 0 exits with MMIO at the report IPA carrying CPU_ON's result 0, got ${ex?.reason ?? 'none'}${ret !== undefined ? ` ${ret}` : ''}`,
        'V14-A9 (only vcpu_id 0 RUNNABLE), V14-R5 (KVM completes PSCI)',
      );
      const res1 = await v1.run();
      c.expect(res1, 'rmi.run-ok', 'vCPU 1 after CPU_ON');
      SYSOFF(c, res1, 'V14-R5 (the target REC starts at the CPU_ON entry)');
    },
  ),
  // ---- from the StrykerJS triage (bench/stryker-triage.md), third round: realm-common
  check(
    'run',
    'second-cpu-on-already-on',
    { generations: RMI_ERA },
    'vCPU 0 issues PSCI CPU_ON of vCPU 1 twice before vCPU 1 runs: the first succeeds, the second is ALREADY_ON (the REC was made runnable by the first); vCPU 1 then runs to SYSTEM_OFF',
    ['rmi.run-ok'],
    async (c) => {
      const r = await rmiRealm(c);
      const v1 = await r.vm.createVcpu(1);
      c.must(await v1.init([K.KVM_ARM_VCPU_PSCI_0_2]));
      c.must(await r.vm.createVgicV3());
      const entry1 = ENTRY + PAGE;
      const report = UNPROTECTED_BASE + 0x1000;
      const cpuOn = [movImm(1, 1), movImm(2, entry1), movImm(3, 0), psciCall(K.PSCI_0_2_FN64_CPU_ON, 'smc'), movImm(1, report)];
      // vCPU 0: CPU_ON, store its result at report; CPU_ON again, store its result at report + 8; spin
      c.must(await r.ram.poke(ENTRY - RAM_BASE, assemble(...cpuOn, str(0, 1, 0, 8), ...cpuOn, str(0, 1, 8, 8), b(0))));
      c.must(await r.ram.poke(entry1 - RAM_BASE, assemble(systemOff('smc'))));
      const l = await populateLoop(c, r, ENTRY, 2 * PAGE);
      c.ok(!l.error, `both code pages populated${l.error ? `: ${l.error}` : ''}`, 'V14-PO19');
      const results: (bigint | undefined)[] = [];
      for (const at of [report, report + 8]) {
        const res = await r.vcpu!.run();
        c.expect(res, 'rmi.run-ok', `vCPU 0 up to its store at 0x${at.toString(16)}`);
        const ex = res.exit;
        results.push(
          ex?.reason === 'MMIO' && 'physAddr' in ex && 'data' in ex && ex.physAddr === BigInt(at) ? Buffer.from(ex.data).readBigUInt64LE(0) : undefined,
        );
      }
      // the first CPU_ON: PSCI SUCCESS (0), as in run/second-vcpu-cpu-on (V14-A9: only REC 0 runnable).
      // the second: KVM finds vCPU 1 not stopped and still completes with SUCCESS (kvm_psci_vcpu_on of
      // v12 27/46, lore:20251217101125.91098-28-steven.price@arm.com, kept to v14 32/44); the RMM answers
      // ALREADY_ON for a target REC already runnable (TF-RMM runtime/rsi/psci.c complete_psci_cpu_on)
      c.ok(
        results[0] === 0n && results[1] === BigInt.asUintN(64, -4n),
        `CPU_ON results 0 then ALREADY_ON (-4), got ${results.map((x) => (x === undefined ? 'no MMIO exit' : BigInt.asIntN(64, x).toString())).join(', ')}`,
        'V14-A9, V14-R5; TF-RMM complete_psci_cpu_on (ALREADY_ON for a runnable REC)',
      );
      const res1 = await v1.run();
      c.expect(res1, 'rmi.run-ok', 'vCPU 1 after CPU_ON');
      SYSOFF(c, res1, 'V14-R5 (the target REC starts at the CPU_ON entry)');
    },
  ),
  check(
    'run',
    'shared-alias-without-user-memory-faults',
    { generations: RMI_ERA },
    'a second guest_memfd memslot made with userspace_addr 0 (nothing mapped there) and its page shared: a realm guest read through its unprotected alias fails KVM_RUN with -EFAULT',
    [],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      // a guest_memfd memslot needs no user mapping for its private side; its shared side is the user
      // memory at userspace_addr, here none (0 is page-aligned and access_ok, so the memslot is taken)
      const g = c.must(await r.vm.__createGuestMemfd(RAM_SIZE));
      c.must(await r.vm.setMemoryRegion2({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE }, undefined, { handle: g.gmem! }));
      c.must(await r.vm.setMemoryAttributes(RAM2_BASE, PAGE, 0));
      c.must(await r.ram.poke(0, sharedReadWriteThenOff(RAM2_BASE)));
      c.must(await populateAt(r, RAM_BASE, PAGE));
      const res = await r.vcpu!.run();
      // the gfn is shared, so private_memslot_fault hands the fault to the normal path (-EAGAIN there), where
      // user_mem_abort finds no VMA at the memslot's hva and returns -EFAULT (v10 20/43,
      // lore:20250820145606.180644-21-steven.price@arm.com, kept in the RMI postings; mmu.c vma_lookup)
      c.ok(
        res.error === undefined && res.ret === -1 && res.errno === ERRNO.EFAULT,
        `KVM_RUN ${describeOutcome(res)}, want -1 EFAULT`,
        'v10 20/43 private_memslot_fault, mmu.c user_mem_abort (no VMA: -EFAULT)',
      );
    },
  ),
  check(
    'run',
    'shared-alias-of-gpa-0',
    { generations: RMI_ERA },
    'a shared page at guest physical address 0: the realm guest reads it at the very first unprotected IPA (the top IPA bit alone) and finds what the VMM wrote',
    ['rmi.run-ok'],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      const low = await r.vm.privateMemslot({ slot: 1, gpa: 0, size: PAGE }, { private: false });
      c.must(await low.mem.poke(0, le64(SHARED_IN)));
      // the first unprotected IPA is the shared alias of gpa 0: KVM looks the memslot up with the top
      // bit clear (v10 20/43 kvm_gpa_from_fault, lore:20250820145606.180644-21-steven.price@arm.com)
      const off = systemOff('smc');
      const code = assemble(
        movImm(1, UNPROTECTED_BASE),
        ldr(3, 1, 0, 8),
        subImm(3, 3, SHARED_IN),
        cbnz(3, 4 * (1 + off.length)),
        off,
        psciCall(PSCI_SYSTEM_RESET, 'smc'),
      );
      c.must(await r.ram.poke(0, code));
      await runPopulatedToSystemOff(c, r, "V14-A12 (SYSTEM_RESET: the guest did not read the VMM's value at IPA 2^(bits-1))");
    },
  ),
  check(
    'run',
    'shared-alias-store-to-read-only-memslot',
    { generations: RMI_ERA },
    'a plain read-only memslot beside the realm RAM: a realm guest store through its unprotected alias is not taken into the page but exits to the VMM as MMIO (a write)',
    ['rmi.run-ok'],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      const ro = await r.vm.memslot({ slot: 1, gpa: RAM2_BASE, size: PAGE, flags: KVM_MEM_READONLY });
      c.must(await r.ram.poke(0, mmioStoreThenOff(UNPROTECTED_BASE + RAM2_BASE + 0x10, 'smc')));
      c.must(await populateAt(r, RAM_BASE, PAGE));
      const res = await r.vcpu!.run();
      c.expect(res, 'rmi.run-ok');
      // a write fault on a memslot without write permission goes to io_mem_abort (mmu.c kvm_handle_guest_abort,
      // kept for realm shared-half faults by v10 20/43 and the RMI postings): an MMIO exit, the page untouched.
      // Realms only hide the CAP: read-only memslots stay valid, their writes "trapped as MMIO"
      // (v8 33/43, lore:20250416134208.383984-34-steven.price@arm.com)
      const ex = res.exit;
      c.ok(
        ex?.reason === 'MMIO' && 'isWrite' in ex && ex.isWrite,
        `exit is an MMIO write, got ${ex?.reason ?? 'none'}`,
        'mmu.c kvm_handle_guest_abort (write_fault && !writable: io_mem_abort); v8 33/43; v10 20/43',
      );
      const page = await ro.peek(0x10, 4);
      c.ok(page.out !== undefined && Buffer.from(page.out).readUInt32LE(0) === 0, 'the read-only memslot kept its zeroes', 'KVM_MEM_READONLY');
    },
  ),
  check(
    'run',
    'shared-alias-of-private-page-faults',
    { generations: RMI_ERA },
    'a realm guest reads through the unprotected alias of a guest_memfd page the VMM left private: KVM_RUN fails with -EFAULT (a memory fault exit for the VMM to convert the page)',
    [],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      // no KVM_SET_MEMORY_ATTRIBUTES: MID stays private, as rmiRealm made the whole memslot
      c.must(await r.ram.poke(0, sharedReadWriteThenOff(MID)));
      c.must(await populateAt(r, RAM_BASE, PAGE));
      const res = await r.vcpu!.run();
      // private_memslot_fault (v10 20/43, lore:20250820145606.180644-21-steven.price@arm.com, kept in the RMI
      // postings): a shared-alias fault on a gfn whose attribute is PRIVATE prepares KVM_EXIT_MEMORY_FAULT and
      // returns -EFAULT from KVM_RUN (Documentation/virt/kvm/api.rst: the exit comes with -EFAULT)
      c.ok(
        res.error === undefined && res.ret === -1 && res.errno === ERRNO.EFAULT,
        `KVM_RUN ${describeOutcome(res)}, want -1 EFAULT`,
        'v10 20/43 private_memslot_fault; api.rst KVM_EXIT_MEMORY_FAULT',
      );
    },
  ),
  ...SEA_RMI.map(rmiSeaCheck),
];
