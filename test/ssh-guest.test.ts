// The real-kernel runs as a user types them: `./run.sh qemu-guest` boots the
// guest and prints its ssh options, `./run.sh <those> --abi absent` passes over
// ssh, Ctrl-C shuts the guest down; and `./run.sh --target qemu --abi absent`
// passes. Two boots in all (one each). Skipped when the host packages are
// missing, unless KVM_CCA_REQUIRE_QEMU=1.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultsFile } from '../harness/tools/report/results.ts';
import { execa } from 'execa';
import t from 'tap';
import { alive, qemuSkip } from './lib/qemu-guest.ts';
import { childrenOf, goneWithin } from './lib/procs.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN = `${ROOT}run.sh`;

/** TAP from run.sh: a plan, at least one test line, and no `not ok`. */
function allOk(a: Pick<typeof t, 'match' | 'ok' | 'same'>, stdout: string): void {
  a.match(stdout, /^KTAP version 1\n/, 'KTAP header');
  const plan = /^ {2}1\.\.(\d+)$/m.exec(stdout);
  const lines = stdout.split('\n').filter((l) => /^ {2}(not )?ok \d+/.test(l));
  a.ok(plan && Number(plan[1]) > 0 && lines.length === Number(plan[1]), `plan ${String(plan?.[1])} and ${lines.length} test lines`);
  a.same(
    lines.filter((l) => /^ {2}not ok/.test(l)),
    [],
    'every check ok',
  );
}

// Two boots: sized for a loaded 2-core machine (two npm test copies, CPU hogs).
t.setTimeout(1200000);
const skip = qemuSkip(t);

t.test('./run.sh qemu-guest, then two --target ssh://root@127.0.0.1:PORT --abi absent at once', { skip, timeout: 600000 }, async (t) => {
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
  guest.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    guest.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const l = /^(--target .*)\n/m.exec(out);
      if (l?.[1]) resolve(l[1]);
    });
    void guest.then(() => reject(new Error(`qemu-guest ended before printing its line: ${stderr.trim()}`)));
  });
  const m = /^--target ssh:\/\/root@127\.0\.0\.1:(\d+) --ssh-key (\S+) --ssh-option StrictHostKeyChecking=no --ssh-option UserKnownHostsFile=\/dev\/null$/.exec(
    line,
  );
  t.ok(m, `one line with the options: ${line}`);
  const port = m?.[1] ?? '0';
  t.ok(
    childrenOf(guest.pid).some((p) => p.includes(' qemu-system')),
    'its qemu is up',
  );

  // Pasted into a shell as a user would, twice at once on the fresh guest: each run
  // uploads its agent into a directory of its own, so neither trips over the other.
  const json = join(mkdtempSync(join(tmpdir(), 'kvm-cca-ssh-guest-')), 'results.json');
  const runs = await Promise.all(
    [0, 1].map((i) => execa('sh', ['-c', `"$0" ${line}${i === 0 ? ' --json "$1"' : ' --abi absent'}`, RUN, json], { cwd: ROOT, reject: false })),
  );
  for (const [i, run] of runs.entries()) {
    t.equal(run.exitCode, 0, `run ${i + 1}: exit 0 (stderr: ${run.stderr.trim().split('\n').slice(-3).join(' | ')})`);
    allOk(t, run.stdout);
    t.match(run.stdout, new RegExp(`absent on ssh://root@127\\.0\\.0\\.1:${port} \\(\\S+-arm64, aarch64\\)`));
  }
  // The kernel's identity, read over the link: /proc/version, /proc/cmdline (Debian's kernel has no config.gz).
  const doc = JSON.parse(readFileSync(json, 'utf8')) as ResultsFile;
  t.match(doc.kernel, { sysname: 'Linux', machine: 'aarch64', procVersion: /^Linux version \S+-arm64 /, cmdline: /\S/ }, 'results carry the kernel identity');
  t.equal(doc.target.kind, 'ssh');
  // Run 1 let --abi auto decide: the results say what it decided and on which evidence.
  t.match(doc.revisions, [{ name: 'absent', detection: /^absent: /, evidence: Array }], 'the detection and its evidence');
  t.ok((doc.revisions[0]?.evidence?.length ?? 0) >= 9, 'every probe is in the evidence');
  const key = m?.[2] ?? '';
  const left = await execa(
    'ssh',
    [
      '-p',
      port,
      '-i',
      key,
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'LogLevel=ERROR',
      'root@127.0.0.1',
      'ls -d /tmp/kvm-cca-run.* 2>/dev/null; true',
    ],
    { reject: false, timeout: 30000 },
  );
  t.equal(left.exitCode, 0, 'the guest answers');
  t.equal(left.stdout.trim(), '', 'no private agent directory left on the target');

  // A forced revision the kernel lacks: one line saying what the kernel looks like, a whole-run SKIP, exit 4.
  const wrong = await execa('sh', ['-c', `"$0" ${line} --abi v10`, RUN], { cwd: ROOT, reject: false });
  t.equal(wrong.exitCode, 4, 'forcing v10 on a kernel without CCA exits 4 (skip)');
  t.match(
    wrong.stderr,
    /^run\.sh: the kernel does not implement v10's realm uAPI: KVM_CAP_ARM_RME \(244\) answers 0; .*it looks like absent: .*run with --abi auto \(or --abi absent\)$/m,
  );
  t.match(wrong.stdout, /^KTAP version 1\n1\.\.0 # SKIP the kernel does not implement v10's realm uAPI/);
  t.notMatch(wrong.stdout, /^(not )?ok /m, 'no check ran');

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
