// POPULATE_REALM ranges: alignment, wrap, memslot coverage, the IPA size, the
// unprotected half, double populate.
import type { CheckDef } from '../harness/engine.ts';
import type { ExpectKey } from '../harness/abi/types.ts';
import type { RangeArgs } from '../harness/abi/encode.ts';
import { BAD_USER_POINTER } from '../harness/dsl.ts';
import { IPA_END, PAGE, RAM_BASE, RAM_SIZE, UNPROTECTED_BASE } from '../fixtures/layout.ts';
import { measure, realmIn } from './realm.ts';

const MULTIPLEXED = ['rme'] as const;
const MID = RAM_BASE + 0x100000;

function populateCheck(name: string, key: ExpectKey, description: string, args: RangeArgs): CheckDef {
  return {
    name: `populate/${name}`,
    area: 'populate',
    description,
    expects: [key],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.populate({ ...measure(c), ...args }), key);
    },
  };
}

export const checks: CheckDef[] = [
  populateCheck('one-page', 'populate.ok', 'POPULATE one aligned page inside the RAM memslot', { base: MID, size: PAGE }),
  populateCheck('whole-tail-of-memslot', 'populate.ok', 'POPULATE up to the last byte of the memslot', { base: RAM_BASE + RAM_SIZE - 4 * PAGE, size: 4 * PAGE }),
  populateCheck('unaligned-base', 'populate.unaligned-base', 'POPULATE with base 16 bytes past a page', { base: MID + 0x10, size: PAGE }),
  populateCheck('unaligned-size', 'populate.unaligned-size', 'POPULATE with size 0x800', { base: MID, size: 0x800 }),
  populateCheck('wrap', 'populate.wrap', 'POPULATE with base + size wrapping past 2^64', { base: MID, size: 2n ** 64n - BigInt(PAGE) }),
  populateCheck('no-memslot', 'populate.no-memslot', 'POPULATE where no memslot covers base', { base: 0x40000000, size: PAGE }),
  populateCheck('zero-size-no-memslot', 'populate.zero-size-no-memslot', 'POPULATE of size 0 where no memslot covers base', { base: 0x40000000, size: 0 }),
  populateCheck('zero-size', 'populate.zero-size', 'POPULATE of size 0 inside the memslot', { base: MID, size: 0 }),
  populateCheck('beyond-ipa', 'populate.beyond-ipa', 'POPULATE at the first IPA past the IPA size', { base: IPA_END, size: PAGE }),
  populateCheck('past-memslot-end', 'populate.past-memslot-end', 'POPULATE running one page past the end of its memslot', { base: RAM_BASE + RAM_SIZE - PAGE, size: 2 * PAGE }),
  {
    name: 'populate/two-memslots',
    area: 'populate',
    description: 'POPULATE straddling two adjacent memslots',
    expects: ['populate.two-memslots'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.must(await vm.memslot({ slot: 1, gpa: RAM_BASE + RAM_SIZE, size: RAM_SIZE }));
      c.expect(await vm.populate({ base: RAM_BASE + RAM_SIZE - PAGE, size: 2 * PAGE, ...measure(c) }), 'populate.two-memslots');
    },
  },
  {
    name: 'populate/unprotected-half',
    area: 'populate',
    description: 'POPULATE of a memslot placed in the unprotected half',
    expects: ['populate.unprotected-half'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.must(await vm.memslot({ slot: 1, gpa: UNPROTECTED_BASE, size: RAM_SIZE }));
      c.expect(await vm.populate({ base: UNPROTECTED_BASE, size: PAGE, ...measure(c) }), 'populate.unprotected-half');
    },
  },
  {
    name: 'populate/twice',
    area: 'populate',
    description: 'POPULATE the same page twice: the second is refused',
    expects: ['populate.ok', 'populate.twice'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.populate({ base: MID, size: PAGE, ...measure(c) }), 'populate.ok');
      c.expect(await vm.populate({ base: MID, size: PAGE, ...measure(c) }), 'populate.twice');
    },
  },
  {
    name: 'populate/bad-pointer',
    area: 'populate',
    description: 'POPULATE whose args pointer faults',
    expects: ['populate.bad-pointer'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.realmSubcmd('POPULATE', BAD_USER_POINTER, { args: 'bad pointer' }), 'populate.bad-pointer');
    },
  },
];
