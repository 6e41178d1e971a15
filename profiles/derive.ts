// Profiles inherit: a revision is its neighbour plus what changed. `derive`
// spreads the parent, applies the changes, and rewrites the source of every
// expectation it inherits so a reader sees where the value really comes from
// ("V10-PO2 — as v10: conditions.md has no v9 row").
import type { ProfileBehaviour } from '../revisions/types.ts';
import type { AbiProfile, Expect, ExpectKey } from './types.ts';

export type ExpectChanges = Partial<Record<ExpectKey, Expect | null>>;

/** A revision's changes to its parent's behaviour; its uAPI numbers are in its `uapi`, never here. */
export interface ProfileChanges extends Partial<Omit<ProfileBehaviour, 'expect' | 'name' | 'title' | 'source'>> {
  name: AbiProfile['name'];
  title: string;
  source: string;
  /** New or different expectations; null removes one the parent had. */
  expect?: ExpectChanges;
}

/** Marks an inherited value; added once, at the first inheritance step. */
const INHERITED = ' — as ';

export function derive(parent: ProfileBehaviour | AbiProfile, changes: ProfileChanges, inheritNote: string): ProfileBehaviour {
  const { expect: delta = {}, ...rest } = changes;
  const expect: Partial<Record<ExpectKey, Expect>> = {};
  for (const [k, e] of Object.entries(parent.expect) as [ExpectKey, Expect][]) {
    expect[k] = e.source.includes(INHERITED) ? e : { ...e, source: `${e.source}${INHERITED}${parent.name}: ${inheritNote}` };
  }
  for (const [k, e] of Object.entries(delta) as [ExpectKey, Expect | null][]) {
    if (e === null)
      delete expect[k]; // eslint-disable-line @typescript-eslint/no-dynamic-delete -- a fixed-key record: null in a delta drops that expectation
    else expect[k] = e;
  }
  return { ...parent, ...rest, expect };
}

/** True when the expectation was inherited rather than read for this revision. */
export const isInherited = (e: Expect): boolean => e.source.includes(INHERITED);

/**
 * A fact of the base kernel, not of the series (G rows, UP, upstream): it holds
 * in every revision whose base has it, so inheriting it needs no re-reading.
 */
export const isGeneric = (e: Expect): boolean => /^(G\d|UP\b|UP-|upstream)/.test(e.source);

/**
 * The inherited-value audit (docs/inherited-audit.md): every value a revision
 * inherits from a neighbour needs a basis in that revision itself (its posted
 * code, a recording of a real stack, or being bracketed by two revisions that
 * agree). `basis(key, e)` names it; a value with none is kept but marked
 * UNCONFIRMED with `why`, so the checks resting on it are todo.
 */
export function audit(p: ProfileBehaviour, basis: (k: ExpectKey, e: Expect) => boolean, why: string): ProfileBehaviour {
  const expect: Partial<Record<ExpectKey, Expect>> = {};
  // a source that itself names this revision (e.g. "checked in arm.c in v5 and v6") is a basis
  const names = new RegExp(`(^|[^.\\w])(?<!since )${p.name}([^.\\w]|$)`);
  for (const [k, e] of Object.entries(p.expect) as [ExpectKey, Expect][]) {
    const own = names.test(e.source.slice(0, e.source.indexOf(INHERITED)));
    expect[k] =
      isInherited(e) && !e.unconfirmed && !isGeneric(e) && !own && !basis(k, e)
        ? { ...e, unconfirmed: `${why} (inherited: ${e.source.slice(e.source.indexOf(INHERITED) + INHERITED.length)})` }
        : e;
  }
  return { ...p, expect };
}
