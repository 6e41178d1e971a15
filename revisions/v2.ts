// v2 (12 Apr 2024): guest_memfd, the MEASURE flag, 32-byte args, CONFIG with
// RPV/HASH only, REC = 8, PSCI complete 0xd2.
import { audit, derive } from '../profiles/derive.ts';
import type { RevisionUapi } from '../uapi/realm.ts';
import { CONFIG_V2, EARLY_AUDIT, EARLY_ERRNO, RMM_EAC5, gmemRules } from './rme-era.ts';
import { withUapi, type Revision } from './types.ts';
import { v3 } from './v3.ts';
export const uapi: RevisionUapi = { ...v3.uapi };

const v2Derived = derive(
  v3.profile,
  {
    name: 'v2',
    title: 'v2, 2024-04-12: guest_memfd, MEASURE flag, 32-byte args, CONFIG RPV/HASH only, REC=8, PSCI complete 0xd2',
    source: 'lore:20240412084309.1733783-9-steven.price@arm.com',
    expect: {
      'config.after-create': { errno: 'EINVAL', source: CONFIG_V2 },
      // the state is checked before the item is copied in every revision read; v2's order was not
      'config.after-create-bad-pointer': {
        errno: 'EINVAL',
        source: CONFIG_V2,
        unconfirmed: 'whether v2 checks the state before copying the item was not read',
      },
    },
  },
  'conditions.md has no v2 row; the v2 ABI patch defines the same constants (abi-evolution.md §2a, §2b)',
);
const behaviour = audit(v2Derived, () => false, EARLY_AUDIT);

export const v2 = {
  name: 'v2',
  era: 'rme',
  uapi,
  profile: withUapi('v2', 'rme', uapi, behaviour),
  // v2 09/43: CONFIG once the RD exists -EINVAL (v5/v6 -EBUSY; v3/v4 not read, kept -EBUSY and todo in their profiles)
  rules: gmemRules('v2', { rmmAbsent: 'EINVAL', errno: { ...EARLY_ERRNO, config: 'EINVAL' }, noGmem: 'EINVAL', v6RecChecks: true, noSlotSea: false }),
  rmm: RMM_EAC5,
} satisfies Revision<'v2'>;
