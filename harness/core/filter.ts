// Check selection: every name the suite prints (`REV/area/check`, or
// `area/check`) is accepted back as a filter, exactly as printed. One glob
// implementation (picomatch) serves filters and baselines, so what selects a
// check on the command line selects it in a baseline file too.
import picomatch from 'picomatch';

const GLOB_CHARS = /[*?[\]{}()!+@]/;

/**
 * A name pattern: a glob when it has glob characters (`*` also crosses `/`,
 * as it always did here), else a substring. It matches a check when it
 * matches the full printed name `REV/area/check` or the name without the
 * revision.
 */
export function namePattern(pattern: string): (name: string) => boolean {
  if (!GLOB_CHARS.test(pattern)) return (name) => name.includes(pattern);
  // bash: a single star is a globstar, so `misordering*` also matches `misordering/x`.
  const m = picomatch(pattern, { bash: true, dot: true });
  return (name) => m(name);
}

/** A glob that must match the whole string (baseline kernel releases, check names). */
export function wholeGlob(pattern: string): (s: string) => boolean {
  return picomatch(pattern, { bash: true, dot: true });
}

export class CheckFilter {
  private readonly include: ((n: string) => boolean)[];
  private readonly exclude: ((n: string) => boolean)[];

  /**
   * `!pattern` excludes; no positive pattern selects every check. A plain
   * pattern that is exactly the name of one of `names` (full or short)
   * selects that check alone, so a pasted `v10/populate/one-page` does not
   * also run `populate/one-page-twice`.
   */
  constructor(
    readonly patterns: readonly string[],
    names: ReadonlySet<string> = new Set(),
  ) {
    const one = (p: string): ((n: string) => boolean) => (!GLOB_CHARS.test(p) && names.has(p) ? (n) => n === p : namePattern(p));
    this.include = patterns.filter((p) => !p.startsWith('!')).map(one);
    this.exclude = patterns.filter((p) => p.startsWith('!') && p.length > 1).map((p) => one(p.slice(1)));
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  matches(abi: string, name: string): boolean {
    const full = `${abi}/${name}`;
    const hit = (f: (n: string) => boolean): boolean => f(full) || f(name);
    if (this.exclude.some(hit)) return false;
    return this.include.length === 0 || this.include.some(hit);
  }
}

/** The checks of revision `abi` that `patterns` select, in their order. */
export function selectChecks<T extends { name: string }>(abi: string, checks: readonly T[], patterns: readonly string[]): T[] {
  if (patterns.length === 0) return [...checks];
  const names = new Set(checks.flatMap((c) => [c.name, `${abi}/${c.name}`]));
  const f = new CheckFilter(patterns, names);
  return checks.filter((c) => f.matches(abi, c.name));
}
