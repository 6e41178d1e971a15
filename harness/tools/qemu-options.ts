// Option helpers shared by ./run.sh and ./run.sh qemu-guest for the qemu target.

/** `--qemu-arg -M` as `--qemu-arg=-M`: node's parser takes no value starting with '-' after a space. */
export function joinQemuArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '--qemu-arg' && i + 1 < argv.length) out.push(`--qemu-arg=${argv[++i]!}`);
    else out.push(a);
  }
  return out;
}

/** --boot-timeout SEC as ms; throws the one-line message for a bad value. */
export function bootTimeoutMs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !(n > 0) || n > 86400) throw new Error(`--boot-timeout takes a number of seconds (0 < SEC <= 86400), not '${v}'`);
  return Math.round(n * 1000);
}
