// Wall time of the whole suite on the emulator, as a user runs it (./run.sh,
// process start included), over a few runs. Prints figures; asserts nothing.
//   npx tsx bench/suite.ts [RUNS] [-- extra run.sh args]
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const sep = process.argv.indexOf('--');
const runs = Number(process.argv[2] && process.argv[2] !== '--' ? process.argv[2] : 5);
const extra = sep >= 0 ? process.argv.slice(sep + 1) : [];

const times: number[] = [];
let checks = 0;
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const r = await execa(`${root}/run.sh`, extra, { reject: false, cwd: root });
  times.push(performance.now() - t0);
  checks = r.stdout.split('\n').filter((l) => /^ {2}(not )?ok \d+/.test(l)).length;
  if (r.exitCode !== 0) process.stderr.write(`run ${i + 1}: exit ${r.exitCode ?? r.signal ?? '?'}\n`);
}
times.sort((a, b) => a - b);
const med = times[Math.floor(times.length / 2)] ?? 0;
console.log(
  `./run.sh ${extra.join(' ')}: ${checks} checks; ${runs} runs; min ${(times[0]! / 1000).toFixed(2)}s, median ${(med / 1000).toFixed(2)}s, max ${(times.at(-1)! / 1000).toFixed(2)}s`,
);
