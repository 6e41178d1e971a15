// --list: the checks a run would execute, named exactly as TAP, the summary and
// the matrix print them (so each line pastes back as a filter), with -v their
// description, sources and todo/skip status.
import type { AbiProfile } from '../../profiles/types.ts';
import { applicable, skipReason, type CheckDef } from '../core/engine.ts';
import { selectChecks } from '../core/filter.ts';
import type { TargetKind } from '../core/target.ts';

export interface ListOptions {
  profiles: readonly AbiProfile[];
  allChecks: readonly CheckDef[];
  filters: readonly string[];
  kind: TargetKind;
  allowCrash: boolean;
  verbose: boolean;
}

/** The listing's lines; none when the filters match nothing. */
export function listLines(o: ListOptions): string[] {
  const out: string[] = [];
  for (const abi of o.profiles) {
    for (const c of selectChecks(abi.name, applicable(o.allChecks, abi), o.filters)) {
      const skip = skipReason(c, abi, o.kind, o.allowCrash);
      const todo = c.expects.map((k) => abi.expect[k]?.unconfirmed).find((x) => x);
      out.push(`${abi.name}/${c.name}${skip ? `  # SKIP ${skip}` : todo ? `  # TODO ${todo}` : ''}`);
      if (!o.verbose) continue;
      out.push(`    ${c.description}`);
      const sources = [...new Set(c.expects.map((k) => abi.expect[k]?.source).filter((s): s is string => !!s))];
      for (const s of sources) out.push(`    source: ${s}`);
    }
  }
  return out;
}
