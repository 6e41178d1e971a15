// Exploration proving itself: the emulator with one catalogued bug switch on
// (emulator/bugs.ts) against the emulator without it. A switch exploration
// finds is a difference it can plant and see; bench/explore.ts times it,
// test/explore.test.ts holds it to a fixed budget and seed.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getProfile } from '../../../profiles/index.ts';
import type { AbiName } from '../../../profiles/types.ts';
import { emulatorBugs, type BugInfo } from '../../core/targets/emulator.ts';
import { EmulatorTarget } from '../../core/targets/emulator.ts';
import { emulatorOptions } from '../../core/targets/index.ts';
import type { EmulatorSettings } from '../../core/engine.ts';
import { launchOrders } from './gen.ts';
import { explore, type Budget, type ExploreResult, type Pair } from './run.ts';
import { saveFound } from './save.ts';
import { runCheck } from '../../core/engine.ts';
import { replayCalls } from '../replay.ts';
import { loadScenarioFile, scenarioCheck } from '../../core/steps.ts';
import { readTrace } from '../trace.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * Switches only a host of another kind shows. The kernel's host is not
 * something a VMM's calls change: a switch on a path only a host without an
 * RMM (or with AArch32 EL1) takes needs that host, which exploration gets
 * with its own setting (both sides), as a real run would get a kernel booted
 * that way; the saved trace carries the setting.
 */
export const HOST_SETTINGS: Partial<Record<string, EmulatorSettings>> = {
  // KVM_CREATE_VM(realm) is refused at once when no RMM answered at boot (V14-VM2)
  'realm-no-rmi-eperm': { rmmPresent: false },
  // a VM can be AArch32 only on a host whose CPUs run AArch32 at EL1 (G10); QEMU's -cpu max does
  'vcpu-mixed-width-allowed': { hostEl1_32bit: true },
};

/**
 * Switches exploration cannot see, with the reason (the suite's own checks
 * catch them: emulator/bugs.ts names the expectation each breaks).
 */
export const UNREACHABLE: Partial<Record<string, string>> = {}; // none: every switch is found (docs/explore.md)

/**
 * Switches the generator does not reach yet, though a sequence could: an open
 * gap of the generator, not of the uAPI (the suite's checks catch them).
 */
export const NOT_FOUND_YET: Partial<Record<string, string>> = {}; // none left

/** The revision a switch is explored on: its newest (the one most checks and VMMs target). */
export function bugRevision(b: BugInfo): AbiName {
  return b.revisions[b.revisions.length - 1]!;
}

export interface PlantedResult {
  bug: string;
  abi: AbiName;
  found: boolean;
  /** Wall time until the difference was seen (before shrinking). */
  ms: number;
  calls: number;
  sequences: number;
  result: ExploreResult;
}

/** Explore `abi` with `bug` switched on in the target; the reference has no switch. */
export async function explorePlanted(bug: string, abi: AbiName, seed: number, budget: Budget): Promise<PlantedResult> {
  const p = getProfile(abi);
  if (!p) throw new Error(`unknown revision ${abi}`);
  const host = emulatorOptions(HOST_SETTINGS[bug]);
  const pair: Pair = {
    abi: p,
    target: new EmulatorTarget({ abi: p, bugs: [bug], ...host }),
    reference: new EmulatorTarget({ abi: p, bugs: [], ...host }),
    exact: true,
    callTimeoutMs: 5000,
  };
  let foundAt: { ms: number; calls: number; sequences: number } | undefined;
  const t0 = performance.now();
  const result = await explore(pair, launchOrders(p, ROOT), {
    seed,
    budget,
    onFirstDifference: (r) => {
      foundAt = { ms: performance.now() - t0, calls: r.calls, sequences: r.sequences };
    },
  });
  return {
    bug,
    abi,
    found: result.found !== undefined,
    ms: foundAt?.ms ?? result.ms,
    calls: foundAt?.calls ?? result.calls,
    sequences: foundAt?.sequences ?? result.sequences,
    result,
  };
}

export const BUGS = emulatorBugs();

export interface RoundTrip {
  /** The saved scenario, run as a check: fails with the switch on, passes with it off. */
  failsWithBug: boolean;
  passesWithout: boolean;
  /** The saved trace, replayed with the switch on: every call gives its recorded result. */
  replays: boolean;
  files: { trace: string; scenario: string };
}

/** Save a planted find (a trace and a scenario in `dir`) and check both come back. */
export async function roundTrip(r: PlantedResult, dir: string): Promise<RoundTrip> {
  const f = r.result.found;
  if (!f) throw new Error(`${r.bug}: nothing found`);
  const p = getProfile(r.abi);
  if (!p) throw new Error(`unknown revision ${r.abi}`);
  const settings = HOST_SETTINGS[r.bug] ?? {};
  const host = emulatorOptions(settings);
  const target = new EmulatorTarget({ abi: p, bugs: [r.bug], ...host });
  const identity = await target.start();
  const files = saveFound(dir, f.run, {
    abi: p,
    seed: f.seed,
    path: f.path,
    command: `explore --abi ${r.abi} --emulator-bug ${r.bug}`,
    identity,
    bugs: [r.bug],
    settings,
  });
  const check = scenarioCheck(loadScenarioFile(files.scenario), 'scenario', 'scenario');
  const judge = async (bugs: string[]): Promise<string> => {
    const t = new EmulatorTarget({ abi: p, bugs, ...host });
    const o = await runCheck(check, { abi: p, target: t, targetKind: 'emulator', allowCrash: true, callTimeoutMs: 5000, checkTimeoutMs: 60_000 });
    return o.status;
  };
  const trace = readTrace(files.trace);
  const session = await new EmulatorTarget({ abi: p, bugs: trace.emulator?.bugs ?? [], ...emulatorOptions(trace.emulator?.settings) }).session();
  const replay = await replayCalls(trace, session, p);
  await session.close();
  return { failsWithBug: (await judge([r.bug])) === 'fail', passesWithout: (await judge([])) === 'pass', replays: replay.diffs.length === 0, files };
}
