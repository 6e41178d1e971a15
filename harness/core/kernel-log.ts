// The kernel log around each check on a real target: the harness asks the
// agent for the /dev/kmsg records logged since the last check ended, and a
// WARN, BUG, oops, lockdep, KASAN or UBSAN report among them fails the check
// that was running. A kernel that warns and then answers the "right" errno
// has still hit a path its authors thought unreachable.
import type { Target } from './target.ts';
import type { WireResult } from '../../uapi/wire.ts';

/** One /dev/kmsg record: "PRIO,SEQ,USEC;TEXT". */
export interface KmsgRecord {
  seq: number;
  /** Syslog priority (facility << 3 | level). */
  prio: number;
  usec: number;
  text: string;
}

export type SplatKind = 'WARN' | 'BUG' | 'oops' | 'lockdep' | 'KASAN' | 'UBSAN' | 'RCU' | 'panic';

/** One kernel report: what kind, its headline, and its lines (up to the end marker). */
export interface Splat {
  kind: SplatKind;
  /** The headline without timestamps, e.g. "WARNING: CPU: 0 PID: 72 at arch/arm64/kvm/rme.c:1213 kvm_realm_enable_cap+0x6b8/0xf50". */
  title: string;
  /** A short, stable name for grouping and baselines: "WARN arch/arm64/kvm/rme.c:1213 kvm_realm_enable_cap". */
  key: string;
  lines: string[];
}

/** A kmsg line as the agent sends it; undefined for anything else. */
export function parseRecord(line: string): KmsgRecord | undefined {
  const m = /^(\d+),(\d+),(\d+)[^;]*;(.*)$/s.exec(line);
  if (!m) return undefined;
  // The kernel escapes non-printable bytes (and a backslash) as \xNN.
  const text = m[4]!.replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return { prio: Number(m[1]), seq: Number(m[2]), usec: Number(m[3]), text };
}

// Headlines, most specific first. Only the headline starts a report; the lines
// after it (registers, call trace) belong to it until the end marker.
const HEADLINES: [SplatKind, RegExp][] = [
  [
    'lockdep',
    /^WARNING: (possible (circular|recursive) locking|possible irq lock inversion|inconsistent lock state|lock held when returning|bad unlock balance|suspicious unlock|held lock freed)/,
  ],
  ['RCU', /^WARNING: suspicious RCU usage|^INFO: rcu_\w+ (self-)?detected stall/],
  ['WARN', /^WARNING: CPU: \d+ PID: \d+ at /],
  ['WARN', /^WARNING: at /],
  ['KASAN', /^BUG: KASAN: /],
  ['BUG', /^kernel BUG at /],
  ['BUG', /^BUG: /],
  ['oops', /^Unable to handle kernel /],
  ['oops', /^Internal error: /],
  ['oops', /^Oops/],
  ['UBSAN', /^UBSAN: /],
  ['panic', /^Kernel panic - not syncing/],
];
const CUT = /^-+\[ cut here \]-+$/;
const END = /^-+\[ end trace [0-9a-f]* ?\]-+$|^-+\[ end Kernel panic/;
const DELIM = /^={20,}$/;
const MAX_LINES = 60;

function kindOf(text: string): SplatKind | undefined {
  return HEADLINES.find(([, re]) => re.test(text))?.[0];
}

function keyOf(kind: SplatKind, title: string): string {
  const at = /(?: at )(\S+:\d+)\s+(\S+?)(?:\+0x[0-9a-f]+\/0x[0-9a-f]+)?$/.exec(title);
  if (kind === 'WARN' && at) return `WARN ${at[1]!} ${at[2]!}`;
  return `${kind} ${title
    .replace(/^(WARNING|BUG|INFO): /, '')
    .replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/g, '')
    .replace(/\s+/g, ' ')
    .slice(0, 100)}`;
}

/** The reports among a check's kernel log lines (texts of the records, in order). */
export function findSplats(texts: readonly string[]): Splat[] {
  const out: Splat[] = [];
  let cur: Splat | undefined;
  let pendingCut: string | undefined;
  for (const raw of texts) {
    const text = raw.replace(/^\[\s*\d+\.\d+\]\s?/, '').trimEnd();
    const kind = kindOf(text);
    // the oops a BUG ends in, and the panic an oops ends in, are part of that report
    const follows = cur && ((kind === 'oops' && (cur.kind === 'BUG' || cur.kind === 'oops')) || kind === 'panic');
    if (kind && !follows) {
      // a headline starts a new report, unless it is the one its "cut here" line announced
      cur = { kind, title: text, key: keyOf(kind, text), lines: [...(pendingCut ? [pendingCut] : []), text] };
      pendingCut = undefined;
      out.push(cur);
      continue;
    }
    if (CUT.test(text)) {
      cur = undefined;
      pendingCut = text;
      continue;
    }
    if (!cur) continue;
    if (cur.lines.length < MAX_LINES) cur.lines.push(text);
    else if (cur.lines.length === MAX_LINES) cur.lines.push('[...]');
    if (END.test(text) || (cur.kind === 'KASAN' && DELIM.test(text) && cur.lines.length > 2)) cur = undefined;
  }
  return out;
}

/**
 * The harness side of the kernel log: a mark before the first check, then one
 * read after each. `unavailable` says why there is none (emulator, a target
 * without /dev/kmsg access); then every read returns undefined.
 */
export class KernelLogWatch {
  private since: number | undefined;
  unavailable: string | undefined;

  constructor(private readonly read: ((since?: number) => Promise<WireResult>) | undefined) {
    if (!read) this.unavailable = 'the target has no kernel log';
  }

  /** Note where the log ends now. */
  async mark(): Promise<void> {
    if (!this.read) return;
    const r = await this.read();
    if (r.error || r.ret < 0) {
      this.unavailable = `cannot read /dev/kmsg on the target (${r.error ?? `errno ${r.errno}`})`;
      return;
    }
    this.since = r.seq ?? -1;
  }

  /** The records logged since the last mark or read; undefined without a log. */
  async next(): Promise<{ records: KmsgRecord[]; note?: string } | undefined> {
    if (!this.read || this.unavailable) return undefined;
    if (this.since === undefined) await this.mark();
    if (this.unavailable || this.since === undefined) return undefined;
    const r = await this.read(Math.max(this.since, 0));
    if (r.error || r.ret < 0) return { records: [], note: `kernel log not read: ${r.error ?? `errno ${r.errno}`}` };
    const records = (r.kmsg ?? []).map(parseRecord).filter((x): x is KmsgRecord => x !== undefined && x.seq > (this.since ?? -1));
    if (r.seq !== undefined && r.seq > this.since) this.since = r.seq;
    const notes = [r.dropped ? `${r.dropped} record(s) left out` : '', r.lost ? `${r.lost} overwritten before they were read` : ''].filter(Boolean);
    return { records, ...(notes.length ? { note: `kernel log: ${notes.join(', ')}` } : {}) };
  }
}

/** The read a target offers, if any. */
export function kernelLogOf(t: Target): KernelLogWatch {
  return new KernelLogWatch(t.kernelLog ? (since?: number) => t.kernelLog!(since) : undefined);
}
