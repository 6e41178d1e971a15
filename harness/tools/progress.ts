// Progress on long steps (preparing the guest, booting, waiting for sshd): a
// line at least every 5 s, so a cold `--target qemu` run is never silent for
// long and a CI log shows where the time went. On a terminal the same lines
// go to stderr as they come (they are `# ` diagnostics, never KTAP results).
const EVERY_MS = 5000;

/**
 * Start saying `what` every 5 s (with the time spent, and what is left of a
 * deadline); the returned function stops it. The first line is immediate.
 */
export function progress(log: ((line: string) => void) | undefined, what: string, deadline?: number): () => void {
  if (!log) return () => undefined;
  const t0 = Date.now();
  const say = (): void => {
    const spent = Math.round((Date.now() - t0) / 1000);
    const left = deadline === undefined ? '' : `, ${Math.max(0, Math.round((deadline - Date.now()) / 1000))} s before the deadline`;
    log(`${what}${spent ? ` (${spent} s${left})` : deadline === undefined ? '' : ` (${Math.round((deadline - Date.now()) / 1000)} s allowed)`}`);
  };
  say();
  const timer = setInterval(say, EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
