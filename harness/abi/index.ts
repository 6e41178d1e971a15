// The registry of ABI profiles, by the names --abi accepts.
import { rfcV1 } from './rfc-v1.ts';
import { absent } from './absent.ts';
import { v2, v3, v4, v5, v6, v7, v8, v9 } from './v2-v9.ts';
import { v10 } from './v10.ts';
import { v12, v13, v14 } from './rmi.ts';
import type { AbiName, AbiProfile } from './types.ts';

export const PROFILES: ReadonlyMap<AbiName, AbiProfile> = new Map<AbiName, AbiProfile>([
  ['rfc-v1', rfcV1],
  ['v2', v2],
  ['v3', v3],
  ['v4', v4],
  ['v5', v5],
  ['v6', v6],
  ['v7', v7],
  ['v8', v8],
  ['v9', v9],
  ['v10', v10],
  ['v12', v12],
  ['v13', v13],
  ['v14', v14],
  ['absent', absent],
]);

export function getProfile(name: string): AbiProfile | undefined {
  return PROFILES.get(name as AbiName);
}

/** Every revision `--abi all` runs, oldest first ('absent' is not a revision). */
export const ALL_REVISIONS: readonly AbiName[] = [...PROFILES.keys()].filter((n) => n !== 'absent');

export const DEFAULT_ABI: AbiName = 'rfc-v1';
export type { AbiName, AbiProfile };
