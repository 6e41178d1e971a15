// The registry of ABI profiles, by the names --abi accepts: assembled from
// the revision units (revisions/index.ts).
import { ALL_REVISIONS, PROFILES } from '../revisions/index.ts';
import type { AbiName, AbiProfile } from './types.ts';

export { ALL_REVISIONS, PROFILES };

export function getProfile(name: string): AbiProfile | undefined {
  return PROFILES.get(name as AbiName);
}

export const DEFAULT_ABI: AbiName = 'rfc-v1';
export type { AbiName, AbiProfile };
