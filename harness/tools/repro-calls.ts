// The reproducer's spelling of each ioctl's argument: the description's
// structs and names (uapi/, the revision's uapi) for the bytes a trace
// recorded. harness/tools/repro.ts adds the calls, their checks and the file.
import { PROFILES } from '../../profiles/index.ts';
import type { AbiProfile, SubcommandNumbers } from '../../profiles/types.ts';
import { StructReader } from '../../uapi/bytes.ts';
import * as K from '../../uapi/kvm-uapi.ts';
import { CallPolicy } from '../core/policy.ts';
import type { Call } from '../core/target.ts';
import { callExpectations, requestName, type CallExpectation, type TraceFile } from './trace.ts';
import { fromHex, type WireArg, type WireBuf, type WirePtrTarget } from '../../uapi/wire.ts';
import { KVM_REGS, ONE_REG, STRUCTS, VCPU_FEATURES, VM_TYPE_IPA_MASK } from '../../uapi/kvm.ts';
import { layout, offsetOf, requestOf } from '../../uapi/layout.ts';
import { REALM_STRUCTS, RPV_SIZE, type RevisionUapi } from '../../uapi/realm.ts';
import { bytesInit, cStruct, flagNames, hx, ident, u32lit, u64lit, type CField, type CStruct } from './repro-prelude.ts';

const FEATURE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(VCPU_FEATURES).map(([n, b]) => [b, n]));

/** Every PSCI-complete number any revision used, with the revisions that used it (old-number checks send them on purpose). */
const PSCI_NUMBERS = new Map<number, string[]>();
for (const [n, p] of PROFILES) if (p.psciComplete) PSCI_NUMBERS.set(p.psciComplete.req, [...(PSCI_NUMBERS.get(p.psciComplete.req) ?? []), n]);

// The structs the emitter spells, in their C view.
const C = {
  region: cStruct(STRUCTS.userspaceMemoryRegion),
  region2: cStruct(STRUCTS.userspaceMemoryRegion2),
  createGuestMemfd: cStruct(STRUCTS.createGuestMemfd),
  memoryAttributes: cStruct(STRUCTS.memoryAttributes),
  vcpuInit: cStruct(STRUCTS.vcpuInit),
  oneReg: cStruct(STRUCTS.oneReg),
  createDevice: cStruct(STRUCTS.createDevice),
  deviceAttr: cStruct(STRUCTS.deviceAttr),
  enableCap: cStruct(STRUCTS.enableCap),
  rmiPopulate: cStruct(REALM_STRUCTS.rmiPopulate),
};
const off = (s: CStruct, name: string): number => {
  const f = s.fields.find((x) => x.name === name);
  if (!f) throw new Error(`struct ${s.name} has no member ${name}`);
  return f.off;
};
/** Fields that only pad a struct: left out of an initialiser while zero. */
const isPadding = (f: CField): boolean => f.pad;
/** The emitter's state and its spelling of each call's arguments (repro.ts adds the calls themselves). */
export class GenBase {
  readonly body: string[] = [];
  readonly fds = new Set<string>();
  readonly maps = new Map<string, number>();
  protected tmp = 0;
  /** The revision's uAPI description, for the RME-era sub-commands and their structs. */
  readonly u?: RevisionUapi;
  /** Set by an in/out KVM_ARM_RMI_POPULATE (v13+): the struct is compared with the trace's after the call. */
  populateOut?: Uint8Array;
  /** Whether any call needs check_populate(). */
  usesPopulateCheck = false;
  /** The revision's own ioctl names (PSCI complete, RMI populate), for requestName(). */
  readonly requestNames: ReadonlyMap<number, string>;
  readonly realmCap: string;
  /** Follows the calls: those the suite would never make are left out of the program. */
  readonly policy: CallPolicy;
  readonly refused: string[] = [];
  /** Per call seq, what the revision's spec expects (from the assertion that judged it). */
  readonly expect: Map<number, CallExpectation>;
  /** Whether a structural call may stop the program (a `goto out` is emitted). */
  usesStop = false;

  constructor(
    readonly trace: TraceFile,
    readonly abi: AbiProfile,
  ) {
    this.u = abi.subcmd ? abi.uapi : undefined;
    this.realmCap = abi.cap.name;
    this.policy = new CallPolicy(abi);
    this.expect = callExpectations(trace);
    const own: [number, string][] = [];
    if (abi.psciComplete) own.push([abi.psciComplete.req, abi.psciComplete.name]);
    if (abi.rmiPopulate) own.push([abi.rmiPopulate.req, abi.rmiPopulate.name]);
    for (const d of abi.uapi?.ioctls ?? []) own.push([requestOf(d), d.name]);
    this.requestNames = new Map(own);
  }

  fd(handle: string): string {
    this.fds.add(handle);
    return ident(handle);
  }

  mem(handle: string): string {
    if (!this.maps.has(handle)) this.maps.set(handle, 0);
    return ident(handle);
  }

  /** A C expression for a pointer target: a nested buffer gets its own declaration in `decls`. */
  ptrExpr(to: WirePtrTarget, decls: string[], ind: string): string {
    if ('mem' in to) return `(__u64)(uintptr_t)(${this.mem(to.mem)} + ${hx(to.offset)})`;
    const name = `buf${++this.tmp}`;
    this.rawBuf(name, to.buf, decls, ind);
    return `(__u64)(uintptr_t)${name}`;
  }

  /** A raw byte buffer with its pointer slots patched: the fallback for structs we do not name. */
  rawBuf(name: string, b: WireBuf, decls: string[], ind: string): void {
    const bytes = fromHex(b.hex);
    decls.push(`${ind}unsigned char ${name}[${Math.max(bytes.length, 1)}] = {\n${bytesInit(bytes, `${ind}\t`)}\n${ind}};`);
    for (const p of b.ptrs ?? []) {
      const e = this.ptrExpr(p.to, decls, ind);
      const v = `p${++this.tmp}`;
      decls.push(`${ind}{ __u64 ${v} = ${e}; memcpy(${name} + ${p.at}, &${v}, 8); }`);
    }
    for (const f of b.fds ?? []) {
      const v = `p${++this.tmp}`;
      decls.push(`${ind}{ __u32 ${v} = (__u32)${this.fd(f.fd)}; memcpy(${name} + ${f.at}, &${v}, 4); }`);
    }
  }

  argExpr(a: WireArg, decls: string[], ind: string): string {
    if ('int' in a) return `(unsigned long)${hx(a.int)}`;
    if ('mem' in a) return `${this.mem(a.mem)} + ${hx(a.offset)}`;
    const name = `arg${++this.tmp}`;
    this.rawBuf(name, a.buf, decls, ind);
    return name;
  }

  /**
   * A designated initialiser for `s` from recorded bytes. `exprs` replaces a
   * field's value (a pointer, an fd, a named flag); padding and reserved
   * fields appear only when the trace has them non-zero.
   */
  structInit(s: CStruct, bytes: Uint8Array, ind: string, exprs: Record<string, string> = {}): string {
    const r = new StructReader(bytes);
    const lit = (f: CField, off: number): string => (f.size === 8 ? u64lit(r.u64(off)) : u32lit(r.u32(off)));
    const lines: string[] = [];
    for (const f of s.fields) {
      const expr = exprs[f.name];
      if (expr !== undefined) {
        lines.push(`.${f.name} = ${expr},`);
        continue;
      }
      const offs = Array.from({ length: f.count ?? 1 }, (_, i) => f.off + i * f.size);
      const zero = offs.every((o) => (f.size === 8 ? r.u64(o) === 0n : r.u32(o) === 0));
      if (zero && isPadding(f)) continue;
      lines.push(f.count ? `.${f.name} = { ${offs.map((o) => lit(f, o)).join(', ')} },` : `.${f.name} = ${lit(f, f.off)},`);
    }
    return `{\n${lines.map((l) => `${ind}\t${l}`).join('\n')}\n${ind}}`;
  }

  /** POPULATE flags with bit 0 spelt as the revision's MEASURE macro. */
  populateFlags(v: number, measure: string | undefined): string {
    if (!measure || !(v & 1)) return u32lit(v);
    return v === 1 ? measure : `${measure} | ${hx((v & ~1) >>> 0)}`;
  }

  /** The address a pointer slot of a recorded struct is patched with, or the recorded literal. */
  slotExpr(at: number, ptrs: { at: number; to: WirePtrTarget }[], r: StructReader, lines: string[], ind: string): string {
    const to = ptrs.find((p) => p.at === at)?.to;
    return to ? this.ptrExpr(to, lines, ind) : u64lit(r.u64(at));
  }

  vmType(type: number): string {
    const parts: string[] = [];
    let kind = (type & ~0xff) >>> 0;
    const ipa = type & VM_TYPE_IPA_MASK;
    for (const [name, bit] of [
      ['KVM_VM_TYPE_ARM_REALM', this.abi.vmTypeRealm],
      ['KVM_VM_TYPE_ARM_PROTECTED', this.abi.vmTypeProtected ?? 0],
    ] as const)
      if (bit && (kind & bit) >>> 0 === bit) {
        parts.push(name);
        kind = (kind & ~bit) >>> 0;
      }
    if (kind) parts.push(hx(kind));
    if (ipa) parts.push(`KVM_VM_TYPE_ARM_IPA_SIZE(${ipa})`);
    return parts.length ? parts.join(' | ') : '0';
  }

  capExpr(cap: number): string {
    if (cap === this.abi.cap.nr) return this.realmCap;
    return Object.entries(K.CAP).find(([, v]) => v === cap)?.[0] ?? String(cap);
  }

  subcmdExpr(nr: number): string {
    const s = this.abi.subcmd;
    const c = this.u?.subcmd;
    if (!s || !c) return u32lit(nr);
    const key = (Object.keys(s) as (keyof SubcommandNumbers)[]).find((k) => s[k] === nr);
    return key ? `${c.cPrefix}${c.names[key]}` : `${nr} /* not a sub-command of ${this.abi.name} */`;
  }

  /**
   * A PSCI-complete request: this revision's (by name), or another
   * revision's number sent on purpose (old-number checks), spelt with this
   * revision's struct. undefined when the revision has no such struct (v14).
   */
  psciRequest(req: number): { name: string; expr: string } | undefined {
    const p = this.abi.psciComplete;
    if (!p) return undefined;
    if (req === p.req) return { name: p.name, expr: p.name };
    const users = PSCI_NUMBERS.get(req);
    if (users) return { name: p.name, expr: `${hx(req)}U /* the ${String(users[0])}..${String(users.at(-1))} number, not ${p.name} of ${this.abi.name} */` };
    return undefined;
  }

  featureName(bit: number): string {
    if (bit === this.abi.recFeature) return this.u?.recFeature?.c ?? `${bit} /* REC */`;
    return FEATURE_NAMES[bit] ?? `${bit} /* ${bit === 7 ? 'HAS_EL2 upstream' : bit === 8 ? 'HAS_EL2_E2H0 upstream' : 'no feature of this revision'} */`;
  }

  /** C statements computing `ret` and `err` for one ioctl; undefined = use the raw fallback. */
  ioctl(req: Extract<Call, { op: 'ioctl' }>, ind: string): string[] | undefined {
    const fd = this.fd(req.fd);
    const name = requestName(req, this.requestNames);
    const a = req.arg;
    const call = (argument: string): string => `${ind}ret = ioctl(${fd}, ${name}, ${argument});`;
    const intArg = 'int' in a ? a.int : undefined;
    switch (req.req) {
      case K.KVM_GET_API_VERSION:
      case K.KVM_GET_VCPU_MMAP_SIZE:
      case K.KVM_RUN:
        return intArg === 0 ? [call('0')] : undefined;
      case K.KVM_CREATE_VM:
        return intArg !== undefined ? [call(`(unsigned long)(${this.vmType(intArg)})`)] : undefined;
      case K.KVM_CHECK_EXTENSION:
        return intArg !== undefined ? [call(this.capExpr(intArg))] : undefined;
      case K.KVM_CREATE_VCPU:
        return intArg !== undefined ? [call(String(intArg))] : undefined;
    }
    if (!('buf' in a)) {
      // A named request given a bad pointer (the EFAULT checks).
      if (intArg !== undefined && !name.startsWith('_IO')) return [call(`(unsigned long)${hx(intArg)} /* a pointer that faults */`)];
      return undefined;
    }
    const bytes = fromHex(a.buf.hex);
    const r = new StructReader(bytes);
    const ptrs = a.buf.ptrs ?? [];
    const ptrAt = (at: number): WirePtrTarget | undefined => ptrs.find((p) => p.at === at)?.to;
    const noPtrs = ptrs.length === 0;
    const fdAt = (at: number): string | undefined => a.buf.fds?.find((f) => f.at === at)?.fd;
    const psci = this.psciRequest(req.req);
    const psciArg = this.abi.uapi?.psciComplete?.arg;
    if (psci && psciArg?.kind === 'struct') {
      const s = cStruct(psciArg.struct);
      if (bytes.length !== s.size || !noPtrs) return undefined;
      return [`${ind}struct ${s.name} psci = ${this.structInit(s, bytes, ind)};`, `${ind}ret = ioctl(${fd}, ${psci.expr}, &psci);`];
    }
    const pop = this.abi.rmiPopulate;
    if (req.req === pop?.req) {
      const P = C.rmiPopulate;
      const at = off(P, 'source_uaddr');
      if (bytes.length !== P.size || ptrs.some((p) => p.at !== at)) return undefined;
      const lines: string[] = [];
      const src = this.slotExpr(at, ptrs, r, lines, ind);
      lines.push(
        `${ind}struct ${P.name} args = ${this.structInit(P, bytes, ind, { source_uaddr: src, flags: this.populateFlags(r.u32(off(P, 'flags')), this.abi.uapi?.measure?.c) })};`,
        ...(pop.inOut ? [`${ind}const struct ${P.name} before = args;`] : []),
        call('&args'),
      );
      this.populateOut = pop.inOut ? bytes : undefined;
      return lines;
    }
    switch (req.req) {
      case K.KVM_SET_USER_MEMORY_REGION2: {
        const S = C.region2;
        const [ua, gf] = [off(S, 'userspace_addr'), off(S, 'guest_memfd')];
        const gmem = fdAt(gf);
        if (bytes.length !== S.size || ptrs.some((p) => p.at !== ua) || (a.buf.fds ?? []).some((f) => f.at !== gf)) return undefined;
        const lines: string[] = [];
        const flags = r.u32(off(S, 'flags'));
        const exprs: Record<string, string> = {
          userspace_addr: this.slotExpr(ua, ptrs, r, lines, ind),
          flags: flagNames(flags, [['KVM_MEM_GUEST_MEMFD', K.KVM_MEM_GUEST_MEMFD]], '0'),
        };
        if (gmem) exprs.guest_memfd = `(__u32)${this.fd(gmem)}`;
        lines.push(`${ind}struct ${S.name} region = ${this.structInit(S, bytes, ind, exprs)};`, call('&region'));
        return lines;
      }
      case K.KVM_CREATE_GUEST_MEMFD:
        if (bytes.length !== C.createGuestMemfd.size || !noPtrs) return undefined;
        return [`${ind}struct ${C.createGuestMemfd.name} gmem = ${this.structInit(C.createGuestMemfd, bytes, ind)};`, call('&gmem')];
      case K.KVM_SET_MEMORY_ATTRIBUTES: {
        const S = C.memoryAttributes;
        if (bytes.length !== S.size || !noPtrs) return undefined;
        const attrs = r.u64(off(S, 'attributes')); // u64: bit 63 must survive
        const exprs = { attributes: flagNames(attrs, [['KVM_MEMORY_ATTRIBUTE_PRIVATE', K.KVM_MEMORY_ATTRIBUTE_PRIVATE]], '0 /* shared */') };
        return [`${ind}struct ${S.name} attrs = ${this.structInit(S, bytes, ind, exprs)};`, call('&attrs')];
      }
      case K.KVM_ARM_VCPU_FINALIZE:
        if (bytes.length !== 4 || !noPtrs) return undefined;
        return [`${ind}int feature = ${this.featureName(r.i32(0))};`, call('&feature')];
      case K.KVM_SET_USER_MEMORY_REGION: {
        const S = C.region;
        const ua = off(S, 'userspace_addr');
        const to = ptrAt(ua);
        if (bytes.length !== S.size || ptrs.length > 1 || (to && !('mem' in to))) return undefined;
        const uaddr = to && 'mem' in to ? `(__u64)(uintptr_t)(${this.mem(to.mem)} + ${hx(to.offset)})` : u64lit(r.u64(ua));
        return [
          `${ind}struct ${S.name} region = ${this.structInit(S, bytes, ind, { slot: String(r.u32(off(S, 'slot'))), userspace_addr: uaddr })};`,
          call('&region'),
        ];
      }
      case K.KVM_ARM_VCPU_INIT: {
        const S = C.vcpuInit;
        const fw = S.fields.find((f) => f.name === 'features')!;
        if (bytes.length !== S.size || !noPtrs) return undefined;
        const words = Array.from({ length: fw.count ?? 1 }, (_, i) => r.u32(fw.off + fw.size * i));
        const feats = words.map((w, i) => {
          const bits: string[] = [];
          for (let b = 0; b < 32; b++) if (w & (1 << b)) bits.push(`(1U << ${i === 0 ? this.featureName(b) : `${b} /* bit ${32 * i + b} */`})`);
          return bits.length ? bits.join(' | ') : '0';
        });
        while (feats.length > 1 && feats[feats.length - 1] === '0') feats.pop();
        const t0 = r.u32(off(S, 'target'));
        const target = t0 === K.KVM_ARM_TARGET_GENERIC_V8 ? 'KVM_ARM_TARGET_GENERIC_V8' : String(t0);
        return [`${ind}struct ${S.name} init = {`, `${ind}\t.target = ${target},`, `${ind}\t.features = { ${feats.join(', ')} },`, `${ind}};`, call('&init')];
      }
      case K.KVM_SET_ONE_REG:
      case K.KVM_GET_ONE_REG: {
        const S = C.oneReg;
        const to = ptrAt(off(S, 'addr'));
        if (bytes.length !== S.size || ptrs.length !== 1 || !to || !('buf' in to) || to.buf.ptrs?.length) return undefined;
        const vb = fromHex(to.buf.hex);
        if (vb.length === 0 || vb.length % 8) return undefined;
        // A 64-bit register, or a wider one (SVE_VLS is 512 bits) as u64 words.
        const vr = new StructReader(vb);
        const words = Array.from({ length: vb.length / 8 }, (_, i) => u64lit(vr.u64(8 * i)));
        const decl = words.length === 1 ? `__u64 value = ${String(words[0])};` : `__u64 value[${words.length}] = { ${words.join(', ')} };`;
        return [
          `${ind}${decl}`,
          `${ind}struct ${S.name} reg = { .id = ${regExpr(r.u64(off(S, 'id')))}, .addr = (__u64)(uintptr_t)${words.length === 1 ? '&' : ''}value };`,
          call('&reg'),
        ];
      }
      case K.KVM_CREATE_DEVICE: {
        const S = C.createDevice;
        if (bytes.length !== S.size || !noPtrs || !req.as || req.as_fd_at !== off(S, 'fd')) return undefined;
        const t0 = r.u32(off(S, 'type'));
        const type = t0 === K.KVM_DEV_TYPE_ARM_VGIC_V3 ? 'KVM_DEV_TYPE_ARM_VGIC_V3' : String(t0);
        const out = this.fd(req.as);
        return [
          `${ind}struct ${S.name} dev = { .type = ${type}, .flags = ${u32lit(r.u32(off(S, 'flags')))} };`,
          call('&dev'),
          `${ind}err = errno;`,
          `${ind}if (ret == 0) ${out} = (int)dev.fd;`,
        ];
      }
      case K.KVM_SET_DEVICE_ATTR: {
        const S = C.deviceAttr;
        const at = off(S, 'addr');
        const to = ptrAt(at);
        if (bytes.length !== S.size || ptrs.length > 1 || (to && (!('buf' in to) || to.buf.hex.length !== 16))) return undefined;
        const lines: string[] = [];
        let addr = u64lit(r.u64(at));
        if (to && 'buf' in to) {
          lines.push(`${ind}__u64 value = ${u64lit(new StructReader(fromHex(to.buf.hex)).u64(0))};`);
          addr = '(__u64)(uintptr_t)&value';
        }
        lines.push(
          `${ind}struct ${S.name} attr = { .flags = ${u32lit(r.u32(off(S, 'flags')))}, .group = ${r.u32(off(S, 'group'))}, .attr = ${u64lit(r.u64(off(S, 'attr')))}, .addr = ${addr} };`,
          call('&attr'),
        );
        return lines;
      }
      case K.KVM_ENABLE_CAP:
        return bytes.length === C.enableCap.size ? this.enableCap(r, ptrs, ind, call) : undefined;
    }
    return undefined;
  }

  enableCap(r: StructReader, ptrs: { at: number; to: WirePtrTarget }[], ind: string, call: (a: string) => string): string[] | undefined {
    const E = C.enableCap;
    const argf = E.fields.find((f) => f.name === 'args')!;
    const cap = r.u32(off(E, 'cap'));
    const flags = r.u32(off(E, 'flags'));
    const args = Array.from({ length: argf.count ?? 1 }, (_, i) => r.u64(argf.off + argf.size * i));
    const lines: string[] = [];
    const argExprs = args.map((v) => u64lit(v));
    const u = this.u;
    const realm = cap === this.abi.cap.nr && this.abi.subcmd && u?.populate && u.initIpa && u.config;
    // the sub-command's struct pointer is args[1]
    const slot = argf.off + argf.size;
    if (realm) {
      argExprs[0] = this.subcmdExpr(Number(args[0]));
      const to = ptrs.find((p) => p.at === slot)?.to;
      if (ptrs.some((p) => p.at !== slot)) return undefined;
      if (to && 'buf' in to && !to.buf.ptrs?.length) {
        const sub = this.abi.subcmd!;
        const b = fromHex(to.buf.hex);
        const nr = Number(args[0]);
        const s = nr === sub.POPULATE ? cStruct(u.populate!) : nr === sub.INIT_IPA ? cStruct(u.initIpa!) : undefined;
        if (b.length === s?.size) {
          const flags = s.fields.find((f) => f.name === 'flags');
          const exprs: Record<string, string> = flags ? { flags: this.populateFlags(new StructReader(b).u32(flags.off), u.measure?.c) } : {};
          lines.push(`${ind}struct ${s.name} args = ${this.structInit(s, b, ind, exprs)};`);
        } else if (nr === sub.CONFIG_REALM && b.length === layout(u.config!.struct).size) {
          lines.push(`${ind}struct ${u.config!.struct.c} args = ${this.configInit(b, ind)};`);
        } else {
          this.rawBuf('args', to.buf, lines, ind);
          lines.push(`${ind}/* sub-command ${nr}: ${b.length} argument bytes as recorded */`);
        }
        argExprs[1] = `(__u64)(uintptr_t)&args`;
        if (lines.some((l) => l.includes('unsigned char args['))) argExprs[1] = '(__u64)(uintptr_t)args';
      } else if (to) {
        argExprs[1] = this.ptrExpr(to, lines, ind);
      } else if (args[1] !== 0n) {
        argExprs[1] = `${u64lit(args[1]!)} /* a pointer that faults */`;
      }
    } else if (ptrs.length) {
      return undefined;
    }
    while (argExprs.length > 1 && argExprs[argExprs.length - 1] === '0') argExprs.pop();
    lines.push(`${ind}struct kvm_enable_cap cap = {`, `${ind}\t.cap = ${this.capExpr(cap)},`);
    if (flags) lines.push(`${ind}\t.flags = ${u32lit(flags)},`);
    lines.push(`${ind}\t.args = { ${argExprs.join(', ')} },`, `${ind}};`, call('&cap'));
    return lines;
  }

  configInit(b: Uint8Array, ind: string): string {
    const r = new StructReader(b);
    const config = this.u!.config!;
    const cfg = r.u32(offsetOf(config.struct, 'cfg'));
    const variants = layout(config.struct).unions[0]!.variants;
    const item = Object.entries(config.items).find(([, v]) => v === cfg)?.[0];
    const lines = [`.cfg = ${item ? `${config.itemPrefix}${item}` : `${cfg} /* not a config item of ${this.abi.name} */`},`];
    if (item === 'RPV') {
      const rpv = offsetOf(config.struct, 'rpv');
      lines.push(`.rpv = {\n${bytesInit(b.slice(rpv, rpv + RPV_SIZE), `${ind}\t\t`)}\n${ind}\t},`);
    } else if (item === 'HASH_ALGO') {
      const v = r.u32(offsetOf(config.struct, 'hash_algo'));
      const algo = Object.entries(config.hashAlgos).find(([, x]) => x === v)?.[0];
      lines.push(`.hash_algo = ${algo ? `${config.hashPrefix}${algo}` : u32lit(v)},`);
    } else if (item) for (const f of variants[item] ?? []) lines.push(`.${f.name} = ${u32lit(r.u32(f.off))},`);
    return `{\n${lines.map((l) => `${ind}\t${l}`).join('\n')}\n${ind}}`;
  }
}

function regExpr(id: bigint): string {
  if (id === K.KVM_REG_ARM64_SVE_VLS) return 'KVM_REG_ARM64_SVE_VLS';
  const core = ONE_REG.KVM_REG_ARM64 | ONE_REG.KVM_REG_SIZE_U64 | ONE_REG.KVM_REG_ARM_CORE;
  if ((id & ~0xffffn) === core) {
    const off = Number(id & 0xffffn) * 4;
    const what =
      off === KVM_REGS.pc
        ? 'pc'
        : off === KVM_REGS.sp
          ? 'sp'
          : off === KVM_REGS.pstate
            ? 'pstate'
            : off < KVM_REGS.sp && off % 8 === 0
              ? `regs[${off / 8}]`
              : `offset ${off}`;
    return `ARM64_CORE_REG(${off}) /* ${what} */`;
  }
  return u64lit(id);
}
