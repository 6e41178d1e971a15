// run.sh's entry point: parse and validate the options, then dispatch: a
// sub-command (replay, repro, qemu-guest, build-initramfs), or the run
// pipeline plan -> run -> report (harness/core/run/): KTAP on stdout, a summary on stderr.
// Exit codes follow kselftest: 0 all passed, 1 a check failed, 4 all skipped
// (also: the forced revision's uAPI is absent), 2 bad usage or a target that
// cannot be used (docs/ci.md).
import { statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { getProfile, PROFILES } from '../../profiles/index.ts';
import { applicable, type CheckDef } from '../core/engine.ts';
import { DEFAULT_CALL_TIMEOUT_MS, TargetSetupError, TargetWithoutKvm, type TargetKind } from '../core/target.ts';
import { ktapSkipAll } from './report/ktap.ts';
import { listEmulatorBugs, type TargetOptions } from '../core/targets/index.ts';
import { listLines } from './list.ts';
import { BaselineError } from './baseline.ts';
import { ScenarioError } from '../core/steps.ts';
import { installSignalHandlers, Interrupted, isInterrupted } from '../core/lifecycle.ts';
import { checkOutputDir, checkOutputFile, OutputError } from './output.ts';
import { repeatedOption, parseTimeoutMs } from './options.ts';
import { printable } from '../core/policy.ts';
import { loadBaseline, unmatchedEntries } from './baseline.ts';
import { joinQemuArgs, realTargetOptions, TARGET_OPTIONS, type RealTargetOptions } from './qemu-options.ts';
import { optionError } from './usage-words.ts';
import { toolIdentity } from './identity.ts';

const USAGE = `usage: ./run.sh [options] [FILTER...]
       ./run.sh replay TRACE.json [--target T] [--abi NAME] [--emulator-bug NAME | --no-emulator-bugs] [--verdict] [--rmm era|accepts-zero-debug-counts]
       ./run.sh repro TRACE.json > repro.c
       ./run.sh explore [--target T] [--abi REV] [--seed N] [--budget 60s|N]   random call sequences against the reference emulator (explore --help)
       ./run.sh qemu-guest [qemu overrides]   boot the qemu guest, print its --target ssh://... options, keep it up until Ctrl-C
       ./run.sh build-initramfs FILE          write the guest initramfs (with /dev/console) for a kernel's CONFIG_INITRAMFS_SOURCE

Runs the Arm CCA realm uAPI conformance checks against a target and prints KTAP (a condensed view on a terminal).
FILTER selects checks by name as printed (REV/area/check, or area/check), by substring
or glob (*, ?, [..], {a,b}); !FILTER excludes.

  --target T             emulator (default) | ssh://user@host[:port] | qemu
  --abi NAME             ABI revision: ${[...PROFILES.keys()].join(', ')},
                         all (every revision, emulator only) or auto (detect a live kernel's revision);
                         default: all on the emulator, auto on a real target
  --matrix FILE          also write the conformance matrix (revisions x checks) to FILE (.html or .md; repeatable)
  --list [-v]            print the checks that would run (-v: with description, sources), run nothing
  --junit FILE           also write JUnit XML to FILE (Jenkins xunit schema; kernel identity as properties)
  --json FILE            also write the results file (schema: harness/tools/report/results.schema.json; KCIDB mapping)
  --trace DIR            write every check's calls as JSON to DIR (a failing check's trace
                         is always written, to DIR or a fresh temp dir; TAP shows 'trace: PATH')
  --baseline FILE        known failures with reasons (docs/ci.md): exit 0 if only those fail
  --emulator-bug NAME    switch on a known bug in the emulator (repeatable)
  --list-emulator-bugs   print the emulator's bug catalogue
  --allow-crash          run checks that oops the kernel on a real target
  --timeout MS           per-call deadline on the target (default ${DEFAULT_CALL_TIMEOUT_MS})
  --ssh-key FILE         identity for ssh targets
  --ssh-option OPT       extra ssh -o option (repeatable)
  --kernel/--initrd/--bios/--qemu FILE, --qemu-arg ARG   qemu target overrides
                         (checked before booting). --kernel also takes a kernel build
                         directory (its arch/arm64/boot/Image). --bios alone: the firmware
                         boots its own kernel (e.g. TF-A with the kernel as BL33), nothing
                         else is passed. --qemu-arg -M virt,... works (so does --qemu-arg=-M)
  --boot-timeout SEC     qemu target: seconds the guest has to come up (default 90)
  --console              qemu target: stream the guest console to stderr
                         (a failed boot always prints its last console lines)
  --install-deps         install the Debian packages the qemu/ssh targets need
  --ktap                 raw KTAP on a terminal too (piped or redirected output is always KTAP;
                         a terminal gets a condensed view, in colour unless NO_COLOR is set)
  --version              the suite's version (and commit, in a git clone)
  -h, --help             this text`;

class UsageError extends Error {}

function die(msg: string, code = 2): never {
  // After Ctrl-C a failing start is the signal's doing: the handler says it and exits.
  if (isInterrupted()) throw new Interrupted(msg);
  process.stderr.write(`run.sh: ${msg}\n`);
  process.exit(code);
}

const OPTIONS = {
  target: { type: 'string', default: 'emulator' },
  abi: { type: 'string' },
  matrix: { type: 'string', multiple: true, default: [] },
  list: { type: 'boolean', default: false },
  verbose: { type: 'boolean', short: 'v', default: false },
  junit: { type: 'string' },
  json: { type: 'string' },
  trace: { type: 'string' },
  baseline: { type: 'string' },
  'emulator-bug': { type: 'string', multiple: true, default: [] },
  'list-emulator-bugs': { type: 'boolean', default: false },
  'allow-crash': { type: 'boolean', default: false },
  timeout: { type: 'string' },
  ...TARGET_OPTIONS,
  'install-deps': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
  ktap: { type: 'boolean', default: false },
} satisfies NonNullable<ParseArgsConfig['options']>;

function parse(argv: string[]) {
  let r;
  try {
    r = parseArgs({ args: joinQemuArgs(argv), allowPositionals: true, strict: true, tokens: true, options: OPTIONS });
  } catch (e) {
    // node's messages are one line ("Unknown option '--foo'..."), except the one for a
    // value starting with '-', whose fix ("use '--qemu-arg=-XYZ'") is on its third line.
    throw new UsageError(optionError(e, Object.keys(OPTIONS)));
  }
  const twice = repeatedOption(r.tokens, OPTIONS);
  if (twice) throw new UsageError(twice);
  return r;
}

/** Options that contradict each other or the target: one line each, before anything runs. */
function conflict(o: ReturnType<typeof parse>['values']): string | undefined {
  if (o.list)
    for (const k of ['junit', 'json', 'trace', 'baseline'] as const) if (o[k] !== undefined) return `--list runs nothing: --${k} would have nothing to work on`;
  if (o.list && o.matrix.length) return '--list runs nothing: --matrix would have nothing to work on';
  for (const m of o.matrix) if (!/\.(html|md)$/i.test(m)) return `--matrix ${m}: the file name must end in .html or .md (the format follows it)`;
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] !== 'qemu-guest') installSignalHandlers(); // qemu-guest keeps its guest up until a signal: its own handlers
  if (argv[0] === 'replay' || argv[0] === 'repro') return (await import('./trace-cli.ts')).traceCommand(argv[0], argv.slice(1));
  if (argv[0] === 'explore') return (await import('./explore/cli.ts')).exploreCommand(argv.slice(1));
  if (argv[0] === 'qemu-guest') return (await import('./qemu-guest.ts')).qemuGuestCommand(argv.slice(1));
  if (argv[0] === 'build-initramfs') return (await import('./initramfs.ts')).buildInitramfsCommand(argv.slice(1));
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (e) {
    die(`${e instanceof Error ? e.message : String(e)} (see --help)`);
  }
  const o = args.values;
  let real: RealTargetOptions;
  try {
    real = realTargetOptions(o, o.target);
  } catch (e) {
    die((e as Error).message);
  }
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (o.version) {
    const t = toolIdentity();
    process.stdout.write(`${t.name} ${t.version}${t.commit ? ` (${t.commit.slice(0, 12)})` : ''}\n`);
    return 0;
  }
  if (o['list-emulator-bugs']) {
    for (const b of listEmulatorBugs()) process.stdout.write(`${b.name}\t${b.description}\t[${b.revisions.join(', ')}]\t${b.source}\n`);
    return 0;
  }

  // no --abi: every revision on the emulator, detection on a real kernel
  const abiName = o.abi ?? (o.target === 'emulator' ? 'all' : 'auto');
  const multi = abiName === 'all' || abiName === 'auto';
  if (!multi && !getProfile(abiName)) die(`unknown ABI revision '${abiName}' (known: ${[...PROFILES.keys()].join(', ')}, all, auto)`);
  if (abiName === 'all' && o.target !== 'emulator')
    die('--abi all runs every revision on the emulator; a real kernel implements one (use --abi auto or a name)');

  const known = new Set(listEmulatorBugs().map((b) => b.name));
  for (const b of o['emulator-bug']) if (!known.has(b)) die(`unknown emulator bug '${b}' (see --list-emulator-bugs)`);
  if (o['emulator-bug'].length && o.target !== 'emulator') die('--emulator-bug needs --target emulator');

  let callTimeoutMs = DEFAULT_CALL_TIMEOUT_MS;
  if (o.timeout !== undefined) {
    callTimeoutMs = parseTimeoutMs(o.timeout) ?? die(`--timeout takes a whole number of milliseconds from 1 to ${2 ** 31 - 1}, not '${printable(o.timeout)}'`);
  }
  const clash = conflict(o);
  if (clash) die(clash);

  // Every output is checked (and a previous report removed) before anything runs.
  if (!o.list) {
    try {
      if (o.junit) checkOutputFile(o.junit, '--junit');
      if (o.json) checkOutputFile(o.json, '--json');
      for (const m of o.matrix) checkOutputFile(m, '--matrix');
      if (o.trace) o.trace = checkOutputDir(o.trace, '--trace');
    } catch (e) {
      if (e instanceof OutputError) die(e.message);
      throw e;
    }
  }

  // Loaded here, not imported at the top, so a malformed scenario file is one clear line (exit 2).
  let ALL_CHECKS: CheckDef[];
  try {
    ALL_CHECKS = (await import('../../checks/index.ts')).ALL_CHECKS;
  } catch (e) {
    if (e instanceof ScenarioError) die(e.message);
    throw e;
  }
  if (o.baseline !== undefined) {
    // A bad baseline is one line before anything runs; an entry naming no check is only a warning (a typo, or a check since renamed).
    let entries;
    try {
      entries = loadBaseline(o.baseline);
    } catch (e) {
      if (e instanceof BaselineError) die(e.message);
      throw e;
    }
    const names = [...PROFILES.values()].flatMap((p) => applicable(ALL_CHECKS, p).map((c) => ({ abi: p.name, name: c.name })));
    for (const e of unmatchedEntries(entries, names)) process.stderr.write(`run.sh: warning: ${e.where}: "${printable(e.check)}" matches no check\n`);
  }
  const filters = args.positionals;
  const targetOpts: TargetOptions = {
    abi: getProfile('rfc-v1')!,
    bugs: o['emulator-bug'],
    ...real,
  };
  // One pipeline for a revision, every revision or a detected one: plan -> run -> report (harness/core/run/).
  const { makePlan, noMatch } = await import('../core/run/plan.ts');
  try {
    const plan = await makePlan({
      abiName,
      allChecks: ALL_CHECKS,
      filters,
      targetSpec: o.target,
      targetOpts,
      allowCrash: o['allow-crash'],
      callTimeoutMs,
      list: o.list,
    });
    if (typeof plan === 'number') return plan;
    if (o.list) {
      const lines = listLines({
        profiles: plan.profiles,
        allChecks: plan.allChecks,
        filters,
        kind: targetKindOf(o.target),
        allowCrash: o['allow-crash'],
        verbose: o.verbose,
      });
      if (filters.length && lines.length === 0) die(noMatch(plan));
      for (const l of lines) process.stdout.write(`${l}\n`);
      return 0;
    }
    const { runPlan } = await import('../core/run/run.ts');
    const { report } = await import('../core/run/report.ts');
    const result = await runPlan(plan, {
      junit: o.junit,
      json: o.json,
      matrix: o.matrix,
      traceDir: o.trace,
      baselinePath: o.baseline,
      ktap: o.ktap,
      ...(o.kernel && isDir(o.kernel) ? { kernelDir: o.kernel } : {}),
    });
    if (typeof result === 'number') return result;
    return report(plan, result);
  } catch (e) {
    if (e instanceof TargetWithoutKvm) {
      // As the KVM selftests do without /dev/kvm: a skip, with the reason, not a usage error.
      process.stdout.write(ktapSkipAll(e.message));
      process.stderr.write(`run.sh: ${e.message}\n`);
      return 4;
    }
    if (e instanceof TargetSetupError || e instanceof BaselineError) die(e.message);
    throw e;
  }
}

const isMain = import.meta.url === `file://${String(process.argv[1])}` || process.argv[1]?.endsWith('harness/tools/cli.ts');
if (isMain) {
  // A closed stdout (`./run.sh --list | head`) ends the run quietly, as SIGPIPE ends a C tool.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      if (!isInterrupted()) process.exitCode = code;
    },
    (e: unknown) => {
      if (isInterrupted()) return; // the signal handler prints its line and exits
      if (e instanceof OutputError) {
        process.stderr.write(`run.sh: ${e.message}\n`);
        process.exitCode = 2;
        return;
      }
      process.stderr.write(`run.sh: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}

function targetKindOf(spec: string): TargetKind {
  return spec === 'emulator' ? 'emulator' : spec === 'qemu' ? 'qemu' : 'ssh';
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
