// /dev/kvm: the system fd (kvm_dev_ioctl).
import { KVM_API_VERSION, KVM_CHECK_EXTENSION, KVM_CREATE_VM, KVM_GET_API_VERSION, KVM_GET_VCPU_MMAP_SIZE } from '../uapi/kvm-uapi.ts';
import { checkExtension } from './check-extension.ts';
import { fail } from './errors.ts';
import { type IoctlCtx, type Kernel, KFile, VCPU_MMAP_SIZE } from './kernel.ts';
import { createVm, VmFile } from './vm.ts';

/** /dev/kvm */
export class SystemFile extends KFile {
  readonly kind = 'system';
  constructor(private readonly k: Kernel) {
    super();
  }

  ioctl(ctx: IoctlCtx): number {
    switch (ctx.req) {
      case KVM_GET_API_VERSION:
        if (ctx.arg !== 0n) fail('EINVAL', 'KVM_GET_API_VERSION takes no argument');
        return KVM_API_VERSION;
      case KVM_CREATE_VM:
        return ctx.installFd(new VmFile(createVm(this.k, ctx)));
      case KVM_CHECK_EXTENSION:
        return checkExtension(this.k, undefined, ctx.arg);
      case KVM_GET_VCPU_MMAP_SIZE:
        if (ctx.arg !== 0n) fail('EINVAL', 'KVM_GET_VCPU_MMAP_SIZE takes no argument');
        return VCPU_MMAP_SIZE;
      default:
        // kvm_dev_ioctl -> kvm_arch_dev_ioctl: -EINVAL on arm64
        fail('EINVAL', 'unknown /dev/kvm ioctl');
    }
  }
}
