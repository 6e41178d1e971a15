// The stderr summary after a run: the counts, then every failed or blocked
// check grouped by its first unexpected call, so one root cause (a set-up call
// every check makes) reads as one cause with the checks behind it.
import { firstCause, type CheckOutcome } from '../../core/engine.ts';

export function countLine(outcomes: readonly CheckOutcome[]): string {
  const c = (s: string): number => outcomes.filter((x) => x.status === s).length;
  return `${outcomes.length} checks, ${c('pass')} passed, ${c('fail')} failed, ${c('blocked')} blocked, ${c('todo')} todo, ${c('skip')} skipped`;
}

/** Lines ("# ..."), causes with the most checks first; none when nothing failed. */
export function causeLines(outcomes: readonly CheckOutcome[]): string[] {
  const bad = outcomes.filter((o) => o.status === 'fail' || o.status === 'blocked');
  if (bad.length === 0) return [];
  const groups = new Map<string, CheckOutcome[]>();
  for (const o of bad) {
    const k = firstCause(o);
    groups.set(k, [...(groups.get(k) ?? []), o]);
  }
  const sorted = [...groups].sort((a, b) => b[1].length - a[1].length);
  const n = sorted.length;
  const out = [`# ${bad.length} check(s) failed or blocked, ${n} cause(s) (the first unexpected call of each check):`];
  for (const [i, [cause, os]] of sorted.entries()) {
    const f = os.filter((o) => o.status === 'fail').length;
    const b = os.length - f;
    out.push(`#  cause ${i + 1}: ${cause} — ${[f ? `${f} failed` : '', b ? `${b} blocked` : ''].filter(Boolean).join(', ')}`);
    for (const o of os) out.push(`#   ${o.status === 'blocked' ? 'BLOCKED' : 'FAIL'} ${o.abi}/${o.name}`);
  }
  return out;
}

/** How to rerun, replay and reproduce a failure: the exact commands, for the first check of each cause. */
export interface NextStepsInput {
  outcomes: readonly CheckOutcome[];
  traceOf: (o: CheckOutcome) => string | undefined;
  /** The options that reach the same target and revision (`--target ...`, emulator bug switches). */
  targetArgs: readonly string[];
}

export function nextSteps(i: NextStepsInput): string[] {
  const bad = i.outcomes.filter((o) => o.status === 'fail' || o.status === 'blocked');
  if (bad.length === 0) return [];
  const firsts = new Map<string, CheckOutcome>();
  for (const o of bad) if (!firsts.has(firstCause(o))) firsts.set(firstCause(o), o);
  const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const out = ['# next steps (the first check of each cause):'];
  for (const o of [...firsts.values()].slice(0, 3)) {
    const name = `${o.abi}/${o.name}`;
    out.push(`#   ${name}:`);
    out.push(`#     rerun it:           ./run.sh ${[...i.targetArgs, '--abi', o.abi, name].map(q).join(' ')}`);
    const trace = i.traceOf(o);
    if (trace) {
      out.push(`#     replay its trace:   ./run.sh replay ${q(trace)}${i.targetArgs.length ? ` ${i.targetArgs.map(q).join(' ')}` : ''}`);
      out.push(`#     C reproducer:       ./run.sh repro ${q(trace)} -o ${q(`${o.name.replace(/\//g, '_')}.c`)}`);
    }
  }
  if (firsts.size > 3) out.push(`#   (${firsts.size - 3} more causes above)`);
  return out;
}
