// A found difference, three ways: printed (one kernel call a line, the two
// answers side by side), as a trace (harness/tools/trace.ts: `./run.sh replay` and
// `./run.sh repro` read it; each call's expectation is the reference's
// answer) and as a scenario (harness/core/steps.ts: a regression check whose
// expectations are the reference's answers, see fixtures/scenarios/).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AbiProfile } from '../../../profiles/types.ts';
import { describeOutcome, succeeded } from '../../core/calls.ts';
import type { Area, Assertion, EmulatorSettings } from '../../core/engine.ts';
import { errnoName } from '../../../uapi/errno.ts';
import { bindsHandle, exitOf } from '../replay.ts';
import type { ScenarioFile, Step, StepExpect } from '../../core/steps.ts';
import type { TargetIdentity } from '../../core/target.ts';
import { traceCall, traceTarget, TRACE_FORMAT, type TraceFile } from '../trace.ts';
import { mkdirs, writeAtomic } from '../output.ts';
import * as K from '../../../uapi/kvm-uapi.ts';
import type { RunOutcome } from '../../core/dsl/index.ts';
import { decodeRmiPopulate } from '../../../profiles/encode.ts';
import { fromHex } from '../../../uapi/wire.ts';
import type { ExecutedStep, SequenceRun } from './run.ts';

export interface FoundContext {
  abi: AbiProfile;
  seed: number;
  path: string;
  /** The command line that replays it (printed and stored in the files). */
  command: string;
  identity: TargetIdentity;
  bugs: readonly string[];
  /** The emulator's host settings when they are not the default (a host without an RMM). */
  settings?: EmulatorSettings;
}

const SOURCE = 'explore: the answer of the reference emulator of the same revision (harness/tools/explore)';

/** One line per call, grouped by step: "  12 KVM_RUN(vcpu 0) = 0 [SYSTEM_EVENT type 1]   reference: = -1 EINVAL   <-- differs". */
export function formatRun(run: SequenceRun): string[] {
  const lines: string[] = [];
  const d = run.difference;
  run.executed.forEach((e, i) => {
    lines.push(`step ${i + 1}: ${stepText(e.step)}`);
    for (let j = e.calls[0]; j < e.calls[1]; j++) {
      const c = run.calls[j];
      if (!c) continue;
      const isRun = c.request.op === 'ioctl' && c.request.req === K.KVM_RUN;
      const show = (r: typeof c.target): string => `${describeOutcome(r)}${isRun && r.ret >= 0 ? ` [${exitOf(r.peek?.[0])}]` : ''}`;
      const here = d?.seq === j + 1;
      const tgt = show(c.target);
      const ref = show(c.reference);
      lines.push(
        `  ${String(j + 1).padStart(3)} ${run.labels[j] ?? c.request.op} ${tgt}${tgt !== ref || here ? `   reference: ${ref}` : ''}${here ? `   <-- ${d.what} differs${d.what !== 'result' ? ` (target ${d.target}, reference ${d.reference})` : ''}` : ''}`,
      );
    }
  });
  return lines;
}

function stepText(s: Step): string {
  const { do: what, ...args } = s;
  const a = Object.entries(args).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${what}${a.length ? ` ${a.join(' ')}` : ''}`;
}

/** The reference's answer as a scenario expectation: "ok", a pinned non-zero value, or the errno. */
function stepExpect(e: ExecutedStep, run: SequenceRun): StepExpect {
  const r = e.result;
  if (!succeeded(r)) return errnoName(r.errno) as StepExpect;
  const last = run.calls[e.calls[1] - 1];
  // a handle's number (an fd) is the target's choice: success is all a check can ask
  const handle = last !== undefined && bindsHandle({ request: last.request } as never);
  // a capability's answer is its value, 0 included; elsewhere 0 is plain success
  return handle ? 'ok' : r.ret !== 0 || e.step.do === 'check_extension' ? { ret: r.ret } : 'ok';
}

/** The executed steps as a scenario file: each step expects the reference's answer. */
export function buildScenario(run: SequenceRun, ctx: FoundContext): ScenarioFile {
  const d = run.difference;
  const hash = createHash('sha256')
    .update(JSON.stringify(run.executed.map((e) => e.step)))
    .digest('hex')
    .slice(0, 8);
  const steps: Step[] = expandLoops(run).map((e) => {
    const st: Step = { ...e.step };
    const want = stepExpect(e, run);
    if (want !== 'ok') st.expect = want;
    delete st.exit;
    if (st.do === 'run' && succeeded(e.result)) {
      const ex = (e.result as RunOutcome).exit;
      if (ex) st.exit = ex.reason === 'SYSTEM_EVENT' && 'type' in ex && ex.type === K.KVM_SYSTEM_EVENT_SHUTDOWN ? 'system-off' : ex.reason;
    }
    // v13+ populate reports its progress in the struct: pin it, it is the step's result;
    // source_uaddr moves with base (V14-PO15), when the source is a mapping the scenario can name
    if (st.do === 'rmi_populate_once' && succeeded(e.result)) {
      const after = (e.result as { after?: { base: bigint; size: bigint } }).after;
      const base = BigInt(String(st.base));
      if (after)
        st.after = {
          base: `0x${after.base.toString(16)}`,
          size: `0x${after.size.toString(16)}`,
          ...(st.source === undefined && after.base > base ? { source: `0x${(after.base - base).toString(16)}` } : {}),
        };
    }
    return st;
  });
  const expanded = expandLoops(run);
  const at = d ? expanded.findIndex((e) => d.seq > e.calls[0] && d.seq <= e.calls[1]) : -1;
  if (at >= 0 && steps[at])
    steps[at].why = `found by exploration: ${String(d?.what)} differed (target ${String(d?.target)}, reference ${String(d?.reference)})`
      .slice(0, 200)
      .replace(/[\x00-\x1f]/g, ' ');
  return {
    name: `explore-${ctx.abi.name}-${hash}`,
    description: `A sequence exploration found (${ctx.command}): the kernel must answer each step as the reference emulator of ${ctx.abi.name} does`,
    source: `${SOURCE}, seed ${ctx.seed}, path ${ctx.path}`,
    area: areaOf(steps[at >= 0 ? at : steps.length - 1]),
    abi: [ctx.abi.name],
    steps,
  };
}

/**
 * A VMM's populate loop (`rmi_populate`) judges only its last call: a kernel
 * that fails a different call of it may end the same way. In a scenario each
 * of its calls becomes one `rmi_populate_once` with the same arguments and
 * source, so each call's answer is pinned.
 */
function expandLoops(run: SequenceRun): ExecutedStep[] {
  const out: ExecutedStep[] = [];
  for (const e of run.executed) {
    if (e.step.do !== 'rmi_populate') {
      out.push(e);
      continue;
    }
    for (let j = e.calls[0]; j < e.calls[1]; j++) {
      const c = run.calls[j];
      if (c?.request.op !== 'ioctl' || !('buf' in c.request.arg)) continue;
      const a = decodeRmiPopulate(fromHex(c.request.arg.buf.hex));
      const src = c.request.arg.buf.ptrs?.[0]?.to;
      const ref = c.reference;
      const after = ref.out !== undefined && ref.ret >= 0 ? decodeRmiPopulate(fromHex(ref.out)) : undefined;
      const step: Step = {
        do: 'rmi_populate_once',
        base: `0x${a.base.toString(16)}`,
        size: `0x${a.size.toString(16)}`,
        flags: a.flags,
        ...(src && 'mem' in src && src.offset % 0x1000 ? { src_offset: src.offset % 0x1000 } : {}),
      };
      const result = { label: run.labels[j] ?? '', ret: ref.ret, errno: ref.errno, ...(after ? { after } : {}) };
      out.push({ step, result, calls: [j, j + 1] });
    }
  }
  return out;
}

function areaOf(s: Step | undefined): Area {
  switch (s?.do) {
    case 'config':
      return 'config';
    case 'init_ipa':
      return 'init-ripas';
    case 'populate':
    case 'rmi_populate':
    case 'rmi_populate_once':
      return 'populate';
    case 'create_vcpu':
    case 'vcpu_init':
    case 'sve_vls':
      return 'vcpu-init';
    case 'finalize_rec':
      return 'finalize-rec';
    case 'psci_complete':
      return 'psci-complete';
    case 'run':
      return 'run';
    case 'check_extension':
      return 'probing';
    default:
      return 'ordering';
  }
}

/** The sequence's calls as a trace: the target's results, each judged against the reference's answer. */
export function buildTrace(run: SequenceRun, ctx: FoundContext, name: string): TraceFile {
  const id = ctx.identity;
  const assertions: Assertion[] = run.calls.map((c, i) => {
    const ref = c.reference;
    const handle = bindsHandle({ request: c.request } as never);
    const ok = run.difference?.seq !== i + 1;
    const label = run.labels[i] ?? c.request.op;
    return {
      ok,
      message: `${label} ${describeOutcome(c.target)}${ok ? '' : `, expected ${describeOutcome(ref)} (${SOURCE})`}`,
      source: SOURCE,
      call: `${label} ${describeOutcome(c.target)}`,
      seq: i + 1,
      expected: { errno: ref.ret < 0 ? errnoName(ref.errno) : '0', ...(ref.ret >= 0 && !handle ? { ret: ref.ret } : {}) },
    };
  });
  // calls the reference refused with a harness error (a refused request) have no expectation
  const judged = assertions.filter((_, i) => run.calls[i]?.reference.error === undefined);
  return {
    format: TRACE_FORMAT,
    check: `explore/${name}`,
    area: 'misordering',
    abi: ctx.abi.name,
    description: `exploration (${ctx.command}): ${run.difference ? `call ${run.difference.seq} ${run.difference.what} differs from the reference emulator` : 'no difference'}`,
    status: run.difference ? 'fail' : 'pass',
    assertions: judged,
    sources: [SOURCE],
    ms: Math.round(run.requests.reduce((n, r) => n + r.ms, 0) * 1000) / 1000,
    recorded_at: new Date().toISOString(),
    target: traceTarget(id, ctx.abi.name),
    ...(id.kind === 'emulator' ? { emulator: { bugs: [...ctx.bugs], settings: { ...ctx.settings } } } : {}),
    calls: run.requests.map((r, i) => traceCall({ ...r, result: { ...(run.calls[i]?.target ?? r.result) } }, i + 1)),
  };
}

/** Write both files into `dir`; returns their paths. */
export function saveFound(dir: string, run: SequenceRun, ctx: FoundContext): { trace: string; scenario: string } {
  // apart: a scenario directory (KVM_CCA_SCENARIO_DIR) holds scenarios only
  mkdirs(join(dir, 'traces'));
  mkdirs(join(dir, 'scenarios'));
  const sc = buildScenario(run, ctx);
  const trace = join(dir, 'traces', `${sc.name}.json`);
  const scenario = join(dir, 'scenarios', `${sc.name}.json`);
  writeAtomic(trace, `${JSON.stringify(buildTrace(run, ctx, sc.name), null, 1)}\n`, 'trace');
  writeAtomic(scenario, `${JSON.stringify(sc, null, 2)}\n`, 'scenario');
  return { trace, scenario };
}
