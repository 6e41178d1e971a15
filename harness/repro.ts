// Standalone C reproducers from a trace: one file needing only libc and the
// kernel's uAPI headers, performing the trace's calls with named constants and
// struct fields, printing each result and exiting 1 where one differs from
// the trace. A patched kernel's headers are rarely installed, and x86 headers
// lack the arm64 parts, so everything the calls need is defined here under
// #ifndef guards (our own definitions from the spec's tables, not header text).
import { getProfile } from './abi/index.ts';
import { CallPolicy } from './policy.ts';
import { PSCI_COMPLETE_0XD2, PSCI_COMPLETE_0XD6 } from './abi/v10.ts';
import type { AbiName, AbiProfile, SubcommandNumbers } from './abi/types.ts';
import { StructReader } from './bytes.ts';
import { ERRNO, errnoName } from './errno.ts';
import { KVM_REG_ARM64_SVE_VLS } from './dsl/index.ts';
import * as K from './kvm-uapi.ts';
import type { Call } from './target.ts';
import { absenceProbe, NO_KVM_ERRNOS, stopsOnFailure, type AbsenceProbe } from './replay.ts';
import { callExpectations, requestName, type CallExpectation, type TraceCall, type TraceFile } from './trace.ts';
import { fromHex, type WireArg, type WireBuf, type WirePtrTarget } from './wire.ts';

export class ReproError extends Error {
  override name = 'ReproError';
}

interface CField {
  name: string;
  off: number;
  size: 4 | 8;
  /** An array field (reserved[], padding[]): `count` elements of `size` bytes. */
  count?: number;
}

interface CStruct {
  name: string;
  size: number;
  fields: CField[];
}

/**
 * The C spellings of one multiplexed revision's realm uAPI (RFC v1 .. v10);
 * the profile has the numbers. Each table cites the ABI patch it is read from.
 */
interface MuxCNames {
  source: string;
  /** Sub-command constant = prefix + the profile's sub-command name. */
  subcmdPrefix: string;
  populate: CStruct;
  initIpa: CStruct;
  /** POPULATE flag bit 0 (v2+). */
  populateMeasure?: string;
  config: { name: string; itemPrefix: string; hashPrefix: string; rpvSize: string };
  recFeature: string;
}

const u64 = (name: string, off: number): CField => ({ name, off, size: 8 });
const u32 = (name: string, off: number): CField => ({ name, off, size: 4 });

// RFC v1: lore:20230127112932.38045-6-steven.price@arm.com (abi-evolution.md §2b)
const RFC_V1: MuxCNames = {
  source: 'lore:20230127112932.38045-6-steven.price@arm.com',
  subcmdPrefix: 'KVM_CAP_ARM_RME_',
  populate: { name: 'kvm_cap_arm_rme_populate_realm_args', size: 16, fields: [u64('populate_ipa_base', 0), u64('populate_ipa_size', 8)] },
  initIpa: { name: 'kvm_cap_arm_rme_init_ipa_args', size: 16, fields: [u64('init_ipa_base', 0), u64('init_ipa_size', 8)] },
  config: { name: 'kvm_cap_arm_rme_config_item', itemPrefix: 'KVM_CAP_ARM_RME_CFG_', hashPrefix: 'KVM_CAP_ARM_RME_MEASUREMENT_ALGO_', rpvSize: 'KVM_CAP_ARM_RME_RPV_SIZE' },
  recFeature: 'KVM_ARM_VCPU_REC',
};

// v2 .. v6: the RFC names, 32-byte args with flags and reserved words, RPV and
// HASH_ALGO only ("[PATCH v6 07/43] arm64: RME: Define the user ABI"; abi-evolution.md §2b).
const RME_V2: MuxCNames = {
  ...RFC_V1,
  source: '"[PATCH v6 07/43] arm64: RME: Define the user ABI" (v2..v6 share it, abi-evolution.md §2b)',
  populate: {
    name: 'kvm_cap_arm_rme_populate_realm_args',
    size: 32,
    fields: [u64('populate_ipa_base', 0), u64('populate_ipa_size', 8), u32('flags', 16), { name: 'reserved', off: 20, size: 4, count: 3 }],
  },
  initIpa: { name: 'kvm_cap_arm_rme_init_ipa_args', size: 32, fields: [u64('init_ipa_base', 0), u64('init_ipa_size', 8), { name: 'reserved', off: 16, size: 4, count: 4 }] },
  populateMeasure: 'KVM_ARM_RME_POPULATE_FLAGS_MEASURE',
};

// v7 .. v10: arm_rme_* structs and ARM_RME_CONFIG_* items
// (lore:20250213161426.102987-8-steven.price@arm.com; abi-evolution.md §2b).
const ARM_RME_V7: MuxCNames = {
  source: 'lore:20250213161426.102987-8-steven.price@arm.com (abi-evolution.md §2b)',
  subcmdPrefix: 'KVM_CAP_ARM_RME_',
  populate: { name: 'arm_rme_populate_realm', size: 32, fields: [u64('base', 0), u64('size', 8), u32('flags', 16), { name: 'reserved', off: 20, size: 4, count: 3 }] },
  initIpa: { name: 'arm_rme_init_ripas', size: 32, fields: [u64('base', 0), u64('size', 8), { name: 'reserved', off: 16, size: 8, count: 2 }] },
  populateMeasure: 'KVM_ARM_RME_POPULATE_FLAGS_MEASURE',
  config: { name: 'arm_rme_config', itemPrefix: 'ARM_RME_CONFIG_', hashPrefix: 'ARM_RME_CONFIG_MEASUREMENT_ALGO_', rpvSize: 'ARM_RME_CONFIG_RPV_SIZE' },
  recFeature: 'KVM_ARM_VCPU_REC',
};

// v9 renamed the algorithm constants ARM_RME_CONFIG_HASH_ALGO_* (lore:20250820145606.180644-7-steven.price@arm.com for v10).
const ARM_RME_V9: MuxCNames = {
  ...ARM_RME_V7,
  source: '"[PATCH v9 06/43]", lore:20250820145606.180644-7-steven.price@arm.com (abi-evolution.md §2b)',
  config: { ...ARM_RME_V7.config, hashPrefix: 'ARM_RME_CONFIG_HASH_ALGO_' },
};

const MUX_C_NAMES: Partial<Record<AbiName, MuxCNames>> = {
  'rfc-v1': RFC_V1,
  v2: RME_V2,
  v3: RME_V2,
  v4: RME_V2,
  v5: RME_V2,
  v6: RME_V2,
  v7: ARM_RME_V7,
  v8: ARM_RME_V7,
  v9: ARM_RME_V9,
  v10: ARM_RME_V9,
};

/** struct kvm_arm_{rmm,rmi}_psci_complete (v2..v13): the struct name follows the ioctl's RMM/RMI spelling. */
const psciStruct = (ioctlName: string): CStruct => ({
  name: ioctlName.includes('_RMI_') ? 'kvm_arm_rmi_psci_complete' : 'kvm_arm_rmm_psci_complete',
  size: 24,
  fields: [u64('target_mpidr', 0), u32('psci_status', 8), { name: 'padding', off: 12, size: 4, count: 3 }],
});

/** struct kvm_arm_rmi_populate (v12+), abi-evolution.md §2b. */
const RMI_POPULATE: CStruct = {
  name: 'kvm_arm_rmi_populate',
  size: 32,
  fields: [u64('base', 0), u64('size', 8), u64('source_uaddr', 16), u32('flags', 24), u32('reserved', 28)],
};
const RMI_POPULATE_MEASURE = 'KVM_ARM_RMI_POPULATE_FLAGS_MEASURE';

// Upstream structs newer than the headers of Debian 12 (Linux 6.8+); offsets as harness/kvm-uapi.ts encodes them.
const REGION2: CStruct = {
  name: 'kvm_userspace_memory_region2',
  size: 160,
  fields: [u32('slot', 0), u32('flags', 4), u64('guest_phys_addr', 8), u64('memory_size', 16), u64('userspace_addr', 24), u64('guest_memfd_offset', 32), u32('guest_memfd', 40), u32('pad1', 44), { name: 'pad2', off: 48, size: 8, count: 14 }],
};
const CREATE_GUEST_MEMFD: CStruct = { name: 'kvm_create_guest_memfd', size: 64, fields: [u64('size', 0), u64('flags', 8), { name: 'reserved', off: 16, size: 8, count: 6 }] };
const MEMORY_ATTRIBUTES: CStruct = { name: 'kvm_memory_attributes', size: 32, fields: [u64('address', 0), u64('size', 8), u64('attributes', 16), u64('flags', 24)] };

/** CONFIG_REALM payload fields after `cfg` (RFC v1 has all five items; v2+ RPV and HASH_ALGO). */
const CONFIG_FIELDS: Record<string, CField[]> = {
  HASH_ALGO: [u32('hash_algo', 4)],
  SVE: [u32('sve_vq', 4)],
  DBG: [u32('num_brps', 4), u32('num_wrps', 8)],
  PMU: [u32('num_pmu_cntrs', 4)],
};

// Upstream arm64 vCPU features (asm/kvm.h); 7 and 8 are HAS_EL2 and HAS_EL2_E2H0
// since 6.x, which is why the REC bit moved 7 -> 8 -> 9 (abi-evolution.md §2a).
const FEATURE_NAMES: Record<number, string> = {
  [K.KVM_ARM_VCPU_POWER_OFF]: 'KVM_ARM_VCPU_POWER_OFF',
  [K.KVM_ARM_VCPU_EL1_32BIT]: 'KVM_ARM_VCPU_EL1_32BIT',
  [K.KVM_ARM_VCPU_PSCI_0_2]: 'KVM_ARM_VCPU_PSCI_0_2',
  [K.KVM_ARM_VCPU_PMU_V3]: 'KVM_ARM_VCPU_PMU_V3',
  [K.KVM_ARM_VCPU_SVE]: 'KVM_ARM_VCPU_SVE',
};

/** Fields that only pad a struct: left out of an initialiser while zero. */
const isPadding = (f: CField): boolean => /^(reserved|padding|pad\d*)$/.test(f.name);

const hx = (v: number | bigint): string => `0x${v.toString(16)}`;
const u64lit = (v: bigint): string => (v < 10n ? `${v}` : `0x${v.toString(16)}ULL`);
const u32lit = (v: number): string => (v < 10 ? `${v}` : `0x${v.toString(16)}`);
const cstr = (s: string): string => JSON.stringify(s.replace(/[^\x20-\x7e]/g, '...')).replace(/\?(?=\?)/g, '?\\');

/** A C identifier for a handle name; injective (every character but [A-Za-z0-9] becomes _XXXX), so two handles never share a variable. */
function ident(handle: string): string {
  return `h_${handle.replace(/[^A-Za-z0-9]/g, (ch) => `_${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)}`;
}

/** Text from the trace inside a C comment: printable ASCII only, no comment end, no trigraph. */
const comment = (v: unknown): string =>
  String(v)
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/\*\//g, '* /')
    .replace(/\/\*/g, '/ *')
    .replace(/\?(?=\?)/g, '? ');

const STATUSES = new Set(['pass', 'fail', 'todo', 'skip']);

function bytesInit(b: Uint8Array, indent: string): string {
  const parts = [...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`);
  const lines: string[] = [];
  for (let i = 0; i < parts.length; i += 12) lines.push(`${indent}${parts.slice(i, i + 12).join(', ')},`);
  return lines.join('\n');
}

/** Renders one trace into C. */
class Gen {
  readonly body: string[] = [];
  readonly fds = new Set<string>();
  readonly maps = new Map<string, number>();
  private tmp = 0;
  readonly names?: MuxCNames;
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
    this.names = abi.subcmd ? MUX_C_NAMES[abi.name] : undefined;
    this.realmCap = abi.cap.name;
    this.policy = new CallPolicy(abi);
    this.expect = callExpectations(trace);
    const own: [number, string][] = [];
    if (abi.psciComplete) own.push([abi.psciComplete.req, abi.psciComplete.name]);
    if (abi.rmiPopulate) own.push([abi.rmiPopulate.req, abi.rmiPopulate.name]);
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
    const ipa = type & 0xff;
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
    if (!s || !this.names) return u32lit(nr);
    const key = (Object.keys(s) as (keyof SubcommandNumbers)[]).find((k) => s[k] === nr);
    return key ? `${this.names.subcmdPrefix}${this.abi.subcmdNames?.[key] ?? key}` : `${nr} /* not a sub-command of ${this.abi.name} */`;
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
    if (req === PSCI_COMPLETE_0XD2 || req === PSCI_COMPLETE_0XD6) return { name: p.name, expr: `${hx(req)}U /* ${req === PSCI_COMPLETE_0XD2 ? 'the v2..v7 number' : 'the v8+ number'}, not ${p.name} of ${this.abi.name} */` };
    return undefined;
  }

  featureName(bit: number): string {
    if (bit === this.abi.recFeature) return this.names?.recFeature ?? `${bit} /* REC */`;
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
    if (psci) {
      if (bytes.length !== 24 || !noPtrs) return undefined;
      const s = psciStruct(psci.name);
      return [`${ind}struct ${s.name} psci = ${this.structInit(s, bytes, ind)};`, `${ind}ret = ioctl(${fd}, ${psci.expr}, &psci);`];
    }
    const pop = this.abi.rmiPopulate;
    if (pop && req.req === pop.req) {
      if (bytes.length !== RMI_POPULATE.size || ptrs.some((p) => p.at !== 16)) return undefined;
      const lines: string[] = [];
      const src = this.slotExpr(16, ptrs, r, lines, ind);
      lines.push(
        `${ind}struct ${RMI_POPULATE.name} args = ${this.structInit(RMI_POPULATE, bytes, ind, { source_uaddr: src, flags: this.populateFlags(r.u32(24), RMI_POPULATE_MEASURE) })};`,
        ...(pop.inOut ? [`${ind}const struct ${RMI_POPULATE.name} before = args;`] : []),
        call('&args'),
      );
      this.populateOut = pop.inOut ? bytes : undefined;
      return lines;
    }
    switch (req.req) {
      case K.KVM_SET_USER_MEMORY_REGION2: {
        const gmem = fdAt(40);
        if (bytes.length !== REGION2.size || ptrs.some((p) => p.at !== 24) || (a.buf.fds ?? []).some((f) => f.at !== 40)) return undefined;
        const lines: string[] = [];
        const flags = r.u32(4);
        const exprs: Record<string, string> = { userspace_addr: this.slotExpr(24, ptrs, r, lines, ind), flags: flagNames(flags, [['KVM_MEM_GUEST_MEMFD', K.KVM_MEM_GUEST_MEMFD]], '0') };
        if (gmem) exprs.guest_memfd = `(__u32)${this.fd(gmem)}`;
        lines.push(`${ind}struct ${REGION2.name} region = ${this.structInit(REGION2, bytes, ind, exprs)};`, call('&region'));
        return lines;
      }
      case K.KVM_CREATE_GUEST_MEMFD:
        if (bytes.length !== CREATE_GUEST_MEMFD.size || !noPtrs) return undefined;
        return [`${ind}struct ${CREATE_GUEST_MEMFD.name} gmem = ${this.structInit(CREATE_GUEST_MEMFD, bytes, ind)};`, call('&gmem')];
      case K.KVM_SET_MEMORY_ATTRIBUTES: {
        if (bytes.length !== MEMORY_ATTRIBUTES.size || !noPtrs) return undefined;
        const attrs = r.u64(16); // u64: bit 63 must survive
        const exprs = { attributes: flagNames(attrs, [['KVM_MEMORY_ATTRIBUTE_PRIVATE', K.KVM_MEMORY_ATTRIBUTE_PRIVATE]], '0 /* shared */') };
        return [`${ind}struct ${MEMORY_ATTRIBUTES.name} attrs = ${this.structInit(MEMORY_ATTRIBUTES, bytes, ind, exprs)};`, call('&attrs')];
      }
      case K.KVM_ARM_VCPU_FINALIZE:
        if (bytes.length !== 4 || !noPtrs) return undefined;
        return [`${ind}int feature = ${this.featureName(r.i32(0))};`, call('&feature')];
      case K.KVM_SET_USER_MEMORY_REGION: {
        const to = ptrAt(24);
        if (bytes.length !== 32 || ptrs.length > 1 || (to && !('mem' in to))) return undefined;
        const uaddr = to && 'mem' in to ? `(__u64)(uintptr_t)(${this.mem(to.mem)} + ${hx(to.offset)})` : u64lit(r.u64(24));
        return [
          `${ind}struct kvm_userspace_memory_region region = {`,
          `${ind}\t.slot = ${r.u32(0)},`,
          `${ind}\t.flags = ${u32lit(r.u32(4))},`,
          `${ind}\t.guest_phys_addr = ${u64lit(r.u64(8))},`,
          `${ind}\t.memory_size = ${u64lit(r.u64(16))},`,
          `${ind}\t.userspace_addr = ${uaddr},`,
          `${ind}};`,
          call('&region'),
        ];
      }
      case K.KVM_ARM_VCPU_INIT: {
        if (bytes.length !== 32 || !noPtrs) return undefined;
        const words = [0, 1, 2, 3, 4, 5, 6].map((i) => r.u32(4 + 4 * i));
        const feats = words.map((w, i) => {
          const bits: string[] = [];
          for (let b = 0; b < 32; b++) if (w & (1 << b)) bits.push(`(1U << ${i === 0 ? this.featureName(b) : `${b} /* bit ${32 * i + b} */`})`);
          return bits.length ? bits.join(' | ') : '0';
        });
        while (feats.length > 1 && feats[feats.length - 1] === '0') feats.pop();
        const target = r.u32(0) === K.KVM_ARM_TARGET_GENERIC_V8 ? 'KVM_ARM_TARGET_GENERIC_V8' : String(r.u32(0));
        return [`${ind}struct kvm_vcpu_init init = {`, `${ind}\t.target = ${target},`, `${ind}\t.features = { ${feats.join(', ')} },`, `${ind}};`, call('&init')];
      }
      case K.KVM_SET_ONE_REG:
      case K.KVM_GET_ONE_REG: {
        const to = ptrAt(8);
        if (bytes.length !== 16 || ptrs.length !== 1 || !to || !('buf' in to) || to.buf.ptrs?.length) return undefined;
        const vb = fromHex(to.buf.hex);
        if (vb.length === 0 || vb.length % 8) return undefined;
        // A 64-bit register, or a wider one (SVE_VLS is 512 bits) as u64 words.
        const vr = new StructReader(vb);
        const words = Array.from({ length: vb.length / 8 }, (_, i) => u64lit(vr.u64(8 * i)));
        const decl = words.length === 1 ? `__u64 value = ${words[0]};` : `__u64 value[${words.length}] = { ${words.join(', ')} };`;
        return [
          `${ind}${decl}`,
          `${ind}struct kvm_one_reg reg = { .id = ${regExpr(r.u64(0))}, .addr = (__u64)(uintptr_t)${words.length === 1 ? '&' : ''}value };`,
          call('&reg'),
        ];
      }
      case K.KVM_CREATE_DEVICE: {
        if (bytes.length !== 12 || !noPtrs || !req.as || req.as_fd_at !== 4) return undefined;
        const type = r.u32(0) === K.KVM_DEV_TYPE_ARM_VGIC_V3 ? 'KVM_DEV_TYPE_ARM_VGIC_V3' : String(r.u32(0));
        const out = this.fd(req.as);
        return [
          `${ind}struct kvm_create_device dev = { .type = ${type}, .flags = ${u32lit(r.u32(8))} };`,
          call('&dev'),
          `${ind}err = errno;`,
          `${ind}if (ret == 0) ${out} = (int)dev.fd;`,
        ];
      }
      case K.KVM_SET_DEVICE_ATTR: {
        const to = ptrAt(16);
        if (bytes.length !== 24 || ptrs.length > 1 || (to && (!('buf' in to) || to.buf.hex.length !== 16))) return undefined;
        const lines: string[] = [];
        let addr = u64lit(r.u64(16));
        if (to && 'buf' in to) {
          lines.push(`${ind}__u64 value = ${u64lit(new StructReader(fromHex(to.buf.hex)).u64(0))};`);
          addr = '(__u64)(uintptr_t)&value';
        }
        lines.push(`${ind}struct kvm_device_attr attr = { .flags = ${u32lit(r.u32(0))}, .group = ${r.u32(4)}, .attr = ${u64lit(r.u64(8))}, .addr = ${addr} };`, call('&attr'));
        return lines;
      }
      case K.KVM_ENABLE_CAP:
        return bytes.length === K.SIZEOF_KVM_ENABLE_CAP ? this.enableCap(r, ptrs, ind, call) : undefined;
    }
    return undefined;
  }

  enableCap(r: StructReader, ptrs: { at: number; to: WirePtrTarget }[], ind: string, call: (a: string) => string): string[] | undefined {
    const cap = r.u32(0);
    const flags = r.u32(4);
    const args = [0, 1, 2, 3].map((i) => r.u64(8 + 8 * i));
    const lines: string[] = [];
    const argExprs = args.map((v) => u64lit(v));
    const realm = cap === this.abi.cap.nr && this.abi.subcmd && this.names;
    if (realm) {
      argExprs[0] = this.subcmdExpr(Number(args[0]));
      const to = ptrs.find((p) => p.at === 16)?.to;
      if (ptrs.some((p) => p.at !== 16)) return undefined;
      if (to && 'buf' in to && !to.buf.ptrs?.length) {
        const sub = this.abi.subcmd as SubcommandNumbers;
        const names = this.names as MuxCNames;
        const b = fromHex(to.buf.hex);
        const nr = Number(args[0]);
        const s = nr === sub.POPULATE ? names.populate : nr === sub.INIT_IPA ? names.initIpa : undefined;
        if (s && b.length === s.size) {
          const flags = s.fields.find((f) => f.name === 'flags');
          const exprs: Record<string, string> = flags ? { flags: this.populateFlags(new StructReader(b).u32(flags.off), names.populateMeasure) } : {};
          lines.push(`${ind}struct ${s.name} args = ${this.structInit(s, b, ind, exprs)};`);
        } else if (nr === sub.CONFIG_REALM && b.length === (this.abi.sizes.configItem ?? -1)) {
          lines.push(`${ind}struct ${names.config.name} args = ${this.configInit(b, ind)};`);
        } else {
          this.rawBuf('args', to.buf, lines, ind);
          lines.push(`${ind}/* sub-command ${nr}: ${b.length} argument bytes as recorded */`);
        }
        argExprs[1] = `(__u64)(uintptr_t)&args`;
        if (lines.some((l) => l.includes('unsigned char args['))) argExprs[1] = '(__u64)(uintptr_t)args';
      } else if (to) {
        argExprs[1] = this.ptrExpr(to, lines, ind);
      } else if (args[1] !== 0n) {
        argExprs[1] = `${u64lit(args[1] as bigint)} /* a pointer that faults */`;
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
    const cfg = r.u32(0);
    const names = this.names as MuxCNames;
    const items = this.abi.configItems ?? {};
    const item = Object.entries(items).find(([, v]) => v === cfg)?.[0];
    const lines = [`.cfg = ${item ? `${names.config.itemPrefix}${item}` : `${cfg} /* not a config item of ${this.abi.name} */`},`];
    if (item === 'RPV') lines.push(`.rpv = {\n${bytesInit(b.slice(4, 68), `${ind}\t\t`)}\n${ind}\t},`);
    else if (item === 'HASH_ALGO') {
      const v = r.u32(4);
      const algo = Object.entries(this.abi.hashAlgos ?? {}).find(([, x]) => x === v)?.[0];
      lines.push(`.hash_algo = ${algo ? `${names.config.hashPrefix}${algo}` : u32lit(v)},`);
    } else if (item && CONFIG_FIELDS[item]) for (const f of CONFIG_FIELDS[item]) lines.push(`.${f.name} = ${u32lit(r.u32(f.off))},`);
    return `{\n${lines.map((l) => `${ind}\t${l}`).join('\n')}\n${ind}}`;
  }

  /** One call: a block with its statements and the comparison with the trace. */
  call(c: TraceCall, index: number): void {
    const req = c.request;
    const ind = '\t\t';
    const st: string[] = [];
    const rec = c.result;
    const label = cstr(String(c.label));
    const seq = Number.isSafeInteger(c.seq) ? c.seq : index + 1;
    let binds = false;
    let after: string[] = [];
    // A trace from outside: a call the suite would never make is not written into the program.
    const refused = this.policy.admit(req);
    if (refused) {
      this.refused.push(`${seq}: ${refused}`);
      st.push(`${ind}/* not executed: refused by the suite's call policy */`, `${ind}printf("    not executed: %s\\n", ${cstr(refused)});`, `${ind}ret = -1;`, `${ind}err = EPERM;`);
    } else switch (req.op) {
      case 'open':
        st.push(`${ind}ret = ${this.fd(req.as)} = open(${cstr(req.path)}, ${openFlags(req.flags)});`);
        binds = true;
        break;
      case 'close':
        st.push(`${ind}ret = close(${this.fd(req.fd)});`, `${ind}err = errno;`, `${ind}${ident(req.fd)} = -1;`);
        break;
      case 'mmap': {
        const m = this.mem(req.as);
        this.maps.set(req.as, req.len);
        st.push(
          `${ind}void *p = mmap(NULL, ${hx(req.len)}, ${mapProt(req.prot)}, ${mapFlags(req.flags)}, ${req.fd ? this.fd(req.fd) : '-1'}, ${hx(req.offset ?? 0)});`,
          `${ind}err = errno;`,
          `${ind}ret = p == MAP_FAILED ? -1 : 0;`,
          `${ind}${m} = p == MAP_FAILED ? NULL : p;`,
        );
        binds = true;
        break;
      }
      case 'munmap':
        st.push(`${ind}ret = ${this.mem(req.mem)} ? munmap(${ident(req.mem)}, ${hx(this.maps.get(req.mem) ?? 0)}) : -1;`, `${ind}err = errno;`, `${ind}${ident(req.mem)} = NULL;`);
        break;
      case 'poke': {
        const m = this.mem(req.mem);
        const bytes = fromHex(req.hex);
        st.push(`${ind}static const unsigned char data[] = {\n${bytesInit(bytes, `${ind}\t`)}\n${ind}};`);
        st.push(`${ind}ret = ${m} ? 0 : -1;`, `${ind}err = ${m} ? 0 : EFAULT;`, `${ind}if (${m}) memcpy(${m} + ${hx(req.offset)}, data, sizeof(data));`);
        break;
      }
      case 'peek': {
        const m = this.mem(req.mem);
        st.push(`${ind}ret = ${m} ? 0 : -1;`, `${ind}err = ${m} ? 0 : EFAULT;`);
        if (rec.out !== undefined && rec.out.length === req.len * 2) {
          st.push(`${ind}static const unsigned char want[] = {\n${bytesInit(fromHex(rec.out), `${ind}\t`)}\n${ind}};`);
          after.push(`${ind}if (${m} && memcmp(${m} + ${hx(req.offset)}, want, sizeof(want))) { printf("    memory differs from the recording\\n"); other_difference(); }`);
        }
        break;
      }
      case 'reset':
        st.push(`${ind}/* reset: the harness closed every handle here */`, `${ind}ret = 0;`, `${ind}err = 0;`);
        break;
      case 'kmsg':
        st.push(`${ind}/* kmsg: the harness read the kernel log here (dmesg shows it) */`, `${ind}ret = 0;`, `${ind}err = 0;`);
        break;
      case 'info':
        st.push(`${ind}struct utsname u;`, `${ind}ret = uname(&u);`, `${ind}err = errno;`, `${ind}if (ret == 0) printf("    %s %s %s\\n", u.sysname, u.release, u.machine);`);
        break;
      case 'ioctl': {
        this.populateOut = undefined;
        const known = this.ioctl(req, ind);
        if (known) st.push(...known);
        else {
          const decls: string[] = [];
          const arg = this.argExpr(req.arg, decls, ind);
          st.push(`${ind}/* ${requestName(req)}: argument as recorded (no struct spelling for it) */`, ...decls, `${ind}ret = ioctl(${this.fd(req.fd)}, ${hx(req.req)}U, ${arg});`);
        }
        if (!st.some((l) => l.trim() === 'err = errno;')) st.push(`${ind}err = errno;`);
        if (req.as && req.as_fd_at === undefined) st.push(`${ind}if (ret >= 0) ${this.fd(req.as)} = (int)ret;`);
        binds = req.as !== undefined;
        if (known && this.populateOut && rec.ret >= 0 && rec.out?.length === 64) {
          const o = new StructReader(fromHex(rec.out));
          const i = new StructReader(this.populateOut);
          this.usesPopulateCheck = true;
          after.push(`${ind}if (ret >= 0) check_populate(&before, &args, ${u64lit(o.u64(0))}, ${u64lit(o.u64(8))}, ${u64lit(o.u64(0) - i.u64(0))});`);
        } else if (this.populateOut) {
          // The trace has no struct to compare (the call failed): no copy to keep.
          const k = st.findIndex((l) => l.includes(' before = args;'));
          if (k >= 0) st.splice(k, 1);
        }
        if (req.req === K.KVM_RUN && rec.ret >= 0 && rec.peek?.[0] && req.peek?.[0]) {
          const run = new StructReader(fromHex(rec.peek[0]));
          const reason = run.u32(8);
          const m = this.mem(req.peek[0].mem);
          const reasonName = Object.entries(K.KVM_EXIT).find(([, v]) => v === reason)?.[0];
          after.push(`${ind}if (ret >= 0 && ${m}) check_exit(${m}, ${reasonName ? `KVM_EXIT_${reasonName}` : reason}, ${reason === K.KVM_EXIT.SYSTEM_EVENT ? run.u32(32) : 0});`);
        }
        break;
      }
    }
    if (!st.some((l) => /\berr = /.test(l))) st.splice(1, 0, `${ind}err = errno;`);
    // The spec's side: the expectation that judged this call (none for set-up, nor for a call not executed).
    const e = refused || !Number.isSafeInteger(c.seq) ? undefined : this.expect.get(c.seq);
    const spec = e ? `&(const struct spec){ ${errnoExpr(e.errno)}, ${e.ret !== undefined ? 1 : 0}, ${e.ret ?? 0}L, ${cstr(e.source)} }` : 'NULL';
    const recorded = rec.error !== undefined ? `0 /* recorded: <${comment(rec.error)}>, no result */, 0, 0` : `1, ${rec.ret}L, ${errnoExpr(rec.errno)}`;
    const probe = refused ? undefined : absenceProbe(c, this.abi, e);
    const absent = probe ? ABSENT_C[probe](this.abi) : { cond: '0', why: 'NULL' };
    const stop = !refused && stopsOnFailure(c, e);
    if (stop) this.usesStop = true;
    this.body.push(
      `\t/* ${seq}: ${comment(c.label)} */`,
      `\t{`,
      `${ind}errno = 0;`,
      ...st,
      `${ind}report(${seq}, ${label}, ret, err, ${binds ? 1 : 0}, ${spec},`,
      `${ind}       ${recorded}, ${absent.cond}, ${absent.why});`,
      ...after,
      ...(stop ? [`${ind}if (ret < 0) {`, `${ind}\tprintf("stopped: call %d failed; the calls after it need what it makes\\n", ${seq});`, `${ind}\tstopped = 1;`, `${ind}\tgoto out;`, `${ind}}`] : []),
      `\t}`,
    );
    after = [];
  }
}

function regExpr(id: bigint): string {
  if (id === KVM_REG_ARM64_SVE_VLS) return 'KVM_REG_ARM64_SVE_VLS';
  const core = 0x6030000000100000n;
  if ((id & ~0xffffn) === core) {
    const off = Number(id & 0xffffn) * 4;
    const what = off === 256 ? 'pc' : off === 248 ? 'sp' : off === 264 ? 'pstate' : off < 248 && off % 8 === 0 ? `regs[${off / 8}]` : `offset ${off}`;
    return `ARM64_CORE_REG(${off}) /* ${what} */`;
  }
  return u64lit(id);
}

function errnoExpr(e: number): string {
  if (e === 0) return '0';
  const n = errnoName(e);
  return n.startsWith('errno ') ? String(e) : n;
}

/** Named flag bits, the rest in hex; over 64 bits unsigned so that bit 31 or 63 is neither lost nor negative. */
function flagNames(v: number | bigint, table: [string, number][], zero: string): string {
  const parts: string[] = [];
  let rest = typeof v === 'bigint' ? BigInt.asUintN(64, v) : BigInt(v >>> 0);
  for (const [n, bit] of table) {
    const b = BigInt(bit >>> 0);
    if (b && (rest & b) === b) {
      parts.push(n);
      rest &= ~b;
    }
  }
  if (rest) parts.push(typeof v === 'bigint' ? u64lit(rest) : `${hx(rest)}U`);
  return parts.length ? parts.join(' | ') : zero;
}
const openFlags = (f: number): string => flagNames(f, [['O_RDWR', K.O_RDWR], ['O_CLOEXEC', K.O_CLOEXEC]], 'O_RDONLY');
const mapProt = (p: number): string => flagNames(p, [['PROT_READ', K.PROT_READ], ['PROT_WRITE', K.PROT_WRITE]], 'PROT_NONE');
const mapFlags = (f: number): string => flagNames(f, [['MAP_SHARED', K.MAP_SHARED], ['MAP_PRIVATE', K.MAP_PRIVATE], ['MAP_ANONYMOUS', K.MAP_ANONYMOUS]], '0');

const structDef = (s: CStruct): string =>
  `struct ${s.name} {\n${s.fields.map((f) => `\t__u${f.size * 8} ${f.name}${f.count ? `[${f.count}]` : ''};`).join('\n')}\n};`;

/** `#ifndef N / #define N v / #endif`, then a compile-time check that installed headers agree. */
function pinned(name: string, value: string, equals: string, abi: AbiProfile): string[] {
  return [`#ifndef ${name}`, `#define ${name} ${value}`, '#endif', `_Static_assert(${name} == ${equals}, "the installed headers define ${name} for another revision than ${abi.name}");`];
}

/** An ioctl request defined with its struct (a header that has the request has the struct), pinned to the trace's number. */
function requestDefinition(name: string, dir: '_IOW' | '_IOWR', nr: number, s: CStruct, abi: AbiProfile, req: number, extra: string[] = []): string[] {
  return [
    `#ifndef ${name}`,
    ...extra,
    structDef(s),
    `#define ${name} ${dir}(KVMIO, ${hx(nr)}, struct ${s.name})`,
    '#endif',
    `_Static_assert(sizeof(struct ${s.name}) == ${s.size}, "struct ${s.name} is ${s.size} bytes in ${abi.name}");`,
    `_Static_assert(${name} == ${hx(req)}U, "the installed headers define ${name} for another revision than ${abi.name}");`,
  ];
}

function realmDefinitions(abi: AbiProfile, names: MuxCNames | undefined): string {
  const out: string[] = [`/* ---- the realm uAPI of ${abi.name} (${abi.source}), as far as these calls need it */`];
  if (abi.generation === 'absent') {
    // Probes of a kernel without the series: the RFC's numbers, nothing to pin.
    out.push(`#ifndef ${abi.cap.name}`, `#define ${abi.cap.name} ${abi.cap.nr}`, '#endif', '#ifndef KVM_VM_TYPE_ARM_REALM', `#define KVM_VM_TYPE_ARM_REALM ${hx(abi.vmTypeRealm)}UL`, '#endif');
    return out.join('\n');
  }
  out.push(...pinned(abi.cap.name, String(abi.cap.nr), String(abi.cap.nr), abi));
  const realmType = abi.vmTypeRealm === 1 << 30 ? '(1UL << 30)' : `${hx(abi.vmTypeRealm)}UL`;
  out.push(...pinned('KVM_VM_TYPE_ARM_REALM', realmType, `${hx(abi.vmTypeRealm)}UL`, abi));
  if (abi.vmTypeProtected) out.push('#ifndef KVM_VM_TYPE_ARM_PROTECTED', `#define KVM_VM_TYPE_ARM_PROTECTED (1UL << 31)`, '#endif');
  if (abi.recFeature !== undefined && names) out.push(...pinned(names.recFeature, String(abi.recFeature), String(abi.recFeature), abi));
  if (names && abi.subcmd) {
    const guard = `${names.subcmdPrefix}${abi.subcmdNames?.POPULATE ?? 'POPULATE'}`;
    out.push(`/* ${names.source}; a header that has the sub-commands also has their structs. */`, `#ifndef ${guard}`);
    for (const [k, v] of Object.entries(abi.subcmd)) out.push(`#define ${names.subcmdPrefix}${abi.subcmdNames?.[k as keyof SubcommandNumbers] ?? k} ${v}`);
    for (const [k, v] of Object.entries(abi.configItems ?? {})) out.push(`#define ${names.config.itemPrefix}${k} ${v}`);
    for (const [k, v] of Object.entries(abi.hashAlgos ?? {})) out.push(`#define ${names.config.hashPrefix}${k} ${v}`);
    out.push(`#define ${names.config.rpvSize} 64`);
    if (names.populateMeasure) out.push(`#define ${names.populateMeasure} (1U << 0)`);
    out.push(structDef(names.populate), structDef(names.initIpa), configDefinition(abi, names), '#endif');
    for (const s of [names.populate, names.initIpa]) out.push(`_Static_assert(sizeof(struct ${s.name}) == ${s.size}, "struct ${s.name} is ${s.size} bytes in ${abi.name}");`);
    if (abi.sizes.configItem) out.push(`_Static_assert(sizeof(struct ${names.config.name}) == ${abi.sizes.configItem}, "struct ${names.config.name} is ${abi.sizes.configItem} bytes in ${abi.name}");`);
  }
  if (abi.rmiPopulate) {
    const p = abi.rmiPopulate;
    out.push(...requestDefinition(p.name, p.inOut ? '_IOWR' : '_IOW', 0xd7, RMI_POPULATE, abi, p.req, [`#define ${RMI_POPULATE_MEASURE} (1U << 0)`]));
  }
  if (abi.psciComplete) {
    const p = abi.psciComplete;
    out.push(...requestDefinition(p.name, '_IOW', p.req & 0xff, psciStruct(p.name), abi, p.req));
  }
  return out.join('\n');
}

/** The CONFIG_REALM struct: u32 cfg and a 256-byte union holding the revision's items. */
function configDefinition(abi: AbiProfile, names: MuxCNames): string {
  const item = (k: string, body: string): string => `\t\t/* cfg == ${names.config.itemPrefix}${k} */\n\t\tstruct { ${body} };`;
  const bodies: Record<string, string> = {
    RPV: `__u8 rpv[${names.config.rpvSize}];`,
    HASH_ALGO: '__u32 hash_algo;',
    SVE: '__u32 sve_vq;',
    DBG: '__u32 num_brps; __u32 num_wrps;',
    PMU: '__u32 num_pmu_cntrs;',
  };
  const members = Object.keys(abi.configItems ?? {}).map((k) => item(k, bodies[k] ?? ''));
  return `struct ${names.config.name} {\n\t__u32 cfg;\n\tunion {\n${members.join('\n')}\n\t\t__u8 reserved[256];\n\t};\n};`;
}

const ARM64_DEFS = `/* ---- arm64 parts of the KVM uAPI: x86 headers (and old arm64 ones) lack them */
#if !defined(__aarch64__)
struct kvm_vcpu_init {
	__u32 target;
	__u32 features[7];
};
#endif
#ifndef KVM_ARM_VCPU_INIT
#define KVM_ARM_VCPU_INIT _IOW(KVMIO, 0xae, struct kvm_vcpu_init)
#endif
#ifndef KVM_ARM_VCPU_FINALIZE
#define KVM_ARM_VCPU_FINALIZE _IOW(KVMIO, 0xc2, int)
#endif
#ifndef KVM_ARM_TARGET_GENERIC_V8
#define KVM_ARM_TARGET_GENERIC_V8 5
#endif
#ifndef KVM_ARM_VCPU_POWER_OFF
#define KVM_ARM_VCPU_POWER_OFF 0
#define KVM_ARM_VCPU_EL1_32BIT 1
#define KVM_ARM_VCPU_PSCI_0_2 2
#define KVM_ARM_VCPU_PMU_V3 3
#endif
#ifndef KVM_ARM_VCPU_SVE
#define KVM_ARM_VCPU_SVE 4
#endif
#ifndef KVM_REG_ARM64
#define KVM_REG_ARM64 0x6000000000000000ULL
#endif
#ifndef KVM_REG_ARM_CORE
#define KVM_REG_ARM_CORE (0x0010 << 16)
#endif
/* KVM_REG_ARM_CORE_REG(): offsetof(struct kvm_regs, field) / 4 */
#define ARM64_CORE_REG(off) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | ((off) / 4))
#ifndef KVM_REG_ARM64_SVE_VLS
#define KVM_REG_ARM64_SVE_VLS (KVM_REG_ARM64 | KVM_REG_SIZE_U512 | (0x15ULL << 16) | 0xffff)
#endif
#ifndef KVM_VM_TYPE_ARM_IPA_SIZE
#define KVM_VM_TYPE_ARM_IPA_SIZE(x) ((x) & 0xffULL)
#endif
#ifndef KVM_VGIC_V3_ADDR_TYPE_DIST
#define KVM_VGIC_V3_ADDR_TYPE_DIST 2
#define KVM_VGIC_V3_ADDR_TYPE_REDIST 3
#endif
#ifndef KVM_DEV_ARM_VGIC_GRP_ADDR
#define KVM_DEV_ARM_VGIC_GRP_ADDR 0
#define KVM_DEV_ARM_VGIC_GRP_CTRL 4
#define KVM_DEV_ARM_VGIC_CTRL_INIT 0
#endif`;

/** guest_memfd, REGION2 and memory attributes (Linux 6.8): the guest_memfd revisions (v2+) use them. */
function guestMemfdDefinitions(): string {
  const d = (s: CStruct, req: string, dir: string, nr: number): string =>
    [`#ifndef ${req}`, structDef(s), `#define ${req} ${dir}(KVMIO, ${hx(nr)}, struct ${s.name})`, '#endif', `_Static_assert(sizeof(struct ${s.name}) == ${s.size}, "struct ${s.name} is ${s.size} bytes");`].join('\n');
  return [
    '/* ---- guest_memfd and memory attributes (Linux 6.8+; older headers lack them) */',
    d(CREATE_GUEST_MEMFD, 'KVM_CREATE_GUEST_MEMFD', '_IOWR', 0xd4),
    d(REGION2, 'KVM_SET_USER_MEMORY_REGION2', '_IOW', 0x49),
    d(MEMORY_ATTRIBUTES, 'KVM_SET_MEMORY_ATTRIBUTES', '_IOW', 0xd2),
    '#ifndef KVM_MEM_GUEST_MEMFD',
    `#define KVM_MEM_GUEST_MEMFD (1UL << 2)`,
    '#endif',
    '#ifndef KVM_MEMORY_ATTRIBUTE_PRIVATE',
    `#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)`,
    '#endif',
  ].join('\n');
}

function capDefinitions(): string {
  return Object.entries(K.CAP)
    .map(([n, v]) => `#ifndef ${n}\n#define ${n} ${v}\n#endif`)
    .join('\n');
}

/** The C test of each absence probe's answer and the line saying what it means (see absenceProbe in harness/replay.ts). */
const ABSENT_C: Record<AbsenceProbe, (abi: AbiProfile) => { cond: string; why: string }> = {
  open: () => ({ cond: `ret < 0 && (${NO_KVM_ERRNOS.map((n) => `err == ${errnoExpr(n)}`).join(' || ')})`, why: cstr('no /dev/kvm to open: this kernel offers no KVM to test') }),
  cap: (abi) => ({ cond: 'ret == 0 || (ret == -1 && err == EINVAL)', why: cstr(`the kernel does not offer ${abi.cap.name}, the realm CAP of ${abi.name}`) }),
  vm: (abi) => ({ cond: 'ret == -1 && err == EINVAL', why: cstr(`no realm VM type: the realm uAPI of ${abi.name} is not in this kernel, or no RMM is behind it`) }),
};

function helpers(): string {
  const names = Object.keys(ERRNO);
  return `/* Calls whose result is not the spec's; calls (or their output) that differ from the recording. */
static int violations, differences;

static const char *errname(int e)
{
	switch (e) {
${names.map((n) => `	case ${n}: return "${n}";`).join('\n')}
	default: return "errno ?";
	}
}

/* What the revision's spec promises for one call: success (any ret >= 0 unless pinned) or -1 with err. */
struct spec {
	int err;
	int pinned;
	long ret;
	const char *source;
};

static void outcome(char *s, size_t n, long ret, int err, int handle)
{
	if (ret < 0)
		snprintf(s, n, "= %ld %s", ret, errname(err));
	else if (handle)
		snprintf(s, n, "= ok (handle)");
	else
		snprintf(s, n, "= %ld", ret);
}

static int meets(const struct spec *s, long ret, int err)
{
	if (s->err)
		return ret == -1 && err == s->err;
	return ret >= 0 && (!s->pinned || ret == s->ret);
}

/*
 * Print one call: its result now, what the spec expects (calls an expectation
 * judged), what the trace recorded (rec_known 0: the recording has no result).
 * A judged call whose result is not the spec's is a violation. When absent is
 * set and nothing violated the spec before, the result shows the realm uAPI
 * is missing: say so and exit 4 (kselftest's SKIP).
 */
static void report(int seq, const char *label, long ret, int err, int handle, const struct spec *s, int rec_known,
		   long rec_ret, int rec_err, int absent, const char *why)
{
	char got[64], want[64], rec[64];
	int bad = s && !meets(s, ret, err);
	int differs;

	outcome(got, sizeof(got), ret, err, handle);
	outcome(rec, sizeof(rec), rec_ret, rec_err, handle);
	differs = rec_known && strcmp(got, rec);
	printf("%3d %s %s", seq, label, got);
	if (s) {
		if (s->err)
			snprintf(want, sizeof(want), "= -1 %s", errname(s->err));
		else if (s->pinned)
			snprintf(want, sizeof(want), "= %ld", s->ret);
		else
			snprintf(want, sizeof(want), "success");
		printf("   spec: %s (%s)", want, s->source);
	}
	printf("   recorded: %s", rec_known ? rec : "(no result)");
	if (absent && !violations) {
		printf("   <-- the realm uAPI is absent\\n");
		printf("the realm uAPI is absent on this kernel (call %d %s): %s\\n", seq, got, why);
		printf("exit 4: nothing to test here\\n");
		exit(4);
	}
	printf("%s\\n", bad ? "   <-- VIOLATES THE SPEC" : differs ? "   <-- differs from the recording" : "");
	if (bad)
		violations++;
	if (differs)
		differences++;
}

/* Output of a call (exit, struct written back, memory) not the recording's: a violation when the recording conformed. */
static void other_difference(void)
{
	if (RECORDING_CONFORMS)
		violations++;
	else
		differences++;
}

static void __attribute__((unused)) check_exit(const void *run, __u32 want_reason, __u32 want_event)
{
	const struct kvm_run *r = run;

	printf("    exit_reason %u", r->exit_reason);
	if (r->exit_reason == KVM_EXIT_SYSTEM_EVENT)
		printf(", system_event.type %u", r->system_event.type);
	if (r->exit_reason != want_reason || (want_reason == KVM_EXIT_SYSTEM_EVENT && r->system_event.type != want_event)) {
		printf("   <-- recorded: exit_reason %u", want_reason);
		if (want_reason == KVM_EXIT_SYSTEM_EVENT)
			printf(", system_event.type %u", want_event);
		other_difference();
	}
	printf("\\n");
}`;
}

/**
 * KVM_ARM_RMI_POPULATE v13+ updates its struct in place: base and size must
 * match the trace, and source_uaddr must have advanced by as much as base
 * (its absolute value is a host address of the recording process).
 */
const POPULATE_CHECK = `static void check_populate(const struct ${RMI_POPULATE.name} *before, const struct ${RMI_POPULATE.name} *after,
			   __u64 want_base, __u64 want_size, __u64 want_advance)
{
	__u64 advance = after->base - before->base;

	printf("    base 0x%llx size 0x%llx, advanced 0x%llx (source_uaddr 0x%llx)", (unsigned long long)after->base,
	       (unsigned long long)after->size, (unsigned long long)advance,
	       (unsigned long long)(after->source_uaddr - before->source_uaddr));
	if (after->base != want_base || after->size != want_size || advance != want_advance ||
	    after->source_uaddr - before->source_uaddr != want_advance) {
		printf("   <-- recorded: base 0x%llx size 0x%llx, advanced 0x%llx", (unsigned long long)want_base,
		       (unsigned long long)want_size, (unsigned long long)want_advance);
		other_difference();
	}
	printf("\\n");
}`;

/** The whole C file for a trace. */
export function generateRepro(trace: TraceFile, from: string): string {
  const abi = getProfile(trace.abi);
  if (!abi) throw new ReproError(`${from}: no profile for ABI revision "${trace.abi}"`);
  const g = new Gen(trace, abi);
  trace.calls.forEach((c, i) => g.call(c, i));
  const t = trace.target;
  const failed = (Array.isArray(trace.assertions) ? trace.assertions : []).filter((a) => typeof a === 'object' && a !== null && !a.ok).map((a) => a.message);
  const fds = [...g.fds].map(ident);
  const maps = [...g.maps.keys()].map(ident);
  const bugs = trace.emulator?.bugs.length ? `, emulator bugs: ${trace.emulator.bugs.join(', ')}` : '';
  const judged = trace.calls.filter((c, i) => g.expect.has(c.seq) && !g.refused.some((r) => r.startsWith(`${Number.isSafeInteger(c.seq) ? c.seq : i + 1}: `))).length;
  return `/*
 * Reproducer for ${comment(`${trace.abi}/${trace.check}`)}: ${comment(trace.description)}
 * Generated by kvm-cca-conformance (./run.sh repro) from ${comment(from)}.
 * Recorded on ${comment(`${t.spec} (${t.release}, ${t.machine}), ABI ${trace.abi}${bugs}`)}; the check's status was ${STATUSES.has(String(trace.status)) ? trace.status : 'not recorded'}.
${failed.map((m) => ` *   failed: ${comment(m)}\n`).join('')}${g.refused.map((m) => ` *   NOT EXECUTED (outside the suite's call policy): call ${comment(m)}\n`).join('')} *
 * Build: gcc -Wall -Werror -o repro repro.c    or    aarch64-linux-gnu-gcc -static -o repro repro.c
 * Run as root on the target. It prints uname -a, then per call the result
 * now, what the ${comment(abi.name)} spec expects (calls the check judged, with the
 * expectation's source) and what the trace recorded. Exit 0: every judged call
 * meets the spec; 1: one violates it (or a structural call - open, VM, vCPU,
 * mmap, memslot - failed and the calls after it were not made); 4: the realm
 * uAPI is absent (no /dev/kvm, the realm CAP answering 0, or the realm VM type
 * refused with EINVAL before any violation), kselftest's SKIP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/kvm.h>

${ARM64_DEFS}

/* ---- generic capabilities the calls name (older headers may lack some) */
${capDefinitions()}

${realmDefinitions(abi, g.names)}
${abi.privateMemory === 'guest_memfd' ? `\n${guestMemfdDefinitions()}\n` : ''}
#define RECORDING_CONFORMS ${trace.status === 'pass' ? 1 : 0} /* the recorded check passed: its outputs are the spec's */
${helpers()}
${g.usesPopulateCheck ? `\n${POPULATE_CHECK}\n` : ''}
int main(void)
{
	long ret;
	int err;
${fds.map((f) => `\tint ${f} = -1;`).join('\n')}
${maps.map((m) => `\tunsigned char *${m} = NULL;`).join('\n')}

	struct utsname uts;
	int stopped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* uname -a first: a log pasted to a list says which kernel answered. */
	if (uname(&uts) == 0)
		printf("uname -a: %s %s %s %s %s\\n", uts.sysname, uts.nodename, uts.release, uts.version, uts.machine);
	printf("%s\\n", ${cstr(`spec: ${trace.abi}; recorded on ${t.release} (${t.machine}); each call: result, spec, recorded`)});
${g.body.join('\n')}
${g.usesStop ? 'out:\n' : ''}
${fds.map((f) => `\tif (${f} >= 0)\n\t\tclose(${f});`).join('\n')}
${maps.map((m) => `\t(void)${m};`).join('\n')}
	(void)ret;
	(void)err;
	printf("%d of ${judged} judged calls violate the ${comment(trace.abi)} spec; %d of ${trace.calls.length} calls differ from the recording\\n", violations, differences);
	if (stopped)
		printf("exit 1: a structural call failed, the rest was not run\\n");
	else
		printf("exit %d: %s\\n", violations ? 1 : 0, violations ? "the kernel violates the spec" : "the kernel conforms to the spec on these calls");
	return violations || stopped ? 1 : 0;
}
`;
}
