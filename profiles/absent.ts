// Compatibility exports for checks written before revisions/ existed: the
// 'absent' profile and every realm CAP number, both from revisions/.
import { PROFILES, realmCaps } from '../revisions/index.ts';
import type { AbiProfile } from './types.ts';

export const absent: AbiProfile = PROFILES.get('absent')!;

const label = (n: string): string => (n === 'rfc-v1' ? 'RFC v1' : n);

/** Every number a revision used for its realm CAP, and what upstream later gave it (abi-evolution.md §4.2). */
export const REALM_CAP_NUMBERS: readonly { nr: number; revisions: string; upstream?: string }[] = realmCaps().map((c) => ({
  nr: c.nr,
  revisions: `${c.revisions.length > 1 ? `${label(c.revisions[0]!)} .. ${label(c.revisions.at(-1)!)}` : label(c.revisions[0]!)} (${c.name})`,
  ...(c.upstream ? { upstream: c.upstream } : {}),
}));
