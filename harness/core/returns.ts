// What a successful call returns, by call, read from the uAPI description
// (uapi/: each ioctl's `success`, docs/spec/uapi.md#success-values). The
// engine holds an expected success of a 'zero' call to exactly 0 where the
// profile pins nothing else.
import type { AbiProfile } from '../../profiles/types.ts';
import { IOCTLS } from '../../uapi/kvm.ts';
import { requestOf } from '../../uapi/layout.ts';
import type { Call } from './target.ts';

const ZERO = new Set<number>(
  Object.values(IOCTLS)
    .filter((d) => d.success?.kind === 'zero')
    .map((d) => requestOf(d)),
);

/** Whether `req` is a call whose success is exactly 0 on this revision. */
export function returnsZero(abi: AbiProfile, req: Call): boolean {
  if (req.op !== 'ioctl') return false;
  if (ZERO.has(req.req)) return true;
  // the revision's own ioctls: the profile's numbers, the description's success value
  if (req.req === abi.psciComplete?.req) return abi.uapi?.psciComplete?.success?.kind === 'zero';
  if (req.req === abi.rmiPopulate?.req) return abi.uapi?.rmiPopulate?.success?.kind === 'zero';
  return false;
}
