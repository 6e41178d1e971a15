// Stimulus tables (the cca-rmm-acs model): a check that is one call in one
// state is a row {name, state, args, expect}; the file that owns the call
// says how to reach each state and how to make the call. Checks whose point a
// row would hide stay functions (see `check`).
import type { ExpectKey } from '../profiles/types.ts';
import type { CallResult } from '../harness/core/calls.ts';
import type { Area, CheckContext, CheckDef } from '../harness/core/engine.ts';

/** What a row may add to its check: revision limits, emulator settings, optional vCPU features, more keys it reads. */
export type RowExtra = Partial<Pick<CheckDef, 'abis' | 'generations' | 'emulatorOnly' | 'emulatorSettings' | 'needs'>> & {
  /** Expectations the check also reads (it applies only where all are present). */
  also?: readonly ExpectKey[];
};

export interface Row<S, A> {
  /** The check's name after its area: "populate/<name>". */
  name: string;
  description: string;
  /** The state the call is made in (the file's own vocabulary). */
  state: S;
  /** The stimulus: the call's arguments. */
  args: A;
  /** The profile's expectation for the call. */
  expect: ExpectKey;
  with?: RowExtra;
}

/** One check per row: reach `row.state`, make the call, judge it by `row.expect`. */
export function stimuli<S, A>(
  area: Area,
  eras: Pick<CheckDef, 'generations' | 'abis'>,
  rows: readonly Row<S, A>[],
  call: (c: CheckContext, state: S, args: A) => Promise<CallResult>,
): CheckDef[] {
  return rows.map((r) => {
    const { also, ...extra } = r.with ?? {};
    return {
      name: `${area}/${r.name}`,
      area,
      description: r.description,
      expects: [r.expect, ...(also ?? [])],
      ...eras,
      ...extra,
      async run(c: CheckContext) {
        c.expect(await call(c, r.state, r.args), r.expect);
      },
    };
  });
}

/** A bespoke check: its name is "<area>/<name>". */
export function check(
  area: Area,
  name: string,
  eras: Pick<CheckDef, 'generations' | 'abis'>,
  description: string,
  expects: readonly ExpectKey[],
  run: (c: CheckContext) => Promise<void>,
  extra: Partial<Omit<CheckDef, 'name' | 'area' | 'description' | 'expects' | 'run'>> = {},
): CheckDef {
  return { name: `${area}/${name}`, area, description, expects, ...eras, ...extra, run };
}
