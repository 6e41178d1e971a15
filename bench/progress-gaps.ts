// How long a run stays silent: runs ./run.sh with the given arguments and
// prints the longest gap between two stderr lines, and where it was.
//   npx tsx bench/progress-gaps.ts --target qemu --abi absent
//   KVM_CCA_CACHE=$(mktemp -d) npx tsx bench/progress-gaps.ts --target qemu --abi absent   (a cold cache)
// Prints figures only; no thresholds (harness/tools/progress.ts says a line every 5 s).
import { spawn } from 'node:child_process';

const RUN = new URL('../run.sh', import.meta.url).pathname;
const args = process.argv.slice(2);
const t0 = Date.now();
let last = t0;
let worst = { ms: 0, before: '(start)', after: '' };
let prev = '(start)';
let buf = '';
const child = spawn(RUN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
child.stderr.on('data', (c: Buffer) => {
  buf += c.toString();
  let i: number;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const now = Date.now();
    if (now - last > worst.ms) worst = { ms: now - last, before: prev, after: line };
    last = now;
    prev = line;
  }
});
const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
console.log(`./run.sh ${args.join(' ')}: exit ${code}, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`longest silence: ${(worst.ms / 1000).toFixed(1)} s`);
console.log(`  after:  ${worst.before.slice(0, 120)}`);
console.log(`  before: ${worst.after.slice(0, 120)}`);
