// Scenario files: the JSON format (a list of steps, each one uAPI call with its
// expected result per revision), its validation and loading. Outside files are
// untrusted: every field is checked before a step is run (harness/core/steps.ts runs them).
import { lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AbiName, ExpectKey, Generation } from '../../profiles/types.ts';
import { EXPECT_KEYS } from '../../profiles/keys.ts';
import { ABI_NAMES } from '../../profiles/types.ts';
import type { Area } from './engine.ts';
import { isErrnoName, type ErrnoName } from '../../uapi/errno.ts';
import * as K from '../../uapi/kvm-uapi.ts';
import { jsonErrorAt } from '../tools/json-error.ts';
import { MAX_MAP_LEN, printable } from './policy.ts';
import { systemOffHvc, systemOffSmc, mmioStoreThenOff } from '../../fixtures/payloads.ts';

/**
 * The profile's expectation key ("config.after-create": the running revision's
 * profile says what the call returns, with its source); or "ok", an errno name,
 * or a pinned return value (older files, and results no key describes).
 */
export type StepExpect = 'ok' | ExpectKey | ErrnoName | { ret: number };

export type Step = {
  do: string;
  /** Default "ok". A map gives the result per ABI name (or "*" for the rest). */
  expect?: StepExpect | Partial<Record<AbiName | '*', StepExpect>>;
  /** Why the step is there: shown in failures. */
  why?: string;
} & Record<string, unknown>;

export interface ScenarioFile {
  name: string;
  description: string;
  /** Where the order or the report comes from (mail id, repo@commit:path, spec row). */
  source: string;
  area?: Area;
  /** Revisions it applies to (names), or generations. */
  abi?: AbiName[];
  generations?: Generation[];
  steps: Step[];
}

export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

export const PAYLOADS: Record<string, () => Uint8Array> = {
  'system-off-smc': systemOffSmc,
  'system-off-hvc': systemOffHvc,
  'mmio-store-then-off': () => mmioStoreThenOff(),
};

export const FEATURES: Record<string, number> = {
  POWER_OFF: K.KVM_ARM_VCPU_POWER_OFF,
  EL1_32BIT: K.KVM_ARM_VCPU_EL1_32BIT,
  PSCI_0_2: K.KVM_ARM_VCPU_PSCI_0_2,
  PMU_V3: K.KVM_ARM_VCPU_PMU_V3,
  SVE: K.KVM_ARM_VCPU_SVE,
};

/** Each step's arguments, validated before anything runs: name → required args. */
export const STEP_ARGS: Record<string, readonly string[]> = {
  check_extension: ['cap'],
  create_vm: [],
  memslot: ['slot', 'gpa', 'size'],
  write_guest: ['gpa', 'payload'],
  config: ['item'],
  create_rd: [],
  init_ipa: ['base', 'size'],
  populate: ['base', 'size'],
  activate: [],
  create_vcpu: ['id'],
  vcpu_init: ['vcpu'],
  set_pc: ['vcpu', 'pc'],
  finalize_rec: ['vcpu'],
  run: ['vcpu'],
  // RMI era and guest_memfd (v2+)
  private_memslot: ['slot', 'gpa', 'size'],
  vgic: [],
  rmi_populate: ['base', 'size'],
  // single calls with raw arguments (exploration's regression scenarios, harness/tools/explore/)
  rmi_populate_once: ['base', 'size'],
  enable_cap: ['cap'],
  psci_complete: ['vcpu'],
  sve_vls: ['vcpu', 'vqs'],
};

export function num(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v)) {
    const n = Number(v);
    if (Number.isSafeInteger(n)) return n;
  }
  throw new ScenarioError(`${what} must be an integer (number or "0x..." string)`);
}

export function bigNum(v: unknown, what: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v)) return BigInt(v);
  throw new ScenarioError(`${what} must be an integer (number or "0x..." string)`);
}

export const isExpectKey = (x: string): x is ExpectKey => Object.hasOwn(EXPECT_KEYS, x);

function checkExpect(e: unknown, where: string): void {
  const one = (x: unknown): void => {
    if (x === 'ok') return;
    if (typeof x === 'string' && (isErrnoName(x) || isExpectKey(x))) return;
    if (typeof x === 'object' && x !== null && typeof (x as { ret?: unknown }).ret === 'number') return;
    throw new ScenarioError(`${where}: expect must be an expectation key (config.after-create, ...), "ok", an errno name (EINVAL, ...) or {"ret": N}`);
  };
  if (e === undefined) return;
  if (typeof e === 'object' && e !== null && !('ret' in e)) {
    for (const [k, v] of Object.entries(e)) {
      if (k !== '*' && !(ABI_NAMES as readonly string[]).includes(k)) throw new ScenarioError(`${where}: unknown ABI name "${k}" in expect`);
      one(v);
    }
  } else one(e);
}

/** Validate a parsed scenario; errors name the step. */
export function validateScenario(v: unknown): ScenarioFile {
  if (typeof v !== 'object' || v === null) throw new ScenarioError('a scenario must be a JSON object');
  const s = v as Partial<ScenarioFile>;
  for (const f of ['name', 'description', 'source'] as const) {
    if (typeof s[f] !== 'string' || !s[f]) throw new ScenarioError(`missing "${f}"`);
    // These reach TAP, JUnit and HTML: a newline or control character could forge a TAP line.
    if (/[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(s[f])) throw new ScenarioError(`"${f}" has a control character or newline: ${printable(s[f])}`);
  }
  if (!SCENARIO_NAME.test(s.name!)) throw new ScenarioError(`"name" ${JSON.stringify(s.name)} must be letters, digits, '.', '_' or '-' (at most 80)`);
  if (!Array.isArray(s.steps) || s.steps.length === 0) throw new ScenarioError('"steps" must be a non-empty array');
  if (s.abi) for (const a of s.abi) if (!(ABI_NAMES as readonly string[]).includes(a)) throw new ScenarioError(`unknown ABI name "${a}"`);
  // The file is untrusted: a step is whatever JSON holds until checked.
  (s.steps as unknown[]).forEach((raw, i) => {
    const where = `step ${i + 1}`;
    if (typeof raw !== 'object' || raw === null || typeof (raw as { do?: unknown }).do !== 'string') throw new ScenarioError(`${where}: needs "do"`);
    const st = raw as Step;
    const req = STEP_ARGS[st.do];
    if (!req) throw new ScenarioError(`${where}: unknown step "${st.do}" (known: ${Object.keys(STEP_ARGS).join(', ')})`);
    for (const a of req) if (st[a] === undefined) throw new ScenarioError(`${where} (${st.do}): missing "${a}"`);
    if (st.do === 'write_guest' && !PAYLOADS[String(st.payload)])
      throw new ScenarioError(`${where}: unknown payload "${String(st.payload)}" (known: ${Object.keys(PAYLOADS).join(', ')})`);
    checkExpect(st.expect, where);
    // Memory the step maps: no bigger than the policy lets a program map.
    if (st.do === 'memslot' || st.do === 'private_memslot') {
      const size = num(st.size, `${where} (${st.do}) size`);
      if (size < 1 || size > MAX_MAP_LEN) throw new ScenarioError(`${where} (${st.do}): size ${size} is outside 1..${MAX_MAP_LEN}`);
    }
  });
  return s as ScenarioFile;
}

/** Parse and validate a scenario file; errors carry the file, and the line where JSON locates it. */
const SCENARIO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

export function loadScenarioFile(path: string): ScenarioFile {
  let text: string;
  try {
    const st = statSync(path); // follows links: a dangling one is ENOENT
    if (!st.isFile()) throw new ScenarioError(`${path}: not a regular file (${st.isDirectory() ? 'a directory' : 'a special file'})`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    const dangling = code === 'ENOENT' && lstatExists(path);
    throw new ScenarioError(`${path}: cannot read (${dangling ? 'a dangling symbolic link' : code})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const at = jsonErrorAt(text, e); // one line, with the line number V8 does not always give
    throw new ScenarioError(`${path}${at.line ? `:${at.line}` : ''}: not valid JSON (${at.message})`);
  }
  try {
    return validateScenario(parsed);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const stepNo = /^step (\d+)/.exec(msg);
    const line = stepNo ? lineOfStep(text, Number(stepNo[1])) : undefined;
    throw new ScenarioError(`${path}${line ? `:${line}` : ''}: ${msg}`);
  }
}

function lineOfStep(text: string, n: number): number | undefined {
  let count = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (/"do"\s*:/.test(lines[i] ?? '') && ++count === n) return i + 1;
  return undefined;
}

export function loadScenarioDir(dir: string): ScenarioFile[] {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch {
    return [];
  }
  const out = names.map((n) => loadScenarioFile(join(dir, n)));
  const seen = new Map<string, string>();
  names.forEach((n, i) => {
    const name = out[i]!.name;
    const other = seen.get(name);
    if (other) throw new ScenarioError(`${join(dir, n)}: scenario name "${name}" is also the name in ${join(dir, other)}`);
    seen.set(name, n);
  });
  return out;
}

function lstatExists(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
