// Real-kernel traces on the qemu target (Debian's arm64 kernel, no CCA): a
// failing check's trace replays to the same results on the same kernel, and
// its C reproducer, cross-compiled static, runs inside the guest: exit 4 for
// a realm revision (this kernel has no realm uAPI), 0 where the kernel conforms.
// Skipped when the host packages are missing, unless KVM_CCA_REQUIRE_QEMU=1.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { getProfile } from '../profiles/index.ts';
import type { AbiName } from '../profiles/types.ts';
import { applicable, runChecks } from '../harness/core/engine.ts';
import { replayCalls } from '../harness/tools/replay.ts';
import { generateRepro } from '../harness/tools/repro.ts';
import { buildTrace, type TraceFile } from '../harness/tools/trace.ts';
import { ALL_CHECKS } from '../checks/index.ts';
import { qemuSkip, startedQemu } from './lib/qemu-guest.ts';

// Boots the guest and cross-compiles five reproducers: tap's 30 s default is too short on a shared 2-core machine.
t.setTimeout(420000);

t.test('reproducers of real-kernel traces', { skip: qemuSkip(t), timeout: 300000 }, async (t) => {
  const { q, id } = await startedQemu(t);
  const dir = mkdtempSync(join(tmpdir(), 'kvm-cca-repro-qemu-'));

  // A realm check of RFC v1 is blocked on this kernel (its set-up cannot create a realm VM),
  // a launch order (judged step by step) fails, and the absent-kernel probes pass.
  // The reproducer's exit: 4 where the realm uAPI is absent (this kernel has none), 0 where the kernel conforms.
  const cases: [string, string, 'fail' | 'pass' | 'blocked', 0 | 4][] = [
    ['rfc-v1', 'populate/in-none', 'blocked', 4],
    ['absent', 'absent/init-rec-bit-7', 'pass', 0],
    ['rfc-v1', 'generic/normal-vm-mmio-exit', 'pass', 0],
    // The later generations' named structs (arm_rme_*, kvm_arm_rmi_populate) on a real kernel too.
    ['v10', 'lifecycle/qemu-nvidia-v8-v11', 'fail', 4],
    ['v14', 'populate/progress-loop', 'blocked', 4],
  ];
  for (const [abiName, name, status, exit] of cases) {
    const abi = getProfile(abiName)!;
    const def = applicable(ALL_CHECKS, abi).find((c) => c.name === name);
    if (!def) {
      t.fail(`no check ${name}`);
      continue;
    }
    const [o] = await runChecks([def], { abi, target: q, targetKind: 'qemu', allowCrash: false, callTimeoutMs: 20000, checkTimeoutMs: 120000 });
    t.equal(
      o!.status,
      status,
      `${abiName}/${name} on ${id.info.release}: ${o!.assertions
        .filter((a) => !a.ok)
        .map((a) => a.message)
        .join('; ')}`,
    );
    const trace: TraceFile = buildTrace(o!, def, { identity: id, abi: abiName as AbiName });
    t.equal(trace.target.kind, 'qemu');
    t.notOk(trace.emulator, 'no emulator section for a real kernel');

    const s = await q.session();
    const r = await replayCalls(trace, s, abi);
    await s.close();
    t.same(r.diffs, [], `${name}: replay on the same kernel gives the recorded results`);
    t.equal(r.exitCode, exit, `${name}: replay's verdict ${exit}${r.absent ? ` (${r.absent})` : ''}`);

    const c = join(dir, `${name.replace(/\//g, '_')}.c`);
    writeFileSync(c, generateRepro(trace, `${name}.json`));
    const bin = `${c}.bin`;
    const cc = spawnSync('aarch64-linux-gnu-gcc', ['-Wall', '-Werror', '-static', '-o', bin, c], { encoding: 'utf8' });
    t.equal(cc.status, 0, `cross-compiles: ${cc.stderr}`);
    const ssh = q.sshTarget!;
    const up = await ssh.run('cat > /tmp/repro && chmod +x /tmp/repro', readFileSync(bin));
    t.equal(up.exitCode, 0, 'uploaded');
    const run = await ssh.run('/tmp/repro');
    t.equal(run.exitCode, exit, `${name}: the reproducer exits ${exit} in the guest\n${run.stdout}`);
    const first = run.stdout.split('\n')[0] ?? '';
    t.ok(first.startsWith('uname -a: Linux ') && first.split(' ')[4] === id.info.release, `uname -a first, naming the guest kernel: ${first}`);
    // Absent by the realm VM type refused (rfc-v1, v14) or the realm CAP answering 0 (the v10 VMM order probes it first).
    if (exit === 4) t.match(run.stdout, /the realm uAPI is absent on this kernel \(call \d+ = (-1 EINVAL\): no realm VM type|0\): the kernel does not offer)/);
    else t.match(run.stdout, new RegExp(`0 of \\d+ judged calls violate the ${abiName} spec; 0 of ${trace.calls.length} calls differ from the recording`));
  }
});
