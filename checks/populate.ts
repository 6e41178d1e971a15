// POPULATE: the initial image copied into the realm, in both eras.
// RME era: POPULATE_REALM (ranges, flags, reserved words, guest_memfd, the
// args pointer, the states where it is wrong). RMI era: KVM_ARM_RMI_POPULATE
// (progress, the in/out struct of v13+, the source address, the memslot
// kind, validation). Where a stimulus exists in both eras it has one name.
import type { RangeArgs } from '../profiles/encode.ts';
import { getProfile } from '../profiles/index.ts';
import type { CheckContext } from '../harness/core/engine.ts';
import type { CallResult } from '../harness/core/calls.ts';
import { BAD_USER_POINTER } from '../harness/core/dsl/index.ts';
import { PROT_READ } from '../uapi/kvm-uapi.ts';
import { BLOCK_2M, IPA_END, PAGE, RAM2_BASE, RAM_BASE, RAM_SIZE, UNPROTECTED_BASE } from '../fixtures/layout.ts';
import { measure, realmIn, rmeIn, type RmeState } from './setup/rme-realm.ts';
import { MEASURE, populateAt, populateLoop, rmiRealm, SYSOFF } from './setup/rmi-realm.ts';
import { RME_AFTER_RFC, RME_ERA, RMI_ERA } from './eras.ts';
import { b as branch, assemble, systemOff } from '../fixtures/guest.ts';
import { check, stimuli, type Row } from './table.ts';

const RME = { generations: RME_ERA };
const RMI = { generations: RMI_ERA };
const MID = RAM_BASE + 0x100000;

// ---- RME era: POPULATE_REALM, MEASURE where the revision has flags (v2+)

type RmeArgs = RangeArgs | 'bad pointer';

async function populate(c: CheckContext, state: RmeState, a: RmeArgs): Promise<CallResult> {
  const { vm } = await rmeIn(c, state);
  return a === 'bad pointer' ? vm.realmSubcmd('POPULATE', BAD_USER_POINTER, { args: 'bad pointer' }) : vm.populate({ ...measure(c), ...a });
}

const RME_ROWS: Row<RmeState, RmeArgs>[] = [
  { name: 'one-page', description: 'POPULATE one aligned page inside the RAM memslot', state: 'new', args: { base: MID, size: PAGE }, expect: 'populate.ok' },
  {
    name: 'whole-tail-of-memslot',
    description: 'POPULATE up to the last byte of the memslot',
    state: 'new',
    args: { base: RAM_BASE + RAM_SIZE - 4 * PAGE, size: 4 * PAGE },
    expect: 'populate.ok',
  },
  {
    name: 'unaligned-base',
    description: 'POPULATE with base 16 bytes past a page',
    state: 'new',
    args: { base: MID + 0x10, size: PAGE },
    expect: 'populate.unaligned-base',
  },
  { name: 'unaligned-size', description: 'POPULATE with size 0x800', state: 'new', args: { base: MID, size: 0x800 }, expect: 'populate.unaligned-size' },
  {
    name: 'wrap',
    description: 'POPULATE with base + size wrapping past 2^64',
    state: 'new',
    args: { base: MID, size: 2n ** 64n - BigInt(PAGE) },
    expect: 'populate.wrap',
  },
  // the wrap is refused before the memslot lookup (R1-PO4 before R1-PO5; V10-PO4 before V10-PO7)
  {
    name: 'wrap-outside-memslots',
    description: 'POPULATE with base + size wrapping past 2^64 and a base no memslot covers',
    state: 'new',
    args: { base: 0x40000000, size: 2n ** 64n - 0x40000000n + BigInt(PAGE) },
    expect: 'populate.wrap',
  },
  {
    name: 'no-memslot',
    description: 'POPULATE where no memslot covers base',
    state: 'new',
    args: { base: 0x40000000, size: PAGE },
    expect: 'populate.no-memslot',
  },
  {
    name: 'zero-size-no-memslot',
    description: 'POPULATE of size 0 where no memslot covers base',
    state: 'new',
    args: { base: 0x40000000, size: 0 },
    expect: 'populate.zero-size-no-memslot',
  },
  { name: 'zero-size', description: 'POPULATE of size 0 inside the memslot', state: 'new', args: { base: MID, size: 0 }, expect: 'populate.zero-size' },
  {
    name: 'beyond-ipa',
    description: 'POPULATE at the first IPA past the IPA size',
    state: 'new',
    args: { base: IPA_END, size: PAGE },
    expect: 'populate.beyond-ipa',
  },
  {
    name: 'past-memslot-end',
    description: 'POPULATE running one page past the end of its memslot',
    state: 'new',
    args: { base: RAM_BASE + RAM_SIZE - PAGE, size: 2 * PAGE },
    expect: 'populate.past-memslot-end',
  },
  { name: 'bad-pointer', description: 'POPULATE whose args pointer faults', state: 'new', args: 'bad pointer', expect: 'populate.bad-pointer' },
  // the states where POPULATE is wrong
  {
    name: 'in-none',
    description: 'POPULATE with the realm in state NONE',
    state: 'none',
    args: { base: RAM_BASE + 0x1000, size: PAGE },
    expect: 'populate.before-create',
  },
  {
    name: 'in-active',
    description: 'POPULATE with the realm in state ACTIVE',
    state: 'active',
    args: { base: RAM_BASE + 0x1000, size: PAGE },
    expect: 'populate.after-activate',
  },
  {
    name: 'on-normal-vm',
    description: 'POPULATE on a normal VM',
    state: 'normal-vm',
    args: { base: RAM_BASE + 0x1000, size: PAGE },
    expect: 'populate.normal-vm',
  },
];

/** v2..v10: the MEASURE flag and 32-byte args with reserved words. */
const RME_FLAGS_ROWS: Row<RmeState, RmeArgs>[] = [
  {
    name: 'unknown-flag-bit1',
    description: 'POPULATE with flags 2: only MEASURE is defined',
    state: 'new',
    args: { base: MID, size: PAGE, flags: 2 },
    expect: 'populate.unknown-flag',
  },
  {
    name: 'unknown-flag-bit31',
    description: 'POPULATE with flags 80000001: only MEASURE is defined',
    state: 'new',
    args: { base: MID, size: PAGE, flags: 0x80000001 },
    expect: 'populate.unknown-flag',
  },
  {
    name: 'reserved',
    description: 'POPULATE with non-zero reserved words: not checked in v2..v11 (documents the gap, abi-evolution.md §4.7)',
    state: 'new',
    args: { base: MID, size: PAGE, flags: 1, reserved: [1, 0xffffffff, 7] },
    expect: 'populate.reserved-ignored',
  },
];

// ---- RMI era: KVM_ARM_RMI_POPULATE on a realm with private RAM, the source its shared mapping

interface RmiArgs {
  base: number;
  size: number;
  flags?: number;
  reserved?: number;
  /** A raw source address instead of the place in the shared mapping. */
  sourceUaddr?: number;
}

async function rmiPopulate(c: CheckContext, _state: 'realm', a: RmiArgs): Promise<CallResult> {
  const r = await rmiRealm(c);
  return a.sourceUaddr !== undefined
    ? r.vm.rmiPopulate({ base: a.base, size: a.size, flags: a.flags ?? MEASURE, sourceUaddr: a.sourceUaddr })
    : populateAt(r, a.base, a.size, a.flags ?? MEASURE, a.reserved !== undefined ? { reserved: a.reserved } : {});
}

const RMI_ROWS: Row<'realm', RmiArgs>[] = [
  {
    name: 'reserved',
    description: 'POPULATE with reserved = 1',
    state: 'realm',
    args: { base: MID, size: PAGE, reserved: 1 },
    expect: 'rmi.populate-reserved',
  },
  {
    name: 'unknown-flag-bit1',
    description: 'POPULATE with flags bit 1',
    state: 'realm',
    args: { base: MID, size: PAGE, flags: 2 },
    expect: 'rmi.populate-unknown-flag',
  },
  {
    name: 'unknown-flag-bit31',
    description: 'POPULATE with flags bit 31 and MEASURE',
    state: 'realm',
    args: { base: MID, size: PAGE, flags: 0x80000001 },
    expect: 'rmi.populate-unknown-flag',
  },
  {
    name: 'unaligned-base',
    description: 'POPULATE with base 16 bytes past a page',
    state: 'realm',
    args: { base: MID + 0x10, size: PAGE },
    expect: 'rmi.populate-unaligned-base',
  },
  { name: 'unaligned-size', description: 'POPULATE with size 0x800', state: 'realm', args: { base: MID, size: 0x800 }, expect: 'rmi.populate-unaligned-size' },
  {
    name: 'zero-size',
    description: 'POPULATE of size 0 at the RAM memslot (creates the RD)',
    state: 'realm',
    args: { base: MID, size: 0 },
    expect: 'rmi.populate-zero-size',
  },
  {
    name: 'zero-size-no-memslot',
    description: 'POPULATE of size 0 where no memslot is',
    state: 'realm',
    args: { base: 0x40000000, size: 0 },
    expect: 'rmi.populate-zero-size-no-memslot',
  },
  {
    name: 'no-memslot',
    description: 'POPULATE where no memslot covers base',
    state: 'realm',
    args: { base: 0x40000000, size: PAGE },
    expect: 'rmi.populate-no-memslot',
  },
  {
    name: 'source-fault',
    description: 'POPULATE whose source_uaddr is page-aligned but unmapped',
    state: 'realm',
    args: { base: MID, size: PAGE, sourceUaddr: 0x1000 },
    expect: 'rmi.populate-source-fault',
  },
  {
    name: 'source-zero',
    description: 'POPULATE with source_uaddr = 0',
    state: 'realm',
    args: { base: MID, size: PAGE, sourceUaddr: 0 },
    expect: 'rmi.populate-source-zero',
  },
];

export const checks = [
  ...stimuli('populate', RME, RME_ROWS, populate),
  ...stimuli('populate', { ...RME, abis: RME_AFTER_RFC }, RME_FLAGS_ROWS, populate),
  ...stimuli('populate', RMI, RMI_ROWS, rmiPopulate),

  // ---- RME era, bespoke
  check('populate', 'two-memslots', RME, 'POPULATE straddling two adjacent memslots', ['populate.two-memslots'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    await vm.memslot({ slot: 1, gpa: RAM_BASE + RAM_SIZE, size: RAM_SIZE });
    c.expect(await vm.populate({ base: RAM_BASE + RAM_SIZE - PAGE, size: 2 * PAGE, ...measure(c) }), 'populate.two-memslots');
  }),
  check('populate', 'unprotected-half', RME, 'POPULATE of a memslot placed in the unprotected half', ['populate.unprotected-half'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    await vm.memslot({ slot: 1, gpa: UNPROTECTED_BASE, size: RAM_SIZE });
    c.expect(await vm.populate({ base: UNPROTECTED_BASE, size: PAGE, ...measure(c) }), 'populate.unprotected-half');
  }),
  // ---- from the StrykerJS triage (realm-rme-cap config/create/populate): the per-page source and RMI_DATA_CREATE
  // R1-PO9, V10-PO8: a memslot whose user address lost its mapping (munmap after the memslot was made) has no VMA at the page
  check(
    'populate',
    'source-unmapped',
    RME,
    'POPULATE of a page of a second RAM memslot whose user mapping was unmapped after the memslot was made',
    ['populate.no-vma'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      const mem = await vm.ramMemslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE });
      c.must(await mem.unmap());
      c.expect(await vm.populate({ base: RAM2_BASE, size: PAGE, ...measure(c) }), 'populate.no-vma');
    },
  ),
  // V10-PO8: the shared alias is faulted in for write (v9 19/43), so a read-only one is no source
  check(
    'populate',
    'source-read-only',
    { ...RME, abis: RME_AFTER_RFC },
    'POPULATE of a page of a guest_memfd memslot whose shared alias is mapped read-only',
    ['populate.source-read-only'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      await vm.privateMemslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE }, { sharedProt: PROT_READ });
      c.expect(await vm.populate({ base: RAM2_BASE, size: PAGE, ...measure(c) }), 'populate.source-read-only');
    },
  ),
  // V10-PO9: a guest_memfd memslot in the unprotected half passes every kernel test; the RMM refuses the data page
  check(
    'populate',
    'gmem-unprotected-half',
    { ...RME, abis: RME_AFTER_RFC },
    'POPULATE of a guest_memfd memslot placed in the unprotected half: delegated, then refused by RMI_DATA_CREATE',
    ['populate.gmem-unprotected-half'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      await vm.privateMemslot({ slot: 1, gpa: UNPROTECTED_BASE, size: RAM_SIZE });
      c.expect(await vm.populate({ base: UNPROTECTED_BASE, size: PAGE, ...measure(c) }), 'populate.gmem-unprotected-half');
    },
  ),
  // a range that is a whole number of 2 MB chunks, ending where the memslots end: no lookup past the end (V10-PO7)
  check(
    'populate',
    'whole-memslot',
    RME,
    'POPULATE of the whole 2 MB RAM memslot (nothing populated before, no memslot after it)',
    ['create.ok', 'populate.ok'],
    async (c) => {
      const { vm } = await realmIn(c, 'NONE');
      c.expect(await vm.createRd(), 'create.ok');
      c.expect(await vm.populate({ base: RAM_BASE, size: RAM_SIZE, ...measure(c) }), 'populate.ok');
    },
  ),
  check('populate', 'twice', RME, 'POPULATE the same page twice: the second is refused', ['populate.ok', 'populate.twice'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    c.expect(await vm.populate({ base: MID, size: PAGE, ...measure(c) }), 'populate.ok');
    c.expect(await vm.populate({ base: MID, size: PAGE, ...measure(c) }), 'populate.twice');
  }),
  check(
    'populate',
    'measured-and-unmeasured',
    { ...RME, abis: RME_AFTER_RFC },
    'POPULATE with MEASURE and with flags 0 both populate; each page then refuses a second populate (the RIM difference is not visible from the host uAPI)',
    ['populate.measure', 'populate.unmeasured', 'populate.twice'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.populate({ base: MID, size: PAGE, flags: 1 }), 'populate.measure');
      c.expect(await vm.populate({ base: MID + PAGE, size: PAGE, flags: 0 }), 'populate.unmeasured');
      c.expect(await vm.populate({ base: MID, size: PAGE, flags: 0 }), 'populate.twice');
      c.expect(await vm.populate({ base: MID + PAGE, size: PAGE, flags: 1 }), 'populate.twice');
    },
  ),
  check(
    'populate',
    'not-guest-memfd',
    { ...RME, abis: RME_AFTER_RFC },
    'POPULATE into a memslot without guest_memfd',
    ['populate.no-guest-memfd'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      await vm.memslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE });
      c.expect(await vm.populate({ base: RAM2_BASE, size: PAGE, flags: 1 }), 'populate.no-guest-memfd');
    },
  ),

  // ---- many, not one (issue 13 item 2): two members, the offending one last; both sides of a limit
  check(
    'populate',
    'chunk-per-memslot',
    RME,
    'POPULATE of a whole 2 MB chunk and a page, each chunk in its own guest_memfd memslot: v2..v10 look up a memslot per chunk, RFC v1 one memslot for the range',
    ['populate.chunk-per-memslot'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      // two memslots past the one the entry page lives in, the second chunk in the second of them
      await vm.ramMemslot({ slot: 1, gpa: RAM2_BASE, size: BLOCK_2M });
      await vm.ramMemslot({ slot: 2, gpa: RAM2_BASE + BLOCK_2M, size: BLOCK_2M });
      c.expect(await vm.populate({ base: RAM2_BASE, size: BLOCK_2M + PAGE, ...measure(c) }), 'populate.chunk-per-memslot');
    },
  ),
  check(
    'populate',
    'protected-limit-last-page',
    RME,
    'POPULATE the last page below the unprotected half, in a memslot ending there (the limit from below)',
    ['populate.ok'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      await vm.ramMemslot({ slot: 1, gpa: UNPROTECTED_BASE - BLOCK_2M, size: BLOCK_2M });
      c.expect(await vm.populate({ base: UNPROTECTED_BASE - PAGE, size: PAGE, ...measure(c) }), 'populate.ok');
    },
  ),
  check(
    'populate',
    'protected-limit-one-past',
    RME,
    'POPULATE the last page below the unprotected half and the first page at it, the memslot ending at the limit: the range leaves its memslot',
    ['populate.past-memslot-end'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      await vm.ramMemslot({ slot: 1, gpa: UNPROTECTED_BASE - BLOCK_2M, size: BLOCK_2M });
      c.expect(await vm.populate({ base: UNPROTECTED_BASE - PAGE, size: 2 * PAGE, ...measure(c) }), 'populate.past-memslot-end');
    },
  ),
  check(
    'populate',
    'second-memslot-end',
    RME,
    'POPULATE ending exactly at the end of a second memslot, then one page past it',
    ['populate.ok', 'populate.past-memslot-end'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      await vm.ramMemslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE });
      c.expect(await vm.populate({ base: RAM2_BASE + RAM_SIZE - 2 * PAGE, size: PAGE, ...measure(c) }), 'populate.ok', 'the page below the last');
      c.expect(
        await vm.populate({ base: RAM2_BASE + RAM_SIZE - PAGE, size: 2 * PAGE, ...measure(c) }),
        'populate.past-memslot-end',
        'the last page and one past the end',
      );
    },
  ),
  check(
    'populate',
    'wrap-at-2-64',
    RME,
    'POPULATE ending one page below 2^64 (no wrap: it leaves its memslot) versus ending exactly at 2^64 (base + size wraps to 0)',
    ['populate.past-memslot-end', 'populate.wrap'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.populate({ base: MID, size: 2n ** 64n - BigInt(MID) - BigInt(PAGE), ...measure(c) }), 'populate.past-memslot-end', 'end = 2^64 - 4K');
      c.expect(await vm.populate({ base: MID, size: 2n ** 64n - BigInt(MID), ...measure(c) }), 'populate.wrap', 'end = 2^64');
    },
  ),

  // a refusal after part of the range was done: the engine's afterwards probe pins how much (AFTERWARDS in harness/core/afterwards.ts)
  check(
    'populate',
    'last-chunk-leaves-memslot',
    RME,
    'POPULATE of three 2 MB chunks of one memslot whose last chunk runs one page past its end: v2..v10 populate the first two chunks, then refuse; RFC v1 refuses before any page. The page the failing chunk starts with then populates alone, up to exactly the end',
    ['populate.error-in-last-chunk', 'populate.ok'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      // two whole chunks and one page; the range is one page longer, so only its last chunk leaves the memslot
      await vm.ramMemslot({ slot: 1, gpa: RAM2_BASE, size: 2 * BLOCK_2M + PAGE });
      c.expect(await vm.populate({ base: RAM2_BASE, size: 2 * BLOCK_2M + 2 * PAGE, ...measure(c) }), 'populate.error-in-last-chunk');
      // the memslot's last page, ending exactly at its end: the refused chunk left it unpopulated
      c.expect(await vm.populate({ base: RAM2_BASE + 2 * BLOCK_2M, size: PAGE, ...measure(c) }), 'populate.ok', 'the first page of the refused chunk');
    },
  ),
  check(
    'populate',
    'last-of-three-pages-populated',
    RME,
    'POPULATE of three pages whose last is populated already: refused at that page, the two before it stay populated',
    ['populate.ok', 'populate.error-at-last-page'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.populate({ base: MID + 2 * PAGE, size: PAGE, ...measure(c) }), 'populate.ok', 'the third page alone');
      c.expect(await vm.populate({ base: MID, size: 3 * PAGE, ...measure(c) }), 'populate.error-at-last-page');
    },
  ),

  // ---- RMI era, bespoke: progress, the struct coming back, the source, the memslot kind
  check('populate', 'twice', RMI, 'POPULATE one measured page, then the same page again is refused', ['rmi.populate-ok', 'rmi.populate-twice'], async (c) => {
    const r = await rmiRealm(c);
    const res = await populateAt(r, MID, PAGE);
    c.expect(res, 'rmi.populate-ok');
    if (c.abi.rmiPopulate?.inOut) {
      c.equal(res.after?.size, 0n, 'struct size after a one-page populate', 'V14-PO15');
      c.equal(res.after?.base, BigInt(MID + PAGE), 'struct base advanced by one page', 'V14-PO15');
    }
    c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-twice');
  }),
  check(
    'populate',
    'measured-and-unmeasured',
    RMI,
    'measured and unmeasured POPULATE both populate (each page then refuses a second populate); the RIM difference needs an attestation read and is not visible from the host uAPI',
    ['rmi.populate-ok', 'rmi.populate-unmeasured', 'rmi.populate-twice'],
    async (c) => {
      const r = await rmiRealm(c);
      c.expect(await populateAt(r, MID, PAGE, MEASURE), 'rmi.populate-ok');
      c.expect(await populateAt(r, MID + PAGE, PAGE, 0), 'rmi.populate-unmeasured');
      c.expect(await populateAt(r, MID, PAGE, 0), 'rmi.populate-twice', 'a measured page cannot be re-populated unmeasured');
      c.expect(await populateAt(r, MID + PAGE, PAGE, MEASURE), 'rmi.populate-twice', 'an unmeasured page cannot be re-populated measured');
    },
  ),
  check(
    'populate',
    'progress-loop',
    RMI,
    'POPULATE 64 KiB looped like QEMU/OpenVMM: every call makes progress, base/size/source_uaddr move together, ends at size 0',
    ['rmi.populate-progress'],
    async (c) => {
      const r = await rmiRealm(c);
      let srcAbs: bigint | undefined;
      if (c.abi.rmiPopulate?.inOut) {
        // size 0 returns the struct unchanged (V14-PO5): learn the absolute source address
        const z = await populateAt(r, MID, 0);
        c.expect(z, 'rmi.populate-progress', 'size 0 at a guest_memfd memslot');
        srcAbs = z.after?.sourceUaddr;
      }
      const l = await populateLoop(c, r, MID, 16 * PAGE, MEASURE, srcAbs !== undefined ? { srcAbs } : {});
      for (const call of l.calls) c.expect(call, 'rmi.populate-progress');
      c.ok(!l.error, `populate loop: ${l.calls.length} call(s), ${l.done} of ${16 * PAGE} bytes${l.error ? `: ${l.error}` : ''}`, 'abi-evolution.md §4.8');
    },
  ),
  check(
    'populate',
    'past-memslot-end',
    RMI,
    'POPULATE two pages where the memslot ends after the first: clipped, the remainder shown',
    ['rmi.populate-past-memslot-end'],
    async (c) => {
      const r = await rmiRealm(c);
      const res = await populateAt(r, RAM_BASE + RAM_SIZE - PAGE, 2 * PAGE);
      c.expect(res, 'rmi.populate-past-memslot-end');
      if (c.abi.rmiPopulate?.inOut) c.equal(res.after?.size, BigInt(PAGE), 'one page left in the struct', 'V14-PO12');
    },
  ),
  check(
    'populate',
    'error-after-progress',
    RMI,
    'POPULATE two pages whose second is already populated: the first call reports one page, the next fails on the bad page',
    ['rmi.populate-error-after-progress', 'rmi.populate-ok', 'rmi.populate-twice'],
    async (c) => {
      const r = await rmiRealm(c);
      c.expect(await populateAt(r, MID + PAGE, PAGE), 'rmi.populate-ok');
      const res = await populateAt(r, MID, 2 * PAGE);
      c.expect(res, 'rmi.populate-error-after-progress');
      if (c.abi.rmiPopulate?.inOut) c.equal(res.after?.size, BigInt(PAGE), 'one page done, one left', 'V14-PO15');
      c.expect(await populateAt(r, MID + PAGE, PAGE), 'rmi.populate-twice', 'the next call fails on the bad page');
    },
  ),
  check(
    'populate',
    'last-of-three-populated',
    { ...RMI, abis: ['v13', 'v14'] },
    'POPULATE three pages whose last is already populated: the call reports the first two, the next fails on the third',
    ['rmi.populate-ok', 'rmi.populate-error-after-progress', 'rmi.populate-twice'],
    async (c) => {
      const r = await rmiRealm(c);
      c.expect(await populateAt(r, MID + 2 * PAGE, PAGE), 'rmi.populate-ok');
      const res = await populateAt(r, MID, 3 * PAGE);
      c.expect(res, 'rmi.populate-error-after-progress');
      // v13+ only: v12's key pins the bytes of the two-page stimulus (error-after-progress covers v12)
      c.equal(res.after?.size, BigInt(PAGE), 'two pages done, one left', 'V14-PO15');
      c.expect(await populateAt(r, MID + 2 * PAGE, PAGE), 'rmi.populate-twice', 'the next call fails on the bad page');
    },
  ),
  check(
    'populate',
    'second-memslot-not-guest-memfd',
    RMI,
    'POPULATE into the guest_memfd memslot up to its end, then into the plain memslot after it: the first is clipped at the memslot end, the second refused',
    ['rmi.populate-past-memslot-end', 'rmi.populate-not-gmem'],
    async (c) => {
      const r = await rmiRealm(c);
      await r.vm.memslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE });
      c.expect(await populateAt(r, RAM_BASE + RAM_SIZE - PAGE, 2 * PAGE), 'rmi.populate-past-memslot-end');
      c.expect(await r.vm.rmiPopulate({ base: RAM2_BASE, size: PAGE, flags: MEASURE, source: { mem: r.ram, offset: 0 } }), 'rmi.populate-not-gmem');
    },
  ),
  check('populate', 'unaligned-source', RMI, 'POPULATE with source_uaddr 16 bytes past a page', ['rmi.populate-unaligned-source'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(
      await r.vm.rmiPopulate({ base: MID, size: PAGE, flags: MEASURE, source: { mem: r.ram, offset: MID - RAM_BASE + 0x10 } }),
      'rmi.populate-unaligned-source',
    );
  }),
  check('populate', 'not-guest-memfd', RMI, 'POPULATE into a plain (non-guest_memfd) memslot', ['rmi.populate-not-gmem'], async (c) => {
    const r = await rmiRealm(c);
    await r.vm.memslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE });
    c.expect(await r.vm.rmiPopulate({ base: RAM2_BASE, size: PAGE, flags: MEASURE, source: { mem: r.ram, offset: 0 } }), 'rmi.populate-not-gmem');
  }),
  check('populate', 'not-private', RMI, 'POPULATE into guest_memfd whose range was never marked PRIVATE', ['rmi.populate-not-private'], async (c) => {
    const r = await rmiRealm(c, { private: false });
    c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-not-private');
  }),
  check('populate', 'bad-pointer', RMI, 'POPULATE whose struct pointer faults', ['rmi.populate-bad-pointer'], async (c) => {
    const r = await rmiRealm(c);
    c.expect(await r.vm.rmiPopulate({ base: MID, size: PAGE }, { badPointer: true }), 'rmi.populate-bad-pointer');
  }),
  check(
    'populate',
    'on-normal-vm',
    RMI,
    'POPULATE with well-formed arguments on a normal VM without memslots: refused as not a realm',
    ['rmi.populate-normal-vm'],
    async (c) => {
      // V14-PO1 comes before anything else, so no memslot is needed; a real
      // kernel may refuse guest_memfd PRIVATE memory on a normal VM anyway
      const vm = await c.normalVm();
      const mem = await vm.kvm.mmapAnon(PAGE);
      c.expect(await vm.rmiPopulate({ base: MID, size: PAGE, flags: MEASURE, source: { mem, offset: 0 } }), 'rmi.populate-normal-vm');
    },
  ),
  // ---- from the StrykerJS triage (bench/stryker-triage.md): every member of a set, the offending one last
  check(
    'populate',
    'stops-at-memslot-end-before-the-next',
    { generations: RMI_ERA },
    "POPULATE across two adjacent private guest_memfd memslots: the call stops exactly at the first one's end, the next call goes on in the second",
    ['rmi.populate-past-memslot-end', 'rmi.populate-ok'],
    async (c) => {
      const r = await rmiRealm(c);
      const { mem } = await r.vm.privateMemslot({ slot: 1, gpa: RAM2_BASE, size: RAM_SIZE });
      // one page before the end of slot 0, two into slot 1: the page count is clipped at slot 0's end (V14-PO12)
      // the source is three valid pages (the start of slot 0's mapping), so only the clip can stop the call
      const res = await r.vm.rmiPopulate({ base: RAM2_BASE - PAGE, size: 3 * PAGE, flags: MEASURE, source: { mem: r.ram, offset: 0 } });
      c.expect(res, 'rmi.populate-past-memslot-end');
      if (c.abi.rmiPopulate?.inOut) {
        c.equal(res.after?.base, BigInt(RAM2_BASE), 'base stops at the memslot end', 'V14-PO12');
        c.equal(res.after?.size, BigInt(2 * PAGE), 'two pages left', 'V14-PO12');
      }
      // the second memslot is untouched: its first page still populates, on its own source
      c.expect(
        await r.vm.rmiPopulate({ base: RAM2_BASE, size: PAGE, flags: MEASURE, source: { mem, offset: 0 } }),
        'rmi.populate-ok',
        'slot 1 page 0 after the clipped call',
      );
    },
  ),
  check(
    'populate',
    'every-page-reaches-the-guest',
    { generations: RMI_ERA },
    'POPULATE three pages of guest code in one loop (page 0 branches to page 1, page 1 to page 2, page 2 powers off): every page holds its own source page',
    ['rmi.populate-progress', 'rmi.run-ok'],
    async (c) => {
      const r = await rmiRealm(c, { vgic: true });
      // the chain starts away from the start of the mapping, so a source taken from the wrong offset is other memory, not a fault
      for (const [i, code] of [assemble(branch(PAGE)), assemble(branch(PAGE)), assemble(systemOff('smc'))].entries())
        c.must(await r.ram.poke(MID - RAM_BASE + i * PAGE, code));
      const l = await populateLoop(c, r, MID, 3 * PAGE);
      for (const call of l.calls) c.expect(call, 'rmi.populate-progress');
      c.ok(!l.error, `populate loop: ${l.done} of ${3 * PAGE} bytes${l.error ? `: ${l.error}` : ''}`, 'abi-evolution.md §4.8');
      // nothing fails and no signal is pending, so the first call does every page (UP-gmem loops over the whole count; V14-PO15)
      c.equal(l.calls.length, 1, 'one call did all three pages', 'V14-PO15');
      c.must(await r.vcpu!.setPc(MID));
      const res = await r.vcpu!.run();
      c.expect(res, 'rmi.run-ok');
      SYSOFF(c, res, "V14-PO19 (populated pages are the guest's RAM), V14-A12");
    },
  ),
  check(
    'populate',
    'page-count-sign-boundary',
    { generations: RMI_ERA },
    'POPULATE with size 2^63 - 4K (clipped to the memslot: one page) and 2^63 (a negative page count: refused, and the page is still unpopulated)',
    ['rmi.populate-past-memslot-end', 'rmi.populate-negative-count', 'rmi.populate-ok'],
    async (c) => {
      const r = await rmiRealm(c);
      const last = RAM_BASE + RAM_SIZE - PAGE;
      // one page below the sign bit: a positive count, clipped at the memslot end (V14-PO12)
      const below = await r.vm.rmiPopulate({ base: last, size: 2n ** 63n - BigInt(PAGE), flags: MEASURE, source: { mem: r.ram, offset: 0 } });
      c.expect(below, 'rmi.populate-past-memslot-end', 'size 2^63 - 4K');
      if (c.abi.rmiPopulate?.inOut) c.equal(below.after?.size, 2n ** 63n - 2n * BigInt(PAGE), 'one page done', 'V14-PO12');
      // exactly the sign bit, at a page nothing populated yet
      c.expect(
        await r.vm.rmiPopulate({ base: MID, size: 2n ** 63n, flags: MEASURE, source: { mem: r.ram, offset: 0 } }),
        'rmi.populate-negative-count',
        'size 2^63',
      );
      // the refused call populated nothing: the page at its base still populates
      c.expect(await populateAt(r, MID, PAGE), 'rmi.populate-ok', 'the page the refused call named');
    },
  ),
  check(
    'populate',
    'old-request-number',
    { generations: RMI_ERA },
    "KVM_ARM_RMI_POPULATE with v12's _IOW request number on a v13+ kernel, whose POPULATE is _IOWR: an unknown VM ioctl; the page still populates with the right number",
    ['rmi.populate-old-number', 'rmi.populate-ok'],
    async (c) => {
      const r = await rmiRealm(c);
      const args = { base: MID, size: PAGE, flags: MEASURE, source: { mem: r.ram, offset: MID - RAM_BASE } };
      c.expect(await r.vm.rmiPopulate(args, { req: getProfile('v12')!.rmiPopulate!.req }), 'rmi.populate-old-number', 'the v12 number');
      c.expect(await r.vm.rmiPopulate(args), 'rmi.populate-ok', "the revision's number");
    },
  ),
  check(
    'populate',
    'source-fault-after-progress',
    { generations: RMI_ERA },
    'POPULATE two pages whose second source page is unmapped: the first page is done and reported, the fault dropped; the second page is still unpopulated',
    ['rmi.populate-error-after-progress', 'rmi.populate-ok'],
    async (c) => {
      const r = await rmiRealm(c);
      // the source's last page: the page after it is the mapping's guard, so the second copy faults
      const res = await r.vm.rmiPopulate({ base: MID, size: 2 * PAGE, flags: MEASURE, source: { mem: r.ram, offset: RAM_SIZE - PAGE } });
      c.expect(res, 'rmi.populate-error-after-progress', 'the second source page faults');
      if (c.abi.rmiPopulate?.inOut) c.equal(res.after?.size, BigInt(PAGE), 'one page done, one left', 'V14-PO15');
      // the refused page was not populated: it populates now from a good source
      c.expect(await populateAt(r, MID + PAGE, PAGE), 'rmi.populate-ok', 'the page whose source faulted');
    },
  ),
];
