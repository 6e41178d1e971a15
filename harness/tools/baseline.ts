// CI baselines: the failures a team already knows about, each with a reason,
// optionally only on some kernels. A run fails only on a failure the baseline
// does not name, and says which named checks pass now so the file can shrink.
//
// Text form, one entry a line ('#' starts a comment):
//   CHECK [kernel=GLOB] REASON...
//   rfc-v1/populate/wrap  kernel=6.2.0-rc1-cca*  RMM bet0 refuses the range (ticket 42)
//   v7/init-ripas/unaligned-*  splat=WARN*rme.c*  realm_init_ipa_state WARNs on its error path
// JSON form: [{"check": "...", "reason": "...", "kernel": "GLOB", "splat": "GLOB"}] or {"known_failures": [...]}.
// CHECK is "abi/area/name" or "area/name" (any revision); '*' is a wildcard.
// splat=GLOB names a known kernel report (its key, as TAP's failure line shows
// it: "WARN arch/arm64/kvm/rme.c:1213 kvm_realm_enable_cap"): the entry then
// covers a check only when such reports are all that failed in it.
import { readFileSync, statSync } from 'node:fs';
import { wholeGlob } from '../core/filter.ts';
import type { CheckOutcome } from '../core/engine.ts';
import { jsonErrorAt } from './json-error.ts';

export interface BaselineEntry {
  check: string;
  reason: string;
  /** Glob over the target's kernel release (uname -r); absent = every kernel. */
  kernel?: string;
  /** Glob over the key of a kernel report (WARN, BUG, ...): only such a failure is known. */
  splat?: string;
  /** Where the entry is, for messages: "FILE:LINE". */
  where: string;
}

export class BaselineError extends Error {
  override name = 'BaselineError';
}

// The same glob as the command line's filters (harness/core/filter.ts), anchored at both ends.
const glob = (pattern: string): { test: (s: string) => boolean } => ({ test: wholeGlob(pattern) });

export function parseBaseline(text: string, path: string): BaselineEntry[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return parseJson(text, path);
  const out: BaselineEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const where = `${path}:${i + 1}`;
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const words = line.split(/\s+/);
    const check = words.shift()!;
    let kernel: string | undefined;
    let splat: string | undefined;
    for (;;) {
      if (words[0]?.startsWith('kernel=')) kernel = words.shift()!.slice('kernel='.length);
      else if (words[0]?.startsWith('splat=')) splat = words.shift()!.slice('splat='.length);
      else break;
      if (kernel === '') throw new BaselineError(`${where}: kernel= needs a release or glob`);
      if (splat === '') throw new BaselineError(`${where}: splat= needs a report key or glob`);
    }
    const reason = words.join(' ');
    if (!reason) throw new BaselineError(`${where}: "${check}" needs a reason after the check name`);
    out.push({ check, reason, ...(kernel ? { kernel } : {}), ...(splat ? { splat } : {}), where });
  });
  return out;
}

function parseJson(text: string, path: string): BaselineEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const at = jsonErrorAt(text, e);
    throw new BaselineError(`${path}${at.line ? `:${at.line}` : ''}: not valid JSON (${at.message})`);
  }
  const list = Array.isArray(v) ? v : typeof v === 'object' && v !== null ? (v as { known_failures?: unknown }).known_failures : undefined;
  if (!Array.isArray(list)) throw new BaselineError(`${path}: expected a list of {check, reason[, kernel]} or {"known_failures": [...]}`);
  return list.map((e: unknown, i): BaselineEntry => {
    const where = `${path}: entry ${i + 1}`;
    if (typeof e !== 'object' || e === null) throw new BaselineError(`${where} must be an object`);
    const o = e as Record<string, unknown>;
    if (typeof o.check !== 'string' || !o.check) throw new BaselineError(`${where}: missing "check"`);
    if (typeof o.reason !== 'string' || !o.reason) throw new BaselineError(`${where}: "${o.check}" needs a "reason"`);
    if (o.kernel !== undefined && (typeof o.kernel !== 'string' || !o.kernel)) throw new BaselineError(`${where}: "kernel" must be a release or glob`);
    if (o.splat !== undefined && (typeof o.splat !== 'string' || !o.splat)) throw new BaselineError(`${where}: "splat" must be a report key or glob`);
    return { check: o.check, reason: o.reason, ...(o.kernel ? { kernel: o.kernel } : {}), ...(o.splat ? { splat: o.splat } : {}), where };
  });
}

export function loadBaseline(path: string): BaselineEntry[] {
  let bytes: Buffer;
  try {
    if (!statSync(path).isFile()) throw new BaselineError(`${path}: not a regular file`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof BaselineError) throw e;
    throw new BaselineError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const text = bytes.toString('utf8');
  // A binary file (a tarball, a core dump passed by mistake) is not a list of known failures.
  if (bytes.includes(0) || text.includes('\ufffd'))
    throw new BaselineError(`${path}: a binary file, not a baseline (text: CHECK [kernel=GLOB] REASON per line, or JSON)`);
  if (!text.trim()) throw new BaselineError(`${path}: empty: no known failures (leave --baseline out, or add a comment line)`);
  const entries = parseBaseline(text, path);
  for (const e of entries)
    for (const [k, v] of [
      ['check', e.check],
      ['reason', e.reason],
      ['kernel', e.kernel ?? ''],
    ] as const)
      if (/[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(v))
        throw new BaselineError(`${e.where}: "${k}" has a control character or newline (it would reach TAP and JUnit)`);
  return entries;
}

/** Entries whose pattern matches none of the checks (any revision, any kernel). */
export function unmatchedEntries(entries: readonly BaselineEntry[], checks: readonly { abi: string; name: string }[]): BaselineEntry[] {
  return entries.filter((e) => {
    const re = glob(e.check);
    return !checks.some((c) => re.test(`${c.abi}/${c.name}`) || re.test(c.name));
  });
}

export class Baseline {
  /** Baselined checks that failed (and were turned into TODO), and those that now pass. */
  readonly stillFailing: { outcome: CheckOutcome; entry: BaselineEntry }[] = [];
  readonly nowPassing: { outcome: CheckOutcome; entry: BaselineEntry }[] = [];

  constructor(
    readonly entries: readonly BaselineEntry[],
    /** The target's kernel release, set once the target started. */
    public release = '',
  ) {}

  match(o: Pick<CheckOutcome, 'abi' | 'name'> & Partial<Pick<CheckOutcome, 'assertions'>>): BaselineEntry | undefined {
    const full = `${o.abi}/${o.name}`;
    return this.entries.find((e) => {
      if (e.kernel && !glob(e.kernel).test(this.release)) return false;
      if (e.splat) {
        const bad = (o.assertions ?? []).filter((a) => !a.ok);
        const re = glob(e.splat);
        if (bad.length === 0 || !bad.every((a) => a.splat !== undefined && re.test(a.splat))) return false;
      }
      const re = glob(e.check);
      return re.test(full) || re.test(o.name);
    });
  }

  /**
   * A failing check the baseline names becomes a TAP TODO ("known failure")
   * in place, so TAP, JUnit, the summary and the exit code all agree.
   * Returns the entry that matched.
   */
  apply(o: CheckOutcome): BaselineEntry | undefined {
    const e = this.match(o);
    if (!e) return undefined;
    if (o.status === 'fail' || o.status === 'blocked') {
      o.status = 'todo';
      o.reason = `baseline: ${e.splat ? 'known kernel report: ' : ''}${e.reason}`;
      this.stillFailing.push({ outcome: o, entry: e });
    } else if (o.status === 'pass') this.nowPassing.push({ outcome: o, entry: e });
    return e;
  }

  /** Lines for stderr after the run. */
  summary(): string[] {
    const out = [`# baseline: ${this.stillFailing.length} known failure(s) still fail, ${this.nowPassing.length} baselined check(s) now pass`];
    for (const { outcome, entry } of this.nowPassing)
      out.push(`#   NOW PASSES ${outcome.abi}/${outcome.name} (${entry.where}: ${entry.reason}) - remove it from the baseline`);
    return out;
  }
}
