// A tiny AArch64 (A64, EL1) interpreter: just the instructions guest payloads
// use (fixtures/guest.ts). It knows nothing of KVM: memory goes through a bus,
// and anything the hypervisor must see (HVC, SMC, WFI, an access KVM cannot
// back with RAM, an instruction it does not know) stops the loop with a reason.
//
// Supported: MOVZ/MOVN/MOVK (W and X), ADD/SUB immediate (W and X, SP as base),
// LDR/STR unsigned immediate (B, H, W, X), B, BL, CBZ, CBNZ, BR, RET, HVC, SMC,
// NOP (and the other HINTs), WFI, MSR VBAR_EL1 and MRS of VBAR_EL1, ESR_EL1,
// ELR_EL1, FAR_EL1, SPSR_EL1. Exceptions: only the synchronous external abort
// on a fetch or data access that the bus reports as 'sea', taken to the guest's
// vector once it has written VBAR_EL1 (Arm ARM D1.10: current EL with SP_ELx, +0x200).

export const MASK64 = (1n << 64n) - 1n;

/** General-purpose state of one vCPU or REC. x[31] is unused (XZR reads as 0). */
export class CpuState {
  readonly x: bigint[] = new Array<bigint>(32).fill(0n);
  sp = 0n;
  pc = 0n;
  /** PSTATE as KVM exposes it through ONE_REG (EL1h, DAIF masked at reset). */
  pstate = 0x3c5n;
  /** VBAR_EL1 once the guest wrote it (undefined: no vectors, an abort stops the vCPU). */
  vbar: bigint | undefined = undefined;
  elr = 0n;
  esr = 0n;
  far = 0n;
  spsr = 0n;

  clone(): CpuState {
    const c = new CpuState();
    for (let i = 0; i < 31; i++) c.x[i] = this.x[i]!;
    c.sp = this.sp;
    c.pc = this.pc;
    c.pstate = this.pstate;
    c.vbar = this.vbar;
    c.elr = this.elr;
    c.esr = this.esr;
    c.far = this.far;
    c.spsr = this.spsr;
    return c;
  }
}

/** Result of a bus access that RAM could not satisfy. */
export type BusFault =
  /** KVM must emulate it (no RAM there): an MMIO exit. */
  | { kind: 'mmio' }
  /** The host mapping faulted (KVM_RUN fails with this errno, e.g. EFAULT). */
  | { kind: 'errno'; errno: number }
  /** An abort the guest itself would take (not modelled: the emulator stops). */
  | { kind: 'abort'; what: string }
  /** A synchronous external abort the RMM or KVM injects into the guest (taken to its vector if it has one). */
  | { kind: 'sea'; what: string };

export interface GuestBus {
  /** A 32-bit instruction at `ipa`, or a fault. */
  fetch(ipa: bigint): number | BusFault;
  load(ipa: bigint, size: number): bigint | BusFault;
  store(ipa: bigint, size: number, value: bigint): BusFault | undefined;
}

export type Stop =
  /** A data access KVM must emulate. PC still points at the instruction (advanced on completion). */
  | { kind: 'mmio'; ipa: bigint; size: number; isWrite: boolean; data: bigint; rt: number }
  /** HVC or SMC #imm: PC already points past it, as ELR_EL2 does for these traps. */
  | { kind: 'hvc' | 'smc'; imm: number }
  /** WFI: PC already past it. */
  | { kind: 'wfi' }
  /** Access fault in the host: KVM_RUN returns -errno. */
  | { kind: 'errno'; errno: number }
  /** Something the guest would take as an exception (undefined instruction, abort). */
  | { kind: 'guest-exception'; what: string; insn?: number }
  /** The instruction budget ran out (the guest loops). */
  | { kind: 'budget' };

const bit = (v: number, i: number): number => (v >>> i) & 1;
const field = (v: number, lo: number, len: number): number => (v >>> lo) & ((1 << len) - 1);

function sext(v: number, bits: number): number {
  const s = 32 - bits;
  return (v << s) >> s;
}

function isFault(v: unknown): v is BusFault {
  return typeof v === 'object' && v !== null;
}

function stopFor(f: BusFault, mmio: Stop): Stop {
  if (f.kind === 'mmio') return mmio;
  if (f.kind === 'errno') return { kind: 'errno', errno: f.errno };
  return { kind: 'guest-exception', what: f.what };
}

/** MSR/MRS system register encodings (op0:op1:CRn:CRm:op2 in bits 20..5 of the instruction). */
const SYSREG = (op0: number, op1: number, crn: number, crm: number, op2: number): number =>
  ((op0 - 2) << 19) | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5);
const VBAR_EL1 = SYSREG(3, 0, 12, 0, 0);
const ESR_EL1 = SYSREG(3, 0, 5, 2, 0);
const ELR_EL1 = SYSREG(3, 0, 4, 0, 1);
const FAR_EL1 = SYSREG(3, 0, 6, 0, 0);
const SPSR_EL1 = SYSREG(3, 0, 4, 0, 0);
/** ESR_ELx: IL (RES1 for an instruction abort and a data abort without ISV) and FSC synchronous external abort (0x10). */
const ESR_IL_SEA = (1n << 25n) | 0x10n;
/** ESR_ELx.EC of an instruction abort (0x21) and a data abort (0x25) taken without a change in EL. */
const EC_IABT_CUR = 0x21n;
const EC_DABT_CUR = 0x25n;
/** PSTATE on exception entry to EL1: EL1h, D, A, I, F masked. */
const PSTATE_EL1H_MASKED = 0x3c5n;

/**
 * Take a synchronous external abort at `addr` (Arm ARM D1.10; the RMM's
 * inject_sync_idabort does the same for a REC): the guest runs at EL1, so the
 * vector is "current EL with SP_ELx", VBAR_EL1 + 0x200, and ELR_EL1 is the
 * faulting instruction (for a fetch, `addr` itself).
 */
function takeSea(cpu: CpuState, vbar: bigint, addr: bigint, access: 'fetch' | 'load' | 'store'): void {
  cpu.elr = cpu.pc;
  cpu.spsr = cpu.pstate;
  cpu.esr = ((access === 'fetch' ? EC_IABT_CUR : EC_DABT_CUR) << 26n) | ESR_IL_SEA | (access === 'store' ? 1n << 6n : 0n);
  cpu.far = addr;
  cpu.pstate = PSTATE_EL1H_MASKED;
  cpu.pc = (vbar + 0x200n) & MASK64;
}

/** Read Xn (31 = XZR) or, for base/ADD-SUB operands, SP. */
function rd(cpu: CpuState, r: number, spAt31: boolean): bigint {
  if (r === 31) return spAt31 ? cpu.sp : 0n;
  return cpu.x[r]!;
}

function wr(cpu: CpuState, r: number, v: bigint, spAt31: boolean): void {
  if (r === 31) {
    if (spAt31) cpu.sp = v & MASK64;
    return;
  }
  cpu.x[r] = v & MASK64;
}

/**
 * Run until something needs the hypervisor or `budget` instructions have
 * executed. Returns the reason and how many instructions ran.
 */
export function run(cpu: CpuState, bus: GuestBus, budget: number): { stop: Stop; executed: number } {
  let n = 0;
  while (n < budget) {
    const pc = cpu.pc;
    const insn = bus.fetch(pc);
    if (isFault(insn)) {
      if (insn.kind === 'sea' && cpu.vbar !== undefined) {
        // counted, so a vector that itself faults spends the budget instead of looping forever
        n++;
        takeSea(cpu, cpu.vbar, pc, 'fetch');
        continue;
      }
      const s = stopFor(insn, { kind: 'guest-exception', what: `instruction fetch abort at IPA 0x${pc.toString(16)}` });
      return { stop: s.kind === 'mmio' ? { kind: 'guest-exception', what: `instruction fetch from non-RAM IPA 0x${pc.toString(16)}` } : s, executed: n };
    }
    n++;
    const next = (pc + 4n) & MASK64;
    const sf = bit(insn, 31) === 1;
    const wmask = sf ? MASK64 : 0xffffffffn;

    // Move wide immediate: sf opc(2) 100101 hw imm16 Rd
    if ((insn & 0x1f800000) === 0x12800000) {
      const opc = field(insn, 29, 2);
      const hw = field(insn, 21, 2);
      const imm = BigInt(field(insn, 5, 16)) << BigInt(hw * 16);
      const r = field(insn, 0, 5);
      if (opc === 0b01 || (!sf && hw > 1)) return undef(cpu, insn, n);
      if (opc === 0b10) wr(cpu, r, imm & wmask, false);
      else if (opc === 0b00) wr(cpu, r, ~imm & wmask, false);
      else {
        const old = rd(cpu, r, false);
        const mask = 0xffffn << BigInt(hw * 16);
        wr(cpu, r, ((old & ~mask) | imm) & wmask, false);
      }
      cpu.pc = next;
      continue;
    }
    // Add/subtract immediate (no flags): sf op 0 100010 sh imm12 Rn Rd
    if ((insn & 0x3f800000) === 0x11000000) {
      const sub = bit(insn, 30) === 1;
      const imm = BigInt(field(insn, 10, 12)) << (bit(insn, 22) ? 12n : 0n);
      const a = rd(cpu, field(insn, 5, 5), true) & wmask;
      const v = (sub ? a - imm : a + imm) & wmask;
      wr(cpu, field(insn, 0, 5), v, true);
      cpu.pc = next;
      continue;
    }
    // Load/store register, unsigned immediate: size 111 0 01 opc imm12 Rn Rt (integer, opc 00/01)
    if ((insn & 0x3f000000) === 0x39000000 && field(insn, 22, 2) <= 1) {
      const size = 1 << field(insn, 30, 2);
      const isLoad = field(insn, 22, 2) === 1;
      const rt = field(insn, 0, 5);
      const addr = (rd(cpu, field(insn, 5, 5), true) + BigInt(field(insn, 10, 12) * size)) & MASK64;
      if (isLoad) {
        const v = bus.load(addr, size);
        if (isFault(v) && v.kind === 'sea' && cpu.vbar !== undefined) {
          takeSea(cpu, cpu.vbar, addr, 'load');
          continue;
        }
        if (isFault(v)) return { stop: stopFor(v, { kind: 'mmio', ipa: addr, size, isWrite: false, data: 0n, rt }), executed: n };
        wr(cpu, rt, v, false);
      } else {
        const data = rd(cpu, rt, false) & (size === 8 ? MASK64 : (1n << BigInt(size * 8)) - 1n);
        const f = bus.store(addr, size, data);
        if (f?.kind === 'sea' && cpu.vbar !== undefined) {
          takeSea(cpu, cpu.vbar, addr, 'store');
          continue;
        }
        if (f) return { stop: stopFor(f, { kind: 'mmio', ipa: addr, size, isWrite: true, data, rt }), executed: n };
      }
      cpu.pc = next;
      continue;
    }
    // B / BL: op 00101 imm26
    if ((insn & 0x7c000000) === 0x14000000) {
      // B . (a guest parked after SYSTEM_OFF, spinForever): nothing changes but the count, so spend the budget at once
      if (insn >>> 0 === 0x14000000) return { stop: { kind: 'budget' }, executed: budget > n ? budget : n };
      if (bit(insn, 31)) wr(cpu, 30, next, false);
      cpu.pc = (pc + BigInt(sext(field(insn, 0, 26), 26) * 4)) & MASK64;
      continue;
    }
    // CBZ / CBNZ: sf 011010 op imm19 Rt
    if ((insn & 0x7e000000) === 0x34000000) {
      const v = rd(cpu, field(insn, 0, 5), false) & wmask;
      const taken = bit(insn, 24) ? v !== 0n : v === 0n;
      cpu.pc = taken ? (pc + BigInt(sext(field(insn, 5, 19), 19) * 4)) & MASK64 : next;
      continue;
    }
    // BR / BLR / RET: 1101011 0 0 op(2) 11111 000000 Rn 00000
    if ((insn & 0xff9ffc1f) >>> 0 === 0xd61f0000) {
      const target = rd(cpu, field(insn, 5, 5), false);
      if (field(insn, 21, 2) === 1) wr(cpu, 30, next, false);
      cpu.pc = target;
      continue;
    }
    // Exception generation: HVC / SMC #imm16
    const exc = (insn & 0xffe0001f) >>> 0;
    if (exc === 0xd4000002 || exc === 0xd4000003) {
      cpu.pc = next;
      return { stop: { kind: (insn & 3) === 2 ? 'hvc' : 'smc', imm: field(insn, 5, 16) }, executed: n };
    }
    // MSR/MRS (register): 1101010100 L 1 o0 op1 CRn CRm op2 Rt, op0 = 3 (o0 = 1)
    if ((insn & 0xffd80000) >>> 0 === 0xd5180000) {
      const reg = insn & 0x000fffe0;
      const rt = field(insn, 0, 5);
      if (bit(insn, 21) === 0) {
        if (reg !== VBAR_EL1) return undef(cpu, insn, n);
        // VBAR_EL1 bits [10:0] are RES0
        cpu.vbar = rd(cpu, rt, false) & ~0x7ffn & MASK64;
      } else {
        const v =
          reg === VBAR_EL1
            ? (cpu.vbar ?? 0n)
            : reg === ESR_EL1
              ? cpu.esr
              : reg === ELR_EL1
                ? cpu.elr
                : reg === FAR_EL1
                  ? cpu.far
                  : reg === SPSR_EL1
                    ? cpu.spsr
                    : undefined;
        if (v === undefined) return undef(cpu, insn, n);
        wr(cpu, rt, v, false);
      }
      cpu.pc = next;
      continue;
    }
    // Hints: NOP, YIELD, WFE, SEV..., WFI (CRm:op2 = 0000:011)
    if ((insn & 0xfffff01f) >>> 0 === 0xd503201f) {
      cpu.pc = next;
      if (field(insn, 5, 7) === 0b0000011) return { stop: { kind: 'wfi' }, executed: n };
      continue;
    }
    return undef(cpu, insn, n);
  }
  return { stop: { kind: 'budget' }, executed: n };
}

function undef(cpu: CpuState, insn: number, n: number): { stop: Stop; executed: number } {
  return {
    stop: {
      kind: 'guest-exception',
      what: `undefined instruction 0x${(insn >>> 0).toString(16).padStart(8, '0')} at 0x${cpu.pc.toString(16)}`,
      insn: insn >>> 0,
    },
    executed: n,
  };
}
