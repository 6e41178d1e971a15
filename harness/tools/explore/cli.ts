// `./run.sh explore`: random realm call sequences on a target and on the
// reference emulator of the same revision, in lock-step (harness/tools/explore/).
// Exit: 0 no difference within the budget, 1 a difference (printed, saved as
// a trace and a scenario), 2 bad usage or a target that cannot be used (one
// line on stderr), 4 the target has no KVM.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { getProfile, PROFILES } from '../../../profiles/index.ts';
import { closest } from '../closest.ts';
import { emulatorBugs } from '../../core/targets/emulator.ts';
import { repeatedOption, parseTimeoutMs } from '../options.ts';
import { OutputError } from '../output.ts';
import { joinQemuArgs, realTargetOptions, TARGET_OPTIONS, type RealTargetOptions } from '../qemu-options.ts';
import { DEFAULT_CALL_TIMEOUT_MS, TargetSetupError, TargetWithoutKvm, type Target, type TargetIdentity } from '../../core/target.ts';
import { createTarget } from '../../core/targets/index.ts';
import { EmulatorTarget } from '../../core/targets/emulator.ts';
import { optionError } from '../usage-words.ts';
import { launchOrders } from './gen.ts';
import { probeHost } from './host.ts';
import { explore, type Budget } from './run.ts';
import { formatRun, saveFound } from './save.ts';

export const EXPLORE_USAGE = `usage: ./run.sh explore [--target T] [--abi REV] [--seed N] [--budget 60s|N] [--emulator-bug NAME] [--path P] [--out DIR]

Sends random sequences of realm calls (every entry point of the revision, vCPU create/init/finalize,
memslots, guest_memfd, KVM_RUN; boundary-heavy arguments) to the target and to the reference emulator
of the same revision in lock-step, and stops at the first result that differs: the sequence is shrunk,
printed, and saved as a trace (./run.sh replay, ./run.sh repro) and a scenario (a regression check).

  --target T           emulator (default) | ssh://user@host[:port] | qemu
  --abi REV            revision (default v14; 'absent' for a kernel without the series)
  --seed N             first fast-check seed (default: random, printed); run k uses N+k
  --path P             with --seed: replay the one counterexample fast-check printed
  --budget B           60s, 500ms, 10m (time) or N (calls to the target); default 60s
  --emulator-bug NAME  emulator target: switch on a known bug (repeatable) to plant a difference
  --out DIR            where a difference is saved (default: a fresh temp dir)
  --timeout MS         per-call deadline on the target (default ${DEFAULT_CALL_TIMEOUT_MS})
  --quiet              no progress lines
  ssh/qemu: --ssh-key, --ssh-option, --kernel, --initrd, --bios, --qemu, --qemu-arg, --boot-timeout, --console`;

const OPTIONS = {
  target: { type: 'string', default: 'emulator' },
  abi: { type: 'string', default: 'v14' },
  seed: { type: 'string' },
  path: { type: 'string' },
  budget: { type: 'string', default: '60s' },
  'emulator-bug': { type: 'string', multiple: true, default: [] },
  out: { type: 'string' },
  timeout: { type: 'string' },
  quiet: { type: 'boolean', default: false },
  ...TARGET_OPTIONS,
  help: { type: 'boolean', short: 'h', default: false },
} satisfies NonNullable<ParseArgsConfig['options']>;

class ExitError extends Error {}
const fail = (msg: string): never => {
  throw new ExitError(msg);
};

/** "60s", "500ms", "10m" (time) or "N" / "N calls" (calls to the target). */
export function parseBudget(s: string): Budget {
  const m = /^\s*(\d{1,12})\s*(ms|s|m|calls?)?\s*$/.exec(s);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !(n > 0)) return fail(`--budget takes a time (60s, 500ms, 10m) or a number of calls, not '${s}'`);
  const unit = m[2];
  if (unit === 'ms') return { ms: n };
  if (unit === 's') return { ms: n * 1000 };
  if (unit === 'm') return { ms: n * 60_000 };
  return { calls: n };
}

function parseSeed(s: string | undefined): number {
  if (s === undefined) return Math.floor(Math.random() * 2 ** 31);
  if (!/^-?\d{1,10}$/.test(s) || Math.abs(Number(s)) >= 2 ** 31) return fail(`--seed takes an integer of at most 31 bits, not '${s}'`);
  return Number(s);
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export async function exploreCommand(argv: string[]): Promise<number> {
  let target: Target | undefined;
  let reference: EmulatorTarget | undefined;
  try {
    return await run(argv, (t, r) => {
      target = t;
      if (r) reference = r;
    });
  } catch (e) {
    if (e instanceof TargetWithoutKvm) {
      process.stdout.write(`1..0 # SKIP ${e.message}\n`);
      return 4;
    }
    if (e instanceof ExitError || e instanceof TargetSetupError || e instanceof OutputError) {
      process.stderr.write(`run.sh explore: ${String(e.message.split('\n')[0])}\n`);
      return 2;
    }
    throw e;
  } finally {
    await target?.stop().catch(() => undefined);
    await reference?.stop().catch(() => undefined);
  }
}

async function run(argv: string[], hold: (t: Target, r: EmulatorTarget | undefined) => void): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: joinQemuArgs(argv), options: OPTIONS, strict: true, allowPositionals: false, tokens: true });
  } catch (e) {
    return fail(`${optionError(e, Object.keys(OPTIONS))} (see ./run.sh explore --help)`);
  }
  const twice = repeatedOption(a.tokens, OPTIONS);
  if (twice) fail(twice);
  const v = a.values;
  if (v.help) {
    process.stdout.write(`${EXPLORE_USAGE}\n`);
    return 0;
  }
  const abi = getProfile(v.abi) ?? fail(`unknown ABI revision '${v.abi}'${hint(v.abi, [...PROFILES.keys()])} (one of ${[...PROFILES.keys()].join(', ')})`);
  const budget = parseBudget(v.budget);
  const seed = parseSeed(v.seed);
  if (v.path !== undefined && v.seed === undefined) fail('--path needs the --seed it was printed with');
  if (v.path !== undefined && !/^\d+(:\d+)*$/.test(v.path)) fail(`--path takes fast-check's path (digits and ':'), not '${v.path}'`);
  const timeout =
    v.timeout === undefined
      ? DEFAULT_CALL_TIMEOUT_MS
      : (parseTimeoutMs(v.timeout) ?? fail(`--timeout takes whole milliseconds (1..2147483647), not '${v.timeout}'`));
  const say = (l: string): void => void process.stdout.write(`# ${l}\n`);
  const spec = v.target;
  const bugs = v['emulator-bug'];
  if (bugs.length && spec !== 'emulator') fail('--emulator-bug needs --target emulator');
  for (const b of bugs) {
    const info =
      emulatorBugs().find((x) => x.name === b) ??
      fail(
        `unknown emulator bug '${b}'${hint(
          b,
          emulatorBugs().map((x) => x.name),
        )} (./run.sh --list-emulator-bugs)`,
      );
    if (!(info.revisions as readonly string[]).includes(abi.name)) fail(`emulator bug '${b}' is not in ${abi.name} (it is in ${info.revisions.join(', ')})`);
  }
  let real: RealTargetOptions;
  try {
    real = realTargetOptions(v, spec);
  } catch (e) {
    return fail((e as Error).message);
  }
  const out = resolve(v.out ?? mkdtempSync(join(process.env.KVM_CCA_TRACE_DIR || tmpdir(), 'kvm-cca-explore-')));
  const target = await createTarget(spec, {
    abi,
    bugs,
    ...real,
  });
  hold(target, undefined);
  let id: TargetIdentity;
  try {
    id = await target.start();
  } catch (e) {
    if (e instanceof TargetSetupError) throw e;
    return fail(`target ${spec} failed to start: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!id.info.kvm) throw new TargetWithoutKvm(`${spec} has no usable /dev/kvm`);
  // a real host's capabilities (AArch32 EL1, SVE, PMU, IPA limit) are the reference's too
  const host = spec === 'emulator' ? {} : await probeHost(target, timeout);
  const reference = new EmulatorTarget({ abi, bugs: [], host });
  hold(target, reference);
  await reference.start();
  if (Object.keys(host).length)
    say(
      `the reference emulator models the target's host: ${Object.entries(host)
        .map(([k, x]) => `${k}=${String(x)}`)
        .join(' ')}`,
    );
  const orders = launchOrders(abi, ROOT);
  const budgetText = budget.ms !== undefined ? `${budget.ms / 1000}s` : `${String(budget.calls)} calls`;
  say(
    `explore ${abi.name} on ${spec} (${id.info.release}, ${id.info.machine})${bugs.length ? `, bugs: ${bugs.join(', ')}` : ''} against the reference emulator; seed ${seed}${v.path !== undefined ? `, path ${v.path}` : ''}, budget ${budgetText}`,
  );
  let lastSay = performance.now();
  const r = await explore({ abi, target, reference, exact: spec === 'emulator', callTimeoutMs: timeout }, orders, {
    seed,
    budget,
    ...(v.path !== undefined ? { path: v.path } : {}),
    onProgress: (p) => {
      if (v.quiet || performance.now() - lastSay < 10_000) return;
      lastSay = performance.now();
      say(`${p.sequences} sequences, ${p.calls} calls, ${(p.ms / 1000).toFixed(0)}s`);
    },
  });
  const rate = r.ms > 0 ? Math.round((r.calls * 1000) / r.ms) : 0;
  say(`${r.sequences} sequences, ${r.calls} calls in ${(r.ms / 1000).toFixed(1)}s (${rate} calls/s)`);
  if (!r.found) {
    say('no difference from the reference emulator');
    return 0;
  }
  const f = r.found;
  const bugArgs = bugs.map((b) => ` --emulator-bug ${b}`).join('');
  const targetArg = spec === 'emulator' ? '' : ` --target ${spec}`;
  const command = `./run.sh explore${targetArg} --abi ${abi.name}${bugArgs} --seed ${f.seed} --path ${f.path}`;
  const files = saveFound(out, f.run, { abi, seed: f.seed, path: f.path, command, identity: id, bugs });
  say(`difference found: ${f.run.executed.length} steps, ${f.run.calls.length} calls (shrunk from ${f.shrunkFrom} steps)`);
  for (const l of formatRun(f.run)) process.stdout.write(`${l}\n`);
  say(`again: ${command}`);
  say(`trace: ${files.trace}   (./run.sh replay ${files.trace}; ./run.sh repro ${files.trace})`);
  say(`scenario: ${files.scenario}   (KVM_CCA_SCENARIO_DIR=${dirname(files.scenario)} ./run.sh --abi ${abi.name} scenario/)`);
  return 1;
}

function hint(word: string, known: readonly string[]): string {
  const c = closest(word, known);
  return c ? ` (did you mean ${c}?)` : '';
}
