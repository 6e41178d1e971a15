// Profiles inherit: a revision is its neighbour plus what changed. `derive`
// spreads the parent, applies the changes, and rewrites the source of every
// expectation it inherits so a reader sees where the value really comes from
// ("V10-PO2 — as v10: conditions.md has no v9 row").
import type { AbiProfile, Expect, ExpectKey } from './types.ts';

export type ExpectChanges = Partial<Record<ExpectKey, Expect | null>>;

export interface ProfileChanges extends Partial<Omit<AbiProfile, 'expect' | 'name' | 'title' | 'source'>> {
  name: AbiProfile['name'];
  title: string;
  source: string;
  /** New or different expectations; null removes one the parent had. */
  expect?: ExpectChanges;
}

/** Marks an inherited value; added once, at the first inheritance step. */
const INHERITED = ' — as ';

export function derive(parent: AbiProfile, changes: ProfileChanges, inheritNote: string): AbiProfile {
  const { expect: delta = {}, ...rest } = changes;
  const expect: Partial<Record<ExpectKey, Expect>> = {};
  for (const [k, e] of Object.entries(parent.expect) as [ExpectKey, Expect][]) {
    expect[k] = e.source.includes(INHERITED) ? e : { ...e, source: `${e.source}${INHERITED}${parent.name}: ${inheritNote}` };
  }
  for (const [k, e] of Object.entries(delta) as [ExpectKey, Expect | null][]) {
    if (e === null) delete expect[k];
    else expect[k] = e;
  }
  return { ...parent, ...rest, expect };
}

/** True when the expectation was inherited rather than read for this revision. */
export const isInherited = (e: Expect): boolean => e.source.includes(INHERITED);
