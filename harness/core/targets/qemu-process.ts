// The qemu process and its console, for the qemu target (qemu.ts): a free
// port, the tied qemu child, its version, the console's last lines.
import { createServer } from 'node:net';
import { execa, execaSync } from 'execa';
import { tied } from '../lifecycle.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function startQemu(file: string, args: string[]) {
  // Tied to node (dies with it) and in its own process group: a terminal's Ctrl-C
  // reaches the harness only, which stops qemu itself.
  const t = tied(file, args);
  return execa(t.file, t.args, {
    env: t.env,
    detached: true,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cleanup: true,
    forceKillAfterDelay: 2000,
  });
}

/** qemu's version, e.g. [7, 2]; undefined if it cannot tell. */
export function qemuVersion(bin: string): [number, number] | undefined {
  const r = execaSync(bin, ['--version'], { reject: false, timeout: 10000 });
  const m = /version (\d+)\.(\d+)/.exec(r.stdout);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * ": line | line | line" from the end of the console, without kernel timestamps; '' if there are none.
 * `raw`: the lines themselves, one a line.
 */
export function lastLines(console: string, n = 3, raw = false): string {
  const lines = console
    .split(/\r?\n|\r/)
    .map((l) => l.replace(/^\[\s*\d+\.\d+\]\s?/, '').trim())
    .filter((l) => l && !/^qemu-system-\w+: terminating on signal/.test(l))
    .slice(-n)
    .map((l) => (l.length > 160 ? `${l.slice(0, 157)}...` : l));
  if (raw) return lines.join('\n');
  return lines.length ? `: ${lines.join(' | ')}` : '';
}
