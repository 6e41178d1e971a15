// Every check of the suite, by area.
import type { CheckDef } from '../harness/engine.ts';
import { checks as probing } from './probing.ts';
import { checks as lifecycle } from './lifecycle.ts';
import { checks as misordering } from './misordering.ts';
import { checks as config } from './config.ts';
import { checks as ipaRanges } from './ipa-ranges.ts';
import { checks as populate } from './populate.ts';
import { checks as vcpu } from './vcpu.ts';
import { checks as run } from './run.ts';
import { checks as generic } from './generic.ts';
import { checks as absent } from './absent.ts';
import { checks as mux } from './mux.ts';
import { checks as rmi } from './rmi.ts';
import { checks as scenarios } from './scenarios.ts';
import { checks as observe } from './observe.ts';

export const ALL_CHECKS: CheckDef[] = [...generic, ...probing, ...lifecycle, ...misordering, ...config, ...ipaRanges, ...populate, ...vcpu, ...run, ...absent, ...scenarios, ...mux, ...rmi, ...observe];

const seen = new Set<string>();
for (const c of ALL_CHECKS) {
  if (seen.has(c.name)) throw new Error(`duplicate check name ${c.name}`);
  seen.add(c.name);
}
