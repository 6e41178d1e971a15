// v8 (16 Apr 2025): KVM_CAP_ARM_RME = 240, PSCI complete moved to 0xd6, the
// populate errnos reworked (v8 19/43). Derived from v9; audited against v7
// (measured) and v9 (read).
import { audit, derive } from '../profiles/derive.ts';
import type { AbiProfile } from '../profiles/types.ts';
import type { RevisionUapi } from '../uapi/realm.ts';
import {
  INIT_LEAF_V8,
  LATE_ERRNO,
  NO_GMEM_DISPUTE,
  RIPAS_SWITCH,
  RMM_REL0,
  V8_POPULATE,
  gmemRules,
  markUnconfirmed,
  partialPopulateRows,
  ripasEperm,
  sameValue,
} from './rme-era.ts';
import { withUapi, type Revision } from './types.ts';
import { V7_MEASURED, v7 } from './v7.ts';
import { v9 } from './v9.ts';
export const uapi: RevisionUapi = {
  ...v9.uapi,
  // v7 used the v7 names with MEASUREMENT_ALGO; v9 renamed them HASH_ALGO
  config: { ...v9.uapi.config!, hashPrefix: 'ARM_RME_CONFIG_MEASUREMENT_ALGO_' },
  cap: { name: 'KVM_CAP_ARM_RME', nr: 240, source: 'lore:20250416134208.383984-7-steven.price@arm.com', upstream: 'KVM_CAP_ARM_EL2' },
  cSource: 'lore:20250213161426.102987-8-steven.price@arm.com (abi-evolution.md §2b)',
};

export const v8Behaviour = derive(
  v9.profile,
  {
    name: 'v8',
    title: 'v8, 2025-04-16: KVM_CAP_ARM_RME=240, REC=9, PSCI complete moved to 0xd6',
    source: 'lore:20250416134208.383984-7-steven.price@arm.com',
    expect: {
      'init.before-create': ripasEperm(RIPAS_SWITCH),
      'init.after-activate': ripasEperm(RIPAS_SWITCH),
      'populate.no-guest-memfd': { errno: 'EPERM', source: `${V8_POPULATE}: a memslot that cannot be private gives -EPERM`, dispute: NO_GMEM_DISPUTE },
      'populate.unprotected-half': {
        errno: 'EPERM',
        source: `${V8_POPULATE}: the suite places a plain (non-guest_memfd) memslot there, which v8 refuses with -EPERM before the RMM`,
      },
      ...partialPopulateRows(V8_POPULATE),
      ...markUnconfirmed(v9.profile, ['init.over-populated'], INIT_LEAF_V8),
    },
  },
  'conditions.md has no v8 row; v8 -> v9 changed the CAP number and docs only (abi-evolution.md §2a, §3.3)',
);

// v8 sits between v7 (measured) and v9 (conditions.md read in the v9 posting): a value both agree on is bracketed.
// Computed on first use: v7 derives from v8's behaviour, so v7 is not there yet while this module loads.
let audited: AbiProfile | undefined;
const profile = (): AbiProfile =>
  (audited ??= withUapi(
    'v8',
    'rme',
    uapi,
    audit(
      v8Behaviour,
      (k, e) => V7_MEASURED.has(k) && sameValue(v7.profile.expect[k], e) && sameValue(v9.profile.expect[k], e),
      "v8's own code for it was not read and v7 (measured) and v9 (read) do not both have this value",
    ),
  ));

export const v8 = {
  name: 'v8',
  era: 'rme',
  uapi,
  get profile() {
    return profile();
  },
  // v8 19/43 reworked the populate errnos: no-guest_memfd memslot -EPERM
  // v8..v10: INIT_RIPAS maps an RTT error at the mapping level to -EINVAL (V10-IR8; v8 not read, as v9)
  rules: gmemRules('v8', { rmmAbsent: 'EPERM', errno: LATE_ERRNO, noGmem: 'EPERM', initRttAtLevel: 'EINVAL', v6RecChecks: false, plainSlotRefused: true }),
  rmm: RMM_REL0,
} satisfies Revision<'v8'>;
