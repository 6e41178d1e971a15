// The kernel's own KTAP parser (tools/testing/kunit/kunit.py parse), taken
// from Debian's linux-source package (scripts/install-deps.sh installs it).
// The kunit tool is extracted once into .cache/kunit (the tarball holds the
// whole tree; only tools/testing/kunit is unpacked). Not a test itself.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Path of kunit.py, or why there is none. */
export function kunitPy(): { path: string } | { missing: string } {
  const tarballs = existsSync('/usr/src')
    ? readdirSync('/usr/src')
        .filter((f) => /^linux-source-[\d.]+\.tar\.xz$/.test(f))
        .sort()
    : [];
  const tarball = tarballs[tarballs.length - 1];
  if (!tarball) return { missing: "Debian's linux-source package (scripts/install-deps.sh)" };
  const top = tarball.replace(/\.tar\.xz$/, '');
  const cache = join(ROOT, '.cache', 'kunit');
  const done = join(cache, top, 'tools', 'testing', 'kunit', 'kunit.py');
  if (existsSync(done)) return { path: done };
  mkdirSync(cache, { recursive: true });
  // Unpack beside, then rename: two test runs at once never see half a tree.
  const tmp = mkdtempSync(join(cache, 'unpack-'));
  const r = spawnSync('tar', ['-xJf', join('/usr/src', tarball), '-C', tmp, `${top}/tools/testing/kunit`], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    return { missing: `unpacking ${tarball} failed: ${r.stderr.trim()}` };
  }
  try {
    renameSync(join(tmp, top), join(cache, top));
  } catch {
    // another run renamed its copy first
  }
  rmSync(tmp, { recursive: true, force: true });
  return existsSync(done) ? { path: done } : { missing: `${done} not found after unpacking` };
}

export interface KunitCounts {
  ran: number;
  passed: number;
  failed: number;
  skipped: number;
  crashed: number;
  errors: number;
  exitCode: number;
  output: string;
}

/** `kunit.py parse FILE`: its closing counts and exit code. */
export function kunitParse(kunit: string, file: string): KunitCounts {
  const r = spawnSync('python3', [kunit, 'parse', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  // e.g. "Testing complete. Ran 108 tests: passed: 106, failed: 2, skipped: 1"
  const line = /Testing complete\. Ran (\d+) tests?(?::(.*))?$/m.exec(r.stdout);
  const n = (k: string): number => Number(new RegExp(`\\b${k}: (\\d+)`).exec(line?.[2] ?? '')?.[1] ?? 0);
  return {
    ran: Number(line?.[1] ?? -1),
    passed: n('passed'),
    failed: n('failed'),
    skipped: n('skipped'),
    crashed: n('crashed'),
    errors: n('errors'),
    exitCode: r.status ?? -1,
    output: r.stdout + r.stderr,
  };
}
