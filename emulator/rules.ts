// The emulator's per-revision behaviour switches: what changes between
// revisions beyond the profile's numbers. Each revision's row is written
// once, in its file under revisions/ (from the spec, never read back from
// the profiles' expectations; test/rules-profiles.test.ts compares the two,
// field by field). This module only indexes them for the realm modules.
import type { AbiName } from '../profiles/types.ts';
import { ALL_REVISIONS, rmeRules, rmiRules } from '../revisions/index.ts';
import type { RmeRules, RmiRules } from '../revisions/rules.ts';

export type { RmeRules, RmiRules };

const index = <R>(row: (n: AbiName) => R | undefined): Partial<Record<AbiName, R>> =>
  Object.fromEntries(
    ALL_REVISIONS.flatMap((n) => {
      const r = row(n);
      return r ? [[n, r]] : [];
    }),
  );

/** The RME era (RFC v1, v2..v10). */
export const RME_RULES: Partial<Record<AbiName, RmeRules>> = index(rmeRules);
/** The RMI era (v12 on). */
export const RMI_RULES: Partial<Record<AbiName, RmiRules>> = index(rmiRules);
