// v4 (21 Aug 2024, RMM 1.0-rel0-rc1): v6's uAPI; not read.
import { audit, derive } from '../profiles/derive.ts';
import type { RevisionUapi } from '../uapi/realm.ts';
import { CONFIG_V3_V4, EARLY_AUDIT, EARLY_ERRNO, EARLY_KEYS, NO_GMEM_KEYS, NO_GMEM_V2_V5, REC_V2_V4, RMM_EAC5, gmemRules, markUnconfirmed } from './rme-era.ts';
import { withUapi, type Revision } from './types.ts';
import { v6 } from './v6.ts';
export const uapi: RevisionUapi = { ...v6.uapi };

// v2..v4: kvmtool's eac5/v2 branches set the REC bit at VCPU_INIT, so these
// revisions accepted it somehow; v5 lost it in a rebase and v6 fixed it. So
// v4 derives from v6 (not v5), with the REC acceptance marked UNCONFIRMED.
const v4Derived = derive(
  v6.profile,
  {
    name: 'v4',
    title: 'v4, 2024-08-21: RMM 1.0-rel0-rc1; PSCI complete "FIXME update nr when merging"',
    source: 'lore:20240821153844.60084-9-steven.price@arm.com',
    expect: {
      ...markUnconfirmed(v6.profile, ['vcpu.init-rec-bit', 'rec.no-rec-bit', 'run.no-rec-bit', 'psci.no-rec-bit', 'vcpu.init-past-max'], REC_V2_V4),
      ...markUnconfirmed(v6.profile, NO_GMEM_KEYS, NO_GMEM_V2_V5),
      ...EARLY_KEYS(v6.profile),
      // v2 09/43 returns -EINVAL for CONFIG once the RD exists, v5/v6 -EBUSY; v3/v4 were not read
      ...markUnconfirmed(v6.profile, ['config.after-create', 'config.after-create-bad-pointer'], CONFIG_V3_V4),
    },
  },
  'conditions.md has no v4 row; the v4 ABI patch defines the same constants as v5/v6 (abi-evolution.md §2a)',
);
const behaviour = audit(v4Derived, () => false, EARLY_AUDIT);

export const v4 = {
  name: 'v4',
  era: 'rme',
  uapi,
  profile: withUapi('v4', 'rme', uapi, behaviour),
  rules: gmemRules('v4', { rmmAbsent: 'EINVAL', errno: EARLY_ERRNO, noGmem: 'EINVAL', v6RecChecks: true, noSlotSea: false }),
  rmm: RMM_EAC5,
} satisfies Revision<'v4'>;
