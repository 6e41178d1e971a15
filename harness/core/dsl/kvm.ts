// The KVM system fd (/dev/kvm): API version, extensions, VM creation, and
// anonymous mappings in the caller. Calls that make an object come in pairs,
// as the KVM selftests' vm_ioctl/__vm_ioctl: `createVm()` returns the VM or
// fails the set-up (the check is blocked), `__createVm()` returns the raw result.
import type { AbiProfile } from '../../../profiles/types.ts';
import type { CallResult, RecordingSession } from '../calls.ts';
import { hex } from '../../../uapi/ioc.ts';
import * as K from '../../../uapi/kvm-uapi.ts';
import type { WireArg } from '../../../uapi/wire.ts';
import { done, made } from './setup.ts';
import { Mem } from './mem.ts';
import { Vm } from './vm.ts';
import { capName } from './common.ts';

export class Kvm {
  constructor(
    readonly s: RecordingSession,
    readonly abi: AbiProfile,
    readonly fd: string,
  ) {}

  /** open("/dev/kvm"), or fail the set-up. */
  static async open(s: RecordingSession, abi: AbiProfile): Promise<Kvm> {
    const o = await Kvm.__open(s, abi);
    return made(o.kvm, o.r);
  }

  static async __open(s: RecordingSession, abi: AbiProfile): Promise<{ r: CallResult; kvm?: Kvm }> {
    const fd = s.handle('kvm');
    const r = await s.call('open("/dev/kvm", O_RDWR|O_CLOEXEC)', { op: 'open', path: '/dev/kvm', flags: K.O_RDWR | K.O_CLOEXEC, as: fd });
    return done(r) ? { r, kvm: new Kvm(s, abi, fd) } : { r };
  }

  ioctl(label: string, req: number, arg: WireArg, extra: { as?: string } = {}): Promise<CallResult> {
    return this.s.call(label, { op: 'ioctl', fd: this.fd, req, arg, ...extra });
  }

  apiVersion(): Promise<CallResult> {
    return this.ioctl('KVM_GET_API_VERSION()', K.KVM_GET_API_VERSION, { int: 0 });
  }

  checkExtension(cap: number, name = capName(this.abi, cap)): Promise<CallResult> {
    return this.ioctl(`KVM_CHECK_EXTENSION(${name})`, K.KVM_CHECK_EXTENSION, { int: cap });
  }

  vcpuMmapSize(): Promise<CallResult> {
    return this.ioctl('KVM_GET_VCPU_MMAP_SIZE()', K.KVM_GET_VCPU_MMAP_SIZE, { int: 0 });
  }

  /** KVM_CREATE_VM(type), or fail the set-up. */
  async createVm(type: number): Promise<Vm> {
    const o = await this.__createVm(type);
    return made(o.vm, o.r);
  }

  async __createVm(type: number): Promise<{ r: CallResult; vm?: Vm }> {
    const fd = this.s.handle('vm');
    const r = await this.ioctl(`KVM_CREATE_VM(${describeVmType(this.abi, type)})`, K.KVM_CREATE_VM, { int: type }, { as: fd });
    return done(r) ? { r, vm: new Vm(this, fd, type) } : { r };
  }

  /** Anonymous read-write memory in the caller, e.g. to back a memslot; or fail the set-up. */
  async mmapAnon(len: number, prot = K.PROT_READ | K.PROT_WRITE): Promise<Mem> {
    const o = await this.__mmapAnon(len, prot);
    return made(o.mem, o.r);
  }

  async __mmapAnon(len: number, prot = K.PROT_READ | K.PROT_WRITE): Promise<{ r: CallResult; mem?: Mem }> {
    const handle = this.s.handle('mem');
    const r = await this.s.call(`mmap(anon, ${hex(len)}, prot=${prot})`, {
      op: 'mmap',
      as: handle,
      len,
      prot,
      flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS,
    });
    return done(r) ? { r, mem: new Mem(this.s, handle, len) } : { r };
  }
}

export function describeVmType(abi: AbiProfile, type: number): string {
  // Unsigned: KVM_CREATE_VM takes an unsigned long, and bit 31 must not print as a negative number.
  const ipa = type & 0xff;
  let kind = (type >>> 0) - ipa;
  const parts: string[] = [];
  const realm = abi.vmTypeRealm >>> 0;
  // The realm bit by name, every other type bit in hex: none is lost.
  if (realm && (kind & realm) >>> 0 === realm) {
    parts.push('REALM');
    kind = (kind & ~realm) >>> 0;
  }
  if (kind !== 0) parts.push(hex(kind));
  parts.push(ipa === 0 ? 'IPA default' : `IPA ${ipa}`);
  return parts.join(' | ');
}
