// `./run.sh replay TRACE.json` and `./run.sh repro TRACE.json`: the bug
// reproduction tools over a trace. Exit codes of replay: 0 every call gave
// its recorded result (the recording is reproduced: real-stack recordings are
// checked this way), 1 one differs or was not sent, 4 it stopped where the
// realm uAPI is absent; with --verdict, as the C reproducer's: 0 every judged
// call meets the revision's spec, 1 one violates it (or a structural call
// failed), 4 the realm uAPI is absent (kselftest's SKIP). Both print the same
// lines per call. repro: 0 C written. Both: 2 a
// malformed trace, bad usage or a target that cannot be used (one line on
// stderr, never a stack trace).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { getProfile } from '../../profiles/index.ts';
import { formatVerdict, replayCalls } from './replay.ts';
import { generateRepro, ReproError } from './repro.ts';
import { TargetSetupError, type Target } from '../core/target.ts';
import { createTarget } from '../core/targets/index.ts';
import { refusedCall } from '../core/policy.ts';
import { repeatedOption } from './options.ts';
import { readTrace, TraceError, type TraceFile } from './trace.ts';
import { rmmModelSettings } from './real-stacks.ts';
import { isRmmModel, RMM_MODELS } from '../core/targets/emulator.ts';
import { checkOutputFile, OutputError, writeAtomic } from './output.ts';
import { joinQemuArgs, realTargetOptions, TARGET_OPTIONS, type RealTargetOptions } from './qemu-options.ts';

class ExitError extends Error {}
const fail = (msg: string): never => {
  throw new ExitError(msg);
};

export async function traceCommand(cmd: 'replay' | 'repro', argv: string[]): Promise<number> {
  try {
    return cmd === 'replay' ? await replay(argv) : repro(argv);
  } catch (e) {
    if (e instanceof ExitError || e instanceof TraceError || e instanceof ReproError || e instanceof TargetSetupError || e instanceof OutputError) {
      process.stderr.write(`run.sh ${cmd}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

function args<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  let r;
  try {
    r = parseArgs({ args: joinQemuArgs(argv), allowPositionals: true, strict: true, tokens: true, options });
  } catch (e) {
    return fail(e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e));
  }
  const twice = repeatedOption(r.tokens, options);
  if (twice) fail(twice);
  return r;
}

function oneTrace(positionals: string[], cmd: string): TraceFile {
  if (positionals.length !== 1) fail(`usage: ./run.sh ${cmd} TRACE.json [options] (one trace file)`);
  return readTrace(positionals[0]!);
}

function repro(argv: string[]): number {
  const a = args(argv, { output: { type: 'string', short: 'o' } });
  const out = a.values.output;
  if (typeof out === 'string') checkOutputFile(out, '-o'); // before reading anything: a bad path is one line
  const trace = oneTrace(a.positionals, 'repro');
  const c = generateRepro(trace, positionalsPath(a.positionals));
  if (typeof out === 'string') writeAtomic(out, c, 'reproducer');
  else process.stdout.write(c);
  return 0;
}

const positionalsPath = (p: string[]): string => p[0] ?? 'trace';

async function replay(argv: string[]): Promise<number> {
  const a = args(argv, {
    target: { type: 'string', default: 'emulator' },
    abi: { type: 'string' },
    'emulator-bug': { type: 'string', multiple: true },
    'no-emulator-bugs': { type: 'boolean', default: false },
    verdict: { type: 'boolean', default: false },
    rmm: { type: 'string' },
    ...TARGET_OPTIONS,
  });
  const path = positionalsPath(a.positionals);
  const trace = oneTrace(a.positionals, 'replay');
  // Untrusted input: a request the suite itself would never issue stops the replay before anything runs.
  // The spec the calls are judged against is the trace's revision, whatever the target runs.
  const spec_ = getProfile(trace.abi) ?? fail(`unknown ABI revision '${trace.abi}'`);
  const refused = refusedCall(trace, spec_);
  if (refused) fail(`${path}: ${refused}`);
  const v = a.values;
  if (v['emulator-bug'] && v['no-emulator-bugs']) fail('--emulator-bug and --no-emulator-bugs contradict each other');
  const abiName = v.abi ?? trace.abi;
  const abi = getProfile(abiName) ?? fail(`unknown ABI revision '${abiName}'`);
  const spec = v.target;
  // The emulator answers like the recorded one only with the same revision and bug switches.
  const bugs = v['no-emulator-bugs'] ? [] : (v['emulator-bug'] ?? trace.emulator?.bugs ?? []);
  if (spec !== 'emulator' && v['emulator-bug']) fail('--emulator-bug needs --target emulator');
  // --rmm: which RMM the emulator models (the revision's era default, or one accepting 0 breakpoints/watchpoints)
  const rmm = v.rmm;
  if (rmm !== undefined && spec !== 'emulator') fail('--rmm needs --target emulator');
  if (rmm !== undefined && !isRmmModel(rmm)) fail(`--rmm must be one of ${RMM_MODELS.join(', ')}, not '${rmm}'`);
  let real: RealTargetOptions;
  try {
    real = realTargetOptions(a.values, spec);
  } catch (e) {
    return fail((e as Error).message);
  }
  let target: Target;
  try {
    target = await createTarget(spec, {
      abi,
      bugs: spec === 'emulator' ? bugs : [],
      emulatorSettings: { ...(trace.emulator?.settings ?? {}), ...(rmm !== undefined && isRmmModel(rmm) ? rmmModelSettings(rmm) : {}) },
      ...real,
    });
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const rec = trace.target;
  const bugNote = spec === 'emulator' ? `${rmm !== undefined ? `, RMM: ${rmm}` : ''}, bugs: ${bugs.length ? bugs.join(', ') : 'none'}` : '';
  process.stdout.write(`# replay ${path}: ${trace.abi}/${trace.check}, ${trace.calls.length} calls recorded on ${rec.spec} (${rec.release}, ${rec.machine})\n`);
  try {
    let id;
    try {
      id = await target.start();
    } catch (e) {
      return fail(`target ${spec} failed to start: ${e instanceof Error ? e.message : String(e)}`);
    }
    process.stdout.write(`# replaying on ${spec} (${id.info.release}, ${id.info.machine}), ABI ${abi.name}${bugNote}\n`);
    const session = await target.session();
    let r;
    try {
      r = await replayCalls(trace, session, spec_);
    } finally {
      await session.close().catch(() => undefined);
    }
    process.stdout.write(`# each call: the result now, the ${spec_.name} spec's expectation (judged calls), the recorded result\n`);
    for (const v of r.verdicts) {
      process.stdout.write(`${formatVerdict(v)}\n`);
      for (const d of r.diffs)
        if (d.seq === v.seq && d.what !== 'result') process.stdout.write(`    ${d.what}: recorded ${d.recorded}, replayed ${d.replayed}\n`);
    }
    if (r.stoppedAt !== undefined) process.stdout.write(`# the target failed at call ${r.stoppedAt}; later calls were not sent\n`);
    if (r.stopped !== undefined) process.stdout.write(`# stopped: ${r.stopped}\n`);
    if (r.absent !== undefined) process.stdout.write(`# the realm uAPI is absent: ${r.absent}; later calls were not sent (exit 4)\n`);
    const violations = r.verdicts.filter((x) => x.violates).length;
    const differ = new Set(r.diffs.map((d) => d.seq)).size;
    const judged = r.verdicts.filter((x) => x.spec !== undefined).length;
    process.stdout.write(
      `# replay: ${violations} of ${judged} judged calls violate the ${spec_.name} spec; ${differ} of ${r.calls} calls differ from the recording\n`,
    );
    if (v.verdict) return r.exitCode;
    const reproduced = differ === 0 && r.verdicts.length === r.calls;
    return reproduced ? 0 : r.absent !== undefined ? 4 : 1;
  } finally {
    await target.stop().catch(() => undefined);
  }
}
