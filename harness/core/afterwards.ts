// "And afterwards": what a refused call left behind, observed by the engine
// for every expected error of every check (issue 13 item 1), not by hand.
//
// A refused call must change nothing (the kernel checks before it acts, and
// undoes what it did when a later step fails). That is proven by difference,
// which needs no model of the state: the check's calls up to the refused one
// are sent again to two fresh sessions of the same target, one without the
// refused call and one with it, and then the same probe, a fixed sequence of
// state-revealing calls, runs on both. Every probe call must answer the same
// in both. A refused POPULATE that populated its first page, a CREATE that
// made the RD before failing, a vCPU init that half-initialised the vCPU: each
// makes a probe call answer differently.
//
// The probe runs on the VM the refused call was on, realm or not (a refused
// realm call must not have made a normal VM a realm either). Per era
// (docs/spec/precedence.md says why these calls see state):
// - vCPUs: KVM_ARM_VCPU_INIT with the realm features (refused or not, by what
//   the vCPU has become);
// - RME era: CREATE (refused once the RD exists), POPULATE of one page at the
//   focus pages (refused once a page is populated or the realm is active),
//   ACTIVATE (refused unless the realm is NEW and complete);
// - RMI era: KVM_ARM_RMI_POPULATE of one page at the focus pages.
// The focus pages are the first, second and last page of the refused call's
// IPA range where it has one, else the first and last page of each memslot:
// a rule broken for the second or last member shows there (issue 13 item 2).
//
// Some refusals change state on purpose (a failed first run leaves the realm
// DEAD); those keys say so in AFTERWARDS, with the source. A refused POPULATE
// that did part of its range first (the chunks or pages before the failing
// one) declares how much: the probe then pins exactly that, on both sides of
// the boundary (the last page done and the first page not done).
import type { AbiProfile, ExpectKey } from '../../profiles/types.ts';
import { StructReader } from '../../uapi/bytes.ts';
import { describeOutcome, RecordingSession, type CallRecord, type CallResult } from './calls.ts';
import type { Call } from './target.ts';
import { Kvm, Mem, Vcpu, Vm } from './dsl/index.ts';
import { fromHex, type WireBuf } from '../../uapi/wire.ts';
import type { Target } from './target.ts';
import * as K from '../../uapi/kvm-uapi.ts';

const PAGE = 0x1000;
/** At most this many focus pages per memslot or range: first, second, last. */
const FOCUS_MAX = 3;

/** The IPA range a call names. */
export interface Range {
  base: number;
  size: number;
}

/**
 * What an expected refusal may leave behind, where that is not "nothing":
 * a change the probe sees somewhere (`changes`), nothing it can see
 * (`unobservable`), or the first `done(range)` bytes of the refused call's
 * range populated and the rest not (`partial`, with its source).
 */
export type Afterwards = { changes: string } | { unobservable: string } | { partial: string; done: (range: Range) => number };

/** The 2 MB chunks POPULATE_REALM works in from v2 on (V10-PO7); chunk k starts at base + k * 2 MB. */
const POPULATE_CHUNK = 0x200000;

/**
 * Refusals that change state by design, with the source. Keys not listed must
 * leave no trace. A function sees the revision, for rules that changed.
 */
export const AFTERWARDS: Partial<Record<ExpectKey, Afterwards | ((abi: AbiProfile) => Afterwards | undefined)>> = {
  // Activation fails at the REC step after the realm was set DEAD: POPULATE is refused from then on.
  'rmi.first-run-rec-fails': { changes: 'V14-A9 (a failed activation leaves the realm DEAD)' },
  // v12 sets the realm DEAD before its irqchip check; v13 on check the irqchip first. The
  // profile says which: POPULATE after such a run is refused only where the realm died.
  'rmi.first-run-no-irqchip': (abi) =>
    abi.expect['rmi.populate-after-no-irqchip-run']?.errno !== 0
      ? { changes: 'abi-evolution.md §3.5 (v12 sets the realm DEAD before the irqchip check)' }
      : undefined,
  // v2..v10 populate chunk by chunk and return at the first failing chunk without undoing the
  // chunks before it (V10-PO7; v6 19/43, v8 19/43). The key's stimulus fails in its last chunk, so
  // every whole chunk before it is done. RFC v1 looks up one memslot for the range and refuses
  // before any page (R1-PO6): nothing done, no declaration.
  'populate.error-in-last-chunk': (abi) =>
    abi.privateMemory === 'guest_memfd'
      ? {
          partial: 'V10-PO7 (the chunks before the failing one stay populated)',
          done: (r) => Math.floor((r.size - 1) / POPULATE_CHUNK) * POPULATE_CHUNK,
        }
      : undefined,
  // Page by page, the first failing page ends the call; the pages before it stay populated
  // (R1-PO15; V10-PO12). The key's stimulus fails at its last page.
  'populate.error-at-last-page': { partial: 'R1-PO15, V10-PO12 (the pages before the failing one stay populated)', done: (r) => r.size - PAGE },
};

export interface AfterwardsResult {
  /** The assertion's outcome: false only when a probe call answered differently. */
  ok: boolean;
  message: string;
  /** The probe ran (false: nothing to observe, or the replay diverged). */
  observed: boolean;
}

interface Slot {
  vm: string;
  gpa: number;
  size: number;
  mem?: { handle: string; offset: number };
  gmem?: string;
}

interface World {
  kvm?: string;
  vms: Map<string, number>;
  vcpus: { handle: string; vm: string; id: number }[];
  mems: Map<string, number>;
  slots: Slot[];
}

const ok = (r: { ret: number; error?: string }): boolean => r.error === undefined && r.ret >= 0;

/** The objects the calls made, from the requests that succeeded. */
function worldOf(records: readonly CallRecord[]): World {
  const w: World = { vms: new Map(), vcpus: [], mems: new Map(), slots: [] };
  for (const { request: q, result } of records) {
    if (!ok(result)) continue;
    if (q.op === 'open' && q.path === '/dev/kvm') w.kvm = q.as;
    else if (q.op === 'mmap') w.mems.set(q.as, q.len);
    else if (q.op === 'ioctl') {
      if (q.req === K.KVM_CREATE_VM && q.as && 'int' in q.arg) w.vms.set(q.as, q.arg.int);
      else if (q.req === K.KVM_CREATE_VCPU && q.as && 'int' in q.arg) w.vcpus.push({ handle: q.as, vm: q.fd, id: q.arg.int });
      else if ((q.req === K.KVM_SET_USER_MEMORY_REGION2 || q.req === K.KVM_SET_USER_MEMORY_REGION) && 'buf' in q.arg) {
        const s = slotOf(q.fd, q.arg.buf);
        if (s) {
          // A memslot set again replaces the one at the same guest address (or is deleted with size 0).
          w.slots = w.slots.filter((x) => !(x.vm === s.vm && x.gpa === s.gpa));
          if (s.size > 0) w.slots.push(s);
        }
      }
    }
  }
  return w;
}

function slotOf(vm: string, buf: WireBuf): Slot | undefined {
  const b = fromHex(buf.hex);
  if (b.length < 32) return undefined;
  const r = new StructReader(b);
  const gpa = Number(r.u64(8));
  const size = Number(r.u64(16));
  if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(size)) return undefined;
  const p = buf.ptrs?.find((x) => x.at === 24);
  const mem = p && 'mem' in p.to ? { handle: p.to.mem, offset: p.to.offset } : undefined;
  const gmem = buf.fds?.find((x) => x.at === 40)?.fd;
  return { vm, gpa, size, ...(mem ? { mem } : {}), ...(gmem ? { gmem } : {}) };
}

/** The IPA range a realm call names: RME-era INIT_IPA/POPULATE args, RMI-era populate. */
function rangeOf(abi: AbiProfile, q: Call): (Range & { vm: string }) | undefined {
  if (q.op !== 'ioctl' || !('buf' in q.arg)) return undefined;
  let args: WireBuf | undefined;
  if (q.req === K.KVM_ENABLE_CAP && abi.subcmd) {
    const b = new StructReader(fromHex(q.arg.buf.hex));
    const sub = Number(b.u64(8));
    if (sub !== abi.subcmd.INIT_IPA && sub !== abi.subcmd.POPULATE) return undefined;
    const p = q.arg.buf.ptrs?.find((x) => x.at === 16);
    if (p && 'buf' in p.to) args = p.to.buf;
  } else if (q.req === abi.rmiPopulate?.req) args = q.arg.buf;
  if (!args) return undefined;
  const b = fromHex(args.hex);
  if (b.length < 16) return undefined;
  const r = new StructReader(b);
  const base = r.u64(0);
  const size = r.u64(8);
  if (base > BigInt(Number.MAX_SAFE_INTEGER) || size > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { vm: q.fd, base: Number(base), size: Number(size) };
}

/** Pages to probe on `vm`: the focus of the refused call's range, or each memslot's ends; then `extra` (a boundary's two sides). */
function focusPages(w: World, vm: string, range: Range | undefined, extra: readonly number[] = []): { gpa: number; slot: Slot }[] {
  const slots = w.slots.filter((s) => s.vm === vm);
  const inSlot = (gpa: number) => slots.find((s) => gpa >= s.gpa && gpa < s.gpa + s.size);
  const want: number[] = [];
  if (range && range.size > 0) {
    const first = range.base - (range.base % PAGE);
    const last = range.base + range.size - 1;
    want.push(first, first + PAGE, last - (last % PAGE));
  } else {
    for (const s of slots.slice(0, 2)) want.push(s.gpa, s.gpa + PAGE, s.gpa + s.size - PAGE);
  }
  const out: { gpa: number; slot: Slot }[] = [];
  for (const gpa of want) {
    const slot = inSlot(gpa);
    if (slot && !out.some((x) => x.gpa === gpa) && out.filter((x) => x.slot === slot).length < FOCUS_MAX) out.push({ gpa, slot });
  }
  for (const gpa of extra) {
    const slot = inSlot(gpa);
    if (slot && !out.some((x) => x.gpa === gpa)) out.push({ gpa, slot });
  }
  return out;
}

/** The features a realm vCPU is initialised with: PSCI 0.2, plus the REC bit where VCPU_INIT takes it. */
function realmFeatures(abi: AbiProfile): number[] {
  return abi.recInInit && abi.recFeature !== undefined ? [K.KVM_ARM_VCPU_PSCI_0_2, abi.recFeature] : [K.KVM_ARM_VCPU_PSCI_0_2];
}

/** One probe call's answer; `page` for a one-page populate, the page it tried. */
interface ProbeCall {
  r: CallResult;
  page?: number;
}

/** The probe on one session: every call's answer, in order. */
async function probe(s: RecordingSession, abi: AbiProfile, w: World, focus: { vm: string; range?: Range; extra?: readonly number[] }): Promise<ProbeCall[]> {
  const out: ProbeCall[] = [];
  if (!w.kvm) return out;
  const kvm = new Kvm(s, abi, w.kvm);
  const type = w.vms.get(focus.vm);
  if (type === undefined) return out;
  const vm = new Vm(kvm, focus.vm, type);
  for (const v of w.vcpus.filter((x) => x.vm === focus.vm)) out.push({ r: await new Vcpu(vm, v.handle, v.id).init(realmFeatures(abi)) });
  const pages = focusPages(w, focus.vm, focus.range, focus.extra);
  if (abi.subcmd) {
    out.push({ r: await vm.createRd() });
    const flags = (abi.sizes.populateArgs ?? 0) >= 32 ? { flags: 1 } : {};
    for (const p of pages) out.push({ r: await vm.populate({ base: p.gpa, size: PAGE, ...flags }), page: p.gpa });
    out.push({ r: await vm.activate() });
  } else if (abi.rmiPopulate) {
    for (const p of pages) {
      if (!p.slot.mem) continue;
      const mem = new Mem(s, p.slot.mem.handle, w.mems.get(p.slot.mem.handle) ?? 0);
      out.push({
        r: await vm.rmiPopulate({ base: p.gpa, size: PAGE, flags: 1, source: { mem, offset: p.slot.mem.offset + (p.gpa - p.slot.gpa) } }),
        page: p.gpa,
      });
    }
  }
  return out;
}

/** A probe call's answer as compared: ret, errno, and the struct written back, without the pointers the executor patched in (addresses differ per session). */
function answer(r: CallResult, rec: CallRecord | undefined): string {
  if (!r.out) return describeOutcome(r);
  const out = Uint8Array.from(r.out);
  const q = rec?.request;
  if (q?.op === 'ioctl' && 'buf' in q.arg) for (const p of q.arg.buf.ptrs ?? []) out.fill(0, p.at, p.at + 8);
  return `${describeOutcome(r)} out=${Buffer.from(out).toString('hex')}`;
}

/** Send `records`' requests again, in order; the first call that answers differently, if one does. */
async function replayPrefix(s: RecordingSession, records: readonly CallRecord[]): Promise<string | undefined> {
  for (const rec of records) {
    const r = await s.call(rec.label, rec.request);
    const binds = rec.request.op === 'open' || rec.request.op === 'mmap' || (rec.request.op === 'ioctl' && rec.request.as !== undefined);
    const same = binds ? ok(r) === ok(rec.result) : r.ret === rec.result.ret && r.errno === rec.result.errno && r.error === rec.result.error;
    if (!same) return `${rec.label} answered ${describeOutcome(r)} where the check had ${describeOutcome(rec.result)}`;
  }
  return undefined;
}

/** One probe call on both sides. */
interface Pair {
  label: string;
  without: string;
  with: string;
  differs: boolean;
  page?: number;
}

/** The probe's answers without and with the call. */
interface Difference {
  observed: boolean;
  /** Why nothing could be observed. */
  why?: string;
  pairs: Pair[];
  range?: Range;
}

const say = (p: Pair): string => `${p.label} ${p.without} without it, ${p.with} with it${p.without === p.with ? ' (the struct written back differs)' : ''}`;

/**
 * Send the check's calls up to trace position `seq` (1-based, as
 * CallResult.seq) to two fresh sessions of `target`, one without the call at
 * `seq` and one with it, then the same probe to both, and compare.
 */
async function differential(
  target: Target,
  abi: AbiProfile,
  trace: readonly CallRecord[],
  seq: number,
  callTimeoutMs: number,
  extra: readonly number[] = [],
  live?: RecordingSession,
): Promise<Difference> {
  const call = trace[seq - 1];
  if (call?.request.op !== 'ioctl') return { observed: false, why: 'not an ioctl', pairs: [] };
  const before = trace.slice(0, seq - 1);
  const w = worldOf(before);
  const q = call.request;
  // The VM the call was on: the call's own fd, or the VM of the vCPU it was on.
  const vm = w.vms.has(q.fd) ? q.fd : w.vcpus.find((v) => v.handle === q.fd)?.vm;
  // A call on /dev/kvm (a refused KVM_CREATE_VM) made no object the uAPI could show.
  if (!vm) return { observed: false, why: 'not on a VM or vCPU', pairs: [] };
  const range = rangeOf(abi, q);
  const focus = { vm, extra, ...(range ? { range } : {}) };
  const sides: ProbeCall[][] = [];
  const records: CallRecord[][] = [];
  for (const withCall of [false, true]) {
    // The check's own session is where the "with" side already is when the call is its last:
    // probe it there (and drop the probe's records from its trace) instead of replaying it all.
    const here = withCall && seq === live?.trace.length ? live : undefined;
    if (here) {
      try {
        sides.push(await probe(here, abi, w, focus));
        records.push(here.trace.slice(seq));
      } finally {
        here.trace.splice(seq);
      }
      continue;
    }
    const s = new RecordingSession(await target.session(), callTimeoutMs);
    try {
      const diverged = await replayPrefix(s, withCall ? trace.slice(0, seq) : before);
      if (diverged) return { observed: false, why: `replaying the check's calls, ${diverged}`, pairs: [] };
      const n = s.trace.length;
      sides.push(await probe(s, abi, w, focus));
      records.push(s.trace.slice(n));
    } finally {
      await s.close().catch(() => undefined);
    }
  }
  const [without = [], withIt = []] = sides;
  const pairs = without.map((a, i): Pair => {
    const b = withIt[i];
    const rec = records[0]?.[i];
    return {
      label: a.r.label,
      without: describeOutcome(a.r),
      with: b ? describeOutcome(b.r) : 'not reached',
      differs: !b || answer(a.r, rec) !== answer(b.r, rec),
      ...(a.page !== undefined ? { page: a.page } : {}),
    };
  });
  return { observed: true, pairs, ...(range ? { range } : {}) };
}

/** What the refused call at `seq` left behind: nothing, unless a probe call answers differently. */
export async function observeRefusal(
  target: Target,
  abi: AbiProfile,
  trace: readonly CallRecord[],
  seq: number,
  callTimeoutMs: number,
  live?: RecordingSession,
): Promise<AfterwardsResult> {
  const label = trace[seq - 1]?.label ?? '?';
  const d = await differential(target, abi, trace, seq, callTimeoutMs, [], live);
  if (!d.observed) return { ok: true, observed: false, message: `not observed: ${d.why ?? ''}` };
  const first = d.pairs.find((p) => p.differs);
  if (first) return { ok: false, observed: true, message: `afterwards: the refused ${label} changed what follows: ${say(first)}` };
  return { ok: true, observed: true, message: `afterwards: the refused ${label} left no trace (${d.pairs.length} probe call(s) answered the same without it)` };
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * A refusal declared to have done part of its range first: exactly the first
 * `done(range)` bytes are populated. The probe adds the last page before that
 * boundary and the first page at it to its focus; every probed page of the
 * range must differ before the boundary and answer the same from it on, and
 * every other probe call must answer the same.
 */
export async function observePartialRefusal(
  target: Target,
  abi: AbiProfile,
  trace: readonly CallRecord[],
  seq: number,
  callTimeoutMs: number,
  done: (range: Range) => number,
  live?: RecordingSession,
): Promise<AfterwardsResult> {
  const rec = trace[seq - 1];
  const label = rec?.label ?? '?';
  const range = rec ? rangeOf(abi, rec.request) : undefined;
  if (!range) return { ok: false, observed: true, message: `afterwards: the refused ${label} is declared to have done part of its range, but names no range` };
  const n = done(range);
  const edge = range.base + n;
  const d = await differential(target, abi, trace, seq, callTimeoutMs, [edge - PAGE, edge], live);
  if (!d.observed) return { ok: true, observed: false, message: `not observed: ${d.why ?? ''}` };
  const inRange = (p: Pair): boolean => p.page !== undefined && p.page >= range.base && p.page < range.base + range.size;
  const probed = d.pairs.filter(inRange);
  const wrong = d.pairs.find((p) => (inRange(p) ? p.differs !== p.page! < edge : p.differs));
  if (wrong) {
    const where =
      wrong.page === undefined || !inRange(wrong)
        ? 'outside the range'
        : wrong.page < edge
          ? `page ${hex(wrong.page)} before the boundary shows no effect`
          : `page ${hex(wrong.page)} past it changed`;
    return {
      ok: false,
      observed: true,
      message: `afterwards: the refused ${label} should have populated exactly its first ${hex(n)} bytes (to ${hex(edge)}), but ${where}: ${wrong.differs ? say(wrong) : `${wrong.label} ${wrong.without} with the call and without it`}`,
    };
  }
  const sides = [edge - PAGE, edge].filter((g) => g >= range.base && g < range.base + range.size);
  const missing = sides.find((g) => !probed.some((p) => p.page === g));
  if (missing !== undefined)
    return {
      ok: false,
      observed: true,
      message: `afterwards: the refused ${label}: page ${hex(missing)} at the boundary could not be probed (no memslot backs it)`,
    };
  return {
    ok: true,
    observed: true,
    message: `afterwards: the refused ${label} populated exactly its first ${hex(n)} bytes, as it should (${probed.length} pages probed, both sides of ${hex(edge)})`,
  };
}

/**
 * The successful calls whose effect the probe sees: the RD (CREATE), populated
 * pages (POPULATE of at least a page, either era) and activation (ACTIVATE).
 * CONFIG and INIT_IPA change what only the guest or the measurement sees.
 */
export function visibleEffect(abi: AbiProfile, q: Call): string | undefined {
  if (q.op !== 'ioctl' || !('buf' in q.arg)) return undefined;
  if (q.req === K.KVM_ENABLE_CAP && abi.subcmd) {
    const b = fromHex(q.arg.buf.hex);
    if (b.length < 16 || new StructReader(b).u32(0) !== abi.cap.nr) return undefined;
    const sub = Number(new StructReader(b).u64(8));
    if (sub === abi.subcmd.CREATE) return 'the RD exists';
    if (sub === abi.subcmd.ACTIVATE) return 'the realm is active';
    if (sub === abi.subcmd.POPULATE) return (rangeOf(abi, q)?.size ?? 0) > 0 ? 'the pages are populated' : undefined;
    return undefined;
  }
  if (q.req === abi.rmiPopulate?.req) return (rangeOf(abi, q)?.size ?? 0) > 0 ? 'the pages are populated' : undefined;
  return undefined;
}

/** Bytes an RMI-era populate reports done: v12 returns them, v13 on advance the struct's base. */
function progress(abi: AbiProfile, rec: CallRecord, base: number): number {
  if (!abi.rmiPopulate?.inOut) return Math.max(0, rec.result.ret);
  const out = rec.result.out !== undefined ? fromHex(rec.result.out) : undefined;
  if (!out || out.length < 8) return 0;
  return Number(new StructReader(out).u64(0)) - base;
}

/**
 * What the successful call at `seq` did: its effect must show in the probe.
 * A POPULATE must show on every probed page of its range (first, second,
 * last): a call that skipped one page is not a call that worked.
 */
export async function observeEffect(
  target: Target,
  abi: AbiProfile,
  trace: readonly CallRecord[],
  seq: number,
  callTimeoutMs: number,
  live?: RecordingSession,
): Promise<AfterwardsResult> {
  const rec = trace[seq - 1];
  const effect = rec ? visibleEffect(abi, rec.request) : undefined;
  if (!rec || !effect) return { ok: true, observed: false, message: 'no visible effect to look for' };
  const d = await differential(target, abi, trace, seq, callTimeoutMs, [], live);
  if (!d.observed) return { ok: true, observed: false, message: `not observed: ${d.why ?? ''}` };
  const r = d.range;
  if (r) {
    // The RMI era populates part of the range and says how much (v12: the bytes as the return
    // value; v13 on: the struct's base moved on, V14-PO15): exactly those pages change.
    const done = abi.rmiPopulate ? progress(abi, rec, r.base) : r.size;
    const probed = d.pairs.filter((p) => p.page !== undefined && p.page >= r.base && p.page < r.base + r.size);
    const wrong = probed.find((p) => p.differs !== p.page! < r.base + done);
    if (wrong) {
      return {
        ok: false,
        observed: true,
        message: wrong.differs
          ? `afterwards: ${rec.label} reported ${hex(done)} bytes done, but page ${hex(wrong.page!)} past them changed: ${say(wrong)}`
          : `afterwards: ${rec.label} succeeded${done < r.size ? ` with ${hex(done)} bytes done` : ''} but page ${hex(wrong.page!)} shows no effect: ${wrong.label} ${wrong.without} with the call and without it`,
      };
    }
    if (probed.length)
      return { ok: true, observed: true, message: `afterwards: ${rec.label} took effect on exactly the pages it reported done (${probed.length} probed)` };
  }
  const first = d.pairs.find((p) => p.differs);
  if (first) return { ok: true, observed: true, message: `afterwards: ${rec.label} took effect (${effect}): ${say(first)}` };
  return {
    ok: false,
    observed: true,
    message: `afterwards: ${rec.label} succeeded but changed nothing the probe sees (${effect} should show; ${d.pairs.length} probe call(s) answered the same without it)`,
  };
}

/** The declared exception for `key` on this revision, if any. */
export function declaredAfterwards(key: ExpectKey, abi: AbiProfile): Afterwards | undefined {
  const d = AFTERWARDS[key];
  return typeof d === 'function' ? d(abi) : d;
}
