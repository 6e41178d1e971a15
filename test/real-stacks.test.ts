// Ground truth from real CCA stacks: every trace recorded on a real kernel +
// RMM (fixtures/real-kernel/<stack>/<recording>/) replays on the emulator with
// the recorded result of every call (ret, errno, copied-out bytes, exit
// reason), with the emulator's RMM set as the stack's stack.json says, except
// the differences stack.json lists with their reason. A listed difference
// that no longer occurs fails too, so the list cannot go stale. Stacks are
// discovered: a new one is a dropped-in folder.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { getProfile } from '../profiles/index.ts';
import { replayCalls, type CallDiff } from '../harness/tools/replay.ts';
import { loadStacks, parseStack, RealStackError, recordingTraces, rmmModelSettings, type RealStack, type Recording } from '../harness/tools/real-stacks.ts';
import { readTrace } from '../harness/tools/trace.ts';
import { createTargetSync } from '../harness/core/targets/index.ts';
import type { RmmModel } from '../emulator/rmm.ts';

const ROOT = fileURLToPath(new URL('../fixtures/real-kernel/', import.meta.url));

async function replayOnEmulator(file: string, rmm: RmmModel): Promise<{ diffs: CallDiff[]; stoppedAt?: number }> {
  const trace = readTrace(file);
  const abi = getProfile(trace.abi);
  if (!abi) throw new Error(`${file}: unknown revision ${trace.abi}`);
  const target = createTargetSync('emulator', { abi, emulatorSettings: rmmModelSettings(rmm) });
  await target.start();
  const session = await target.session();
  try {
    const r = await replayCalls(trace, session);
    return { diffs: r.diffs, ...(r.stoppedAt !== undefined ? { stoppedAt: r.stoppedAt } : {}) };
  } finally {
    await session.close();
    await target.stop();
  }
}

const stacks = loadStacks(ROOT);

t.test('at least one real stack is recorded', async (t) => {
  t.ok(stacks.length >= 1, `stacks: ${stacks.map((s) => s.name).join(', ')}`);
  t.ok(
    stacks.some((s) => s.name === 'cca-host-v7'),
    'cca-host/v7 + TF-RMM v0.6.0',
  );
});

async function checkRecording(t: Test, s: RealStack, r: Recording): Promise<void> {
  const files = recordingTraces(s, r);
  t.ok(files.length > 0, `${r.name} has traces`);
  const listed = s.differences.filter((d) => d.recording === r.name);
  const seen = new Set<string>();
  let clean = 0;
  for (const f of files) {
    const name = basename(f);
    const res = await replayOnEmulator(f, r.rmm);
    const unlisted = res.diffs.filter((d) => {
      const hit = listed.find((l) => l.trace === name && l.call === d.seq);
      if (hit) seen.add(`${hit.trace}#${hit.call}`);
      return !hit;
    });
    if (res.stoppedAt !== undefined) unlisted.push({ seq: res.stoppedAt, label: 'target failed', what: 'stopped', recorded: 'more calls', replayed: 'none' });
    if (unlisted.length === 0) clean++;
    else
      t.fail(
        `${s.name}/${r.name}/${name}: ${unlisted.map((d) => `call ${d.seq} ${d.label}: ${d.what} recorded ${d.recorded}, emulator ${d.replayed}`).join('; ')}`,
      );
  }
  for (const l of listed) t.ok(seen.has(`${l.trace}#${l.call}`), `listed difference still occurs: ${l.trace} call ${l.call} (${l.reason})`);
  t.equal(clean, files.length, `${s.name}/${r.name}: ${clean} of ${files.length} traces give every recorded result (RMM model ${r.rmm})`);
}

for (const s of stacks) {
  t.test(`${s.name}: every recording replays on the emulator`, async (t) => {
    for (const r of s.recordings) await t.test(r.name, (t) => checkRecording(t, s, r));
  });
}

// The RMM model is what makes the pristine recording come out: with the RMM that
// accepts 0 breakpoints/watchpoints, CREATE_REALM before any vCPU init succeeds
// and the recorded -ENXIO is not reproduced.
t.test('cca-host-v7: the pristine answers need the era RMM (0 counts refused)', async (t) => {
  const s = stacks.find((x) => x.name === 'cca-host-v7');
  if (!s) return t.fail('cca-host-v7 missing');
  const f = join(s.dir, 'pristine', 'v7__lifecycle_minimal-order.json');
  const good = await replayOnEmulator(f, 'era');
  t.equal(good.diffs.length, 0, 'era RMM: recorded results');
  const relaxed = await replayOnEmulator(f, 'accepts-zero-debug-counts');
  t.ok(
    relaxed.diffs.some((d) => d.label.includes('CREATE')),
    'accepting RMM: CREATE_REALM differs from the recorded -ENXIO',
  );
});

t.test('stack.json from outside: a bad one is one clear line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'real-stack-'));
  mkdirSync(join(dir, 'x'));
  const base = {
    format: 'kvm-cca-real-stack/1',
    abi: 'v7',
    stack: { kernel: 'k', rmm: 'r', firmware: 'f', vmm: 'v' },
    recordings: [{ name: 'a', traces: 'x', rmm: 'era', description: 'd' }],
  };
  const bad = (v: unknown, what: RegExp): void => {
    try {
      parseStack(JSON.stringify(v), dir, 's');
      t.fail(`accepted, expected ${String(what)}`);
    } catch (e) {
      t.ok(e instanceof RealStackError, `refused as a RealStackError: ${String(what)}`);
      t.match((e as Error).message, what);
      t.notOk((e as Error).message.includes('\n'), 'one line');
    }
  };
  t.equal(parseStack(JSON.stringify(base), dir, 's').recordings[0]?.rmm, 'era', 'a good one parses');
  bad({ ...base, format: 'x' }, /"format"/);
  bad({ ...base, abi: 'v99' }, /unknown ABI revision/);
  bad({ ...base, recordings: [{ ...base.recordings[0], rmm: 'lenient' }] }, /"rmm" must be one of era, accepts-zero-debug-counts/);
  bad({ ...base, recordings: [{ ...base.recordings[0], traces: '../etc' }] }, /plain name/);
  bad({ ...base, recordings: [{ ...base.recordings[0], traces: 'nope' }] }, /no folder/);
  bad({ ...base, recordings: [] }, /non-empty array/);
  bad({ ...base, recordings: [base.recordings[0], base.recordings[0]] }, /unique/);
  bad({ ...base, differences: [{ recording: 'b', trace: 't.json', call: 1, reason: 'r' }] }, /no recording "b"/);
  bad({ ...base, differences: [{ recording: 'a', trace: 't.json', call: 0, reason: 'r' }] }, /"call"/);
  bad({ ...base, differences: {} }, /"differences" must be an array/);
  bad({ ...base, stack: 1 }, /"stack" must be an object/);
  bad([], /JSON object/);
  t.throws(() => parseStack('{', dir, 's'), /not JSON/);
  writeFileSync(join(dir, 'stack.json'), '{}');
  t.same(loadStacks(join(dir, 'missing')), [], 'no folder, no stacks');
});

t.test('./run.sh replay --rmm picks the emulator RMM; a bad value is one line and exit 2', async (t) => {
  const run = (args: string[]) =>
    spawnSync('./run.sh', ['replay', ...args], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', timeout: 120000 });
  const trace = join(ROOT, 'cca-host-v7', 'relaxed', 'v7__lifecycle_minimal-order.json');
  const ok = run([trace, '--rmm', 'accepts-zero-debug-counts']);
  t.equal(ok.status, 0, ok.stdout + ok.stderr);
  t.match(ok.stdout, /RMM: accepts-zero-debug-counts, bugs: none\n/);
  t.match(ok.stdout, /; 0 of 21 calls differ from the recording\n$/, 'the relaxed recording replays exactly on the accepting RMM');
  // replay's exit says whether the recording was reproduced (--verdict: the spec's verdict instead).
  const era = run([trace]);
  t.equal(era.status, 1, 'the era RMM does not reproduce the relaxed recording');
  t.match(
    era.stdout,
    /KVM_ENABLE_CAP\(RME, CREATE_REALM\) = -1 ENXIO .*recorded: = 0 .*<-- (violates the spec|differs from the recording)/,
    "the era RMM refuses the relaxed recording's CREATE_REALM",
  );
  t.match(era.stdout, /; [1-9]\d* of 21 calls differ from the recording\n$/);
  const bad = run([trace, '--rmm', 'lenient']);
  t.equal(bad.status, 2);
  t.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  t.match(bad.stderr, /--rmm must be one of era, accepts-zero-debug-counts/);
  const remote = run([trace, '--rmm', 'era', '--target', 'ssh://root@127.0.0.1:1']);
  t.equal(remote.status, 2);
  t.match(remote.stderr, /--rmm needs --target emulator/);
});
