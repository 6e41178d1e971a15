// v3 (10 Jun 2024, RMM EAC5): the same uAPI as v2 and v4; not read.
import { audit, derive } from '../profiles/derive.ts';
import type { RevisionUapi } from '../uapi/realm.ts';
import { EARLY_AUDIT, EARLY_ERRNO, RMM_EAC5, gmemRules } from './rme-era.ts';
import { withUapi, type Revision } from './types.ts';
import { v4 } from './v4.ts';
export const uapi: RevisionUapi = { ...v4.uapi };

const v3Derived = derive(
  v4.profile,
  {
    name: 'v3',
    title: 'v3, 2024-06-10: same uAPI as v2 (RMM EAC5)',
    source: 'lore:20240610134202.54893-9-steven.price@arm.com',
  },
  'conditions.md has no v3 row; the v3 ABI patch defines the same constants (abi-evolution.md §2a)',
);
const behaviour = audit(v3Derived, () => false, EARLY_AUDIT);

export const v3 = {
  name: 'v3',
  era: 'rme',
  uapi,
  profile: withUapi('v3', 'rme', uapi, behaviour),
  rules: gmemRules('v3', { rmmAbsent: 'EINVAL', errno: EARLY_ERRNO, noGmem: 'EINVAL', v6RecChecks: true, noSlotSea: false }),
  rmm: RMM_EAC5,
} satisfies Revision<'v3'>;
