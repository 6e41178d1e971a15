// How many checks the engine's "and afterwards" observation covers (issue 13
// item 1): per revision on the reference emulator, the checks that expect a
// refusal, how many of them carry an afterwards assertion, and which calls
// were not observed (a refused KVM_CREATE_VM made nothing to look at).
// Usage: node --import tsx bench/afterwards-coverage.ts
import { ALL_REVISIONS, PROFILES } from '../profiles/index.ts';
import { applicable, runChecks } from '../harness/core/engine.ts';
import { createTargetSync } from '../harness/core/targets/index.ts';
import { ALL_CHECKS } from '../checks/index.ts';

let refusing = 0;
let observed = 0;
let todo = 0;
const unobserved = new Map<string, number>();
console.log('revision  refusing  observed  todo');
for (const n of ALL_REVISIONS) {
  const abi = PROFILES.get(n)!;
  const target = createTargetSync('emulator', { abi, bugs: [] });
  await target.start();
  const t0 = performance.now();
  const out = await runChecks(applicable(ALL_CHECKS, abi), {
    abi,
    target,
    targetKind: 'emulator',
    allowCrash: false,
    callTimeoutMs: 5000,
    checkTimeoutMs: 30000,
    targetFor: (s) => createTargetSync('emulator', { abi, bugs: [], emulatorSettings: s }),
  });
  await target.stop();
  let r = 0;
  let o = 0;
  let td = 0;
  for (const c of out) {
    const refusal = c.assertions.find((a) => a.expected && a.expected.errno !== '0');
    if (!refusal) continue;
    if (c.status === 'todo') {
      td++;
      continue;
    }
    r++;
    if (c.assertions.some((a) => a.message.startsWith('afterwards:'))) o++;
    else {
      const call = (refusal.call ?? '?').replace(/\(.*/, '');
      unobserved.set(call, (unobserved.get(call) ?? 0) + 1);
    }
  }
  refusing += r;
  observed += o;
  todo += td;
  console.log(`${n.padEnd(8)}  ${String(r).padStart(8)}  ${String(o).padStart(8)}  ${String(td).padStart(4)}   (${Math.round(performance.now() - t0)} ms)`);
}
console.log(`all       ${String(refusing).padStart(8)}  ${String(observed).padStart(8)}  ${String(todo).padStart(4)}`);
console.log(`not observed, by refused call: ${[...unobserved].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
