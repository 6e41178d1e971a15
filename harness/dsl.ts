// The scenario DSL: kernel objects (the KVM system fd, a VM, a vCPU, a
// mapping) whose methods issue exactly one uAPI call each and return its raw
// result. Scenarios decide what a result must be; nothing here judges.
import { encodeConfigItem, encodeInitIpaArgs, encodePopulateArgs, subcmdName, subcmdNumber, type ConfigItem, type RangeArgs } from './abi/encode.ts';
import { decodeRmiPopulate, encodePsciComplete, encodeRmiPopulate, type PsciCompleteArgs, type RmiPopulateArgs, type RmiPopulateFields } from './abi/encode.ts';
import type { AbiProfile, SubcommandNumbers } from './abi/types.ts';
import { safeNumber, type U64 } from './bytes.ts';
import type { CallResult, RecordingSession } from './calls.ts';
import { hex } from './ioc.ts';
import * as K from './kvm-uapi.ts';
import type { WireArg, WirePtrTarget } from './wire.ts';
import { toHex } from './wire.ts';

/** An address no user mapping can have (below mmap_min_addr): copies from it fault. */
export const BAD_USER_POINTER = 0x10;

const h = (b: Uint8Array): string => toHex(b);
const fmt = (v: U64): string => hex(BigInt(v));

export class Mem {
  constructor(
    readonly s: RecordingSession,
    readonly handle: string,
    readonly len: number,
  ) {}
  poke(offset: number, bytes: Uint8Array): Promise<CallResult> {
    return this.s.call(`poke(${this.handle}+${hex(offset)}, ${bytes.length} bytes)`, {
      op: 'poke',
      mem: this.handle,
      offset,
      hex: h(bytes),
    });
  }
  peek(offset: number, len: number): Promise<CallResult> {
    return this.s.call(`peek(${this.handle}+${hex(offset)}, ${len})`, { op: 'peek', mem: this.handle, offset, len });
  }
  at(offset = 0): WirePtrTarget {
    return { mem: this.handle, offset };
  }
}

export class Kvm {
  constructor(
    readonly s: RecordingSession,
    readonly abi: AbiProfile,
    readonly fd: string,
  ) {}

  static async open(s: RecordingSession, abi: AbiProfile): Promise<{ r: CallResult; kvm?: Kvm }> {
    const fd = s.handle('kvm');
    const r = await s.call('open("/dev/kvm", O_RDWR|O_CLOEXEC)', { op: 'open', path: '/dev/kvm', flags: K.O_RDWR | K.O_CLOEXEC, as: fd });
    return r.ret >= 0 && !r.error ? { r, kvm: new Kvm(s, abi, fd) } : { r };
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

  async createVm(type: number): Promise<{ r: CallResult; vm?: Vm }> {
    const fd = this.s.handle('vm');
    const r = await this.ioctl(`KVM_CREATE_VM(${describeVmType(this.abi, type)})`, K.KVM_CREATE_VM, { int: type }, { as: fd });
    return r.ret >= 0 && !r.error ? { r, vm: new Vm(this, fd, type) } : { r };
  }

  /** Anonymous read-write memory in the caller, e.g. to back a memslot. */
  async mmapAnon(len: number, prot = K.PROT_READ | K.PROT_WRITE): Promise<{ r: CallResult; mem?: Mem }> {
    const handle = this.s.handle('mem');
    const r = await this.s.call(`mmap(anon, ${hex(len)}, prot=${prot})`, {
      op: 'mmap',
      as: handle,
      len,
      prot,
      flags: K.MAP_PRIVATE | K.MAP_ANONYMOUS,
    });
    return r.ret >= 0 && !r.error ? { r, mem: new Mem(this.s, handle, len) } : { r };
  }
}

export function capName(abi: AbiProfile, cap: number): string {
  if (cap === abi.cap.nr) return abi.cap.name;
  const known = Object.entries(K.CAP).find(([, v]) => v === cap);
  return known ? known[0] : String(cap);
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
    return this.ioctl(label ?? `KVM_ENABLE_CAP(${capName(this.abi, cap)}, args=[${args.map(fmt).join(', ')}]${flags ? `, flags=${hex(flags)}` : ''})`, K.KVM_ENABLE_CAP, {
      buf: { hex: h(bytes), ptrs },
    });
  }

  /** A memslot backed by fresh anonymous memory; the mapping is returned for writing guest images. */
  async memslot(m: MemslotSpec): Promise<{ r: CallResult; mem?: Mem }> {
    const map = await this.kvm.mmapAnon(m.size);
    if (!map.mem) return { r: map.r };
    const r = await this.setMemoryRegion(m, map.mem);
    return r.ret >= 0 && !r.error ? { r, mem: map.mem } : { r };
  }

  setMemoryRegion(m: MemslotSpec, mem: Mem, memOffset = 0): Promise<CallResult> {
    const bytes = K.encodeMemoryRegion({ slot: m.slot, flags: m.flags ?? 0, gpa: m.gpa, size: m.size, uaddr: 0 });
    return this.ioctl(
      `KVM_SET_USER_MEMORY_REGION(slot=${m.slot}, gpa=${fmt(m.gpa)}, size=${hex(m.size)}, uaddr=${mem.handle}+${hex(memOffset)})`,
      K.KVM_SET_USER_MEMORY_REGION,
      { buf: { hex: h(bytes), ptrs: [{ at: 24, to: mem.at(memOffset) }] } },
    );
  }

  async createVcpu(id: number): Promise<{ r: CallResult; vcpu?: Vcpu }> {
    const fd = this.s.handle('vcpu');
    const r = await this.ioctl(`KVM_CREATE_VCPU(${id})`, K.KVM_CREATE_VCPU, { int: id }, { as: fd });
    return r.ret >= 0 && !r.error ? { r, vcpu: new Vcpu(this, fd, id) } : { r };
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
      as_fd_at: 4,
    });
    if (c.ret < 0 || c.error) return c;
    const attr = (label: string, group: number, a: number, value?: U64): Promise<CallResult> => {
      const ptrs = [];
      if (value !== undefined) {
        const v = new Uint8Array(8);
        new DataView(v.buffer).setBigUint64(0, BigInt(value), true);
        ptrs.push({ at: 16, to: { buf: { hex: h(v) } } });
      }
      return this.s.call(label, { op: 'ioctl', fd: dev, req: K.KVM_SET_DEVICE_ATTR, arg: { buf: { hex: h(K.encodeDeviceAttr(group, a)), ptrs } } });
    };
    for (const step of [
      () => attr(`KVM_SET_DEVICE_ATTR(VGIC ADDR DIST=${fmt(dist)})`, K.KVM_DEV_ARM_VGIC_GRP_ADDR, K.KVM_VGIC_V3_ADDR_TYPE_DIST, dist),
      () => attr(`KVM_SET_DEVICE_ATTR(VGIC ADDR REDIST=${fmt(redist)})`, K.KVM_DEV_ARM_VGIC_GRP_ADDR, K.KVM_VGIC_V3_ADDR_TYPE_REDIST, redist),
      () => attr('KVM_SET_DEVICE_ATTR(VGIC CTRL_INIT)', K.KVM_DEV_ARM_VGIC_GRP_CTRL, K.KVM_DEV_ARM_VGIC_CTRL_INIT),
    ]) {
      const r = await step();
      if (r.ret < 0 || r.error) return r;
    }
    return c;
  }

  // ---- Multiplexed realm uAPI (RFC v1 .. v10): KVM_ENABLE_CAP(realm CAP, args[0]=sub-command, args[1]=&struct)

  /** Issue one realm sub-command; `arg` null passes args[1] = 0, a number passes that raw pointer. */
  realmSubcmd(which: keyof SubcommandNumbers | number, arg: Uint8Array | number | null, fields: Record<string, string | number> = {}, capFlags = 0): Promise<CallResult> {
    const nr = typeof which === 'number' ? which : subcmdNumber(this.abi, which);
    const name = subcmdName(this.abi, nr);
    const short = this.abi.cap.name.replace(/^KVM_CAP_ARM_/, '');
    const described = Object.entries(fields)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const label = `KVM_ENABLE_CAP(${short}, ${name}${described ? `, ${described}` : ''}${capFlags ? `, flags=${hex(capFlags)}` : ''})`;
    const bytes = K.encodeEnableCap(this.abi.cap.nr, [nr, typeof arg === 'number' ? arg : 0], capFlags);
    const ptrs = arg instanceof Uint8Array ? [{ at: 16, to: { buf: { hex: h(arg) } } }] : [];
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

  /** KVM_CREATE_GUEST_MEMFD on this VM; the returned fd is bound to a handle. */
  async createGuestMemfd(size: number, flags: U64 = 0): Promise<{ r: CallResult; gmem?: string }> {
    // flags is a u64: the label prints the word the encoder writes (a negative number sign-extends).
    const gmem = this.s.handle('gmem');
    const r = await this.ioctl(`KVM_CREATE_GUEST_MEMFD(size=${hex(size)}${flags ? `, flags=${fmt(flags)}` : ''})`, K.KVM_CREATE_GUEST_MEMFD, { buf: { hex: h(K.encodeCreateGuestMemfd(size, flags)) } }, { as: gmem });
    return r.ret >= 0 && !r.error ? { r, gmem } : { r };
  }

  /** KVM_SET_USER_MEMORY_REGION2; with `gmem` the slot is KVM_MEM_GUEST_MEMFD and the fd is patched into the struct. */
  setMemoryRegion2(m: MemslotSpec, mem: Mem | undefined, gmem?: { handle: string; offset?: number }): Promise<CallResult> {
    const flags = (m.flags ?? 0) | (gmem ? K.KVM_MEM_GUEST_MEMFD : 0);
    const bytes = K.encodeMemoryRegion2({ slot: m.slot, flags, gpa: m.gpa, size: m.size, uaddr: 0, gmemOffset: gmem?.offset ?? 0 });
    const ptrs = mem ? [{ at: 24, to: mem.at(0) }] : [];
    const fds = gmem ? [{ at: 40, fd: gmem.handle }] : [];
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
  async privateMemslot(m: MemslotSpec, opts: { private?: boolean } = {}): Promise<{ r: CallResult; mem?: Mem; gmem?: string }> {
    const g = await this.createGuestMemfd(m.size);
    if (!g.gmem) return { r: g.r };
    const map = await this.kvm.mmapAnon(m.size);
    if (!map.mem) return { r: map.r };
    const r = await this.setMemoryRegion2(m, map.mem, { handle: g.gmem });
    if (r.ret < 0 || r.error) return { r };
    if (opts.private !== false) {
      const a = await this.setMemoryAttributes(m.gpa, m.size, K.KVM_MEMORY_ATTRIBUTE_PRIVATE);
      if (a.ret < 0 || a.error) return { r: a };
    }
    return { r, mem: map.mem, gmem: g.gmem };
  }

  /** Guest RAM the way this revision wants it: guest_memfd-backed from v2 on, plain memory in RFC v1. */
  ramMemslot(m: MemslotSpec): Promise<{ r: CallResult; mem?: Mem; gmem?: string }> {
    return this.abi.privateMemory === 'guest_memfd' ? this.privateMemslot(m) : this.memslot(m);
  }

  /**
   * KVM_ARM_RMI_POPULATE (v12+). `source` is a place in a mapping (patched
   * into source_uaddr) unless a raw `sourceUaddr` is given. v12 returns the
   * bytes populated; v13+ update the struct in place, decoded into `after`.
   */
  async rmiPopulate(
    a: RmiPopulateArgs & { source?: { mem: Mem; offset: number } },
    opts: { badPointer?: boolean } = {},
  ): Promise<CallResult & { after?: RmiPopulateFields }> {
    const p = this.abi.rmiPopulate;
    if (!p) throw new Error(`${this.abi.name} has no KVM_ARM_RMI_POPULATE`);
    const bytes = encodeRmiPopulate(this.abi, a);
    const src = a.source ? `${a.source.mem.handle}+${hex(a.source.offset)}` : fmt(a.sourceUaddr ?? 0);
    const flags = a.flags ? `, flags=${hex(a.flags)}` : '';
    const label = `${p.name}(${opts.badPointer ? 'bad pointer' : `base=${fmt(a.base)} size=${fmt(a.size)} src=${src}${flags}${a.reserved ? `, reserved=${hex(a.reserved)}` : ''}`})`;
    const arg: WireArg = opts.badPointer ? { int: BAD_USER_POINTER } : { buf: { hex: h(bytes), ...(a.source ? { ptrs: [{ at: 16, to: a.source.mem.at(a.source.offset) }] } : {}) } };
    const r: CallResult & { after?: RmiPopulateFields } = await this.ioctl(label, p.req, arg, { fields: { base: fmt(a.base), size: fmt(a.size), src } });
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
    return this.ioctl(`KVM_ARM_VCPU_FINALIZE(${badPointer ? 'bad pointer' : name})`, K.KVM_ARM_VCPU_FINALIZE, badPointer ? { int: BAD_USER_POINTER } : { buf: { hex: h(bytes) } });
  }

  finalizeRec(): Promise<CallResult> {
    if (this.abi.recFeature === undefined) throw new Error(`${this.abi.name} has no REC feature`);
    return this.finalize(this.abi.recFeature);
  }

  setReg(id: bigint, value: U64, name: string): Promise<CallResult> {
    const val = new Uint8Array(8);
    new DataView(val.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(value)), true);
    return this.ioctl(`KVM_SET_ONE_REG(${name}=${fmt(value)})`, K.KVM_SET_ONE_REG, {
      buf: { hex: h(K.encodeOneReg(id)), ptrs: [{ at: 8, to: { buf: { hex: h(val) } } }] },
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
      if (m.ret < 0 || m.error) return m;
      this.runMem = handle;
    }
    const r: RunOutcome = await this.ioctl(`KVM_RUN(vcpu ${this.id})`, K.KVM_RUN, { int: 0 }, { peek: [{ mem: this.runMem, offset: 0, len: K.KVM_RUN_PEEK_LEN }] });
    if (r.ret >= 0 && !r.error && r.peek?.[0]) r.exit = K.decodeRunExit(r.peek[0]);
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
      buf: { hex: h(K.encodeOneReg(KVM_REG_ARM64_SVE_VLS)), ptrs: [{ at: 8, to: { buf: { hex: h(val) } } }] },
    });
  }
}

/** KVM_REG_ARM64 | KVM_REG_SIZE_U512 | KVM_REG_ARM64_SVE (0x15 << 16) | 0xffff (arch/arm64/include/uapi/asm/kvm.h). */
export const KVM_REG_ARM64_SVE_VLS = 0x6000000000000000n | (6n << 52n) | (0x15n << 16n) | 0xffffn;

export { safeNumber };
