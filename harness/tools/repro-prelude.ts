// The C reproducer's prelude, generated from the uAPI description
// (uapi/kvm.ts, uapi/realm.ts, the revision's uapi): every struct, #define and
// _Static_assert a reproducer needs beyond libc and <linux/kvm.h>. A patched
// kernel's headers are rarely installed and x86 headers lack the arm64 parts,
// so everything is defined under #ifndef guards; the asserts make gcc check
// that whatever the installed headers define has the description's numbers,
// sizes and offsets.
import type { AbiProfile } from '../../profiles/types.ts';
import { ERRNO } from '../../uapi/errno.ts';
import { ARM64, CAP, FLAG_BITS, IOCTLS, ONE_REG, STRUCTS, VCPU_FEATURES, VM_TYPE_IPA_MASK } from '../../uapi/kvm.ts';
import { layout, requestOf, type IoctlDesc, type StructDesc } from '../../uapi/layout.ts';
import { REALM_STRUCTS, RPV_SIZE, type RevisionUapi } from '../../uapi/realm.ts';

export interface CField {
  name: string;
  off: number;
  size: number;
  /** An array field (reserved[], padding[]): `count` elements of `size` bytes. */
  count?: number;
  /** Only pads the struct: left out of an initialiser while zero. */
  pad: boolean;
}

export interface CStruct {
  name: string;
  size: number;
  fields: CField[];
}

/** The C view of a described struct (its plain members; a union is spelt by configDefinition). */
export function cStruct(s: StructDesc): CStruct {
  const l = layout(s);
  return {
    name: s.c,
    size: l.size,
    fields: l.fields.map((f) => ({ name: f.name, off: f.off, size: f.size, ...(f.count !== undefined ? { count: f.count } : {}), pad: f.role !== undefined })),
  };
}

export const hx = (v: number | bigint): string => `0x${v.toString(16)}`;

const CTYPE: Record<number, string> = { 1: '__u8', 2: '__u16', 4: '__u32', 8: '__u64' };
export const structDef = (s: CStruct): string =>
  `struct ${s.name} {\n${s.fields.map((f) => `\t${String(CTYPE[f.size])} ${f.name}${f.count ? `[${f.count}]` : ''};`).join('\n')}\n};`;

/** sizeof and every member's offsetof, checked against the description (also when the installed header defines the struct). */
function layoutAsserts(s: CStruct, abi?: string): string[] {
  const where = abi ? ` in ${abi}` : '';
  return [
    `_Static_assert(sizeof(struct ${s.name}) == ${s.size}, "struct ${s.name} is ${s.size} bytes${where}");`,
    ...s.fields.map((f) => `_Static_assert(offsetof(struct ${s.name}, ${f.name}) == ${f.off}, "${s.name}.${f.name} is at ${f.off}${where}");`),
  ];
}

/** `#ifndef N / #define N v / #endif`, then a compile-time check that installed headers agree. */
function pinned(name: string, value: string, equals: string, abi: AbiProfile): string[] {
  return [
    `#ifndef ${name}`,
    `#define ${name} ${value}`,
    '#endif',
    `_Static_assert(${name} == ${equals}, "the installed headers define ${name} for another revision than ${abi.name}");`,
  ];
}

const IOC_MACRO = { none: '_IO', w: '_IOW', r: '_IOR', rw: '_IOWR' } as const;
/** `_IOW(KVMIO, nr, struct s)` and friends, as the header spells the request. */
function requestMacro(d: IoctlDesc): string {
  const m = IOC_MACRO[d.dir];
  if (d.arg.kind === 'struct') return `${m}(KVMIO, ${hx(d.nr)}, struct ${d.arg.struct.c})`;
  if (d.arg.kind === 'int-ptr') return `${m}(KVMIO, ${hx(d.nr)}, int)`;
  return `${m}(KVMIO, ${hx(d.nr)})`;
}

/** An ioctl request defined with its struct (a header that has the request has the struct), pinned to the description's number. */
function requestDefinition(d: IoctlDesc, abi: AbiProfile | undefined, extra: string[] = []): string[] {
  const s = d.arg.kind === 'struct' ? cStruct(d.arg.struct) : undefined;
  const what = abi ? `for another revision than ${abi.name}` : 'differently';
  return [
    `#ifndef ${d.name}`,
    ...extra,
    ...(s ? [structDef(s)] : []),
    `#define ${d.name} ${requestMacro(d)}`,
    '#endif',
    ...(s ? layoutAsserts(s, abi?.name) : []),
    `_Static_assert(${d.name} == ${hx(requestOf(d))}U, "the installed headers define ${d.name} ${what}");`,
  ];
}

/** A realm VM type value as the header spells it: a single high bit as a shift. */
const vmTypeC = (v: number): string => (v >= 1 << 16 && (v & (v - 1)) === 0 ? `(1UL << ${Math.log2(v)})` : `${hx(v)}UL`);

export function realmDefinitions(abi: AbiProfile): string {
  const u: RevisionUapi | undefined = abi.uapi;
  const out: string[] = [`/* ---- the realm uAPI of ${abi.name} (${abi.source}), as far as these calls need it */`];
  if (abi.generation === 'absent' || !u) {
    // Probes of a kernel without the series: the RFC's numbers, nothing to pin.
    out.push(
      `#ifndef ${abi.cap.name}`,
      `#define ${abi.cap.name} ${abi.cap.nr}`,
      '#endif',
      '#ifndef KVM_VM_TYPE_ARM_REALM',
      `#define KVM_VM_TYPE_ARM_REALM ${hx(abi.vmTypeRealm)}UL`,
      '#endif',
    );
    return out.join('\n');
  }
  out.push(...pinned(u.cap.name, String(u.cap.nr), String(u.cap.nr), abi));
  out.push(...pinned('KVM_VM_TYPE_ARM_REALM', vmTypeC(u.vmType.realm), `${hx(u.vmType.realm)}UL`, abi));
  if (u.vmType.protected) out.push('#ifndef KVM_VM_TYPE_ARM_PROTECTED', `#define KVM_VM_TYPE_ARM_PROTECTED ${vmTypeC(u.vmType.protected)}`, '#endif');
  if (u.recFeature) out.push(...pinned(u.recFeature.c, String(u.recFeature.bit), String(u.recFeature.bit), abi));
  if (u.subcmd && u.config && u.populate && u.initIpa) {
    const guard = `${u.subcmd.cPrefix}${u.subcmd.names.POPULATE}`;
    out.push(`/* ${u.cSource ?? abi.source}; a header that has the sub-commands also has their structs. */`, `#ifndef ${guard}`);
    for (const [k, v] of Object.entries(u.subcmd.numbers))
      out.push(`#define ${u.subcmd.cPrefix}${u.subcmd.names[k as keyof typeof u.subcmd.names]} ${String(v)}`);
    for (const [k, v] of Object.entries(u.config.items)) out.push(`#define ${u.config.itemPrefix}${k} ${v}`);
    for (const [k, v] of Object.entries(u.config.hashAlgos)) out.push(`#define ${u.config.hashPrefix}${k} ${v}`);
    out.push(`#define ${u.config.rpvSizeC} ${RPV_SIZE}`);
    if (u.measure) out.push(`#define ${u.measure.c} (1U << ${u.measure.bit})`);
    const pop = cStruct(u.populate);
    const init = cStruct(u.initIpa);
    out.push(structDef(pop), structDef(init), configDefinition(u), '#endif');
    for (const s of [pop, init]) out.push(...layoutAsserts(s, abi.name));
    out.push(
      `_Static_assert(sizeof(struct ${u.config.struct.c}) == ${layout(u.config.struct).size}, "struct ${u.config.struct.c} is ${layout(u.config.struct).size} bytes in ${abi.name}");`,
    );
  }
  if (u.rmiPopulate) out.push(...requestDefinition(u.rmiPopulate, abi, u.measure ? [`#define ${u.measure.c} (1U << ${u.measure.bit})`] : []));
  if (u.psciComplete) out.push(...requestDefinition(u.psciComplete, abi));
  for (const d of u.ioctls ?? []) out.push(...requestDefinition(d, abi));
  return out.join('\n');
}

/** The CONFIG_REALM struct: u32 cfg and a 256-byte union holding the revision's items. */
function configDefinition(u: RevisionUapi): string {
  const config = u.config!;
  const union = layout(config.struct).unions[0]!;
  const member = (f: { name: string; size: number; count?: number }): string =>
    `${String(CTYPE[f.size])} ${f.name}${f.count ? `[${f.count === RPV_SIZE && f.size === 1 ? config.rpvSizeC : f.count}]` : ''};`;
  const members = Object.keys(config.items).map(
    (k) => `\t\t/* cfg == ${config.itemPrefix}${k} */\n\t\tstruct { ${(union.variants[k] ?? []).map(member).join(' ')} };`,
  );
  return `struct ${config.struct.c} {\n\t__u32 cfg;\n\tunion {\n${members.join('\n')}\n\t\t__u8 reserved[${union.size}];\n\t};\n};`;
}

const define = (name: string, value: string | number): string => `#define ${name} ${value}`;
const guarded = (guard: string, lines: string[]): string => [`#ifndef ${guard}`, ...lines, '#endif'].join('\n');

/** The arm64 parts of the KVM uAPI: x86 headers (and old arm64 ones) lack them. */
export function arm64Definitions(): string {
  const vcpuInit = cStruct(STRUCTS.vcpuInit);
  const f = VCPU_FEATURES;
  return [
    '/* ---- arm64 parts of the KVM uAPI: x86 headers (and old arm64 ones) lack them */',
    `#if !defined(__aarch64__)\n${structDef(vcpuInit)}\n#endif`,
    ...layoutAsserts(vcpuInit),
    guarded('KVM_ARM_VCPU_INIT', [define('KVM_ARM_VCPU_INIT', requestMacro(IOCTLS.KVM_ARM_VCPU_INIT))]),
    guarded('KVM_ARM_VCPU_FINALIZE', [define('KVM_ARM_VCPU_FINALIZE', requestMacro(IOCTLS.KVM_ARM_VCPU_FINALIZE))]),
    guarded('KVM_ARM_TARGET_GENERIC_V8', [define('KVM_ARM_TARGET_GENERIC_V8', ARM64.KVM_ARM_TARGET_GENERIC_V8)]),
    guarded(
      'KVM_ARM_VCPU_POWER_OFF',
      (['KVM_ARM_VCPU_POWER_OFF', 'KVM_ARM_VCPU_EL1_32BIT', 'KVM_ARM_VCPU_PSCI_0_2', 'KVM_ARM_VCPU_PMU_V3'] as const).map((n) => define(n, f[n])),
    ),
    guarded('KVM_ARM_VCPU_SVE', [define('KVM_ARM_VCPU_SVE', f.KVM_ARM_VCPU_SVE)]),
    guarded('KVM_REG_ARM64', [define('KVM_REG_ARM64', `${hx(ONE_REG.KVM_REG_ARM64)}ULL`)]),
    guarded('KVM_REG_ARM_CORE', [define('KVM_REG_ARM_CORE', `(${hx(ONE_REG.KVM_REG_ARM_CORE >> 16n)} << 16)`)]),
    '/* KVM_REG_ARM_CORE_REG(): offsetof(struct kvm_regs, field) / 4 */',
    define('ARM64_CORE_REG(off)', '(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | ((off) / 4))'),
    guarded('KVM_REG_ARM64_SVE_VLS', [
      define(
        'KVM_REG_ARM64_SVE_VLS',
        `(KVM_REG_ARM64 | KVM_REG_SIZE_U512 | (${hx(ONE_REG.KVM_REG_ARM64_SVE >> 16n)}ULL << 16) | ${hx(ONE_REG.SVE_VLS_INDEX)})`,
      ),
    ]),
    `_Static_assert(KVM_REG_SIZE_U64 == ${hx(ONE_REG.KVM_REG_SIZE_U64)}ULL && KVM_REG_SIZE_U512 == ${hx(ONE_REG.KVM_REG_SIZE_U512)}ULL, "ONE_REG size field");`,
    guarded('KVM_VM_TYPE_ARM_IPA_SIZE', [define('KVM_VM_TYPE_ARM_IPA_SIZE(x)', `((x) & ${hx(VM_TYPE_IPA_MASK)}ULL)`)]),
    guarded('KVM_VGIC_V3_ADDR_TYPE_DIST', [
      define('KVM_VGIC_V3_ADDR_TYPE_DIST', ARM64.KVM_VGIC_V3_ADDR_TYPE_DIST),
      define('KVM_VGIC_V3_ADDR_TYPE_REDIST', ARM64.KVM_VGIC_V3_ADDR_TYPE_REDIST),
    ]),
    guarded('KVM_DEV_ARM_VGIC_GRP_ADDR', [
      define('KVM_DEV_ARM_VGIC_GRP_ADDR', ARM64.KVM_DEV_ARM_VGIC_GRP_ADDR),
      define('KVM_DEV_ARM_VGIC_GRP_CTRL', ARM64.KVM_DEV_ARM_VGIC_GRP_CTRL),
      define('KVM_DEV_ARM_VGIC_CTRL_INIT', ARM64.KVM_DEV_ARM_VGIC_CTRL_INIT),
    ]),
    // the generic structs every <linux/kvm.h> has: their layout must be the description's
    ...[STRUCTS.userspaceMemoryRegion, STRUCTS.enableCap, STRUCTS.oneReg, STRUCTS.createDevice, STRUCTS.deviceAttr].flatMap((s) => layoutAsserts(cStruct(s))),
    ...[
      IOCTLS.KVM_CREATE_VM,
      IOCTLS.KVM_CHECK_EXTENSION,
      IOCTLS.KVM_CREATE_VCPU,
      IOCTLS.KVM_SET_USER_MEMORY_REGION,
      IOCTLS.KVM_RUN,
      IOCTLS.KVM_ENABLE_CAP,
      IOCTLS.KVM_SET_ONE_REG,
      IOCTLS.KVM_GET_ONE_REG,
      IOCTLS.KVM_ARM_VCPU_INIT,
      IOCTLS.KVM_ARM_VCPU_FINALIZE,
      IOCTLS.KVM_CREATE_DEVICE,
      IOCTLS.KVM_SET_DEVICE_ATTR,
    ].map((d) => `_Static_assert(${d.name} == ${hx(requestOf(d))}U, "${d.name}");`),
  ].join('\n');
}

/** guest_memfd, REGION2 and memory attributes (Linux 6.8): the guest_memfd revisions (v2+) use them. */
export function guestMemfdDefinitions(): string {
  return [
    '/* ---- guest_memfd and memory attributes (Linux 6.8+; older headers lack them) */',
    ...requestDefinition(IOCTLS.KVM_CREATE_GUEST_MEMFD, undefined),
    ...requestDefinition(IOCTLS.KVM_SET_USER_MEMORY_REGION2, undefined),
    ...requestDefinition(IOCTLS.KVM_SET_MEMORY_ATTRIBUTES, undefined),
    guarded('KVM_MEM_GUEST_MEMFD', [define('KVM_MEM_GUEST_MEMFD', `(1UL << ${FLAG_BITS.KVM_MEM_GUEST_MEMFD})`)]),
    guarded('KVM_MEMORY_ATTRIBUTE_PRIVATE', [define('KVM_MEMORY_ATTRIBUTE_PRIVATE', `(1ULL << ${FLAG_BITS.KVM_MEMORY_ATTRIBUTE_PRIVATE})`)]),
  ].join('\n');
}

/** The generic capabilities the calls name (older headers may lack some). */
export function capDefinitions(): string {
  return Object.entries(CAP)
    .map(([n, v]) => `#ifndef ${n}\n#define ${n} ${v}\n#endif`)
    .join('\n');
}

/** The reproducer's C helpers: errno names, the spec comparison, the exit check. */
export function helpers(): string {
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
export const POPULATE_CHECK = `static void check_populate(const struct ${REALM_STRUCTS.rmiPopulate.c} *before, const struct ${REALM_STRUCTS.rmiPopulate.c} *after,
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

// ---- C spelling helpers shared by the emitter
export const u64lit = (v: bigint): string => (v < 10n ? `${v}` : `0x${v.toString(16)}ULL`);
export const u32lit = (v: number): string => (v < 10 ? `${v}` : `0x${v.toString(16)}`);
export const cstr = (s: string): string => JSON.stringify(s.replace(/[^\x20-\x7e]/g, '...')).replace(/\?(?=\?)/g, '?\\');

/** A C identifier for a handle name; injective (every character but [A-Za-z0-9] becomes _XXXX), so two handles never share a variable. */
export function ident(handle: string): string {
  return `h_${handle.replace(/[^A-Za-z0-9]/g, (ch) => `_${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)}`;
}

/** Text from the trace inside a C comment: printable ASCII only, no comment end, no trigraph. */
export const comment = (v: unknown): string =>
  String(v)
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/\*\//g, '* /')
    .replace(/\/\*/g, '/ *')
    .replace(/\?(?=\?)/g, '? ');

export function bytesInit(b: Uint8Array, indent: string): string {
  const parts = [...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`);
  const lines: string[] = [];
  for (let i = 0; i < parts.length; i += 12) lines.push(`${indent}${parts.slice(i, i + 12).join(', ')},`);
  return lines.join('\n');
}

/** Named flag bits, the rest in hex; over 64 bits unsigned so that bit 31 or 63 is neither lost nor negative. */
export function flagNames(v: number | bigint, table: [string, number][], zero: string): string {
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
