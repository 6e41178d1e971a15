// The pointer and fd slots the DSL patches in the structs it sends, taken
// from the uAPI description (uapi/): an address or an fd goes where the
// struct's member is, never at an offset written here.
import { STRUCTS } from '../../../uapi/kvm.ts';
import { offsetOf } from '../../../uapi/layout.ts';
import { REALM_STRUCTS } from '../../../uapi/realm.ts';

const ARGS = offsetOf(STRUCTS.enableCap, 'args');

export const SLOT = {
  regionUaddr: offsetOf(STRUCTS.userspaceMemoryRegion, 'userspace_addr'),
  region2Uaddr: offsetOf(STRUCTS.userspaceMemoryRegion2, 'userspace_addr'),
  region2Gmem: offsetOf(STRUCTS.userspaceMemoryRegion2, 'guest_memfd'),
  /** KVM_CREATE_DEVICE writes the new device's fd here. */
  createDeviceFd: offsetOf(STRUCTS.createDevice, 'fd'),
  deviceAttrAddr: offsetOf(STRUCTS.deviceAttr, 'addr'),
  /** args[1]: the RME-era sub-command's struct pointer. */
  enableCapArg1: ARGS + 8,
  oneRegAddr: offsetOf(STRUCTS.oneReg, 'addr'),
  rmiPopulateSource: offsetOf(REALM_STRUCTS.rmiPopulate, 'source_uaddr'),
} as const;
