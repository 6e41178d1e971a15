// The in-kernel irqchip: a minimal vGICv3 (KVM_CREATE_DEVICE, its device fd and attributes).
import { STRUCTS } from '../uapi/kvm.ts';
import { sizeOf, view } from '../uapi/layout.ts';
import { StructReader, StructWriter } from '../uapi/bytes.ts';
import {
  KVM_DEV_ARM_VGIC_CTRL_INIT,
  KVM_DEV_ARM_VGIC_GRP_ADDR,
  KVM_DEV_ARM_VGIC_GRP_CTRL,
  KVM_DEV_TYPE_ARM_VGIC_V3,
  KVM_SET_DEVICE_ATTR,
  KVM_VGIC_V3_ADDR_TYPE_DIST,
  KVM_VGIC_V3_ADDR_TYPE_REDIST,
  SIZEOF_KVM_CREATE_DEVICE,
} from '../uapi/kvm-uapi.ts';
import { fail } from './errors.ts';
import { type IoctlCtx, KFile } from './kernel.ts';
import type { Vm } from './vm.ts';

const KVM_CREATE_DEVICE_TEST = 1;

export class DeviceFile extends KFile {
  readonly kind = 'device';
  constructor(readonly vgic: Vgic) {
    super();
    vgic.vm.get();
  }
  ioctl(ctx: IoctlCtx): number {
    return this.vgic.ioctl(ctx);
  }
  override release(): void {
    this.vgic.vm.put();
  }
}

export class Vgic {
  distBase: bigint | undefined;
  redistBase: bigint | undefined;
  initialized = false;
  constructor(readonly vm: Vm) {}

  ioctl(ctx: IoctlCtx): number {
    if (ctx.req !== KVM_SET_DEVICE_ATTR) {
      // GET/HAS_DEVICE_ATTR are not modelled; other requests: no ->ioctl
      fail('ENOTTY', 'device ioctl');
    }
    const b = view(STRUCTS.deviceAttr, ctx.read(ctx.arg, sizeOf(STRUCTS.deviceAttr), `struct ${STRUCTS.deviceAttr.c}`));
    const group = b.u32('group');
    const attr = b.u64('attr');
    const addr = b.u64('addr');
    if (group === KVM_DEV_ARM_VGIC_GRP_ADDR) {
      const v = new StructReader(ctx.read(addr, 8, 'vgic address')).u64(0);
      const check = (cur: bigint | undefined, size: bigint): void => {
        if (cur !== undefined) fail('EEXIST', 'vgic address already set');
        if (v & 0xffffn) fail('EINVAL', 'vgic address not 64K-aligned');
        if (v + size > this.vm.physSize) fail('E2BIG', 'vgic address beyond the IPA size');
      };
      if (attr === BigInt(KVM_VGIC_V3_ADDR_TYPE_DIST)) {
        check(this.distBase, 0x10000n);
        this.distBase = v;
        return 0;
      }
      if (attr === BigInt(KVM_VGIC_V3_ADDR_TYPE_REDIST)) {
        check(this.redistBase, 0x20000n);
        this.redistBase = v;
        return 0;
      }
      fail('ENXIO', 'vgic address type');
    }
    if (group === KVM_DEV_ARM_VGIC_GRP_CTRL) {
      if (attr !== BigInt(KVM_DEV_ARM_VGIC_CTRL_INIT)) fail('ENXIO', 'vgic ctrl attr');
      if (!this.initialized) {
        if (this.vm.createdVcpus !== this.vm.vcpus.length) fail('EBUSY', 'vCPU creation in flight');
        this.initialized = true;
      }
      return 0;
    }
    fail('ENXIO', 'vgic attr group');
  }

  /** vgic_v3_map_resources at the first KVM_RUN (UP-vgic). */
  mapResources(): void {
    if (this.redistBase === undefined) fail('ENXIO', 'redistributor base not set');
    if (this.distBase === undefined) fail('ENXIO', 'distributor base not set');
    if (!this.initialized) fail('EBUSY', 'GICv3 not initialised by userspace (UP-vgic)');
  }
}

export function createDevice(vm: Vm, ctx: IoctlCtx): number {
  const bytes = ctx.read(ctx.arg, SIZEOF_KVM_CREATE_DEVICE, 'struct kvm_create_device');
  const b = view(STRUCTS.createDevice, bytes);
  const type = b.u32('type');
  const flags = b.u32('flags');
  if (type !== KVM_DEV_TYPE_ARM_VGIC_V3) fail('ENODEV', `device type ${type} not available`);
  if (flags & KVM_CREATE_DEVICE_TEST) return 0;
  // kvm_vgic_create
  if (vm.vgic) fail('EEXIST', 'irqchip already created');
  if (vm.vcpus.some((v) => v.hasRunOnce)) fail('EBUSY', 'a vCPU has run');
  vm.vgic = new Vgic(vm);
  const fd = ctx.installFd(new DeviceFile(vm.vgic));
  const out = new StructWriter(SIZEOF_KVM_CREATE_DEVICE).raw(0, bytes).u32(b.at('fd'), fd).bytes;
  // the device exists even if the fd cannot be copied back (as upstream)
  ctx.write(ctx.arg, out, 'struct kvm_create_device (fd)');
  return 0;
}
