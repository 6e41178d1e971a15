// What a successful call returns, by call (docs/spec/uapi.md#success-values):
// the KVM API document's "Returns: 0 on success" ioctls. The engine holds an
// expected success of these to exactly 0 where the profile pins nothing else.
import type { AbiProfile } from '../../profiles/types.ts';
import * as K from '../../uapi/kvm-uapi.ts';
import type { Call } from './target.ts';

const ZERO = new Set<number>([
  K.KVM_ENABLE_CAP,
  K.KVM_ARM_VCPU_INIT,
  K.KVM_ARM_VCPU_FINALIZE,
  K.KVM_SET_ONE_REG,
  K.KVM_GET_ONE_REG,
  K.KVM_SET_USER_MEMORY_REGION,
  K.KVM_SET_USER_MEMORY_REGION2,
  K.KVM_SET_DEVICE_ATTR,
  K.KVM_SET_MEMORY_ATTRIBUTES,
  K.KVM_RUN,
]);

/** Whether `req` is a call whose success is exactly 0 on this revision. */
export function returnsZero(abi: AbiProfile, req: Call): boolean {
  if (req.op !== 'ioctl') return false;
  if (ZERO.has(req.req)) return true;
  if (req.req === abi.psciComplete?.req) return true;
  // v12 returns the bytes populated; v13 on report progress in the struct and return 0 (V14-PO15)
  if (req.req === abi.rmiPopulate?.req) return abi.rmiPopulate.inOut;
  return false;
}
