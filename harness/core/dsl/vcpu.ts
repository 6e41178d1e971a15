// A vCPU fd: KVM_ARM_VCPU_INIT, FINALIZE (REC, SVE), ONE_REG writes,
// KVM_RUN with its exit decoded, and the PSCI complete ioctl (v2..v13).
import { encodePsciComplete, type PsciCompleteArgs } from '../../../profiles/encode.ts';
import type { AbiProfile } from '../../../profiles/types.ts';
import type { U64 } from '../../../uapi/bytes.ts';
import type { CallResult, RecordingSession } from '../calls.ts';
import { hex } from '../../../uapi/ioc.ts';
import * as K from '../../../uapi/kvm-uapi.ts';
import type { WireArg } from '../../../uapi/wire.ts';
import { BAD_USER_POINTER, fmt, h } from './common.ts';
import { done } from './setup.ts';
import { SLOT } from './slots.ts';
import type { Vm } from './vm.ts';

export interface RunOutcome extends CallResult {
  exit?: K.RunExit;
}

export class Vcpu {
  private runMem?: string;
  constructor(
    readonly vm: Vm,
    readonly fd: string,
    readonly id: number,
  ) {}
  get s(): RecordingSession {
    return this.vm.s;
  }
  get abi(): AbiProfile {
    return this.vm.abi;
  }

  ioctl(label: string, req: number, arg: WireArg, extra: { peek?: { mem: string; offset: number; len: number }[] } = {}): Promise<CallResult> {
    return this.s.call(label, { op: 'ioctl', fd: this.fd, req, arg, ...extra });
  }

  init(features: readonly number[], target = K.KVM_ARM_TARGET_GENERIC_V8): Promise<CallResult> {
    return this.ioctl(`KVM_ARM_VCPU_INIT(target=${target}, features=[${features.join(',')}])`, K.KVM_ARM_VCPU_INIT, {
      buf: { hex: h(K.encodeVcpuInit(target, features)) },
    });
  }

  /** KVM_ARM_VCPU_FINALIZE(feature); `badPointer` passes an unmapped address instead of &feature. */
  finalize(feature: number, badPointer = false): Promise<CallResult> {
    const name = feature === this.abi.recFeature ? 'REC' : feature === K.KVM_ARM_VCPU_SVE ? 'SVE' : String(feature);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setInt32(0, feature, true);
    return this.ioctl(
      `KVM_ARM_VCPU_FINALIZE(${badPointer ? 'bad pointer' : name})`,
      K.KVM_ARM_VCPU_FINALIZE,
      badPointer ? { int: BAD_USER_POINTER } : { buf: { hex: h(bytes) } },
    );
  }

  finalizeRec(): Promise<CallResult> {
    if (this.abi.recFeature === undefined) throw new Error(`${this.abi.name} has no REC feature`);
    return this.finalize(this.abi.recFeature);
  }

  setReg(id: bigint, value: U64, name: string): Promise<CallResult> {
    const val = new Uint8Array(8);
    new DataView(val.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(value)), true);
    return this.ioctl(`KVM_SET_ONE_REG(${name}=${fmt(value)})`, K.KVM_SET_ONE_REG, {
      buf: { hex: h(K.encodeOneReg(id)), ptrs: [{ at: SLOT.oneRegAddr, to: { buf: { hex: h(val) } } }] },
    });
  }

  /** KVM_GET_ONE_REG of a 64-bit register (the value lands in a buffer of the call). */
  getReg(id: bigint, name: string): Promise<CallResult> {
    return this.ioctl(`KVM_GET_ONE_REG(${name})`, K.KVM_GET_ONE_REG, {
      buf: { hex: h(K.encodeOneReg(id)), ptrs: [{ at: SLOT.oneRegAddr, to: { buf: { hex: h(new Uint8Array(8)) } } }] },
    });
  }

  setPc(pc: U64): Promise<CallResult> {
    return this.setReg(K.CORE_REG_PC, pc, 'PC');
  }

  setX(n: number, v: U64): Promise<CallResult> {
    return this.setReg(K.coreRegX(n), v, `X${n}`);
  }

  /** Map kvm_run once, then KVM_RUN and read the exit back in the same request. */
  async run(): Promise<RunOutcome> {
    if (!this.runMem) {
      const size = await this.vm.runSize();
      const handle = this.s.handle('run');
      const m = await this.s.call(`mmap(${this.fd} kvm_run, ${hex(size)})`, {
        op: 'mmap',
        as: handle,
        len: size,
        prot: K.PROT_READ | K.PROT_WRITE,
        flags: K.MAP_SHARED,
        fd: this.fd,
        offset: 0,
      });
      if (!done(m)) return m;
      this.runMem = handle;
    }
    const r: RunOutcome = await this.ioctl(
      `KVM_RUN(vcpu ${this.id})`,
      K.KVM_RUN,
      { int: 0 },
      { peek: [{ mem: this.runMem, offset: 0, len: K.KVM_RUN_PEEK_LEN }] },
    );
    if (done(r) && r.peek?.[0]) r.exit = K.decodeRunExit(r.peek[0]);
    return r;
  }

  // ---- v2..v13: the VMM's PSCI completion, and register writes the realm restricts

  /** KVM_ARM_VCPU_{RMM,RMI}_PSCI_COMPLETE on this vCPU; `req` overrides the profile's number (old-number checks). */
  psciComplete(a: PsciCompleteArgs, opts: { badPointer?: boolean; req?: number } = {}): Promise<CallResult> {
    const p = this.abi.psciComplete;
    const req = opts.req ?? p?.req;
    if (req === undefined) throw new Error(`${this.abi.name} has no PSCI complete ioctl`);
    const name = opts.req !== undefined ? `ioctl ${hex(req)}` : (p?.name ?? 'PSCI_COMPLETE');
    const size = this.abi.sizes.psciComplete ?? 24;
    const bytes = this.abi.sizes.psciComplete ? encodePsciComplete(this.abi, a) : new Uint8Array(size);
    if (!this.abi.sizes.psciComplete) new DataView(bytes.buffer).setBigUint64(0, BigInt(a.targetMpidr), true);
    return this.ioctl(
      `${name}(${opts.badPointer ? 'bad pointer' : `target_mpidr=${fmt(a.targetMpidr)}, status=${a.psciStatus}${a.padding?.some((x) => x) ? ', padding!=0' : ''}`})`,
      req,
      opts.badPointer ? { int: BAD_USER_POINTER } : { buf: { hex: h(bytes) } },
    );
  }

  /** KVM_SET_ONE_REG(KVM_REG_ARM64_SVE_VLS): a 512-bit bitmap of vector lengths (bit n-1 = VQ n). */
  setSveVls(vqs: readonly number[]): Promise<CallResult> {
    const val = new Uint8Array(64);
    for (const vq of vqs) val[(vq - 1) >> 3]! |= 1 << ((vq - 1) & 7);
    return this.ioctl(`KVM_SET_ONE_REG(SVE_VLS=[${vqs.join(',')}])`, K.KVM_SET_ONE_REG, {
      buf: { hex: h(K.encodeOneReg(KVM_REG_ARM64_SVE_VLS)), ptrs: [{ at: SLOT.oneRegAddr, to: { buf: { hex: h(val) } } }] },
    });
  }
}

/** KVM_REG_ARM64 | KVM_REG_SIZE_U512 | KVM_REG_ARM64_SVE (0x15 << 16) | 0xffff (arch/arm64/include/uapi/asm/kvm.h). */
export const KVM_REG_ARM64_SVE_VLS = K.KVM_REG_ARM64_SVE_VLS;
