// The vocabulary of the uAPI description (the syzkaller model): a struct is a
// list of typed fields with its C name, an ioctl is a name, an _IOC direction
// and number, the struct it carries and the fd kinds it is issued on and
// returns. Offsets and sizes are computed here from the field list with the
// C rules (natural alignment, tail padding), never written by hand; the
// encoders, decoders, the DSL's pointer and fd slots and the C reproducer's
// structs are all derived from these descriptions.
import { StructReader, StructWriter, type U64 } from './bytes.ts';
import { ioc, IOC_NONE, IOC_READ, IOC_WRITE } from './ioc.ts';

export type Scalar = 'u8' | 'u16' | 'u32' | 'u64';

/**
 * One member. `ptr` is a u64 holding a user address (the DSL patches it),
 * `fd` a u32 holding a file descriptor; `reserved`/`pad` members only pad
 * (left out of a C initialiser while zero). `count` makes an array.
 */
export interface FieldDesc {
  readonly name: string;
  readonly type: Scalar | 'ptr' | 'fd';
  readonly count?: number;
  readonly role?: 'reserved' | 'pad';
  /** The name the suite's encoders use where the C name differs between revisions (base, size). */
  readonly key?: string;
}

/** A C union member of a struct, with its variants (CONFIG_REALM's payload). */
export interface UnionDesc {
  readonly name: string;
  readonly type: 'union';
  /** Bytes the union occupies (its largest variant or a u8 array). */
  readonly size: number;
  readonly align: number;
  /** Each variant's members, offsets relative to the union. */
  readonly variants: Readonly<Record<string, readonly FieldDesc[]>>;
}

export interface StructDesc {
  /** The C struct tag, without "struct ". */
  readonly c: string;
  readonly fields: readonly (FieldDesc | UnionDesc)[];
}

export type FdKind = 'system' | 'vm' | 'vcpu' | 'device' | 'gmem';

export type IocDir = 'none' | 'w' | 'r' | 'rw';

/** The argument of an ioctl: none, a plain int, a pointer to an int, or a struct. */
export type ArgDesc =
  { readonly kind: 'none' } | { readonly kind: 'int' } | { readonly kind: 'int-ptr' } | { readonly kind: 'struct'; readonly struct: StructDesc };

export interface IoctlDesc {
  readonly name: string;
  readonly dir: IocDir;
  /** _IOC type: KVMIO (0xae) for every ioctl the suite issues. */
  readonly type: number;
  readonly nr: number;
  readonly arg: ArgDesc;
  /** The fd kind it is issued on. */
  readonly on: FdKind;
  /** The fd kind its return value is, if any. */
  readonly returns?: FdKind;
  /** What a success returns when it is not an fd (docs/spec/uapi.md#success-values). */
  readonly success?: SuccessValue;
}

/**
 * A success's value: exactly 0, or a byte count the call reports (v12's
 * KVM_ARM_RMI_POPULATE). The engine holds an expected success of a 'zero'
 * ioctl to 0 where the profile pins nothing else.
 */
export interface SuccessValue {
  readonly kind: 'zero' | 'bytes';
  /** Where the value comes from. */
  readonly source: string;
}

const SCALAR_SIZE: Record<Scalar | 'ptr' | 'fd', number> = { u8: 1, u16: 2, u32: 4, u64: 8, ptr: 8, fd: 4 };

export interface PlacedField {
  readonly name: string;
  readonly type: Scalar | 'ptr' | 'fd';
  readonly off: number;
  /** Size of one element. */
  readonly size: number;
  readonly count?: number;
  readonly role?: 'reserved' | 'pad';
  readonly key?: string;
}

export interface Layout {
  readonly size: number;
  readonly align: number;
  /** Scalar and array members in order; a union appears as its variants' members (offsets absolute) and as `unions`. */
  readonly fields: readonly PlacedField[];
  readonly unions: readonly { name: string; off: number; size: number; variants: Readonly<Record<string, readonly PlacedField[]>> }[];
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;
const cache = new WeakMap<StructDesc, Layout>();

/** Offsets and size as a C compiler lays the struct out (natural alignment). */
export function layout(s: StructDesc): Layout {
  const hit = cache.get(s);
  if (hit) return hit;
  let off = 0;
  let align = 1;
  const fields: PlacedField[] = [];
  const unions: Layout['unions'][number][] = [];
  for (const f of s.fields) {
    if (f.type === 'union') {
      off = alignUp(off, f.align);
      align = Math.max(align, f.align);
      const variants: Record<string, PlacedField[]> = {};
      for (const [k, members] of Object.entries(f.variants)) variants[k] = placeAll(members, off);
      unions.push({ name: f.name, off, size: f.size, variants });
      off += f.size;
      continue;
    }
    const size = SCALAR_SIZE[f.type];
    off = alignUp(off, size);
    align = Math.max(align, size);
    fields.push({
      name: f.name,
      type: f.type,
      off,
      size,
      ...(f.count !== undefined ? { count: f.count } : {}),
      ...(f.role ? { role: f.role } : {}),
      ...(f.key ? { key: f.key } : {}),
    });
    off += size * (f.count ?? 1);
  }
  const l: Layout = { size: alignUp(off, align), align, fields, unions };
  cache.set(s, l);
  return l;
}

function placeAll(members: readonly FieldDesc[], base: number): PlacedField[] {
  return layout({ c: '', fields: members }).fields.map((f) => ({ ...f, off: f.off + base }));
}

export const sizeOf = (s: StructDesc): number => layout(s).size;

/** Byte offset of a member (also a union variant's member, as "union.variant.member" or just "member"). */
export function offsetOf(s: StructDesc, name: string): number {
  const l = layout(s);
  const f = l.fields.find((x) => x.name === name || x.key === name);
  if (f) return f.off;
  const u = l.unions.find((x) => x.name === name);
  if (u) return u.off;
  for (const x of l.unions) for (const members of Object.values(x.variants)) for (const m of members) if (m.name === name) return m.off;
  throw new Error(`struct ${s.c} has no member ${name}`);
}

/** Offsets of the pointer slots and fd slots (the DSL patches them with addresses and fds). */
export const ptrSlots = (s: StructDesc): number[] =>
  layout(s)
    .fields.filter((f) => f.type === 'ptr')
    .map((f) => f.off);
export const fdSlots = (s: StructDesc): number[] =>
  layout(s)
    .fields.filter((f) => f.type === 'fd')
    .map((f) => f.off);

// ---- ioctl numbers

const DIR: Record<IocDir, number> = { none: IOC_NONE, w: IOC_WRITE, r: IOC_READ, rw: IOC_READ | IOC_WRITE };

export function argSize(a: ArgDesc): number {
  switch (a.kind) {
    case 'none':
    case 'int':
      return 0;
    case 'int-ptr':
      return 4;
    case 'struct':
      return sizeOf(a.struct);
  }
}

/** The request number, _IOC(dir, type, nr, size) with the size taken from the struct. */
export const requestOf = (d: IoctlDesc): number => ioc(DIR[d.dir], d.type, d.nr, argSize(d.arg));

// ---- codecs

/** A member's value: scalars as number or bigint, arrays as lists, a union variant's bytes as Uint8Array. */
export type FieldValue = U64 | readonly U64[] | Uint8Array;

/** The members a description names, for typed encoder arguments. */
export type FieldNames<S extends StructDesc> = S['fields'][number]['name'];

/**
 * Encode `values` into the struct's bytes; members not given are zero. A union
 * takes a Uint8Array (raw) or the members of one variant, by member name.
 */
export function encode(s: StructDesc, values: Partial<Record<string, FieldValue>>): Uint8Array {
  const l = layout(s);
  const w = new StructWriter(l.size);
  const put = (f: PlacedField, v: FieldValue): void => {
    if (v instanceof Uint8Array) {
      w.raw(f.off, v);
      return;
    }
    const list = Array.isArray(v) ? (v as readonly U64[]) : [v as U64];
    if (list.length > (f.count ?? 1)) throw new RangeError(`${s.c}.${f.name} holds ${f.count ?? 1} values`);
    list.forEach((x, i) => writeScalar(w, f, f.off + i * f.size, x));
  };
  const known = new Set<string>();
  for (const f of l.fields) {
    known.add(f.name);
    if (f.key) known.add(f.key);
    const v = values[f.name] ?? (f.key ? values[f.key] : undefined);
    if (v !== undefined) put(f, v);
  }
  for (const u of l.unions) {
    known.add(u.name);
    const raw = values[u.name];
    if (raw instanceof Uint8Array) {
      if (raw.length > u.size) throw new RangeError(`${s.c}.${u.name} is ${u.size} bytes`);
      w.raw(u.off, raw);
    }
    for (const members of Object.values(u.variants))
      for (const m of members) {
        known.add(m.name);
        const v = values[m.name];
        if (v !== undefined) put(m, v);
      }
  }
  for (const k of Object.keys(values)) if (!known.has(k)) throw new Error(`struct ${s.c} has no member ${k}`);
  return w.bytes;
}

function writeScalar(w: StructWriter, f: PlacedField, off: number, v: U64): void {
  if (f.size === 8) w.u64(off, v);
  else if (f.size === 4) w.u32(off, Number(v));
  else if (f.size === 2) w.u16(off, Number(v));
  else w.u8(off, Number(v));
}

/** Decode every plain member (by its key where it has one): u64 and ptr as bigint, smaller ones as number, arrays as lists. */
export function decode(s: StructDesc, bytes: Uint8Array): Record<string, bigint | number | (bigint | number)[]> {
  const r = new StructReader(bytes);
  const out: Record<string, bigint | number | (bigint | number)[]> = {};
  const one = (f: PlacedField, off: number): bigint | number => (f.size === 8 ? r.u64(off) : f.size === 4 ? r.u32(off) : f.size === 2 ? r.u16(off) : r.u8(off));
  for (const f of layout(s).fields)
    out[f.key ?? f.name] = f.count === undefined ? one(f, f.off) : Array.from({ length: f.count }, (_, i) => one(f, f.off + i * f.size));
  return out;
}

/** A by-name reader over a struct's bytes (the emulator's handlers read members, never offsets). */
export function view(s: StructDesc, bytes: Uint8Array): { u64(name: string): bigint; u32(name: string): number; at(name: string): number } {
  const r = new StructReader(bytes);
  return { u64: (n) => r.u64(offsetOf(s, n)), u32: (n) => r.u32(offsetOf(s, n)), at: (n) => offsetOf(s, n) };
}
