// The real-kernel runs as a user types them: `./run.sh qemu-guest` boots the
// guest and prints its ssh options, `./run.sh <those> --abi absent` passes over
// ssh, Ctrl-C shuts the guest down; and `./run.sh --target qemu --abi absent`
// passes. Two boots in all (one each). Skipped when the host packages are
// missing, unless KVM_CCA_REQUIRE_QEMU=1.
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import t from 'tap';
import { alive, qemuSkip } from './lib/qemu-guest.ts';
import { childrenOf, goneWithin } from './lib/procs.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN = `${ROOT}run.sh`;

/** TAP from run.sh: a plan, at least one test line, and no `not ok`. */
function allOk(a: Pick<typeof t, 'match' | 'ok' | 'same'>, stdout: string): void {
  a.match(stdout, /^TAP version 14\n/, 'TAP 14 header');
  const plan = /^1\.\.(\d+)$/m.exec(stdout);
  const lines = stdout.split('\n').filter((l) => /^(not )?ok \d+/.test(l));
  a.ok(plan && Number(plan[1]) > 0 && lines.length === Number(plan[1]), `plan ${plan?.[1]} and ${lines.length} test lines`);
  a.same(lines.filter((l) => l.startsWith('not ok')), [], 'every check ok');
}

// Two boots: sized for a loaded 2-core machine (two npm test copies, CPU hogs).
t.setTimeout(1200000);
const skip = qemuSkip(t);

t.test('./run.sh qemu-guest, then --target ssh://root@127.0.0.1:PORT --abi absent', { skip, timeout: 600000 }, async (t) => {
  // Its own process group, so Ctrl-C can be sent the way a terminal does (to qemu too).
  const guest = execa(RUN, ['qemu-guest'], { cwd: ROOT, detached: true, reject: false, buffer: false, stdin: 'ignore' });
  const pgid = guest.pid ?? 0;
  t.teardown(() => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let stderr = '';
  guest.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    guest.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const l = /^(--target .*)\n/m.exec(out);
      if (l?.[1]) resolve(l[1]);
    });
    void guest.then(() => reject(new Error(`qemu-guest ended before printing its line: ${stderr.trim()}`)));
  });
  const m = /^--target ssh:\/\/root@127\.0\.0\.1:(\d+) --ssh-key (\S+) --ssh-option StrictHostKeyChecking=no --ssh-option UserKnownHostsFile=\/dev\/null$/.exec(line);
  t.ok(m, `one line with the options: ${line}`);
  const port = m?.[1] ?? '0';
  t.ok(childrenOf(guest.pid).some((p) => / qemu-system/.test(p)), 'its qemu is up');

  // Pasted into a shell as a user would.
  const run = await execa('sh', ['-c', `"$0" ${line} --abi absent`, RUN], { cwd: ROOT, reject: false });
  t.equal(run.exitCode, 0, `exit 0 (stderr: ${run.stderr.trim().split('\n').slice(-3).join(' | ')})`);
  allOk(t, run.stdout);
  t.match(run.stdout, new RegExp(`absent on ssh://root@127\\.0\\.0\\.1:${port} \\(\\S+-arm64, aarch64\\)`));

  process.kill(-pgid, 'SIGINT'); // Ctrl-C
  const end = await guest;
  t.equal(end.exitCode, 0, 'qemu-guest exits 0 on Ctrl-C');
  t.match(stderr, /SIGINT: guest shut down/);
  t.same(await goneWithin(guest.pid, 5000), [], 'no qemu or ssh of it left');
  t.notOk(alive(guest.pid), 'qemu-guest is gone');
});

t.test('./run.sh --target qemu --abi absent', { skip, timeout: 600000 }, async (t) => {
  const proc = execa(RUN, ['--target', 'qemu', '--abi', 'absent'], { cwd: ROOT, reject: false });
  const run = await proc;
  t.equal(run.exitCode, 0, `exit 0 (stderr: ${run.stderr.trim().split('\n').slice(-3).join(' | ')})`);
  allOk(t, run.stdout);
  t.match(run.stdout, /absent on qemu \(\S+-arm64, aarch64\)/);
  t.same(await goneWithin(proc.pid, 5000), [], 'no qemu or ssh left behind by the run');
});
