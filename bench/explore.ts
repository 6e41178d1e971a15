// Exploration's figures: calls/s on the emulator (the target against the
// reference, no bug switch) and time-to-find per catalogued bug switch (the
// emulator with the switch against the emulator without it), fixed seed.
//   npx tsx bench/explore.ts [--seconds N] [--budget CALLS] [--seed N] [--abi REV[,REV...]] [--no-rate] [--no-find] [BUG...]
// --abi limits the calls/s figures to those revisions (default: every revision).
// Figures only; nothing is asserted (test/explore.test.ts holds the finds to a budget).
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { getProfile } from '../profiles/index.ts';
import { ABI_NAMES } from '../profiles/types.ts';
import { EmulatorTarget } from '../harness/core/targets/emulator.ts';
import { launchOrders } from '../harness/tools/explore/gen.ts';
import { explore } from '../harness/tools/explore/run.ts';
import { BUGS, bugRevision, explorePlanted, ROOT, UNREACHABLE } from '../harness/tools/explore/planted.ts';

const { values: v, positionals } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    budget: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    abi: { type: 'string' },
    'no-rate': { type: 'boolean', default: false },
    'no-find': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const seed = Number(v.seed);
const say = (l: string): void => void process.stdout.write(`${l}\n`);
say(
  `# load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} on this host (the figures scale with it)`,
);

if (!v['no-rate'] && positionals.length === 0) {
  say('# calls/s: the target and the reference emulator in lock-step, no difference; a call is one request to the target (the reference gets the same one)');
  const names = v.abi?.split(',') ?? ABI_NAMES;
  for (const name of names) {
    const abi = getProfile(name);
    if (!abi) {
      process.stderr.write(`bench/explore.ts: unknown revision '${name}' (known: ${ABI_NAMES.join(', ')})\n`);
      process.exit(2);
    }
    const pair = { abi, target: new EmulatorTarget({ abi }), reference: new EmulatorTarget({ abi }), exact: true, callTimeoutMs: 5000 };
    // warm up the JIT on this revision's code paths (another seed, not counted): the figure is the steady rate
    await explore(pair, launchOrders(abi, ROOT), { seed: seed + 1000, budget: { calls: 1000 } });
    const cpu0 = process.cpuUsage();
    const r = await explore(pair, launchOrders(abi, ROOT), {
      seed,
      budget: { ms: Number(v.seconds) * 1000 },
    });
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    // per CPU second too: on a shared machine the wall-clock rate is the load's figure as much as ours
    say(
      `rate ${name.padEnd(7)} ${String(Math.round((r.calls * 1000) / r.ms)).padStart(6)} calls/s wall, ${String(Math.round(r.calls / cpuS)).padStart(6)} calls per CPU second  (${r.calls} calls, ${r.sequences} sequences, ${(r.ms / 1000).toFixed(1)}s wall, ${cpuS.toFixed(1)}s CPU${r.found ? ', DIFFERENCE FOUND' : ''})`,
    );
  }
}

if (v['no-find']) process.exit(0);
say(`# time-to-find: each switch on its newest revision, seed ${seed}, budget ${v.budget} calls`);
let found = 0;
const bugs = BUGS.filter((b) => positionals.length === 0 || positionals.includes(b.name));
for (const b of bugs) {
  const abi = bugRevision(b);
  if (UNREACHABLE[b.name]) {
    say(`unreachable ${b.name}: ${String(UNREACHABLE[b.name])}`);
    continue;
  }
  const r = await explorePlanted(b.name, abi, seed, { calls: Number(v.budget) });
  if (r.found) found++;
  const steps = r.result.found?.run.executed.length;
  say(
    `${r.found ? 'found    ' : 'NOT FOUND'} ${b.name.padEnd(40)} ${abi.padEnd(7)} ${(r.ms / 1000).toFixed(2).padStart(7)}s ${String(r.calls).padStart(7)} calls ${String(r.sequences).padStart(5)} seqs${steps ? `  -> ${steps} steps` : ''}`,
  );
}
say(`# ${found} of ${bugs.length} switches found (${bugs.filter((b) => UNREACHABLE[b.name]).length} unreachable)`);
