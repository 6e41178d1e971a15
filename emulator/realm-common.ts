// What the two realm eras share: a realm's view of its IPA space (RealmBus),
// the ONE_REG ids a realm vCPU may set, the RD's PGD size, and PSCI CPU_ON
// of a REC.
import { ERRNO } from '../uapi/errno.ts';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../uapi/kvm-uapi.ts';
import type { BusFault, CpuState, GuestBus } from './aarch64.ts';
import type { Kernel } from './kernel.ts';
import { PAGE_SIZE } from './memory.ts';
import { gmemPage } from './guest_memfd.ts';
import { KVM_REG_ARM64_SVE_VLS } from './one-reg.ts';
import { RMI_SUCCESS, type Rd, type Rec } from './rmm.ts';
import { busLoad, busStore } from './stage2.ts';
import type { Vm } from './vm.ts';

// ONE_REG ids a realm vCPU may set (V10-R1, V14-V6)
const CORE_REG_BASE = 0x6030000000100000n;
const SYSREG = (op0: number, op1: number, crn: number, crm: number, op2: number): bigint =>
  0x6030000000130000n | BigInt((op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2);
const REG_PMCR_EL0 = SYSREG(3, 3, 9, 12, 0);
const REG_ID_AA64DFR0_EL1 = SYSREG(3, 0, 0, 5, 0);

/** A REC's settable registers: core x0..x30 and PC, ID_AA64DFR0_EL1, SVE_VLS, and PMCR_EL0 where `pmcr` (v2..v13). */
export function realmRegSettable(id: bigint, pmcr: boolean): boolean {
  const off = Number(id & 0xffffn);
  return (
    ((id & ~0xffffn) === CORE_REG_BASE && (off < 62 || off === 64)) ||
    id === REG_ID_AA64DFR0_EL1 ||
    id === KVM_REG_ARM64_SVE_VLS ||
    (pmcr && id === REG_PMCR_EL0)
  );
}

/** Granules of the stage 2 PGD the host delegates beside the RD (4K pages, concatenated start level). */
export function pgdGranules(ipaBits: number): number {
  // stage2_pgtable_levels(ipa) = ARM64_HW_PGTABLE_LEVELS(ipa - 4)
  const levels = Math.floor((ipaBits - 8) / 9);
  return Math.max(1, 2 ** Math.max(0, ipaBits - 12 - 9 * levels));
}

/** PSCI CPU_ON of a REC: its captured registers, whether it runs, how to make it runnable. */
export function recCpuOn(cpu: CpuState, rec: Rec): { cpu: CpuState; on: boolean; wake(): void } {
  return {
    cpu,
    on: rec.runnable,
    wake: () => {
      rec.runnable = true;
    },
  };
}

/**
 * A realm's view of its IPA space. The protected half goes through the RMM's
 * RTT: populated pages are the delegated data granules; RAM that was never
 * populated is faulted in as a zeroed data granule (the host delegates the
 * memslot page, RMI_DATA_CREATE_UNKNOWN); a data access to RIPAS EMPTY is an SEA the RMM
 * injects, to RAM outside every memslot one KVM injects (v6+; the guest takes both
 * at its vector, aarch64.ts). The unprotected half is the shared alias of the
 * same memslots (their user memory), or MMIO where no memslot is; the MMIO
 * exit reports the IPA with its top bit (UNCONFIRMED; v10 20/43 reports it
 * without).
 */
export class RealmBus implements GuestBus {
  private fetchCache: { pg: bigint; page: Uint8Array } | undefined;
  constructor(
    private readonly k: Kernel,
    private readonly vm: Vm,
    private readonly rd: Rd,
    /** Protected RAM outside every memslot: an SEA KVM injects (v6+, the RMI era), or -ENOSYS (RFC v1..v5): RmeRules.noSlotSea. */
    private readonly noSlotSea = true,
    /** Protected RAM in a memslot without guest_memfd: -EINVAL (v7+, the RMI era), or mapped as is (RFC v1..v6): RmeRules.plainSlotRefused. */
    private readonly plainSlotRefused = true,
  ) {}

  private resolve = (ipa: bigint, write: boolean): { page: Uint8Array; off: number } | BusFault => {
    if (ipa >= this.vm.physSize) return { kind: 'abort', what: `access beyond the IPA size at 0x${ipa.toString(16)}` };
    const off = Number(ipa & 0xfffn);
    const a = Number(ipa);
    if (a < this.rd.protectedLimit) {
      const pg = Math.floor(a / PAGE_SIZE);
      const frame = this.rd.data.get(pg);
      if (frame !== undefined) return { page: this.k.phys.page(frame)!, off };
      // RIPAS EMPTY: the RMM injects a synchronous external abort, no REC exit (TF-RMM inject_sync_idabort)
      if (!this.rd.isRam(pg)) return { kind: 'sea', what: `RIPAS EMPTY at 0x${ipa.toString(16)}: the RMM injects an SEA` };
      const slot = this.vm.findSlot(ipa);
      // no memslot: KVM takes it for MMIO, but the RMM reports a protected abort without a syndrome
      // (TF-RMM handle_data_abort masks a protected IPA's ESR to ESR_NONEMULATED_ABORT_MASK), so
      // io_mem_abort injects an SEA into the realm (v6 18/43 on, v10 18/43,
      // lore:20250820145606.180644-19-steven.price@arm.com) or, before v6, fails KVM_RUN with -ENOSYS
      if (!slot) {
        if (!this.noSlotSea) return { kind: 'errno', errno: ERRNO.ENOSYS };
        return { kind: 'sea', what: `protected RAM outside every memslot at 0x${ipa.toString(16)}: KVM injects an SEA` };
      }
      // v2+: private RAM is the memslot's guest_memfd; RFC v1: the memslot's own page
      const host = slot.gmem ? gmemPage(slot, ipa) : this.vm.mm.frameOf(slot.uaddr + (ipa - slot.gpa));
      if (!host) return { kind: 'errno', errno: ERRNO.EFAULT };
      // v7+: a protected IPA that did not come through guest_memfd is refused after the page lookup
      // (user_mem_abort's check of "Prevent Device mappings for Realms"; v13 37/48 keeps it)
      if (!slot.gmem && this.plainSlotRefused) return { kind: 'errno', errno: ERRNO.EINVAL };
      const rmm = this.k.rmm;
      if (rmm.granuleDelegate(host.frame) !== RMI_SUCCESS) return { kind: 'errno', errno: ERRNO.ENXIO };
      if (rmm.dataCreateUnknown(this.rd, host.frame, pg * PAGE_SIZE, host.page) !== RMI_SUCCESS) {
        rmm.granuleUndelegate(host.frame);
        return { kind: 'errno', errno: ERRNO.ENXIO };
      }
      return { page: host.page, off };
    }
    // the shared alias of the same memslots: KVM looks the slot up with the top IPA bit clear
    // (RFC v1 gpa_stolen_mask; v10 20/43 kvm_gpa_from_fault, lore:20250820145606.180644-21-steven.price@arm.com)
    const gpa = ipa - BigInt(this.rd.protectedLimit);
    const s = this.vm.findSlot(gpa);
    if (!s || (write && s.flags & 2)) return { kind: 'mmio' };
    // a guest_memfd slot's gfn still PRIVATE: KVM_EXIT_MEMORY_FAULT, -EFAULT (v10 20/43 private_memslot_fault)
    if (s.gmem && this.vm.memAttr(Number(gpa >> 12n)) & KVM_MEMORY_ATTRIBUTE_PRIVATE) return { kind: 'errno', errno: ERRNO.EFAULT };
    const r = this.vm.mm.hostPage(s.uaddr + (gpa - s.gpa), write);
    if ('why' in r) return { kind: 'errno', errno: ERRNO.EFAULT };
    return r;
  };

  fetch(ipa: bigint): number | BusFault {
    const pg = ipa >> 12n;
    if (this.fetchCache?.pg !== pg) {
      // instructions come only from protected memory: the RMM injects an SEA for a fetch from the
      // unprotected half, as for one from RIPAS EMPTY (TF-RMM handle_instruction_abort, no REC exit).
      // resolve's SEA for RAM outside every memslot (v6+) is taken the same way here, though KVM's
      // prefetch-abort path for a REC is UNCONFIRMED (v6 18/43 gives only kvm_inject_dabt a REC branch): no check expects it
      if (Number(ipa) >= this.rd.protectedLimit) return { kind: 'sea', what: 'instruction fetch from the unprotected half' };
      const r = this.resolve(ipa & ~0xfffn, false);
      if ('kind' in r) return r;
      this.fetchCache = { pg, page: r.page };
    }
    const o = Number(ipa & 0xfffn);
    const p = this.fetchCache.page;
    return (p[o]! | (p[o + 1]! << 8) | (p[o + 2]! << 16) | (p[o + 3]! << 24)) >>> 0;
  }

  load(ipa: bigint, size: number): bigint | BusFault {
    return busLoad(this.resolve, ipa, size);
  }

  store(ipa: bigint, size: number, value: bigint): BusFault | undefined {
    return busStore(this.resolve, ipa, size, value);
  }
}
