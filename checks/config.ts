// CONFIG_REALM (RME era): each item, its limits, unknown and removed items,
// the item pointer, and the states where the realm parameters are fixed.
import type { AbiProfile } from '../profiles/types.ts';
import type { ConfigItem } from '../profiles/encode.ts';
import type { CheckContext } from '../harness/core/engine.ts';
import type { CallResult } from '../harness/core/calls.ts';
import { BAD_USER_POINTER } from '../harness/core/dsl/index.ts';
import { rmeIn, realmVmForCreate, type RmeState } from './setup/rme-realm.ts';
import { RME_AFTER_RFC, RME_ERA } from './eras.ts';
import { check, stimuli, type Row } from './table.ts';

const RME = { generations: RME_ERA };
const rpv = (seed: number): Uint8Array => Uint8Array.from({ length: 64 }, (_, i) => (seed + i) & 0xff);
const sha256 = (a: AbiProfile): ConfigItem => ({ item: 'HASH_ALGO', algo: a.hashAlgos?.SHA256 ?? 0 });

/** The item, from the revision's profile (hash algorithm numbers); 'bad pointer' passes an unmapped item address. */
type Item = ((a: AbiProfile) => ConfigItem) | 'bad pointer';

async function config(c: CheckContext, state: RmeState, item: Item): Promise<CallResult> {
  const { vm } = await rmeIn(c, state);
  return item === 'bad pointer' ? vm.realmSubcmd('CONFIG_REALM', BAD_USER_POINTER, { item: 'bad pointer' }) : vm.config(item(c.abi));
}

const ROWS: Row<RmeState, Item>[] = [
  {
    name: 'rpv',
    description: 'CONFIG(RPV) with 64 arbitrary bytes is accepted unvalidated',
    state: 'realm-vm',
    args: () => ({ item: 'RPV', rpv: rpv(0xa5) }),
    expect: 'config.rpv',
  },
  { name: 'hash-sha256', description: 'CONFIG(HASH_ALGO = SHA256)', state: 'realm-vm', args: sha256, expect: 'config.hash-sha256' },
  {
    name: 'hash-sha512',
    description: 'CONFIG(HASH_ALGO = SHA512) with an RMM that supports it',
    state: 'realm-vm',
    args: (a) => ({ item: 'HASH_ALGO', algo: a.hashAlgos?.SHA512 ?? 1 }),
    expect: 'config.hash-sha512',
    with: { emulatorOnly: 'the RMM feature register decides; a real RMM may lack SHA512', emulatorSettings: { rmmSha512: true } },
  },
  {
    name: 'hash-unknown',
    description: 'CONFIG(HASH_ALGO = 2), neither SHA256 nor SHA512',
    state: 'realm-vm',
    args: () => ({ item: 'HASH_ALGO', algo: 2 }),
    expect: 'config.hash-unknown',
  },
  {
    name: 'hash-unknown-large',
    description: 'CONFIG(HASH_ALGO = 0xffffffff)',
    state: 'realm-vm',
    args: () => ({ item: 'HASH_ALGO', algo: 0xffffffff }),
    expect: 'config.hash-unknown',
  },
  {
    name: 'hash-unsupported',
    description: 'CONFIG(HASH_ALGO = SHA512) with an RMM that lacks SHA512',
    state: 'realm-vm',
    args: (a) => ({ item: 'HASH_ALGO', algo: a.hashAlgos?.SHA512 ?? 1 }),
    expect: 'config.hash-unsupported',
    with: { emulatorOnly: 'needs an RMM feature register without SHA512', emulatorSettings: { rmmSha512: false } },
  },
  {
    name: 'sve-within-limit',
    description: 'CONFIG(SVE) with sve_vq = 1, within the RMM SVE_VL',
    state: 'realm-vm',
    args: () => ({ item: 'SVE', sveVq: 1 }),
    expect: 'config.sve-ok',
    with: { emulatorOnly: 'needs an RMM with SVE', emulatorSettings: { rmmSve: true, rmmSveMaxVq: 4 } },
  },
  {
    name: 'sve-at-limit',
    description: 'CONFIG(SVE) with sve_vq equal to the RMM SVE_VL',
    state: 'realm-vm',
    args: () => ({ item: 'SVE', sveVq: 4 }),
    expect: 'config.sve-ok',
    with: { emulatorOnly: 'needs an RMM with SVE_VL = 4', emulatorSettings: { rmmSve: true, rmmSveMaxVq: 4 } },
  },
  {
    name: 'sve-one-past-limit',
    description: 'CONFIG(SVE) with sve_vq one past the RMM SVE_VL',
    state: 'realm-vm',
    args: () => ({ item: 'SVE', sveVq: 5 }),
    expect: 'config.sve-too-large',
    with: { emulatorOnly: 'needs an RMM with SVE_VL = 4', emulatorSettings: { rmmSve: true, rmmSveMaxVq: 4 } },
  },
  {
    name: 'sve-zero',
    description: 'CONFIG(SVE) with sve_vq = 0',
    state: 'realm-vm',
    args: () => ({ item: 'SVE', sveVq: 0 }),
    expect: 'config.sve-zero',
    with: { emulatorOnly: 'needs an RMM with SVE', emulatorSettings: { rmmSve: true } },
  },
  // SVE_VL is a 4-bit field: 16 is past any RMM, with or without SVE (R1-CF6/CF7 both EINVAL)
  {
    name: 'sve-oversized',
    description: 'CONFIG(SVE) with sve_vq = 16, past any SVE_VL',
    state: 'realm-vm',
    args: () => ({ item: 'SVE', sveVq: 16 }),
    expect: 'config.sve-too-large',
  },
  {
    name: 'sve-unsupported',
    description: 'CONFIG(SVE) with an RMM without SVE',
    state: 'realm-vm',
    args: () => ({ item: 'SVE', sveVq: 1 }),
    expect: 'config.sve-unsupported',
    with: { emulatorOnly: 'needs an RMM without SVE', emulatorSettings: { rmmSve: false } },
  },
  {
    name: 'dbg',
    description: 'CONFIG(DBG, 2 breakpoints, 2 watchpoints)',
    state: 'realm-vm',
    args: () => ({ item: 'DBG', numBrps: 2, numWrps: 2 }),
    expect: 'config.dbg',
  },
  {
    name: 'dbg-oversized',
    description: 'CONFIG(DBG, 64 breakpoints, 64 watchpoints)',
    state: 'realm-vm',
    args: () => ({ item: 'DBG', numBrps: 64, numWrps: 64 }),
    expect: 'config.dbg',
  },
  { name: 'pmu', description: 'CONFIG(PMU, 4 counters)', state: 'realm-vm', args: () => ({ item: 'PMU', numPmuCntrs: 4 }), expect: 'config.pmu' },
  { name: 'pmu-oversized', description: 'CONFIG(PMU, 64 counters)', state: 'realm-vm', args: () => ({ item: 'PMU', numPmuCntrs: 64 }), expect: 'config.pmu' },
  {
    name: 'unknown-item',
    description: 'CONFIG with cfg = 5, one past the last item',
    state: 'realm-vm',
    args: () => ({ item: 'RAW', cfg: 5 }),
    expect: 'config.unknown-item',
  },
  {
    name: 'unknown-item-high',
    description: 'CONFIG with cfg = 0x80000000',
    state: 'realm-vm',
    args: () => ({ item: 'RAW', cfg: 0x80000000 }),
    expect: 'config.unknown-item',
  },
  { name: 'bad-pointer', description: 'CONFIG whose item pointer faults', state: 'realm-vm', args: 'bad pointer', expect: 'config.bad-pointer' },
  // the realm parameters are fixed once the RD exists
  {
    name: 'after-create',
    description: 'CONFIG(HASH_ALGO) after the RD exists',
    state: 'new',
    args: sha256,
    expect: 'config.after-create',
    with: { also: ['config.hash-sha256'] },
  },
  { name: 'in-new', description: 'CONFIG with the realm in state NEW', state: 'new', args: sha256, expect: 'config.after-create' },
  {
    name: 'after-activate',
    description: 'CONFIG(RPV) on an active realm',
    state: 'active',
    args: () => ({ item: 'RPV', rpv: rpv(3) }),
    expect: 'config.after-create',
  },
  {
    name: 'after-create-bad-pointer',
    description: 'CONFIG after the RD exists with a faulting pointer: the state check wins',
    state: 'new',
    args: 'bad pointer',
    expect: 'config.after-create-bad-pointer',
  },
];

/** v2 moved SVE, DBG and PMU to the ID registers: their item numbers are gone. */
const REMOVED: Row<RmeState, Item>[] = [2, 3, 4].map((cfg) => ({
  name: `removed-item-${cfg}`,
  description: `CONFIG with cfg = ${cfg} (the RFC's ${String(['SVE', 'DBG', 'PMU'][cfg - 2])}), moved to ID registers in v2`,
  state: 'realm-vm',
  args: () => ({ item: 'RAW', cfg }),
  expect: 'config.removed-items',
}));

export const checks = [
  ...stimuli('config', RME, ROWS, config),
  ...stimuli('config', { ...RME, abis: RME_AFTER_RFC }, REMOVED, config),
  check('config', 'rpv-repeat', RME, 'CONFIG(RPV) twice: both accepted, the last write wins', ['config.rpv-repeat', 'create.ok'], async (c) => {
    const { vm } = await realmVmForCreate(c);
    c.expect(await vm.config({ item: 'RPV', rpv: rpv(1) }), 'config.rpv-repeat');
    c.expect(await vm.config({ item: 'RPV', rpv: rpv(2) }), 'config.rpv-repeat');
    c.expect(await vm.createRd(), 'create.ok');
  }),
  // positive then negative: the same call, before and after CREATE
  check(
    'config',
    'repeat-after-create',
    { ...RME, abis: RME_AFTER_RFC },
    'CONFIG(HASH) succeeds before CREATE and is refused after it',
    ['config.hash-sha256', 'create.ok', 'config.after-create'],
    async (c) => {
      const { vm } = await realmVmForCreate(c);
      c.expect(await vm.config(sha256(c.abi)), 'config.hash-sha256');
      c.expect(await vm.createRd(), 'create.ok');
      c.expect(await vm.config(sha256(c.abi)), 'config.after-create');
    },
  ),
  // the RMM is asked for the hash CONFIG chose: SHA256 goes through on an RMM without SHA512 (R1-CF5, R1-CR7)
  check(
    'config',
    'sha256-without-rmm-sha512',
    RME,
    'CONFIG(HASH_ALGO=SHA256) and CREATE on an RMM that lacks SHA512 both succeed',
    ['config.hash-sha256', 'create.ok'],
    async (c) => {
      const { vm } = await realmVmForCreate(c);
      c.expect(await vm.config(sha256(c.abi)), 'config.hash-sha256');
      c.expect(await vm.createRd(), 'create.ok');
    },
    { emulatorOnly: 'needs an RMM feature register without SHA512', emulatorSettings: { rmmSha512: false } },
  ),
  check('config', 'on-normal-vm-oops', RME, 'CONFIG(RPV) on a normal VM with an RMM present writes through NULL', ['config.normal-vm'], async (c) => {
    const vm = await c.normalVm();
    const r = await vm.config({ item: 'RPV', rpv: rpv(4) });
    const e = c.expectation('config.normal-vm');
    if (e.crash) {
      c.ok(r.error?.startsWith('target-crashed') === true, `${r.label} crashes the kernel as the posted code does (${e.source})`, e.source);
    } else {
      c.expect(r, 'config.normal-vm');
    }
  }),
];
