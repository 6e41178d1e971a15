// Standalone C reproducers from a trace: one file needing only libc and the
// kernel's uAPI headers, performing the trace's calls with named constants and
// struct fields, printing each result and exiting 1 where one differs from
// the trace. A patched kernel's headers are rarely installed, and x86 headers
// lack the arm64 parts, so everything the calls need is defined here under
// #ifndef guards (our own definitions from the spec's tables, not header text).
import { getProfile } from './abi/index.ts';
import type { AbiName, AbiProfile, SubcommandNumbers } from './abi/types.ts';
import { StructReader } from './bytes.ts';
import { ERRNO, errnoName } from './errno.ts';
import * as K from './kvm-uapi.ts';
import type { Call } from './target.ts';
import { requestName, type TraceCall, type TraceFile } from './trace.ts';
import { fromHex, type WireArg, type WireBuf, type WirePtrTarget } from './wire.ts';

export class ReproError extends Error {
  override name = 'ReproError';
}

interface CField {
  name: string;
  off: number;
  size: 4 | 8;
}

interface CStruct {
  name: string;
  size: number;
  fields: CField[];
}

/** The C spellings of one revision's realm uAPI (the profile has the numbers). */
interface RealmCNames {
  /** Sub-command constant = prefix + the profile's sub-command name. */
  subcmdPrefix: string;
  populate: CStruct;
  initIpa: CStruct;
  config: { name: string; itemPrefix: string; hashPrefix: string; definition: string };
  recFeature: string;
}

// RFC v1: arch/arm64/include/uapi/asm/kvm.h of the series (abi-evolution.md §2b); field names as the spec gives them.
const RFC_V1: RealmCNames = {
  subcmdPrefix: 'KVM_CAP_ARM_RME_',
  populate: {
    name: 'kvm_cap_arm_rme_populate_realm_args',
    size: 16,
    fields: [
      { name: 'populate_ipa_base', off: 0, size: 8 },
      { name: 'populate_ipa_size', off: 8, size: 8 },
    ],
  },
  initIpa: {
    name: 'kvm_cap_arm_rme_init_ipa_args',
    size: 16,
    fields: [
      { name: 'init_ipa_base', off: 0, size: 8 },
      { name: 'init_ipa_size', off: 8, size: 8 },
    ],
  },
  config: {
    name: 'kvm_cap_arm_rme_config_item',
    itemPrefix: 'KVM_CAP_ARM_RME_CFG_',
    hashPrefix: 'KVM_CAP_ARM_RME_MEASUREMENT_ALGO_',
    definition: `struct kvm_cap_arm_rme_config_item {
	__u32 cfg;
	union {
		struct { __u8 rpv[64]; };			/* CFG_RPV */
		struct { __u32 hash_algo; };			/* CFG_HASH_ALGO */
		struct { __u32 sve_vq; };			/* CFG_SVE */
		struct { __u32 num_brps; __u32 num_wrps; };	/* CFG_DBG */
		struct { __u32 num_pmu_cntrs; };		/* CFG_PMU */
		__u8 reserved[256];
	};
};`,
  },
  recFeature: 'KVM_ARM_VCPU_REC',
};

const C_NAMES: Partial<Record<AbiName, RealmCNames>> = { 'rfc-v1': RFC_V1 };

const CONFIG_FIELDS: Record<string, CField[]> = {
  HASH_ALGO: [{ name: 'hash_algo', off: 4, size: 4 }],
  SVE: [{ name: 'sve_vq', off: 4, size: 4 }],
  DBG: [
    { name: 'num_brps', off: 4, size: 4 },
    { name: 'num_wrps', off: 8, size: 4 },
  ],
  PMU: [{ name: 'num_pmu_cntrs', off: 4, size: 4 }],
};

const FEATURE_NAMES: Record<number, string> = {
  [K.KVM_ARM_VCPU_POWER_OFF]: 'KVM_ARM_VCPU_POWER_OFF',
  [K.KVM_ARM_VCPU_EL1_32BIT]: 'KVM_ARM_VCPU_EL1_32BIT',
  [K.KVM_ARM_VCPU_PSCI_0_2]: 'KVM_ARM_VCPU_PSCI_0_2',
  [K.KVM_ARM_VCPU_PMU_V3]: 'KVM_ARM_VCPU_PMU_V3',
  [K.KVM_ARM_VCPU_SVE]: 'KVM_ARM_VCPU_SVE',
};

const hx = (v: number | bigint): string => `0x${v.toString(16)}`;
const u64lit = (v: bigint): string => (v < 10n ? `${v}` : `0x${v.toString(16)}ULL`);
const u32lit = (v: number): string => (v < 10 ? `${v}` : `0x${v.toString(16)}`);
const cstr = (s: string): string => JSON.stringify(s.replace(/[^\x20-\x7e]/g, '...')).replace(/\?\?/g, '?\\?');

function ident(handle: string): string {
  const s = handle.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z]/.test(s) ? `h_${s}` : `h__${s}`;
}

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
  readonly names?: RealmCNames;
  readonly realmCap: string;

  constructor(
    readonly trace: TraceFile,
    readonly abi: AbiProfile,
  ) {
    this.names = abi.subcmd ? C_NAMES[abi.name] : undefined;
    this.realmCap = abi.cap.name;
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
  }

  argExpr(a: WireArg, decls: string[], ind: string): string {
    if ('int' in a) return `(unsigned long)${hx(a.int)}`;
    if ('mem' in a) return `${this.mem(a.mem)} + ${hx(a.offset)}`;
    const name = `arg${++this.tmp}`;
    this.rawBuf(name, a.buf, decls, ind);
    return name;
  }

  structInit(s: CStruct, bytes: Uint8Array, ind: string, extra: string[] = []): string {
    const r = new StructReader(bytes);
    const lines = s.fields.map((f) => `${ind}\t.${f.name} = ${f.size === 8 ? u64lit(r.u64(f.off)) : u32lit(r.u32(f.off))},`);
    return `{\n${[...lines, ...extra.map((e) => `${ind}\t${e}`)].join('\n')}\n${ind}}`;
  }

  vmType(type: number): string {
    const kind = type & ~0xff;
    const ipa = type & 0xff;
    const k = kind === 0 ? '' : kind === this.abi.vmTypeRealm ? 'KVM_VM_TYPE_ARM_REALM' : hx(kind);
    if (!k) return ipa ? `KVM_VM_TYPE_ARM_IPA_SIZE(${ipa})` : '0';
    return ipa ? `${k} | KVM_VM_TYPE_ARM_IPA_SIZE(${ipa})` : k;
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

  featureName(bit: number): string {
    if (bit === this.abi.recFeature) return this.names?.recFeature ?? `${bit} /* REC */`;
    return FEATURE_NAMES[bit] ?? String(bit);
  }

  /** C statements computing `ret` and `err` for one ioctl; undefined = use the raw fallback. */
  ioctl(req: Extract<Call, { op: 'ioctl' }>, ind: string): string[] | undefined {
    const fd = this.fd(req.fd);
    const name = requestName(req);
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
      if (req.req === K.KVM_ARM_VCPU_FINALIZE && intArg !== undefined) return [call(`(unsigned long)${hx(intArg)} /* a pointer that faults */`)];
      return undefined;
    }
    const bytes = fromHex(a.buf.hex);
    const r = new StructReader(bytes);
    const ptrs = a.buf.ptrs ?? [];
    const ptrAt = (at: number): WirePtrTarget | undefined => ptrs.find((p) => p.at === at)?.to;
    const noPtrs = ptrs.length === 0;
    switch (req.req) {
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
        if (bytes.length !== 16 || ptrs.length !== 1 || !to || !('buf' in to) || to.buf.hex.length !== 16 || to.buf.ptrs?.length) return undefined;
        const val = new StructReader(fromHex(to.buf.hex)).u64(0);
        return [
          `${ind}__u64 value = ${u64lit(val)};`,
          `${ind}struct kvm_one_reg reg = { .id = ${regExpr(r.u64(0))}, .addr = (__u64)(uintptr_t)&value };`,
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
        const names = this.names as RealmCNames;
        const b = fromHex(to.buf.hex);
        const nr = Number(args[0]);
        const s = nr === sub.POPULATE ? names.populate : nr === sub.INIT_IPA ? names.initIpa : undefined;
        if (s && b.length === s.size) {
          lines.push(`${ind}struct ${s.name} args = ${this.structInit(s, b, ind)};`);
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
    const names = this.names as RealmCNames;
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
  call(c: TraceCall): void {
    const req = c.request;
    const ind = '\t\t';
    const st: string[] = [];
    const rec = c.result;
    const label = cstr(c.label);
    let binds = false;
    let after: string[] = [];
    switch (req.op) {
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
          after.push(`${ind}if (${m} && memcmp(${m} + ${hx(req.offset)}, want, sizeof(want))) { printf("    memory differs from the trace\\n"); mismatches++; }`);
        }
        break;
      }
      case 'reset':
        st.push(`${ind}/* reset: the harness closed every handle here */`, `${ind}ret = 0;`, `${ind}err = 0;`);
        break;
      case 'info':
        st.push(`${ind}struct utsname u;`, `${ind}ret = uname(&u);`, `${ind}err = errno;`, `${ind}if (ret == 0) printf("    %s %s %s\\n", u.sysname, u.release, u.machine);`);
        break;
      case 'ioctl': {
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
    const expect = rec.error !== undefined ? `/* recorded: <${rec.error}>, no result to compare */ 0, 0, 2` : `${rec.ret}, ${errnoExpr(rec.errno)}, ${binds ? 1 : 0}`;
    this.body.push(`\t/* ${c.seq}: ${c.label.replace(/\*\//g, '* /')} */`, `\t{`, `${ind}errno = 0;`, ...st, `${ind}report(${c.seq}, ${label}, ret, err, ${expect});`, ...after, `\t}`);
    after = [];
  }
}

function regExpr(id: bigint): string {
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

function flagNames(v: number, table: [string, number][], zero: string): string {
  const parts: string[] = [];
  let rest = v;
  for (const [n, b] of table)
    if (b && (rest & b) === b) {
      parts.push(n);
      rest &= ~b;
    }
  if (rest) parts.push(hx(rest));
  return parts.length ? parts.join(' | ') : zero;
}
const openFlags = (f: number): string => flagNames(f, [['O_RDWR', K.O_RDWR], ['O_CLOEXEC', K.O_CLOEXEC]], 'O_RDONLY');
const mapProt = (p: number): string => flagNames(p, [['PROT_READ', K.PROT_READ], ['PROT_WRITE', K.PROT_WRITE]], 'PROT_NONE');
const mapFlags = (f: number): string => flagNames(f, [['MAP_SHARED', K.MAP_SHARED], ['MAP_PRIVATE', K.MAP_PRIVATE], ['MAP_ANONYMOUS', K.MAP_ANONYMOUS]], '0');

function realmDefinitions(abi: AbiProfile, names: RealmCNames | undefined): string {
  const out: string[] = [
    `/* ---- the realm uAPI of ${abi.name} (${abi.source}), as far as these calls need it */`,
    `#ifndef ${abi.cap.name}`,
    `#define ${abi.cap.name} ${abi.cap.nr}`,
    '#endif',
    '#ifndef KVM_VM_TYPE_ARM_REALM',
    `#define KVM_VM_TYPE_ARM_REALM ${hx(abi.vmTypeRealm)}UL`,
    '#endif',
  ];
  if (abi.recFeature !== undefined && names) out.push(`#ifndef ${names.recFeature}`, `#define ${names.recFeature} ${abi.recFeature}`, '#endif');
  if (!names || !abi.subcmd) return out.join('\n');
  const guard = `${names.subcmdPrefix}${abi.subcmdNames?.POPULATE ?? 'POPULATE'}`;
  out.push(`/* A header that has the sub-commands also has their structs. */`, `#ifndef ${guard}`);
  for (const [k, v] of Object.entries(abi.subcmd)) out.push(`#define ${names.subcmdPrefix}${abi.subcmdNames?.[k as keyof SubcommandNumbers] ?? k} ${v}`);
  for (const [k, v] of Object.entries(abi.configItems ?? {})) out.push(`#define ${names.config.itemPrefix}${k} ${v}`);
  for (const [k, v] of Object.entries(abi.hashAlgos ?? {})) out.push(`#define ${names.config.hashPrefix}${k} ${v}`);
  for (const s of [names.populate, names.initIpa]) out.push(`struct ${s.name} {\n${s.fields.map((f) => `\t__u${f.size * 8} ${f.name};`).join('\n')}\n};`);
  out.push(names.config.definition, '#endif');
  for (const s of [names.populate, names.initIpa]) out.push(`_Static_assert(sizeof(struct ${s.name}) == ${s.size}, "struct ${s.name} is ${s.size} bytes in ${abi.name}");`);
  if (abi.sizes.configItem) out.push(`_Static_assert(sizeof(struct ${names.config.name}) == ${abi.sizes.configItem}, "struct ${names.config.name} is ${abi.sizes.configItem} bytes in ${abi.name}");`);
  return out.join('\n');
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

function capDefinitions(): string {
  return Object.entries(K.CAP)
    .map(([n, v]) => `#ifndef ${n}\n#define ${n} ${v}\n#endif`)
    .join('\n');
}

function helpers(): string {
  const names = Object.keys(ERRNO);
  return `static int mismatches;

static const char *errname(int e)
{
	switch (e) {
${names.map((n) => `	case ${n}: return "${n}";`).join('\n')}
	default: return "errno ?";
	}
}

static void outcome(char *s, size_t n, long ret, int err, int handle)
{
	if (ret < 0)
		snprintf(s, n, "= %ld %s", ret, errname(err));
	else if (handle)
		snprintf(s, n, "= ok (handle)");
	else
		snprintf(s, n, "= %ld", ret);
}

/* Print one call's result; count it when it differs from the trace (handle: only success counts). */
static void report(int seq, const char *label, long ret, int err, long want_ret, int want_err, int handle)
{
	char got[64], want[64];
	int same;

	outcome(got, sizeof(got), ret, err, handle == 1);
	if (handle == 2) {
		printf("%3d %s %s\\n", seq, label, got);
		return;
	}
	outcome(want, sizeof(want), want_ret, want_err, handle);
	same = !strcmp(got, want);
	printf("%3d %s %s%s%s\\n", seq, label, got, same ? "" : "   <-- the trace has ", same ? "" : want);
	if (!same)
		mismatches++;
}

static void __attribute__((unused)) check_exit(const void *run, __u32 want_reason, __u32 want_event)
{
	const struct kvm_run *r = run;

	printf("    exit_reason %u", r->exit_reason);
	if (r->exit_reason == KVM_EXIT_SYSTEM_EVENT)
		printf(", system_event.type %u", r->system_event.type);
	if (r->exit_reason != want_reason || (want_reason == KVM_EXIT_SYSTEM_EVENT && r->system_event.type != want_event)) {
		printf("   <-- the trace has exit_reason %u", want_reason);
		if (want_reason == KVM_EXIT_SYSTEM_EVENT)
			printf(", system_event.type %u", want_event);
		mismatches++;
	}
	printf("\\n");
}`;
}

/** The whole C file for a trace. */
export function generateRepro(trace: TraceFile, from: string): string {
  const abi = getProfile(trace.abi);
  if (!abi) throw new ReproError(`${from}: no profile for ABI revision "${trace.abi}"`);
  const g = new Gen(trace, abi);
  for (const c of trace.calls) g.call(c);
  const t = trace.target;
  const failed = trace.assertions.filter((a) => !a.ok).map((a) => a.message);
  const fds = [...g.fds].map(ident);
  const maps = [...g.maps.keys()].map(ident);
  const bugs = trace.emulator?.bugs.length ? `, emulator bugs: ${trace.emulator.bugs.join(', ')}` : '';
  const comment = (s: string): string => s.replace(/\*\//g, '* /').replace(/[^\x20-\x7e]/g, '...');
  return `/*
 * Reproducer for ${comment(`${trace.abi}/${trace.check}`)}: ${comment(trace.description)}
 * Generated by kvm-cca-conformance (./run.sh repro) from ${comment(from)}.
 * Recorded on ${comment(`${t.spec} (${t.release}, ${t.machine}), ABI ${trace.abi}${bugs}`)}; the check's status was ${trace.status}.
${failed.map((m) => ` *   failed: ${comment(m)}\n`).join('')} *
 * Build: gcc -Wall -Werror -o repro repro.c    or    aarch64-linux-gnu-gcc -static -o repro repro.c
 * Run as root on the target: each call prints its result; exit 0 when every
 * result is the one in the trace, 1 when any differs.
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

${helpers()}

int main(void)
{
	long ret;
	int err;
${fds.map((f) => `\tint ${f} = -1;`).join('\n')}
${maps.map((m) => `\tunsigned char *${m} = NULL;`).join('\n')}

	setvbuf(stdout, NULL, _IOLBF, 0);
${g.body.join('\n')}

${fds.map((f) => `\tif (${f} >= 0)\n\t\tclose(${f});`).join('\n')}
${maps.map((m) => `\t(void)${m};`).join('\n')}
	(void)ret;
	(void)err;
	printf("%d of ${trace.calls.length} calls differ from the trace\\n", mismatches);
	return mismatches ? 1 : 0;
}
`;
}
