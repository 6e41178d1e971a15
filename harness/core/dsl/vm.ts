// A VM fd: extensions, ENABLE_CAP, memslots (plain and guest_memfd), vCPUs,
// the vGIC, and the realm uAPI of both eras (RME era: the ENABLE_CAP
// sub-commands; RMI era: KVM_ARM_RMI_POPULATE). Calls that make an object
// come in pairs: `createVcpu()` returns the vCPU or fails the set-up,
// `__createVcpu()` returns the raw result.
import {
  encodeConfigItem,
  encodeInitIpaArgs,
  encodePopulateArgs,
  subcmdName,
  subcmdNumber,
  type ConfigItem,
  type RangeArgs,
} from '../../../profiles/encode.ts';
import { decodeRmiPopulate, encodeRmiPopulate, type RmiPopulateArgs, type RmiPopulateFields } from '../../../profiles/encode.ts';
import type { AbiProfile, SubcommandNumbers } from '../../../profiles/types.ts';
import type { U64 } from '../../../uapi/bytes.ts';
import type { CallResult, RecordingSession } from '../calls.ts';
import { hex } from '../../../uapi/ioc.ts';
import * as K from '../../../uapi/kvm-uapi.ts';
import type { WireArg, WirePtrTarget } from '../../../uapi/wire.ts';
import { toHex } from '../../../uapi/wire.ts';
import { BAD_USER_POINTER, capName, fmt, h } from './common.ts';
import type { Kvm } from './kvm.ts';
import type { Mem } from './mem.ts';
import { done, made } from './setup.ts';
import { SLOT } from './slots.ts';
import { Vcpu } from './vcpu.ts';

export interface MemslotSpec {
  slot: number;
  gpa: U64;
  size: number;
  flags?: number;
}

export class Vm {
  private vcpuMmapSize?: number;
  constructor(
    readonly kvm: Kvm,
    readonly fd: string,
    readonly type: number,
  ) {}

  get s(): RecordingSession {
    return this.kvm.s;
  }
  get abi(): AbiProfile {
    return this.kvm.abi;
  }

  ioctl(label: string, req: number, arg: WireArg, extra: { as?: string; fields?: Record<string, string | number> } = {}): Promise<CallResult> {
    const { fields, ...rest } = extra;
    return this.s.call(label, { op: 'ioctl', fd: this.fd, req, arg, ...rest }, fields);
  }

  checkExtension(cap: number): Promise<CallResult> {
    return this.ioctl(`KVM_CHECK_EXTENSION(${capName(this.abi, cap)}) on VM`, K.KVM_CHECK_EXTENSION, { int: cap });
  }

  enableCap(cap: number, args: readonly U64[], flags = 0, ptrs: { at: number; to: WirePtrTarget }[] = [], label?: string): Promise<CallResult> {
    const bytes = K.encodeEnableCap(cap, args, flags);
    return this.ioctl(
      label ?? `KVM_ENABLE_CAP(${capName(this.abi, cap)}, args=[${args.map(fmt).join(', ')}]${flags ? `, flags=${hex(flags)}` : ''})`,
      K.KVM_ENABLE_CAP,
      {
        buf: { hex: h(bytes), ptrs },
      },
    );
  }

  /** A memslot backed by fresh anonymous memory; the mapping is returned for writing guest images. Or fail the set-up. */
  async memslot(m: MemslotSpec): Promise<Mem> {
    const o = await this.__memslot(m);
    return made(o.mem, o.r);
  }

  async __memslot(m: MemslotSpec): Promise<{ r: CallResult; mem?: Mem }> {
    const map = await this.kvm.__mmapAnon(m.size);
    if (!map.mem) return { r: map.r };
    const r = await this.setMemoryRegion(m, map.mem);
    return done(r) ? { r, mem: map.mem } : { r };
  }

  /** KVM_SET_USER_MEMORY_REGION over `mem` (+memOffset); without `mem`, userspace_addr 0 (nothing mapped there). */
  setMemoryRegion(m: MemslotSpec, mem: Mem | undefined, memOffset = 0): Promise<CallResult> {
    const bytes = K.encodeMemoryRegion({ slot: m.slot, flags: m.flags ?? 0, gpa: m.gpa, size: m.size, uaddr: 0 });
    return this.ioctl(
      `KVM_SET_USER_MEMORY_REGION(slot=${m.slot}, gpa=${fmt(m.gpa)}, size=${hex(m.size)}, uaddr=${mem ? `${mem.handle}+${hex(memOffset)}` : '0'})`,
      K.KVM_SET_USER_MEMORY_REGION,
      { buf: { hex: h(bytes), ptrs: mem ? [{ at: SLOT.regionUaddr, to: mem.at(memOffset) }] : [] } },
    );
  }

  /** KVM_CREATE_VCPU(id), or fail the set-up. */
  async createVcpu(id: number): Promise<Vcpu> {
    const o = await this.__createVcpu(id);
    return made(o.vcpu, o.r);
  }

  async __createVcpu(id: number): Promise<{ r: CallResult; vcpu?: Vcpu }> {
    const fd = this.s.handle('vcpu');
    const r = await this.ioctl(`KVM_CREATE_VCPU(${id})`, K.KVM_CREATE_VCPU, { int: id }, { as: fd });
    return done(r) ? { r, vcpu: new Vcpu(this, fd, id) } : { r };
  }

  /** The kvm_run size, asked once per VM. */
  async runSize(): Promise<number> {
    if (this.vcpuMmapSize === undefined) {
      const r = await this.kvm.vcpuMmapSize();
      this.vcpuMmapSize = r.ret > 0 ? r.ret : 4096;
    }
    return this.vcpuMmapSize;
  }

  /** In-kernel GICv3 with its frames placed and initialised (needed before the first run in the RMI era). */
  async createVgicV3(dist: U64 = 0x08000000, redist: U64 = 0x080a0000): Promise<CallResult> {
    const dev = this.s.handle('vgic');
    const c = await this.s.call('KVM_CREATE_DEVICE(VGIC_V3)', {
      op: 'ioctl',
      fd: this.fd,
      req: K.KVM_CREATE_DEVICE,
      arg: { buf: { hex: h(K.encodeCreateDevice(K.KVM_DEV_TYPE_ARM_VGIC_V3)) } },
      as: dev,
      as_fd_at: SLOT.createDeviceFd,
    });
    if (!done(c)) return c;
    const attr = (label: string, group: number, a: number, value?: U64): Promise<CallResult> => {
      const ptrs = [];
      if (value !== undefined) {
        const v = new Uint8Array(8);
        new DataView(v.buffer).setBigUint64(0, BigInt(value), true);
        ptrs.push({ at: SLOT.deviceAttrAddr, to: { buf: { hex: h(v) } } });
      }
      return this.s.call(label, { op: 'ioctl', fd: dev, req: K.KVM_SET_DEVICE_ATTR, arg: { buf: { hex: h(K.encodeDeviceAttr(group, a)), ptrs } } });
    };
    for (const step of [
      () => attr(`KVM_SET_DEVICE_ATTR(VGIC ADDR DIST=${fmt(dist)})`, K.KVM_DEV_ARM_VGIC_GRP_ADDR, K.KVM_VGIC_V3_ADDR_TYPE_DIST, dist),
      () => attr(`KVM_SET_DEVICE_ATTR(VGIC ADDR REDIST=${fmt(redist)})`, K.KVM_DEV_ARM_VGIC_GRP_ADDR, K.KVM_VGIC_V3_ADDR_TYPE_REDIST, redist),
      () => attr('KVM_SET_DEVICE_ATTR(VGIC CTRL_INIT)', K.KVM_DEV_ARM_VGIC_GRP_CTRL, K.KVM_DEV_ARM_VGIC_CTRL_INIT),
    ]) {
      const r = await step();
      if (!done(r)) return r;
    }
    return c;
  }

  // ---- RME-era realm uAPI (RFC v1 .. v10): KVM_ENABLE_CAP(realm CAP, args[0]=sub-command, args[1]=&struct)

  /** Issue one realm sub-command; `arg` null passes args[1] = 0, a number passes that raw pointer. */
  realmSubcmd(
    which: keyof SubcommandNumbers | number,
    arg: Uint8Array | number | null,
    fields: Record<string, string | number> = {},
    capFlags = 0,
  ): Promise<CallResult> {
    const nr = typeof which === 'number' ? which : subcmdNumber(this.abi, which);
    const name = subcmdName(this.abi, nr);
    const short = this.abi.cap.name.replace(/^KVM_CAP_ARM_/, '');
    const described = Object.entries(fields)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const label = `KVM_ENABLE_CAP(${short}, ${name}${described ? `, ${described}` : ''}${capFlags ? `, flags=${hex(capFlags)}` : ''})`;
    const bytes = K.encodeEnableCap(this.abi.cap.nr, [nr, typeof arg === 'number' ? arg : 0], capFlags);
    const ptrs = arg instanceof Uint8Array ? [{ at: SLOT.enableCapArg1, to: { buf: { hex: h(arg) } } }] : [];
    return this.ioctl(label, K.KVM_ENABLE_CAP, { buf: { hex: h(bytes), ptrs } }, { fields: { subcmd: name, ...fields } });
  }

  config(item: ConfigItem): Promise<CallResult> {
    return this.realmSubcmd('CONFIG_REALM', encodeConfigItem(this.abi, item), describeConfig(this.abi, item));
  }

  createRd(): Promise<CallResult> {
    return this.realmSubcmd('CREATE', null);
  }

  initIpa(a: RangeArgs): Promise<CallResult> {
    return this.realmSubcmd('INIT_IPA', encodeInitIpaArgs(this.abi, a), describeRange(a));
  }

  populate(a: RangeArgs): Promise<CallResult> {
    return this.realmSubcmd('POPULATE', encodePopulateArgs(this.abi, a), describeRange(a));
  }

  activate(): Promise<CallResult> {
    return this.realmSubcmd('ACTIVATE', null);
  }

  // ---- guest_memfd era (v2+): private memory, and the RMI uAPI (v12+)

  /** KVM_CREATE_GUEST_MEMFD on this VM, its fd's handle; or fail the set-up. */
  async createGuestMemfd(size: number, flags: U64 = 0): Promise<string> {
    const o = await this.__createGuestMemfd(size, flags);
    return made(o.gmem, o.r);
  }

  /** KVM_CREATE_GUEST_MEMFD on this VM; the returned fd is bound to a handle. */
  async __createGuestMemfd(size: number, flags: U64 = 0): Promise<{ r: CallResult; gmem?: string }> {
    // flags is a u64: the label prints the word the encoder writes (a negative number sign-extends).
    const gmem = this.s.handle('gmem');
    const r = await this.ioctl(
      `KVM_CREATE_GUEST_MEMFD(size=${hex(size)}${flags ? `, flags=${fmt(flags)}` : ''})`,
      K.KVM_CREATE_GUEST_MEMFD,
      { buf: { hex: h(K.encodeCreateGuestMemfd(size, flags)) } },
      { as: gmem },
    );
    return done(r) ? { r, gmem } : { r };
  }

  /** KVM_SET_USER_MEMORY_REGION2; with `gmem` the slot is KVM_MEM_GUEST_MEMFD and the fd is patched into the struct. */
  setMemoryRegion2(m: MemslotSpec, mem: Mem | undefined, gmem?: { handle: string; offset?: number }): Promise<CallResult> {
    const flags = (m.flags ?? 0) | (gmem ? K.KVM_MEM_GUEST_MEMFD : 0);
    const bytes = K.encodeMemoryRegion2({ slot: m.slot, flags, gpa: m.gpa, size: m.size, uaddr: 0, gmemOffset: gmem?.offset ?? 0 });
    const ptrs = mem ? [{ at: SLOT.region2Uaddr, to: mem.at(0) }] : [];
    const fds = gmem ? [{ at: SLOT.region2Gmem, fd: gmem.handle }] : [];
    return this.ioctl(
      `KVM_SET_USER_MEMORY_REGION2(slot=${m.slot}, gpa=${fmt(m.gpa)}, size=${hex(m.size)}, uaddr=${mem ? mem.handle : '0'}${gmem ? `, guest_memfd=${gmem.handle}+${hex(gmem.offset ?? 0)}` : ''})`,
      K.KVM_SET_USER_MEMORY_REGION2,
      { buf: { hex: h(bytes), ptrs, ...(fds.length ? { fds } : {}) } },
    );
  }

  /** KVM_SET_MEMORY_ATTRIBUTES over [gpa, gpa+size): PRIVATE = 1<<3, 0 = shared. */
  setMemoryAttributes(gpa: U64, size: U64, attributes: U64): Promise<CallResult> {
    // A u64: bit 63 and PRIVATE together print as both, none lost.
    const a = BigInt.asUintN(64, BigInt(attributes));
    const priv = BigInt(K.KVM_MEMORY_ATTRIBUTE_PRIVATE);
    const rest = a & ~priv;
    const name = a === priv ? 'PRIVATE' : a & priv ? `PRIVATE | ${hex(rest)}` : hex(a);
    return this.ioctl(`KVM_SET_MEMORY_ATTRIBUTES(${fmt(gpa)}, ${fmt(size)}, ${name})`, K.KVM_SET_MEMORY_ATTRIBUTES, {
      buf: { hex: h(K.encodeMemoryAttributes(gpa, size, attributes)) },
    });
  }

  /**
   * A private RAM memslot as the guest_memfd-era VMMs make it: guest_memfd,
   * a shared anonymous VMA (v2..v11 populate copies from it: "double
   * backing"), REGION2 with both, then the range marked PRIVATE. Four calls.
   */
  async privateMemslot(m: MemslotSpec, opts: { private?: boolean; sharedProt?: number } = {}): Promise<{ mem: Mem; gmem: string }> {
    const o = await this.__privateMemslot(m, opts);
    return { mem: made(o.mem, o.r), gmem: made(o.gmem, o.r) };
  }

  async __privateMemslot(m: MemslotSpec, opts: { private?: boolean; sharedProt?: number } = {}): Promise<{ r: CallResult; mem?: Mem; gmem?: string }> {
    const g = await this.__createGuestMemfd(m.size);
    if (!g.gmem) return { r: g.r };
    // sharedProt: the shared alias mapped with other than read-write (PROT_READ: a read-only source)
    const map = await this.kvm.__mmapAnon(m.size, opts.sharedProt);
    if (!map.mem) return { r: map.r };
    const r = await this.setMemoryRegion2(m, map.mem, { handle: g.gmem });
    if (!done(r)) return { r };
    if (opts.private !== false) {
      const a = await this.setMemoryAttributes(m.gpa, m.size, K.KVM_MEMORY_ATTRIBUTE_PRIVATE);
      if (!done(a)) return { r: a };
    }
    return { r, mem: map.mem, gmem: g.gmem };
  }

  /** Guest RAM the way this revision wants it: guest_memfd-backed from v2 on, plain memory in RFC v1. Or fail the set-up. */
  async ramMemslot(m: MemslotSpec): Promise<Mem> {
    const o = await this.__ramMemslot(m);
    return made(o.mem, o.r);
  }

  __ramMemslot(m: MemslotSpec): Promise<{ r: CallResult; mem?: Mem; gmem?: string }> {
    return this.abi.privateMemory === 'guest_memfd' ? this.__privateMemslot(m) : this.__memslot(m);
  }

  /**
   * KVM_ARM_RMI_POPULATE (v12+). `source` is a place in a mapping (patched
   * into source_uaddr) unless a raw `sourceUaddr` is given. v12 returns the
   * bytes populated; v13+ update the struct in place, decoded into `after`.
   */
  async rmiPopulate(
    a: RmiPopulateArgs & { source?: { mem: Mem; offset: number } },
    opts: { badPointer?: boolean; req?: number } = {},
  ): Promise<CallResult & { after?: RmiPopulateFields }> {
    const p = this.abi.rmiPopulate;
    if (!p) throw new Error(`${this.abi.name} has no KVM_ARM_RMI_POPULATE`);
    const bytes = encodeRmiPopulate(this.abi, a);
    const src = a.source ? `${a.source.mem.handle}+${hex(a.source.offset)}` : fmt(a.sourceUaddr ?? 0);
    const flags = a.flags ? `, flags=${hex(a.flags)}` : '';
    const label = `${p.name}(${opts.badPointer ? 'bad pointer' : `base=${fmt(a.base)} size=${fmt(a.size)} src=${src}${flags}${a.reserved ? `, reserved=${hex(a.reserved)}` : ''}`})`;
    const arg: WireArg = opts.badPointer
      ? { int: BAD_USER_POINTER }
      : { buf: { hex: h(bytes), ...(a.source ? { ptrs: [{ at: SLOT.rmiPopulateSource, to: a.source.mem.at(a.source.offset) }] } : {}) } };
    const r: CallResult & { after?: RmiPopulateFields } = await this.ioctl(label, opts.req ?? p.req, arg, {
      fields: { base: fmt(a.base), size: fmt(a.size), src },
    });
    if (p.inOut && r.out && r.out.length >= 32) r.after = decodeRmiPopulate(r.out);
    return r;
  }
}

function describeRange(a: RangeArgs): Record<string, string> {
  const f: Record<string, string> = { base: fmt(a.base), size: fmt(a.size) };
  if (a.flags) f.flags = hex(a.flags);
  if (a.reserved?.some((r) => r !== 0)) f.reserved = a.reserved.map((r) => hex(r)).join(',');
  return f;
}

function describeConfig(abi: AbiProfile, c: ConfigItem): Record<string, string | number> {
  switch (c.item) {
    case 'RPV':
      return { cfg: 'RPV', rpv: `${toHex(c.rpv.slice(0, 4))}…` };
    case 'HASH_ALGO': {
      const name = Object.entries(abi.hashAlgos ?? {}).find(([, v]) => v === c.algo)?.[0];
      return { cfg: 'HASH_ALGO', algo: name ?? c.algo };
    }
    case 'SVE':
      return { cfg: 'SVE', sve_vq: c.sveVq };
    case 'DBG':
      return { cfg: 'DBG', num_brps: c.numBrps, num_wrps: c.numWrps };
    case 'PMU':
      return { cfg: 'PMU', num_pmu_cntrs: c.numPmuCntrs };
    case 'RAW':
      return { cfg: c.cfg };
  }
}
