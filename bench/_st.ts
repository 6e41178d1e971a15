import { getProfile } from '../profiles/index.ts';
import { EmulatorTarget } from '../harness/core/targets/emulator.ts';
import { launchOrders, sequenceArb } from '../harness/tools/explore/gen.ts';
import { runSequence } from '../harness/tools/explore/run.ts';
import * as steps from '../harness/core/steps.ts';
import fc from 'fast-check';
const abi = getProfile(process.argv[2] ?? 'v10')!;
const p = { abi, target: new EmulatorTarget({ abi }), reference: new EmulatorTarget({ abi }), exact: true, callTimeoutMs: 5000 };
const orders = launchOrders(abi, process.cwd());
const seqs = fc.sample(sequenceArb(abi, orders), { seed: 1, numRuns: 300 });
Error.stackTraceLimit = 0;
const per = new Map<string, [number, number]>();
let calls = 0;
const t0 = performance.now();
for (const s of seqs) {
  const r = await runSequence(p, s);
  calls += r.calls.length;
}
const ms = performance.now() - t0;
console.log(`${calls} calls ${ms.toFixed(0)}ms ${((calls / ms) * 1000).toFixed(0)}/s`);
// per step kind: time of single-step sequences after their prefix is unknowable cheaply; time whole runs by the kinds they contain
for (const s of seqs.slice(0, 300)) {
  const t = performance.now();
  await runSequence(p, s);
  const d = performance.now() - t;
  for (const k of new Set(s.map((x) => x.do))) {
    const e = per.get(k) ?? [0, 0];
    e[0] += d;
    e[1]++;
    per.set(k, e);
  }
}
for (const [k, [d, n]] of [...per].sort((a, b) => b[1][0] / b[1][1] - a[1][0] / a[1][1])) console.log(k, n, (d / n).toFixed(2));
steps;
