// The registry of ABI profiles, by the names --abi accepts.
import { rfcV1 } from './rfc-v1.ts';
import { absent } from './absent.ts';
import type { AbiName, AbiProfile } from './types.ts';

export const PROFILES: ReadonlyMap<AbiName, AbiProfile> = new Map<AbiName, AbiProfile>([
  ['rfc-v1', rfcV1],
  ['absent', absent],
]);

export function getProfile(name: string): AbiProfile | undefined {
  return PROFILES.get(name as AbiName);
}

export const DEFAULT_ABI: AbiName = 'rfc-v1';
export type { AbiName, AbiProfile };
