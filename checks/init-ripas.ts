// INIT_IPA_REALM / INIT_RIPAS_REALM (RME era): ranges (alignment, wrap, the
// IPA size, the unprotected half, memslots, which INIT does not consult,
// populated blocks), reserved words, the args pointer, and the states where
// it is wrong. The RMI era has no such call: guest_memfd's PRIVATE attribute
// and POPULATE set the RIPAS.
import type { RangeArgs } from '../profiles/encode.ts';
import type { CheckContext } from '../harness/core/engine.ts';
import type { CallResult } from '../harness/core/calls.ts';
import { BAD_USER_POINTER } from '../harness/core/dsl/index.ts';
import { BLOCK_2M, ENTRY, IPA_END, PAGE, RAM_BASE, RAM_SIZE, UNPROTECTED_BASE } from '../fixtures/layout.ts';
import { activateAndRun, initVcpu, measure, realmIn, realmWithRec, rmeIn, vcpuFirst, type RmeState } from './setup/rme-realm.ts';
import { storeLoadThenOff } from './run.ts';
import { SYSOFF } from './setup/rmi-realm.ts';
import { RME_AFTER_RFC, RME_ERA } from './eras.ts';
import { check, stimuli, type Row } from './table.ts';

const RME = { generations: RME_ERA };
const MID = RAM_BASE + 0x100000; // a page of RAM nobody populated
/** A memslot for a 32-bit realm: RAM_BASE (2^31) is its unprotected half. */
const LOW_RAM = 0x40000000;

/** The range, or an args pointer that faults. */
type Args = RangeArgs | 'bad pointer';

async function initIpa(c: CheckContext, state: RmeState, a: Args): Promise<CallResult> {
  const { vm } = await rmeIn(c, state);
  return a === 'bad pointer' ? vm.realmSubcmd('INIT_IPA', BAD_USER_POINTER, { args: 'bad pointer' }) : vm.initIpa(a);
}

const ROWS: Row<RmeState, Args>[] = [
  { name: 'one-page', description: 'INIT_IPA of one aligned page inside the IPA space', state: 'new', args: { base: MID, size: PAGE }, expect: 'init.ok' },
  { name: '2m-block', description: 'INIT_IPA of an aligned 2 MiB block', state: 'new', args: { base: RAM_BASE + RAM_SIZE, size: BLOCK_2M }, expect: 'init.ok' },
  { name: 'zero-size', description: 'INIT_IPA with size 0', state: 'new', args: { base: MID, size: 0 }, expect: 'init.zero-size' },
  {
    name: 'wrap',
    description: 'INIT_IPA with base + size wrapping past 2^64',
    state: 'new',
    args: { base: MID, size: 2n ** 64n - BigInt(PAGE) },
    expect: 'init.wrap',
  },
  {
    name: 'unaligned-base',
    description: 'INIT_IPA with base 16 bytes past a granule',
    state: 'new',
    args: { base: MID + 0x10, size: PAGE },
    expect: 'init.unaligned-base',
  },
  { name: 'unaligned-size', description: 'INIT_IPA with size 0x800', state: 'new', args: { base: MID, size: 0x800 }, expect: 'init.unaligned-size' },
  {
    name: 'beyond-ipa',
    description: 'INIT_IPA at the first IPA past the IPA size',
    state: 'new',
    args: { base: IPA_END, size: PAGE },
    expect: 'init.beyond-ipa',
  },
  // the wrap test is `base + size > 2^64 - 1` (R1-IP2, V10-IR2): a range ending exactly at 2^64 - 1 does not wrap
  // and goes on to the RMM, which refuses it past the IPA size (R1-IP6, V10-IR7)
  {
    name: 'beyond-ipa-to-2-64-minus-1',
    description: 'INIT_IPA from the IPA end up to 2^64 - 1 exactly (no wrap)',
    state: 'new',
    args: { base: IPA_END, size: 2n ** 64n - 1n - BigInt(IPA_END) },
    expect: 'init.beyond-ipa',
  },
  {
    name: 'straddles-ipa-end',
    description: 'INIT_IPA ending one page past the IPA size',
    state: 'new',
    args: { base: IPA_END - PAGE, size: 2 * PAGE },
    expect: 'init.beyond-ipa',
  },
  {
    name: 'unprotected-half',
    description: 'INIT_IPA in the unprotected half',
    state: 'new',
    args: { base: UNPROTECTED_BASE, size: PAGE },
    expect: 'init.unprotected-half',
  },
  {
    name: 'no-memslot',
    description: 'INIT_IPA over a range no memslot backs',
    state: 'new',
    args: { base: 0x40000000, size: PAGE },
    expect: 'init.no-memslot',
  },
  { name: 'bad-pointer', description: 'INIT_IPA whose args pointer faults', state: 'new', args: 'bad pointer', expect: 'init.bad-pointer' },
  // the states where INIT is wrong
  { name: 'in-none', description: 'INIT_IPA with the realm in state NONE', state: 'none', args: { base: MID, size: PAGE }, expect: 'init.before-create' },
  {
    name: 'in-active',
    description: 'INIT_IPA with the realm in state ACTIVE',
    state: 'active',
    args: { base: MID, size: PAGE },
    expect: 'init.after-activate',
  },
  { name: 'on-normal-vm', description: 'INIT_IPA on a normal VM', state: 'normal-vm', args: { base: MID, size: PAGE }, expect: 'init.normal-vm' },
];

export const checks = [
  ...stimuli('init-ripas', RME, ROWS, initIpa),
  ...stimuli<RmeState, Args>(
    'init-ripas',
    { ...RME, abis: RME_AFTER_RFC },
    [
      {
        name: 'reserved-ignored',
        description: 'INIT_IPA/INIT_RIPAS with non-zero reserved words: ignored',
        state: 'new',
        args: { base: MID, size: PAGE, reserved: [1, 2, 3, 4] },
        expect: 'init.reserved-ignored',
      },
    ],
    initIpa,
  ),
  check('init-ripas', 'two-memslots', RME, 'INIT_IPA over a range straddling two memslots', ['init.two-memslots'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    await vm.memslot({ slot: 1, gpa: RAM_BASE + RAM_SIZE, size: RAM_SIZE });
    c.expect(await vm.initIpa({ base: RAM_BASE + RAM_SIZE - PAGE, size: 2 * PAGE }), 'init.two-memslots');
  }),
  check('init-ripas', 'over-populated-page', RME, 'INIT_IPA of a page that was already populated', ['init.over-populated'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    c.must(await vm.populate({ base: MID, size: PAGE, ...measure(c) }));
    c.expect(await vm.initIpa({ base: MID, size: PAGE }), 'init.over-populated');
  }),
  check('init-ripas', 'over-ram', RME, 'INIT_IPA twice over the same unpopulated range', ['init.ok', 'init.over-ram'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    c.expect(await vm.initIpa({ base: MID, size: PAGE }), 'init.ok');
    c.expect(await vm.initIpa({ base: MID, size: PAGE }), 'init.over-ram');
  }),
  // ---- many, not one (issue 13 item 2): the offending page last; both sides of the protected limit
  check('init-ripas', 'over-populated-last-page', RME, 'INIT_IPA over three pages whose last was already populated', ['init.over-populated'], async (c) => {
    const { vm } = await realmIn(c, 'NEW');
    c.must(await vm.populate({ base: MID + 2 * PAGE, size: PAGE, ...measure(c) }));
    c.expect(await vm.initIpa({ base: MID, size: 3 * PAGE }), 'init.over-populated');
  }),
  check(
    'init-ripas',
    'protected-limit-last-page',
    RME,
    'INIT_IPA of the last page below the unprotected half (the limit from below)',
    ['init.ok'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.initIpa({ base: UNPROTECTED_BASE - PAGE, size: PAGE }), 'init.ok');
    },
  ),
  check(
    'init-ripas',
    'protected-limit-one-past',
    RME,
    'INIT_IPA of the last page below the unprotected half and the first page at it',
    ['init.unprotected-half'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.initIpa({ base: UNPROTECTED_BASE - PAGE, size: 2 * PAGE }), 'init.unprotected-half');
    },
  ),
  check(
    'init-ripas',
    'ipa-limit-last-page',
    RME,
    'INIT_IPA of the last page below the IPA size (in the unprotected half) versus the first page at it',
    ['init.unprotected-half', 'init.beyond-ipa'],
    async (c) => {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.initIpa({ base: IPA_END - PAGE, size: PAGE }), 'init.unprotected-half', 'the last page below the IPA size');
      c.expect(await vm.initIpa({ base: IPA_END, size: PAGE }), 'init.beyond-ipa', 'the first page at the IPA size');
    },
  ),
  // ---- the RTT walk (StrykerJS triage, realm-rme-cap RTT walk): the level find_map_level picks for each block
  // (RFC v1 find_map_level, v10 17/43 find_map_level: the largest block aligned at the address that fits before
  // the end, never above the level under the start level; the start level from stage2_pgtable_levels(IPA size))
  ...stimuli(
    'init-ripas',
    RME,
    [
      {
        name: 'unaligned-base-spans-block',
        description: 'INIT_IPA from 1 MiB into a 2 MiB block over the next whole block and 1 MiB beyond (pages, a block, pages)',
        state: 'new',
        args: { base: MID, size: 2 * BLOCK_2M },
        expect: 'init.ok',
      },
      {
        name: 'block-end-one-page-short',
        description: 'INIT_IPA from a 2 MiB boundary to one page before the next (level-3 pages only)',
        state: 'new',
        args: { base: RAM_BASE + RAM_SIZE, size: BLOCK_2M - PAGE },
        expect: 'init.ok',
      },
      {
        name: 'block-end-one-page-past',
        description: 'INIT_IPA of a whole 2 MiB block and the first page after it',
        state: 'new',
        args: { base: RAM_BASE + RAM_SIZE, size: BLOCK_2M + PAGE },
        expect: 'init.ok',
      },
      {
        name: 'unaligned-base-block-end',
        description: 'INIT_IPA from one page past a 2 MiB boundary exactly to the next boundary',
        state: 'new',
        args: { base: RAM_BASE + RAM_SIZE + PAGE, size: BLOCK_2M - PAGE },
        expect: 'init.ok',
      },
    ],
    initIpa,
  ),
  check(
    'init-ripas',
    'over-populated-block',
    RME,
    'INIT_IPA over the whole 2 MiB block whose first page was populated (40-bit realm: a level-2 block); where it succeeds, the other pages are RAM: the guest stores to one and reads it back',
    ['init.over-populated-block', 'run.ok'],
    async (c) => {
      const { vm, ram, v } = await realmWithRec(c);
      c.must(await ram.poke(ENTRY - RAM_BASE, storeLoadThenOff(MID)));
      c.must(await vm.populate({ base: ENTRY, size: PAGE, ...measure(c) }));
      const r = await vm.initIpa({ base: RAM_BASE, size: BLOCK_2M });
      c.expect(r, 'init.over-populated-block');
      if (r.ret < 0) return;
      // R1-IP11: the level-3 retry made every page but the populated one RAM; an EMPTY page would abort the guest
      const run = await activateAndRun(c, vm, v);
      c.expect(run, 'run.ok');
      SYSOFF(c, run, 'R1-IP11 (the level-3 retry left the page EMPTY: no SYSTEM_OFF)');
    },
  ),
  check(
    'init-ripas',
    'over-populated-block-ipa-32',
    RME,
    'INIT_IPA over the whole 2 MiB block whose first page was populated, in a 32-bit realm: start level 2, so the walk is level-3 pages only',
    ['init.over-populated'],
    async (c) => {
      // stage2_pgtable_levels(32) = 2: start level 2, find_map_level never goes above level 3 (RFC v1, v10 17/43)
      const vm = await c.realmVm(32);
      await vm.ramMemslot({ slot: 0, gpa: LOW_RAM, size: RAM_SIZE });
      if (vcpuFirst(c)) await initVcpu(c, vm);
      c.must(await vm.createRd());
      c.must(await vm.populate({ base: LOW_RAM, size: PAGE, ...measure(c) }));
      c.expect(await vm.initIpa({ base: LOW_RAM, size: BLOCK_2M }), 'init.over-populated');
    },
  ),
];
