// Compatibility exports for checks written before revisions/ existed: the
// PSCI complete request numbers, derived from the revisions that define them.
import { revision } from '../revisions/index.ts';
import { sizeOf } from '../uapi/layout.ts';
import { REALM_STRUCTS } from '../uapi/realm.ts';

export const PSCI_COMPLETE_SIZE = sizeOf(REALM_STRUCTS.rmmPsciComplete);
/** 0x4018AED2, v2..v7. */
export const PSCI_COMPLETE_0XD2 = revision('v7').profile.psciComplete!.req;
/** 0x4018AED6, v8..v13. */
export const PSCI_COMPLETE_0XD6 = revision('v10').profile.psciComplete!.req;
