// The registry: every revision's unit, total over ABI_NAMES (a name without
// its file fails `tsc` here: "Property 'vNN' is missing"), and the queries
// that replace hand-written revision lists.
import type { AbiProfile } from '../profiles/types.ts';
import { absent } from './absent.ts';
import { ABI_NAMES, type AbiName, type Era } from './names.ts';
import { rfcV1 } from './rfc-v1.ts';
import type { EraRmmRow, RmeRules, RmiRules } from './rules.ts';
import type { Revision } from './types.ts';
// v7 before v8: v8's audit reads v7, which derives from v8's behaviour (see v8.ts)
import { v2 } from './v2.ts';
import { v3 } from './v3.ts';
import { v4 } from './v4.ts';
import { v5 } from './v5.ts';
import { v6 } from './v6.ts';
import { v7 } from './v7.ts';
import { v8 } from './v8.ts';
import { v9 } from './v9.ts';
import { v10 } from './v10.ts';
import { v12 } from './v12.ts';
import { v13 } from './v13.ts';
import { v14 } from './v14.ts';

export { ABI_NAMES, type AbiName, type Era };

/** One unit per name: the mapped type makes the registry total. */
export const REVISIONS: { readonly [N in AbiName]: Revision<N> } = {
  'rfc-v1': rfcV1,
  v2,
  v3,
  v4,
  v5,
  v6,
  v7,
  v8,
  v9,
  v10,
  v12,
  v13,
  v14,
  absent,
};

export const revision = <N extends AbiName>(n: N): Revision<N> => REVISIONS[n];
export const eraOf = (n: AbiName): Era => REVISIONS[n].era;

/** Every revision `--abi all` runs, oldest first ('absent' is not a revision). */
export const ALL_REVISIONS: readonly AbiName[] = ABI_NAMES.filter((n) => n !== 'absent');

/** The revisions of one era, oldest first. */
export const revisionsOf = (era: Era): AbiName[] => ABI_NAMES.filter((n) => REVISIONS[n].era === era);

/** `from` and every later revision (of `from`'s era when `sameEra`), oldest first: "every RMI-era revision from v13". */
export function revisionsFrom(from: AbiName, opts: { to?: AbiName; sameEra?: boolean } = {}): AbiName[] {
  const i = ALL_REVISIONS.indexOf(from);
  const j = opts.to ? ALL_REVISIONS.indexOf(opts.to) : ALL_REVISIONS.length - 1;
  if (i < 0 || j < i) throw new Error(`no revisions from ${from} to ${opts.to ?? 'the newest'}`);
  return ALL_REVISIONS.slice(i, j + 1).filter((n) => !opts.sameEra || REVISIONS[n].era === REVISIONS[from].era);
}

/** Inclusive range, oldest first. */
export const revisionsBetween = (from: AbiName, to: AbiName): AbiName[] => revisionsFrom(from, { to });

/** The CAP numbers earlier revisions used and an RMI-era one no longer answers (its old-uAPI checks). */
function staleCaps(n: AbiName): number[] | undefined {
  if (REVISIONS[n].era !== 'rmi') return undefined;
  const own = REVISIONS[n].uapi.cap.nr;
  const earlier = ALL_REVISIONS.slice(0, ALL_REVISIONS.indexOf(n)).map((x) => REVISIONS[x].uapi.cap.nr);
  return [...new Set(earlier)].filter((nr) => nr !== own);
}

/** The assembled profile of every name. */
export const PROFILES: ReadonlyMap<AbiName, AbiProfile> = new Map(
  ABI_NAMES.map((n) => {
    const stale = staleCaps(n);
    const p = REVISIONS[n].profile;
    return [n, stale ? { ...p, staleCaps: stale } : p];
  }),
);

/** Every realm CAP number, the revisions that used it (in order) and what upstream later gave it (abi-evolution.md §4.2). */
export interface RealmCap {
  nr: number;
  name: string;
  revisions: AbiName[];
  era: 'rme' | 'rmi';
  upstream?: string;
}

export function realmCaps(): RealmCap[] {
  const out: RealmCap[] = [];
  for (const n of ALL_REVISIONS) {
    const r = REVISIONS[n];
    if (r.era === 'absent') continue;
    const hit = out.find((c) => c.nr === r.uapi.cap.nr);
    if (hit) hit.revisions.push(n);
    else out.push({ nr: r.uapi.cap.nr, name: r.uapi.cap.name, revisions: [n], era: r.era, ...(r.uapi.cap.upstream ? { upstream: r.uapi.cap.upstream } : {}) });
  }
  return out;
}

/** The emulator's rules row of an RME-era revision. */
export function rmeRules(n: AbiName): RmeRules | undefined {
  const r: Revision = REVISIONS[n];
  return r.era === 'rme' ? r.rules : undefined;
}

/** The emulator's rules row of an RMI-era revision. */
export function rmiRules(n: AbiName): RmiRules | undefined {
  const r: Revision = REVISIONS[n];
  return r.era === 'rmi' ? r.rules : undefined;
}

/** The RMM a revision was posted against ('absent' runs against the newest release's defaults). */
export function rmmOf(n: AbiName): EraRmmRow | undefined {
  const r: Revision = REVISIONS[n];
  return r.era === 'absent' ? undefined : r.rmm;
}
