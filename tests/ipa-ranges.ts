// INIT_IPA_REALM / INIT_RIPAS_REALM ranges: alignment, wrap, the IPA size, the
// unprotected half, memslots (which INIT does not consult), populated blocks.
import type { CheckDef } from '../harness/engine.ts';
import type { ExpectKey } from '../harness/abi/types.ts';
import type { RangeArgs } from '../harness/abi/encode.ts';
import { BAD_USER_POINTER } from '../harness/dsl.ts';
import { BLOCK_2M, IPA_END, PAGE, RAM_BASE, RAM_SIZE, UNPROTECTED_BASE } from '../fixtures/layout.ts';
import { measure, realmIn } from './realm.ts';

const MULTIPLEXED = ['rme'] as const;

/** One INIT_IPA on a realm in state NEW (RAM memslot at RAM_BASE), judged by `key`. */
function initCheck(name: string, key: ExpectKey, description: string, args: RangeArgs): CheckDef {
  return {
    name: `ipa-ranges/${name}`,
    area: 'ipa-ranges',
    description,
    expects: [key],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.initIpa(args), key);
    },
  };
}

const MID = RAM_BASE + 0x100000; // a page of RAM nobody populated

export const checks: CheckDef[] = [
  initCheck('init-one-page', 'init.ok', 'INIT_IPA of one aligned page inside the IPA space', { base: MID, size: PAGE }),
  initCheck('init-2m-block', 'init.ok', 'INIT_IPA of an aligned 2 MiB block', { base: RAM_BASE + RAM_SIZE, size: BLOCK_2M }),
  initCheck('init-zero-size', 'init.zero-size', 'INIT_IPA with size 0', { base: MID, size: 0 }),
  initCheck('init-wrap', 'init.wrap', 'INIT_IPA with base + size wrapping past 2^64', { base: MID, size: 2n ** 64n - BigInt(PAGE) }),
  initCheck('init-unaligned-base', 'init.unaligned-base', 'INIT_IPA with base 16 bytes past a granule', { base: MID + 0x10, size: PAGE }),
  initCheck('init-unaligned-size', 'init.unaligned-size', 'INIT_IPA with size 0x800', { base: MID, size: 0x800 }),
  initCheck('init-beyond-ipa', 'init.beyond-ipa', 'INIT_IPA at the first IPA past the IPA size', { base: IPA_END, size: PAGE }),
  initCheck('init-straddles-ipa-end', 'init.beyond-ipa', 'INIT_IPA ending one page past the IPA size', { base: IPA_END - PAGE, size: 2 * PAGE }),
  initCheck('init-unprotected-half', 'init.unprotected-half', 'INIT_IPA in the unprotected half', { base: UNPROTECTED_BASE, size: PAGE }),
  initCheck('init-no-memslot', 'init.no-memslot', 'INIT_IPA over a range no memslot backs', { base: 0x40000000, size: PAGE }),
  {
    name: 'ipa-ranges/init-two-memslots',
    area: 'ipa-ranges',
    description: 'INIT_IPA over a range straddling two memslots',
    expects: ['init.two-memslots'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.must(await vm.memslot({ slot: 1, gpa: RAM_BASE + RAM_SIZE, size: RAM_SIZE }));
      c.expect(await vm.initIpa({ base: RAM_BASE + RAM_SIZE - PAGE, size: 2 * PAGE }), 'init.two-memslots');
    },
  },
  {
    name: 'ipa-ranges/init-bad-pointer',
    area: 'ipa-ranges',
    description: 'INIT_IPA whose args pointer faults',
    expects: ['init.bad-pointer'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.realmSubcmd('INIT_IPA', BAD_USER_POINTER, { args: 'bad pointer' }), 'init.bad-pointer');
    },
  },
  {
    name: 'ipa-ranges/init-over-populated-page',
    area: 'ipa-ranges',
    description: 'INIT_IPA of a page that was already populated',
    expects: ['init.over-populated'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.must(await vm.populate({ base: MID, size: PAGE, ...measure(c) }));
      c.expect(await vm.initIpa({ base: MID, size: PAGE }), 'init.over-populated');
    },
  },
  {
    name: 'ipa-ranges/init-over-ram',
    area: 'ipa-ranges',
    description: 'INIT_IPA twice over the same unpopulated range',
    expects: ['init.ok', 'init.over-ram'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.initIpa({ base: MID, size: PAGE }), 'init.ok');
      c.expect(await vm.initIpa({ base: MID, size: PAGE }), 'init.over-ram');
    },
  },
];
