// CONFIG_REALM: each item, its limits, unknown items, and when it may be used.
import type { CheckDef } from '../harness/engine.ts';
import type { ExpectKey } from '../harness/abi/types.ts';
import type { ConfigItem } from '../harness/abi/encode.ts';
import { BAD_USER_POINTER } from '../harness/dsl.ts';
import { realmIn, realmVmForCreate } from './realm.ts';

const MULTIPLEXED = ['rme'] as const;
const rpv = (seed: number): Uint8Array => Uint8Array.from({ length: 64 }, (_, i) => (seed + i) & 0xff);

/** One CONFIG call on a fresh realm VM (state NONE), judged by `key`. */
function configCheck(
  name: string,
  key: ExpectKey,
  description: string,
  item: (abi: import('../harness/abi/types.ts').AbiProfile) => ConfigItem,
  extra: Partial<CheckDef> = {},
): CheckDef {
  return {
    name: `config/${name}`,
    area: 'config',
    description,
    expects: [key],
    generations: MULTIPLEXED,
    ...extra,
    async run(c) {
      const vm = await c.realmVm();
      c.expect(await vm.config(item(c.abi)), key);
    },
  };
}

export const checks: CheckDef[] = [
  configCheck('rpv', 'config.rpv', 'CONFIG(RPV) with 64 arbitrary bytes is accepted unvalidated', () => ({ item: 'RPV', rpv: rpv(0xa5) })),
  {
    name: 'config/rpv-repeat',
    area: 'config',
    description: 'CONFIG(RPV) twice: both accepted, the last write wins',
    expects: ['config.rpv-repeat', 'create.ok'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmVmForCreate(c);
      c.expect(await vm.config({ item: 'RPV', rpv: rpv(1) }), 'config.rpv-repeat');
      c.expect(await vm.config({ item: 'RPV', rpv: rpv(2) }), 'config.rpv-repeat');
      c.expect(await vm.createRd(), 'create.ok');
    },
  },
  configCheck('hash-sha256', 'config.hash-sha256', 'CONFIG(HASH_ALGO = SHA256)', (a) => ({ item: 'HASH_ALGO', algo: a.hashAlgos?.SHA256 ?? 0 })),
  configCheck('hash-sha512', 'config.hash-sha512', 'CONFIG(HASH_ALGO = SHA512) with an RMM that supports it', (a) => ({ item: 'HASH_ALGO', algo: a.hashAlgos?.SHA512 ?? 1 }), {
    emulatorOnly: 'the RMM feature register decides; a real RMM may lack SHA512',
    emulatorSettings: { rmmSha512: true },
  }),
  configCheck('hash-unknown', 'config.hash-unknown', 'CONFIG(HASH_ALGO = 2), neither SHA256 nor SHA512', () => ({ item: 'HASH_ALGO', algo: 2 })),
  configCheck('hash-unknown-large', 'config.hash-unknown', 'CONFIG(HASH_ALGO = 0xffffffff)', () => ({ item: 'HASH_ALGO', algo: 0xffffffff })),
  configCheck('hash-unsupported', 'config.hash-unsupported', 'CONFIG(HASH_ALGO = SHA512) with an RMM that lacks SHA512', (a) => ({ item: 'HASH_ALGO', algo: a.hashAlgos?.SHA512 ?? 1 }), {
    emulatorOnly: 'needs an RMM feature register without SHA512',
    emulatorSettings: { rmmSha512: false },
  }),
  configCheck('sve-within-limit', 'config.sve-ok', 'CONFIG(SVE) with sve_vq = 1, within the RMM SVE_VL', () => ({ item: 'SVE', sveVq: 1 }), {
    emulatorOnly: 'needs an RMM with SVE',
    emulatorSettings: { rmmSve: true, rmmSveMaxVq: 4 },
  }),
  configCheck('sve-at-limit', 'config.sve-ok', 'CONFIG(SVE) with sve_vq equal to the RMM SVE_VL', () => ({ item: 'SVE', sveVq: 4 }), {
    emulatorOnly: 'needs an RMM with SVE_VL = 4',
    emulatorSettings: { rmmSve: true, rmmSveMaxVq: 4 },
  }),
  configCheck('sve-one-past-limit', 'config.sve-too-large', 'CONFIG(SVE) with sve_vq one past the RMM SVE_VL', () => ({ item: 'SVE', sveVq: 5 }), {
    emulatorOnly: 'needs an RMM with SVE_VL = 4',
    emulatorSettings: { rmmSve: true, rmmSveMaxVq: 4 },
  }),
  configCheck('sve-zero', 'config.sve-zero', 'CONFIG(SVE) with sve_vq = 0', () => ({ item: 'SVE', sveVq: 0 }), {
    emulatorOnly: 'needs an RMM with SVE',
    emulatorSettings: { rmmSve: true },
  }),
  // SVE_VL is a 4-bit field: 16 is past any RMM, with or without SVE (R1-CF6/CF7 both EINVAL)
  configCheck('sve-oversized', 'config.sve-too-large', 'CONFIG(SVE) with sve_vq = 16, past any SVE_VL', () => ({ item: 'SVE', sveVq: 16 })),
  configCheck('sve-unsupported', 'config.sve-unsupported', 'CONFIG(SVE) with an RMM without SVE', () => ({ item: 'SVE', sveVq: 1 }), {
    emulatorOnly: 'needs an RMM without SVE',
    emulatorSettings: { rmmSve: false },
  }),
  configCheck('dbg', 'config.dbg', 'CONFIG(DBG, 2 breakpoints, 2 watchpoints)', () => ({ item: 'DBG', numBrps: 2, numWrps: 2 })),
  configCheck('dbg-oversized', 'config.dbg', 'CONFIG(DBG, 64 breakpoints, 64 watchpoints)', () => ({ item: 'DBG', numBrps: 64, numWrps: 64 })),
  configCheck('pmu', 'config.pmu', 'CONFIG(PMU, 4 counters)', () => ({ item: 'PMU', numPmuCntrs: 4 })),
  configCheck('pmu-oversized', 'config.pmu', 'CONFIG(PMU, 64 counters)', () => ({ item: 'PMU', numPmuCntrs: 64 })),
  configCheck('unknown-item', 'config.unknown-item', 'CONFIG with cfg = 5, one past the last item', () => ({ item: 'RAW', cfg: 5 })),
  configCheck('unknown-item-high', 'config.unknown-item', 'CONFIG with cfg = 0x80000000', () => ({ item: 'RAW', cfg: 0x80000000 })),
  {
    name: 'config/bad-pointer',
    area: 'config',
    description: 'CONFIG whose item pointer faults',
    expects: ['config.bad-pointer'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.realmVm();
      c.expect(await vm.realmSubcmd('CONFIG_REALM', BAD_USER_POINTER, { item: 'bad pointer' }), 'config.bad-pointer');
    },
  },
  {
    name: 'config/after-create',
    area: 'config',
    description: 'CONFIG(HASH_ALGO) after the RD exists',
    expects: ['config.after-create', 'config.hash-sha256'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.config({ item: 'HASH_ALGO', algo: c.abi.hashAlgos?.SHA256 ?? 0 }), 'config.after-create');
    },
  },
  {
    name: 'config/after-activate',
    area: 'config',
    description: 'CONFIG(RPV) on an active realm',
    expects: ['config.after-create'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'ACTIVE');
      c.expect(await vm.config({ item: 'RPV', rpv: rpv(3) }), 'config.after-create');
    },
  },
  {
    name: 'config/after-create-bad-pointer',
    area: 'config',
    description: 'CONFIG after the RD exists with a faulting pointer: the state check wins',
    expects: ['config.after-create-bad-pointer'],
    generations: MULTIPLEXED,
    async run(c) {
      const { vm } = await realmIn(c, 'NEW');
      c.expect(await vm.realmSubcmd('CONFIG_REALM', BAD_USER_POINTER, { item: 'bad pointer' }), 'config.after-create-bad-pointer');
    },
  },
  {
    name: 'config/normal-vm-oops',
    area: 'config',
    description: 'CONFIG(RPV) on a normal VM with an RMM present writes through NULL',
    expects: ['config.normal-vm'],
    generations: MULTIPLEXED,
    async run(c) {
      const vm = await c.normalVm();
      const r = await vm.config({ item: 'RPV', rpv: rpv(4) });
      const e = c.expectation('config.normal-vm');
      if (e.crash) {
        c.ok(r.error?.startsWith('target-crashed') === true, `${r.label} crashes the kernel as the posted code does (${e.source})`, e.source);
      } else {
        c.expect(r, 'config.normal-vm');
      }
    },
  },
];
