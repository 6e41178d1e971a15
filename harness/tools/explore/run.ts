// The exploration loop: fast-check draws sequences (gen.ts), each runs as a
// model-based test (fc.asyncModelRun: the model is the scenario state, so a
// step whose VM, vCPU or memslot does not exist is not sent) on the target
// and the reference in lock-step (lockstep.ts). The first sequence showing
// a difference is shrunk by fast-check, then by removing single steps until
// none can go (1-minimal), and run once more to be recorded.
import fc from 'fast-check';
import type { AbiProfile } from '../../../profiles/types.ts';
import { RecordingSession, type CallResult } from '../../core/calls.ts';
import type { RunOutcome } from '../../core/dsl/index.ts';
import { CheckContext } from '../../core/engine.ts';
import { CallPolicy } from '../../core/policy.ts';
import { execStep, type ScenarioState, type Step } from '../../core/steps.ts';
import type { Target } from '../../core/target.ts';
import type { EmulatorTarget } from '../../core/targets/emulator.ts';
import { LockstepSession, type Difference, type LockstepCall } from './lockstep.ts';
import { sequenceArb } from './gen.ts';

export interface ExecutedStep {
  step: Step;
  /** The reference's result of the step (the DSL saw the reference's answers). */
  result: CallResult | RunOutcome;
  /** The step's calls: [first, end) indexes into the sequence's calls. */
  calls: [number, number];
}

export interface SequenceRun {
  executed: ExecutedStep[];
  calls: LockstepCall[];
  /** Labels of the calls, as the DSL named them. */
  labels: string[];
  /** The requests as sent (with their deadline). */
  requests: RecordingSession['trace'];
  difference?: Difference;
}

export interface Pair {
  abi: AbiProfile;
  target: Target;
  reference: EmulatorTarget;
  /** Both are emulators: every byte is compared (see lockstep.ts). */
  exact: boolean;
  callTimeoutMs: number;
}

class DifferenceFound extends Error {}

/** A step needs what it names: a VM, the vCPU, a memslot covering the address (harness/core/steps.ts would refuse it). */
function ready(st: Step, s: ScenarioState): boolean {
  if (st.do === 'create_vm' || (st.do === 'check_extension' && st.on !== 'vm')) return true;
  if (!s.vm) return false;
  if (st.vcpu !== undefined && !s.vcpus.has(Number(st.vcpu))) return false;
  if (st.do === 'write_guest' || st.do === 'rmi_populate') {
    const gpa = BigInt(String(st.do === 'write_guest' ? st.gpa : st.base));
    return s.mems.some((m) => gpa >= m.gpa && gpa < m.gpa + BigInt(m.size));
  }
  return true;
}

interface World {
  ctx: CheckContext;
  state: ScenarioState;
  ls: LockstepSession;
  executed: ExecutedStep[];
}

class StepCommand implements fc.AsyncCommand<ScenarioState, World> {
  constructor(readonly step: Step) {}
  check(m: Readonly<ScenarioState>): boolean {
    return ready(this.step, m);
  }
  async run(_m: ScenarioState, w: World): Promise<void> {
    const before = w.ls.calls.length;
    let r: CallResult | RunOutcome;
    try {
      r = await execStep(w.ctx, this.step, w.state);
    } catch {
      // a step the state cannot express: left out of the sequence unless it sent calls (still compared)
      if (w.ls.calls.length === before) return;
      r = { label: this.step.do, ret: -1, errno: 0, error: 'not executed' };
    }
    w.executed.push({ step: this.step, result: r, calls: [before, w.ls.calls.length] });
    if (w.ls.difference) throw new DifferenceFound(`call ${w.ls.difference.seq} differs`);
  }
  toString(): string {
    return JSON.stringify(this.step);
  }
}

/** Run one sequence in a fresh session of each side. */
export async function runSequence(p: Pair, steps: readonly Step[]): Promise<SequenceRun> {
  const [t, r] = await Promise.all([p.target.session(), p.reference.session()]);
  // the emulator answers synchronously: a harness-side deadline only for real targets
  const ls = new LockstepSession(t, r, p.exact, p.target.kind === 'emulator' ? 0 : p.callTimeoutMs + 5000);
  const rs = new RecordingSession(ls, p.callTimeoutMs);
  // what replay and scenarios admit, exploration sends: a refused call is never sent to either side
  rs.policy = new CallPolicy(p.abi);
  const state: ScenarioState = { mems: [], vcpus: new Map() };
  const w: World = { ctx: new CheckContext(p.abi, rs, p.target.kind), state, ls, executed: [] };
  try {
    await fc.asyncModelRun(
      () => ({ model: state, real: w }),
      steps.map((s) => new StepCommand(s)),
    );
  } catch (e) {
    if (!(e instanceof DifferenceFound)) throw e;
  } finally {
    await ls.close();
    await reboot(p);
  }
  return {
    executed: w.executed,
    calls: ls.calls,
    labels: rs.trace.map((c) => c.label),
    requests: rs.trace,
    ...(ls.difference ? { difference: ls.difference } : {}),
  };
}

/**
 * Every sequence on a freshly booted emulator, as replay and a scenario run
 * it (a find must not depend on what an earlier sequence left in the kernel),
 * and the kernel's memory does not grow with the calls explored. A real
 * target cannot be rebooted: its VMs end with the session's process.
 */
async function reboot(p: Pair): Promise<void> {
  await p.reference.stop();
  if (p.target.kind === 'emulator') await p.target.stop();
}

/** Remove single steps while the difference stays (at most `rounds` passes): a 1-minimal sequence. */
export async function minimize(p: Pair, run: SequenceRun, rounds = 4): Promise<SequenceRun> {
  let best = run;
  for (let round = 0; round < rounds; round++) {
    let changed = false;
    for (let i = best.executed.length - 1; i >= 0; i--) {
      const steps = best.executed.filter((_, j) => j !== i).map((e) => e.step);
      const r = await runSequence(p, steps);
      if (r.difference) {
        best = r;
        changed = true;
      }
    }
    if (!changed) break;
  }
  return best;
}

export interface Budget {
  ms?: number;
  calls?: number;
}

export interface ExploreResult {
  sequences: number;
  calls: number;
  ms: number;
  /** The seed of the fast-check run that failed and its path: `--seed S --path P` replays it. */
  found?: { seed: number; path: string; run: SequenceRun; shrunkFrom: number };
}

/** Sequences per fast-check run: the budget is checked between runs, each run has its own seed. */
const RUNS_PER_SEED = 200;

/**
 * Explore until the budget is spent or a difference is found. Run k uses seed
 * `seed + k`; `path` (with the printed seed) replays one counterexample.
 */
export interface ExploreOptions {
  seed: number;
  budget: Budget;
  path?: string;
  onProgress?: (r: ExploreResult) => void;
  /** Called when the first difference is seen, before shrinking (time-to-find). */
  onFirstDifference?: (r: ExploreResult) => void;
}

export async function explore(p: Pair, orders: Step[][], o: ExploreOptions): Promise<ExploreResult> {
  const arb = sequenceArb(p.abi, orders);
  const t0 = performance.now();
  const res: ExploreResult = { sequences: 0, calls: 0, ms: 0 };
  const spent = (): boolean =>
    (o.budget.ms !== undefined && performance.now() - t0 >= o.budget.ms) || (o.budget.calls !== undefined && res.calls >= o.budget.calls);
  let failing: SequenceRun | undefined;
  let firstLen = 0;
  let shrinking = false;
  const prop = fc.asyncProperty(arb, async (steps) => {
    if (!shrinking && spent()) return true;
    const r = await runSequence(p, steps);
    res.sequences++;
    res.calls += r.calls.length;
    if (!r.difference) return true;
    if (!shrinking) {
      firstLen = r.executed.length;
      o.onFirstDifference?.({ ...res, ms: performance.now() - t0 });
    }
    shrinking = true;
    failing = r;
    return false;
  });
  // The emulator reports every refused call by throwing a KernelError: without stacks, exploration runs at twice the speed.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return await loop();
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  async function loop(): Promise<ExploreResult> {
    for (let k = 0; ; k++) {
      if (spent()) break;
      const seed = o.path !== undefined ? o.seed : (o.seed + k) | 0;
      const out = await fc.check(prop, { seed, numRuns: o.path !== undefined ? 1 : RUNS_PER_SEED, ...(o.path !== undefined ? { path: o.path } : {}) });
      o.onProgress?.({ ...res, ms: performance.now() - t0 });
      if (out.failed && failing) {
        const min = await minimize(p, failing);
        res.found = { seed, path: out.counterexamplePath ?? '', run: min, shrunkFrom: firstLen };
        break;
      }
      if (out.failed && out.errorInstance) {
        // whatever the property threw, passed on as it is (fast-check types it unknown)
        const thrown: unknown = out.errorInstance;
        throw thrown;
      }
      if (o.path !== undefined) break;
    }
    res.ms = performance.now() - t0;
    return res;
  }
}
