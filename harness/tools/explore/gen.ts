// What exploration sends: sequences of scenario steps (harness/core/steps.ts),
// each one uAPI call or a VMM's small group of them. A sequence is a real
// VMM launch order of the revision (fixtures/launch-orders/) with steps
// dropped, their arguments replaced by boundary values, and random calls
// inserted between them and after them: independent random calls almost
// never reach an ACTIVE realm or a REC that runs, a mutated launch order
// reaches every state on the way there and one step past it.
import fc from 'fast-check';
import { join } from 'node:path';
import type { AbiProfile } from '../../../profiles/types.ts';
import { CAP } from '../../../uapi/kvm-uapi.ts';
import { loadScenarioDir, type Step } from '../../core/steps.ts';

const PAGE = 0x1000n;
const hex = (v: bigint): string => `0x${v.toString(16)}`;
const pick = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);

/** Addresses: page-aligned and not, zero, inside and at both ends of the launch orders' slot, at and past the IPA limits (40, 41, 48 bits), wrapping. */
const GPAS = [
  0n,
  PAGE,
  0x7ffff000n,
  0x80000000n,
  0x80000001n,
  0x80000800n,
  0x80001000n,
  0x80010000n,
  0x80100000n,
  0x801ff000n,
  0x80200000n,
  0x80400000n,
  (1n << 40n) - PAGE,
  1n << 40n,
  (1n << 41n) - PAGE,
  1n << 41n,
  1n << 48n,
  (1n << 64n) - PAGE,
  (1n << 64n) - 1n,
].map(hex);
/** Sizes: zero, one byte, one page and one byte more, a 2 MB block and a page past it, past the IPA limit, wrapping from any base. */
const SIZES = [0n, 1n, 0xfffn, PAGE, PAGE + 1n, 2n * PAGE, 0x10000n, 0x1ff000n, 0x200000n, 0x201000n, 0x400000n].map(hex);
/**
 * Sizes reaching the IPA limit or wrapping. Rarer: a range that starts valid
 * and runs to the limit makes the kernel (and the emulator) walk every block
 * of it, thousands of RMI calls in one ioctl.
 */
const HUGE_SIZES = [1n << 40n, (1n << 64n) - PAGE, (1n << 64n) - 1n].map(hex);
/** Bases of a range: every boundary address, and more often the launch orders' RAM (its start, a page in, its last page, the next 2 MB). */
const base = (): fc.Arbitrary<string> =>
  fc.oneof({ weight: 3, arbitrary: pick(GPAS) }, { weight: 1, arbitrary: pick(['0x80000000', '0x80001000', '0x801ff000', '0x80200000']) });
const size = (): fc.Arbitrary<string> => fc.oneof({ weight: 12, arbitrary: pick(SIZES) }, { weight: 1, arbitrary: pick(HUGE_SIZES) });
/** Memslot sizes: what a mapping can back (the policy's limit), aligned and not. */
const SLOT_SIZES = [PAGE, 0x1800n, 2n * PAGE, 0x200000n, 0x400000n].map(hex);
const SLOT_GPAS = [
  0n,
  0x80000000n,
  0x80000800n,
  0x80200000n,
  0x801ff000n,
  (1n << 40n) - PAGE,
  (1n << 40n) - 0x200000n,
  1n << 40n,
  (1n << 41n) - 0x200000n,
  1n << 41n,
].map(hex);
/** IPA sizes of KVM_CREATE_VM: the default (0), below the minimum, the launch orders', the host's, past it. */
const IPAS = [0, 31, 32, 33, 40, 41, 44, 48, 49, 52, 63];
const VCPU_IDS = [0, 0, 0, 1, 1, 2];
const FEATURE_SETS: readonly (string | number)[][] = [
  ['PSCI_0_2'],
  ['PSCI_0_2'],
  ['PSCI_0_2', 'REC'],
  ['REC'],
  [],
  ['POWER_OFF', 'PSCI_0_2'],
  ['PSCI_0_2', 'SVE'],
  ['PSCI_0_2', 'PMU_V3'],
  [7],
  [8],
  [9],
  ['EL1_32BIT'],
];
const FEATURE_NAMES = new Set(['POWER_OFF', 'EL1_32BIT', 'PSCI_0_2', 'PMU_V3', 'SVE', 'REC']);
const PCS = [0x80000000n, 0n, 0x80000002n, 0x80001000n].map(hex);
/** Caps a realm VM hides or changes (V10-CE2), the realm's own, the guest_memfd era's, one nobody has. */
const CAPS: (number | 'realm')[] = [
  'realm',
  23,
  81,
  99,
  100,
  CAP.KVM_CAP_ARM_VM_IPA_SIZE,
  CAP.KVM_CAP_ARM_SVE,
  CAP.KVM_CAP_GUEST_MEMFD,
  CAP.KVM_CAP_MEMORY_ATTRIBUTES,
  CAP.KVM_CAP_ARM_PMU_V3,
  300,
  240,
  9999,
];
const PAYLOADS = ['system-off-smc', 'system-off-hvc', 'mmio-store-then-off'];

type StepArb = fc.Arbitrary<Step>;

/** A step kind with its argument distributions, for this revision. */
function stepKinds(abi: AbiProfile): Record<string, StepArb> {
  const vcpu = pick(VCPU_IDS);
  const k: Record<string, StepArb> = {
    check_extension: fc.record({ do: fc.constant('check_extension'), cap: pick(CAPS), on: pick(['kvm', 'vm', 'vm']) }),
    create_vm: fc.record({ do: fc.constant('create_vm'), ipa: pick(IPAS), type: pick(vmTypes(abi)) }),
    memslot: fc.record({ do: fc.constant('memslot'), slot: pick([0, 0, 1, 2, 32767, 32768]), gpa: pick(SLOT_GPAS), size: pick(SLOT_SIZES) }),
    create_vcpu: fc.record({ do: fc.constant('create_vcpu'), id: pick([...VCPU_IDS, 511, 512]) }),
    vcpu_init: fc.record({
      do: fc.constant('vcpu_init'),
      vcpu,
      features: pick(FEATURE_SETS.filter((f) => abi.recFeature !== undefined || !f.includes('REC'))),
    }),
    set_pc: fc.record({ do: fc.constant('set_pc'), vcpu, pc: pick(PCS) }),
    enable_cap: fc.record({
      do: fc.constant('enable_cap'),
      cap: pick(['realm', ...(abi.staleCaps ?? []), 300]),
      args: fc.tuple(fc.integer({ min: 0, max: 5 }), pick([0, 0x10])),
    }),
  };
  if (abi.generation === 'absent') return k;
  k.run = fc.record({ do: fc.constant('run'), vcpu });
  k.write_guest = fc.record({ do: fc.constant('write_guest'), gpa: pick(['0x80000000', '0x80001000', '0x80100000']), payload: pick(PAYLOADS) });
  k.sve_vls = fc.record({ do: fc.constant('sve_vls'), vcpu, vqs: pick([[1], [1, 2, 4], [], [16], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]]) });
  if (abi.recFeature !== undefined) k.finalize_rec = fc.record({ do: fc.constant('finalize_rec'), vcpu });
  if (abi.privateMemory === 'guest_memfd') {
    k.private_memslot = fc.record({ do: fc.constant('private_memslot'), slot: pick([0, 1, 2]), gpa: pick(SLOT_GPAS), size: pick(SLOT_SIZES) });
    k.vgic = fc.constant({ do: 'vgic' });
  }
  if (abi.psciComplete)
    k.psci_complete = fc.record({ do: fc.constant('psci_complete'), vcpu, target_mpidr: pick([0, 1, 2, 0x100]), status: pick([0, 1, 0xffffffff]) });
  if (abi.generation === 'rme') {
    k.config = fc.oneof(
      fc.record({ do: fc.constant('config'), item: fc.constant('HASH_ALGO'), algo: pick(['SHA256', 'SHA512', 0, 2, 255]) }),
      fc.record({ do: fc.constant('config'), item: fc.constant('RPV') }),
      fc.record({ do: fc.constant('config'), item: fc.constant('SVE'), sve_vq: pick([0, 1, 16, 17]) }),
      fc.record({ do: fc.constant('config'), item: fc.constant('DBG'), num_brps: pick([0, 2, 16, 17]), num_wrps: pick([0, 2, 16, 17]) }),
      fc.record({ do: fc.constant('config'), item: fc.constant('PMU'), num_pmu_cntrs: pick([0, 1, 31, 32]) }),
      fc.record({ do: fc.constant('config'), item: pick(['5', '99', '0xffffffff']) }),
      fc.record({ do: fc.constant('config'), item: fc.constant('RPV'), bad_pointer: fc.constant(true) }),
    );
    k.create_rd = fc.constant({ do: 'create_rd' });
    k.init_ipa = fc.record({ do: fc.constant('init_ipa'), base: base(), size: size() });
    k.populate = fc.record({
      do: fc.constant('populate'),
      base: base(),
      size: size(),
      ...((abi.sizes.populateArgs ?? 0) >= 32 ? { flags: pick(['MEASURE', 0, 2]), reserved: pick([[], [], [1], [0, 0, 0x80000000]]) } : {}),
    });
    k.activate = fc.constant({ do: 'activate' });
  }
  if (abi.rmiPopulate) {
    k.rmi_populate_once = fc.record({
      do: fc.constant('rmi_populate_once'),
      base: base(),
      size: size(),
      flags: pick(['MEASURE', 0, 2]),
      reserved: pick([0, 0, 1]),
      src_offset: pick([0, 0, 0x800, 0x1000]),
    });
    k.rmi_populate = fc.record({
      do: fc.constant('rmi_populate'),
      base: pick(['0x80000000', '0x80001000', '0x801ff000']),
      size: pick(['0x1000', '0x2000', '0x10000']),
      flags: pick(['MEASURE', 0]),
    });
  }
  return k;
}

/** The VM types a VMM might pass: normal, the revision's realm type, realm with the PROTECTED bit, a stranger type bit. */
function vmTypes(abi: AbiProfile): (string | number)[] {
  const t: (string | number)[] = ['realm', 'realm', 'normal'];
  if (abi.vmTypeProtected) t.push((abi.vmTypeRealm | abi.vmTypeProtected) >>> 0);
  // other revisions' realm type bits: what a kernel of this revision makes of them
  t.push(1 << 8, 1 << 9, 1 << 10);
  return t;
}

/** The launch orders of this revision, without their expectations: the skeletons sequences are made from. */
export function launchOrders(abi: AbiProfile, root: string): Step[][] {
  const orders = loadScenarioDir(join(root, 'fixtures', 'launch-orders')).filter((o) =>
    o.abi ? o.abi.includes(abi.name) : o.generations ? o.generations.includes(abi.generation) : true,
  );
  const strip = (s: Step): Step => {
    const { expect: _e, why: _w, exit: _x, ...rest } = s;
    return rest;
  };
  if (orders.length) return orders.map((o) => o.steps.map(strip));
  // a kernel without the series: what a VMM does with a normal VM, the base the realm calls are tried on
  return [
    [
      { do: 'create_vm', type: 'normal', ipa: 40 },
      { do: 'memslot', slot: 0, gpa: '0x80000000', size: '0x200000' },
      { do: 'create_vcpu', id: 0 },
      { do: 'vcpu_init', vcpu: 0, features: ['PSCI_0_2'] },
      { do: 'set_pc', vcpu: 0, pc: '0x80000000' },
    ],
  ];
}

/** The steps a VMM repeats for every vCPU it runs. */
const PER_VCPU = new Set(['vcpu_init', 'set_pc', 'sve_vls', 'finalize_rec', 'run']);

/**
 * The launch order with a second vCPU, as VMMs start an SMP guest: each vCPU
 * created and initialised (and finalised as a REC) before the realm is
 * activated, then each one run. A rule checked of the first vCPU only shows
 * on the second.
 */
function withSecondVcpu(order: readonly Step[]): Step[] | undefined {
  if (!order.some((s) => s.do === 'create_vcpu' && Number(s.id) === 0)) return undefined;
  return order.flatMap((s) => {
    if (s.do === 'create_vcpu' && Number(s.id) === 0) return [s, { ...s, id: 1 }];
    if (PER_VCPU.has(s.do) && Number(s.vcpu) === 0) return [s, { ...s, vcpu: 1 }];
    return [s];
  });
}

/**
 * The launch order with its guest RAM in two memslots, the second right
 * after the first (VMMs split RAM around holes and at NUMA nodes): a range
 * that crosses from one to the other shows what a call does at a memslot's end.
 */
function withSecondMemslot(order: readonly Step[]): Step[] | undefined {
  const first = order.findIndex((s) => s.do === 'private_memslot' || s.do === 'memslot');
  if (first < 0) return undefined;
  const m = order[first]!;
  let next: Step;
  try {
    next = { ...m, slot: Number(m.slot) + 1, gpa: hex(BigInt(String(m.gpa)) + BigInt(String(m.size))) };
  } catch {
    return undefined;
  }
  return [...order.slice(0, first + 1), next, ...order.slice(first + 1)];
}

/** Whether the revision can express a step of a launch order (features named, REC only where it exists). */
function fits(abi: AbiProfile, s: Step): boolean {
  if (s.do === 'vcpu_init' && Array.isArray(s.features))
    return s.features.every((f) => typeof f === 'number' || (FEATURE_NAMES.has(String(f)) && (f !== 'REC' || abi.recFeature !== undefined)));
  return true;
}

/** The same memslot with the other backing: guest RAM without guest_memfd is what populate must refuse (V10-PO7). */
function twin(s: Step): { weight: number; arbitrary: StepArb }[] {
  if (s.do === 'private_memslot') return [{ weight: 1, arbitrary: fc.constant({ ...s, do: 'memslot' }) }];
  return [];
}

export interface GenOptions {
  /** Longest tail of random steps after the launch order. */
  maxTail?: number;
}

/** Sequences of steps for `abi`: a mutated launch order with random steps in and after it. */
export function sequenceArb(abi: AbiProfile, orders: readonly Step[][], o: GenOptions = {}): fc.Arbitrary<Step[]> {
  const kinds = stepKinds(abi);
  const names = Object.keys(kinds);
  // every kind equally likely, whatever the size of its argument space
  const noise: StepArb = fc.constantFrom(...names).chain((n) => kinds[n]!);
  const sometimes = <T>(a: fc.Arbitrary<T[]>): fc.Arbitrary<T[]> => fc.oneof({ weight: 5, arbitrary: fc.constant([] as T[]) }, { weight: 2, arbitrary: a });
  // every launch order as it is, with a second vCPU, with its RAM in two memslots
  const usable = orders
    .map((ord) => ord.filter((s) => fits(abi, s)))
    .flatMap((ord) => [ord, withSecondVcpu(ord), withSecondMemslot(ord)].filter((o): o is Step[] => o !== undefined));
  return fc.integer({ min: 0, max: usable.length - 1 }).chain((i) => {
    const skel = usable[i]!;
    const slot = (s: Step) =>
      fc.record({
        keep: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
        step: kinds[s.do] ? fc.oneof({ weight: 6, arbitrary: fc.constant(s) }, { weight: 1, arbitrary: kinds[s.do]! }, ...twin(s)) : fc.constant(s),
        noise: sometimes(fc.array(noise, { minLength: 1, maxLength: 3 })),
      });
    // the launch order stops at a random point, so every state is the last one for some sequence
    const cut = fc.oneof(fc.constant(skel.length), fc.integer({ min: 0, max: skel.length }));
    return fc.tuple(cut, fc.tuple(...skel.map(slot)), fc.array(noise, { maxLength: o.maxTail ?? 8 }), fc.boolean()).map(([n, slots, tail, echo]) => {
      const out: Step[] = [];
      for (const s of slots.slice(0, n)) {
        if (s.keep) out.push(s.step);
        out.push(...s.noise);
      }
      const seq = [...out, ...tail];
      return echo ? withEchoes(seq) : seq;
    });
  });
}

/**
 * After every populate of more than a page, the same populate of its last
 * page and of its first: a call that returned success but skipped a page (or
 * a refusal that populated too much or too little) only shows in what follows, as in the engine's
 * afterwards probe (harness/core/afterwards.ts).
 */
function withEchoes(seq: Step[]): Step[] {
  const out: Step[] = [];
  for (const st of seq) {
    out.push(st);
    if (st.do !== 'populate' && st.do !== 'rmi_populate_once') continue;
    let base: bigint;
    let size: bigint;
    try {
      base = BigInt(String(st.base));
      size = BigInt(String(st.size));
    } catch {
      continue;
    }
    if (size <= 0x1000n || size > 0x40000000n) continue;
    const last = (base + size - 1n) & ~0xfffn;
    out.push({ ...st, base: `0x${last.toString(16)}`, size: '0x1000' });
    // and of its first page: a refusal at a later page leaves the pages before it populated (R1-PO15, V10-PO12)
    if ((base & 0xfffn) === 0n) out.push({ ...st, base: `0x${base.toString(16)}`, size: '0x1000' });
  }
  return out;
}
