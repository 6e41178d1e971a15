// One long-lived C agent (agent/agent.c) behind a pipe: locally for tests, or
// `ssh ... /tmp/kvm-cca-agent` for the ssh and qemu targets. Requests go one at
// a time; each has a harness-side deadline (its own deadline + a margin) in
// case the agent or the link hangs where its own SIGALRM cannot help.
// A dead or hung agent is killed and started again lazily by the next session.
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { DEFAULT_CALL_TIMEOUT_MS, TargetSetupError, type Call, type Session } from '../target.ts';
import { encodeLine, parseResultLine, type WireRequest, type WireResult } from '../../../uapi/wire.ts';

export interface AgentSpawn {
  file: string;
  args: readonly string[];
  env?: Record<string, string>;
  /** Own process group: a terminal's Ctrl-C is for the harness, which stops it. */
  detached?: boolean;
}

/** How an agent process ended, for turning into an error text. */
export interface AgentEnd {
  /** What the harness saw first. */
  what: 'eof' | 'protocol' | 'timeout' | 'stopped';
  exitCode?: number;
  signal?: string;
  /** Last lines the process wrote on stderr (ssh's complaints, agent's die()). */
  stderr: string;
  /** Spawn failure or protocol detail. */
  detail?: string;
}

export interface AgentLinkOptions {
  /** The command that runs one agent process. */
  spawn: () => AgentSpawn;
  /** Extra wait past each request's deadline before the harness gives up (ms). */
  marginMs?: number;
  /**
   * Error text for an agent that ended unexpectedly ("target-lost: ..." when the
   * transport is gone, "target-crashed: ..." when the agent died). Default: local wording.
   */
  explain?: (end: AgentEnd) => Promise<string>;
  /** Checked before (re)starting an agent: a fault text stops the start (e.g. qemu is gone). */
  precheck?: () => Promise<string | undefined>;
}

// ---- every child process the targets start, killed when node exits ----
interface Killable {
  kill(signal?: NodeJS.Signals | number): boolean;
}
const live = new Set<Killable>();
let exitHookInstalled = false;

/** Kill this process when node exits, however it exits (execa's cleanup covers signals). */
export function track(p: Killable): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const q of live) q.kill('SIGKILL');
    });
  }
  live.add(p);
  return () => live.delete(p);
}

function spawnAgent(s: AgentSpawn) {
  return execa(s.file, s.args, {
    ...(s.env ? { env: s.env } : {}),
    detached: s.detached ?? false,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cleanup: true,
    forceKillAfterDelay: 1000,
  });
}
type Proc = ReturnType<typeof spawnAgent>;

interface Live {
  gen: number;
  proc: Proc;
  lines: string[];
  partial: string;
  eof: boolean;
  wake?: () => void;
  stderr: string;
  /** The process exited (not waiting for its pipes: an ssh mux master may hold them open). */
  ended: Promise<{ exitCode?: number; signal?: string; detail?: string }>;
  /** Every stream closed too: stderr is complete. */
  drained: Promise<void>;
  untrack: () => void;
}

const STDERR_KEEP = 2000;
/** readLine's answer when the agent said nothing in time: a symbol, so no line can be taken for it. */
const TIMED_OUT = Symbol('timed out');

export function defaultExplain(end: AgentEnd): Promise<string> {
  const tail = end.stderr.trim().split('\n').slice(-1)[0] ?? '';
  const how =
    end.what === 'protocol'
      ? `protocol error (${end.detail ?? '?'})`
      : end.detail
        ? end.detail
        : end.signal
          ? `agent killed by ${end.signal}`
          : `agent exited with code ${end.exitCode ?? '?'}`;
  const kind = end.what === 'protocol' || end.detail ? 'target-lost' : 'target-crashed';
  return Promise.resolve(`${kind}: ${how}${tail ? ` (${tail})` : ''}`);
}

export class AgentLink {
  private live: Live | undefined;
  private gen = 0;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  /** Why each dead agent generation ended, for sessions still holding it. */
  private faults = new Map<number, string>();
  private stopped = false;
  /** The last fault text, for CLI messages. */
  lastFault: string | undefined;

  constructor(private readonly opts: AgentLinkOptions) {}

  /** Pid of the local process running the agent (or ssh), if one is up. */
  get pid(): number | undefined {
    return this.live?.proc.pid;
  }

  /** Run one request on the current agent (starting one if needed). Never throws. */
  request(call: Call, gen?: number): Promise<WireResult> {
    const run = () => this.run(call, gen);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** A fresh process context: `reset` on the current (or a new) agent. */
  async session(): Promise<Session> {
    const r = await this.request({ op: 'reset' });
    const gen = r.error ? -1 : this.gen;
    const firstFault = r.error;
    let closed = false;
    return {
      call: (req: Call): Promise<WireResult> => {
        if (closed) return Promise.resolve(this.fail(0, 'bad-request: session is closed'));
        if (gen < 0) return Promise.resolve(this.fail(0, firstFault ?? 'target-lost: no agent'));
        return this.request(req, gen);
      },
      close: async (): Promise<void> => {
        if (closed) return;
        closed = true;
        if (gen >= 0 && this.live?.gen === gen) await this.request({ op: 'reset' }, gen);
      },
    };
  }

  /** Kill the agent; idempotent. Later requests start a new one unless `final`. */
  async stop(final = true): Promise<void> {
    if (final) this.stopped = true;
    const l = this.live;
    if (!l) return;
    this.live = undefined;
    this.faults.set(l.gen, 'target-lost: target stopped');
    l.proc.stdin.end();
    l.proc.kill('SIGKILL');
    await l.ended;
    l.untrack();
  }

  private fail(id: number, error: string): WireResult {
    return { id, ret: -1, errno: 0, error };
  }

  private async run(call: Call, gen: number | undefined): Promise<WireResult> {
    const id = this.nextId++;
    const req: WireRequest = { ...call, id };
    if (this.stopped) return this.fail(id, 'target-lost: target stopped');
    if (gen !== undefined && this.live?.gen !== gen) {
      return this.fail(id, this.faults.get(gen) ?? 'target-lost: agent restarted');
    }
    let l = this.live;
    if (!l) {
      const pre = this.opts.precheck ? await this.opts.precheck() : undefined;
      if (pre) return this.fail(id, (this.lastFault = pre));
      l = this.start();
    }
    // Node's timers take at most 2^31-1 ms (a larger value fires at once).
    const timeout = Math.min(2 ** 31 - 1, (call.timeout_ms ?? DEFAULT_CALL_TIMEOUT_MS) + (this.opts.marginMs ?? 2000));
    try {
      l.proc.stdin.write(encodeLine(req));
    } catch {
      // A closed pipe shows up as EOF below.
    }
    const line = await this.readLine(l, timeout);
    if (line === TIMED_OUT) {
      await this.bury(l, { what: 'timeout', stderr: l.stderr });
      return this.fail(id, 'timeout');
    }
    if (line === null) {
      const err = await this.bury(l, { what: 'eof', stderr: l.stderr });
      return this.fail(id, err);
    }
    let res: WireResult;
    try {
      res = parseResultLine(line);
      if (res.id !== id) throw new Error(`answer id ${res.id} for request ${id}`);
    } catch (e) {
      const err = await this.bury(l, { what: 'protocol', stderr: l.stderr, detail: (e as Error).message });
      return this.fail(id, err);
    }
    // The agent exits after reporting its own deadline.
    if (res.error === 'timeout') await this.bury(l, { what: 'timeout', stderr: l.stderr });
    return res;
  }

  private start(): Live {
    const s = this.opts.spawn();
    const proc = spawnAgent(s);
    const gen = ++this.gen;
    const l: Live = {
      gen,
      proc,
      lines: [],
      partial: '',
      eof: false,
      stderr: '',
      untrack: track(proc),
      ended: Promise.race([
        new Promise<{ exitCode?: number; signal?: string }>((resolve) =>
          proc.once('exit', (code, signal) => resolve({ exitCode: code ?? undefined, signal: signal ?? undefined })),
        ),
        proc.then(
          (r) => ({
            exitCode: r.exitCode,
            signal: r.signal,
            detail: r.failed && r.exitCode === undefined && !r.signal ? r.shortMessage : undefined,
          }),
          (e: unknown) => ({ detail: String(e) }),
        ),
      ]),
      drained: proc.then(
        () => undefined,
        () => undefined,
      ),
    };
    const wake = () => {
      const w = l.wake;
      l.wake = undefined;
      w?.();
    };
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      const parts = (l.partial + chunk).split('\n');
      l.partial = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) l.lines.push(p);
      wake();
    });
    proc.stdout.on('end', () => {
      l.eof = true;
      wake();
    });
    proc.stdout.on('error', () => undefined);
    proc.stdin.on('error', () => undefined);
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      l.stderr = (l.stderr + chunk).slice(-STDERR_KEEP);
    });
    proc.stderr.on('error', () => undefined);
    // A spawn failure may not close stdout: count the end of the process as EOF too.
    void l.ended.then(() => {
      l.eof = true;
      wake();
    });
    this.live = l;
    return l;
  }

  private readLine(l: Live, ms: number): Promise<string | null | typeof TIMED_OUT> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        l.wake = undefined;
        resolve(TIMED_OUT);
      }, ms);
      const check = () => {
        const line = l.lines.shift();
        if (line !== undefined || l.eof) {
          clearTimeout(timer);
          resolve(line ?? null);
        } else l.wake = check;
      };
      check();
    });
  }

  /** Make sure the process is gone, record why, and forget it. */
  private async bury(l: Live, end: AgentEnd): Promise<string> {
    if (this.live === l) this.live = undefined;
    l.proc.stdin.end();
    // Let an exiting process report its status before forcing it.
    const grace = end.what === 'eof' ? 1000 : 200;
    const ended = await Promise.race([l.ended, sleep(grace, undefined, { ref: false })]);
    if (!ended) l.proc.kill('SIGKILL');
    const st = ended ?? (await l.ended);
    // The last stderr lines (the remote exit status) may trail the exit a little.
    await Promise.race([l.drained, sleep(300, undefined, { ref: false })]);
    l.untrack();
    const full: AgentEnd = { ...end, exitCode: st.exitCode, signal: st.signal, detail: end.detail ?? st.detail, stderr: l.stderr };
    const text = end.what === 'timeout' ? `timeout` : await (this.opts.explain ?? defaultExplain)(full).catch(() => defaultExplain(full));
    this.faults.set(l.gen, end.what === 'timeout' ? 'target-lost: session ended by a timeout' : text);
    this.lastFault = text;
    return text;
  }
}

/** A local agent binary as a Target-less link: used by tests and by ssh/qemu through `spawn`. */
export function localAgentLink(binary: string, opts: Partial<AgentLinkOptions> = {}): AgentLink {
  return new AgentLink({ spawn: () => ({ file: binary, args: [] }), ...opts });
}

// ---- building the agent ----
const AGENT_DIR = new URL('../../../agent/', import.meta.url).pathname;

/**
 * Build (if stale) and return the static agent for the host or for arm64.
 * make decides staleness; a missing compiler is a one-line TargetSetupError.
 * `test`: the host build without the open/ioctl policy (agent.c, AGENT_TEST),
 * for the project's own tests of the wire format; never sent to a target.
 */
export async function buildAgent(arch: 'host' | 'aarch64', variant: 'policy' | 'test' = 'policy'): Promise<string> {
  const cross = arch === 'aarch64' ? ['CROSS=aarch64-linux-gnu-'] : [];
  const cc = arch === 'aarch64' ? 'aarch64-linux-gnu-gcc' : 'gcc';
  const which = await execa('sh', ['-c', `command -v ${cc}`], { reject: false });
  if (which.exitCode !== 0) {
    throw new TargetSetupError(`${cc} not found: run scripts/install-deps.sh`);
  }
  const r = await execa('make', ['-s', '-C', AGENT_DIR, ...cross, ...(variant === 'test' ? ['test'] : [])], { reject: false, all: true });
  if (r.exitCode !== 0) {
    const why = r.all.trim().split('\n').slice(-2).join(' | ');
    throw new TargetSetupError(`building the ${arch} agent failed (${why}): run scripts/install-deps.sh`);
  }
  const machine = arch === 'aarch64' ? 'aarch64' : (await execa(cc, ['-dumpmachine'])).stdout.split('-')[0]!;
  return `${AGENT_DIR}build/kvm-cca-agent-${variant === 'test' ? 'test-' : ''}${machine}`;
}
