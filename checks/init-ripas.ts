// INIT_IPA_REALM / INIT_RIPAS_REALM (RME era): ranges (alignment, wrap, the
// IPA size, the unprotected half, memslots, which INIT does not consult,
// populated blocks), reserved words, the args pointer, and the states where
// it is wrong. The RMI era has no such call: guest_memfd's PRIVATE attribute
// and POPULATE set the RIPAS.
import type { RangeArgs } from '../profiles/encode.ts';
import type { CheckContext } from '../harness/core/engine.ts';
import type { CallResult } from '../harness/core/calls.ts';
import { BAD_USER_POINTER } from '../harness/core/dsl/index.ts';
import { BLOCK_2M, IPA_END, PAGE, RAM_BASE, RAM_SIZE, UNPROTECTED_BASE } from '../fixtures/layout.ts';
import { measure, realmIn, rmeIn, type RmeState } from './setup/rme-realm.ts';
import { RME_AFTER_RFC, RME_ERA } from './eras.ts';
import { check, stimuli, type Row } from './table.ts';

const RME = { generations: RME_ERA };
const MID = RAM_BASE + 0x100000; // a page of RAM nobody populated

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
];
