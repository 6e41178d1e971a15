// KVM_GET_ONE_REG / KVM_SET_ONE_REG: core registers and SVE_VLS.
import { StructReader, StructWriter } from '../uapi/bytes.ts';
import { KVM_ARM_VCPU_SVE, KVM_REG_ARM64_SVE_VLS } from '../uapi/kvm-uapi.ts';
import { KVM_REGS, ONE_REG } from '../uapi/kvm.ts';
import { fail } from './errors.ts';
import type { IoctlCtx } from './kernel.ts';
import type { Vcpu } from './vcpu.ts';

// ONE_REG ids: KVM_REG_ARM64 | size | KVM_REG_ARM_CORE | offset in u32 units (uapi/kvm.ts)
const { KVM_REG_ARCH_MASK, KVM_REG_ARM64, KVM_REG_SIZE_SHIFT, KVM_REG_ARM_COPROC_MASK, KVM_REG_ARM_CORE } = ONE_REG;
const CORE_NR_REGS = KVM_REGS.size / 4;
/** KVM_REG_ARM64 | KVM_REG_SIZE_U512 | KVM_REG_ARM64_SVE | 0xffff */
export { KVM_REG_ARM64_SVE_VLS };
const SVE_VLS_BYTES = 64;

/** get/set_sve_vls: a bitmap of VQs; must be exactly the host's VQs up to its highest bit. */
function sveVls(vcpu: Vcpu, ctx: IoctlCtx, addr: bigint, set: boolean): number {
  if (!vcpu.hasFeature(KVM_ARM_VCPU_SVE)) fail('ENOENT', 'SVE_VLS on a vCPU without SVE');
  if (!set) {
    const out = new Uint8Array(SVE_VLS_BYTES);
    for (let vq = 1; vq <= vcpu.sveMaxVq; vq++) out[(vq - 1) >> 3]! |= 1 << ((vq - 1) & 7);
    ctx.write(addr, out, 'SVE_VLS');
    return 0;
  }
  if (vcpu.sveFinalized) fail('EPERM', 'SVE_VLS after FINALIZE(SVE)');
  const v = ctx.read(addr, SVE_VLS_BYTES, 'SVE_VLS');
  let max = 0;
  for (let vq = 1; vq <= SVE_VLS_BYTES * 8; vq++) if ((v[(vq - 1) >> 3]! >> ((vq - 1) & 7)) & 1) max = vq;
  const hostMax = vcpu.vm.kernel.host.sveMaxVq;
  if (max === 0 || max > hostMax) fail('EINVAL', 'SVE_VLS past the host maximum');
  for (let vq = 1; vq <= max; vq++) if (!((v[(vq - 1) >> 3]! >> ((vq - 1) & 7)) & 1)) fail('EINVAL', 'SVE_VLS skips an available VQ');
  vcpu.sveMaxVq = max;
  return 0;
}

export function oneReg(vcpu: Vcpu, ctx: IoctlCtx, id: bigint, addr: bigint, set: boolean): number {
  if ((id & KVM_REG_ARCH_MASK) !== KVM_REG_ARM64) fail('EINVAL', 'not an arm64 register id');
  vcpu.vm.kernel.realm?.oneReg(vcpu, id, set);
  const size = 1 << Number((id >> KVM_REG_SIZE_SHIFT) & 0xfn);
  if (id === KVM_REG_ARM64_SVE_VLS) return sveVls(vcpu, ctx, addr, set);
  if ((id & KVM_REG_ARM_COPROC_MASK) !== KVM_REG_ARM_CORE) {
    // system, firmware and SVE registers are not modelled
    fail('ENOENT', `register 0x${id.toString(16)} not modelled`);
  }
  const off = Number(id & 0xffffn);
  if (off >= CORE_NR_REGS || off + size / 4 >= CORE_NR_REGS) fail('ENOENT', 'core register offset');
  // validate_core_offset: the user_pt_regs part (x0..x30, sp, pc, pstate) and the EL1 regs are 64-bit
  if (off < 0x50 && (size !== 8 || off % 2 !== 0)) fail('EINVAL', 'core register size');
  const c = vcpu.cpu;
  const [SP, PC, PSTATE] = [KVM_REGS.sp / 4, KVM_REGS.pc / 4, KVM_REGS.pstate / 4];
  const get = (): bigint => {
    if (off < SP) return c.x[off / 2]!;
    if (off === SP) return c.sp;
    if (off === PC) return c.pc;
    if (off === PSTATE) return c.pstate;
    return vcpu.otherCore.get(off) ?? 0n;
  };
  if (!set) {
    const w = new StructWriter(size);
    if (size === 8) w.u64(0, get());
    ctx.write(addr, w.bytes, 'ONE_REG value');
    return 0;
  }
  const raw = ctx.read(addr, size, 'ONE_REG value');
  const v = size === 8 ? new StructReader(raw).u64(0) : 0n;
  if (off < SP) c.x[off / 2] = v;
  else if (off === SP) c.sp = v;
  else if (off === PC) c.pc = v;
  else if (off === PSTATE) {
    // AArch64 modes EL0t, EL1t, EL1h only
    const mode = Number(v & 0x1fn);
    if (![0, 4, 5].includes(mode)) fail('EINVAL', 'PSTATE mode');
    c.pstate = v;
  } else vcpu.otherCore.set(off, v);
  return 0;
}
