// Recordings of real CCA stacks (fixtures/real-kernel/<stack>/): what a real
// kernel + RMM answered to the suite's own calls. Each folder carries a
// stack.json that says what the stack was, which emulator RMM model stands for
// each recording, and which recorded results the emulator is allowed to
// differ on (with the reason). A new stack is a new folder; nothing else to
// register. stack.json is input from outside: every field is checked and a
// bad one is one clear line (RealStackError).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ABI_NAMES, type AbiName } from '../../profiles/types.ts';
import { isRmmModel, RMM_MODELS, type RmmModel } from '../core/targets/emulator.ts';
import type { EmulatorSettings } from '../core/engine.ts';

export const STACK_FORMAT = 'kvm-cca-real-stack/1';

export class RealStackError extends Error {}

/** One recording: a folder of traces taken on the stack with one configuration. */
export interface Recording {
  name: string;
  /** Folder of trace files, relative to the stack folder. */
  traces: string;
  /** The emulator RMM model that stands for this recording's RMM (emulator/rmm.ts RMM_MODELS). */
  rmm: RmmModel;
  /** What the recording is, in a line. */
  description: string;
}

/** A recorded result the emulator is allowed to differ on. */
export interface KnownDifference {
  recording: string;
  /** Trace file name inside the recording's folder. */
  trace: string;
  /** The call's seq in the trace. */
  call: number;
  reason: string;
}

export interface RealStack {
  /** Folder name, e.g. cca-host-v7. */
  name: string;
  dir: string;
  abi: AbiName;
  stack: { kernel: string; rmm: string; firmware: string; vmm: string };
  recordings: Recording[];
  differences: KnownDifference[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(o: Record<string, unknown>, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v === '') throw new RealStackError(`${where}: "${k}" must be a non-empty string`);
  return v;
}

/** A plain name inside the stack folder: no separators, no "..". */
function plainName(v: string, where: string): string {
  if (v.includes('/') || v.includes('\\') || v === '.' || v === '..') throw new RealStackError(`${where}: "${v}" must be a plain name inside the stack folder`);
  return v;
}

export function parseStack(text: string, dir: string, name: string): RealStack {
  const where = join(dir, 'stack.json');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RealStackError(`${where}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObj(v)) throw new RealStackError(`${where}: must be a JSON object`);
  if (v.format !== STACK_FORMAT) throw new RealStackError(`${where}: "format" must be "${STACK_FORMAT}"`);
  const abi = str(v, 'abi', where);
  if (!(ABI_NAMES as readonly string[]).includes(abi)) throw new RealStackError(`${where}: unknown ABI revision "${abi}"`);
  if (!isObj(v.stack)) throw new RealStackError(`${where}: "stack" must be an object`);
  const st = v.stack;
  const stack = { kernel: str(st, 'kernel', where), rmm: str(st, 'rmm', where), firmware: str(st, 'firmware', where), vmm: str(st, 'vmm', where) };
  if (!Array.isArray(v.recordings) || v.recordings.length === 0) throw new RealStackError(`${where}: "recordings" must be a non-empty array`);
  const recordings = v.recordings.map((r, i): Recording => {
    const w = `${where}: recordings[${i}]`;
    if (!isObj(r)) throw new RealStackError(`${w} must be an object`);
    const rmm = str(r, 'rmm', w);
    if (!isRmmModel(rmm)) throw new RealStackError(`${w}: "rmm" must be one of ${RMM_MODELS.join(', ')}`);
    const traces = plainName(str(r, 'traces', w), w);
    if (!existsSync(join(dir, traces)) || !statSync(join(dir, traces)).isDirectory()) throw new RealStackError(`${w}: no folder "${traces}"`);
    return { name: str(r, 'name', w), traces, rmm, description: str(r, 'description', w) };
  });
  const names = new Set(recordings.map((r) => r.name));
  if (names.size !== recordings.length) throw new RealStackError(`${where}: recording names must be unique`);
  const diffs = v.differences ?? [];
  if (!Array.isArray(diffs)) throw new RealStackError(`${where}: "differences" must be an array`);
  const differences = diffs.map((d, i): KnownDifference => {
    const w = `${where}: differences[${i}]`;
    if (!isObj(d)) throw new RealStackError(`${w} must be an object`);
    const recording = str(d, 'recording', w);
    if (!names.has(recording)) throw new RealStackError(`${w}: no recording "${recording}"`);
    const call = d.call;
    if (typeof call !== 'number' || !Number.isInteger(call) || call < 1) throw new RealStackError(`${w}: "call" must be a call's seq (an integer >= 1)`);
    return { recording, trace: plainName(str(d, 'trace', w), w), call, reason: str(d, 'reason', w) };
  });
  return { name, dir, abi: abi as AbiName, stack, recordings, differences };
}

/** The emulator settings that make its RMM the named model: 'era' is the revision's default RMM (emulator/README.md). */
export function rmmModelSettings(m: RmmModel): EmulatorSettings {
  return m === 'accepts-zero-debug-counts' ? { rmmZeroDebugCounts: 'accept' } : {};
}

/** Every stack folder under `root` (a folder with a stack.json), sorted by name. */
export function loadStacks(root: string): RealStack[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'stack.json')))
    .map((e) => e.name)
    .sort()
    .map((n) => parseStack(readFileSync(join(root, n, 'stack.json'), 'utf8'), join(root, n), n));
}

/** The trace files of one recording, sorted. */
export function recordingTraces(s: RealStack, r: Recording): string[] {
  return readdirSync(join(s.dir, r.traces))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(s.dir, r.traces, f));
}
