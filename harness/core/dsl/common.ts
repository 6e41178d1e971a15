// Small helpers every DSL object shares.
import type { AbiProfile } from '../../../profiles/types.ts';
import type { U64 } from '../../../uapi/bytes.ts';
import { hex } from '../../../uapi/ioc.ts';
import * as K from '../../../uapi/kvm-uapi.ts';
import { toHex } from '../../../uapi/wire.ts';

/** An address no user mapping can have (below mmap_min_addr): copies from it fault. */
export const BAD_USER_POINTER = 0x10;

export const h = (b: Uint8Array): string => toHex(b);
export const fmt = (v: U64): string => hex(BigInt(v));

/** A CAP by name: the revision's realm CAP, a known upstream CAP, or its number. */
export function capName(abi: AbiProfile, cap: number): string {
  if (cap === abi.cap.nr) return abi.cap.name;
  const known = Object.entries(K.CAP).find(([, v]) => v === cap);
  return known ? known[0] : String(cap);
}
