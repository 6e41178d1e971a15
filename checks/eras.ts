// The eras of the series, by its own names, for selecting which revisions a
// check applies to. RME era: RFC v1 .. v10, the realm uAPI multiplexed over
// KVM_ENABLE_CAP(KVM_CAP_ARM_RME) sub-commands. RMI era: v12 .. v14,
// KVM_CAP_ARM_RMI and KVM_ARM_RMI_POPULATE, the realm activated by the first
// KVM_RUN. Checks name these constants, never the profiles' generation values.
import type { AbiName, Generation } from '../profiles/types.ts';

export const RME_ERA: readonly Generation[] = ['rme'];
export const RMI_ERA: readonly Generation[] = ['rmi'];
/** A kernel without CCA host support. */
export const NO_CCA: readonly Generation[] = ['absent'];

/** The RME era after the RFC (v2 .. v10): guest_memfd, the MEASURE flag, the PSCI complete ioctl. */
export const RME_AFTER_RFC: readonly AbiName[] = ['v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10'];
