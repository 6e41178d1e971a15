// v9 (11 Jun 2025): v10's uAPI under KVM_CAP_ARM_RME = 243; conditions.md read most
// v10 rows (tag C*) in the v9 posting, so v9 inherits them.
import { derive } from '../profiles/derive.ts';
import type { RevisionUapi } from '../uapi/realm.ts';
import { LATE_ERRNO, RMM_REL0, gmemRules } from './rme-era.ts';
import { withUapi, type Revision } from './types.ts';
import { v10 } from './v10.ts';
export const uapi: RevisionUapi = {
  ...v10.uapi,
  cap: { name: 'KVM_CAP_ARM_RME', nr: 243, source: '"[PATCH v9 06/43]" (abi-evolution.md §2a)', upstream: 'KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED' },
};

const behaviour = derive(
  v10.profile,
  {
    name: 'v9',
    title: 'v9, 2025-06-11: KVM_CAP_ARM_RME=243',
    source: '"[PATCH v9 06/43] arm64: RME: Define the user ABI"',
  },
  'conditions.md read most v10 rows (tag C*) in the v9 posting',
);

export const v9 = {
  name: 'v9',
  era: 'rme',
  uapi,
  profile: withUapi('v9', 'rme', uapi, behaviour),
  rules: gmemRules('v9', { rmmAbsent: 'EPERM', errno: LATE_ERRNO, noGmem: 'EPERM', initRttAtLevel: 'EINVAL', v6RecChecks: false, plainSlotRefused: true }),
  rmm: RMM_REL0,
} satisfies Revision<'v9'>;
