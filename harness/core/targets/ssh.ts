// The ssh target: an arm64 Linux host with /dev/kvm, reached with the system
// ssh client. One ControlMaster connection (its socket in a private temp dir)
// carries everything: the probe, the agent upload, and each agent process.
// The remote side needs only sshd and a POSIX sh (busybox is enough).
//
// The agent runs as root, so it is never taken from a place others can write
// on the strength of a checksum: each run uploads it into a directory of its
// own (mktemp -d under umask 077: root's, mode 0700, a unique name), checks
// owner and mode before every start of it, and removes the directory at the
// end. Runs started at once against one target never share a file.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { TargetSetupError, type Session, type Target, type TargetIdentity, type TargetKind, TargetWithoutKvm } from '../target.ts';
import { AgentLink, buildAgent, track, type AgentEnd } from './agent-session.ts';
import type { WireResult } from '../../../uapi/wire.ts';
import { reapLeftovers, tied } from '../lifecycle.ts';

export interface SshTargetOptions {
  /** Private key file (ssh -i). */
  sshKey?: string;
  /** Extra `-o` values, e.g. "StrictHostKeyChecking=accept-new"; they win over ours. */
  sshOptions?: readonly string[];
  /**
   * Skip host key checks (StrictHostKeyChecking=no, UserKnownHostsFile=/dev/null).
   * Off for ssh:// (the user's known_hosts applies); the qemu target turns it on
   * because its guest makes a new host key at every boot.
   */
  insecureHostKey?: boolean;
  /** Seconds; default 10. */
  connectTimeout?: number;
  /** Where the run's private agent directory is made on the target; default /tmp. */
  remoteBase?: string;
  /** Local arm64 agent binary; default: built from agent/ with the cross compiler. */
  agentBinary?: string;
  /** Harness-side wait past each request's deadline (ms); default 3000. */
  marginMs?: number;
}

export interface SshDest {
  user?: string;
  host: string;
  port?: number;
}

/** Parse `ssh://[user@]host[:port]` (host may be `[v6]`). */
export function parseSshSpec(spec: string): SshDest {
  const m = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/@]+)(?::(\d+))?\/?$/.exec(spec);
  if (!m?.[2]) throw new TargetSetupError(`bad ssh target ${JSON.stringify(spec)}: expected ssh://user@host[:port]`);
  const port = m[3] ? Number(m[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) throw new TargetSetupError(`bad port in ${spec}`);
  return { user: m[1], host: m[2].replace(/^\[(.*)\]$/, '$1'), port };
}

/** Hooks for targets built on this one (qemu): a transport fault that outranks ssh's. */
export interface SshHooks {
  /** A fault text if the machine itself is gone (e.g. qemu exited), else undefined. */
  machineFault?: () => Promise<string | undefined>;
  /** Appended to setup errors, e.g. " (console log: PATH)". */
  hint?: () => string;
}

const EXIT_TAG = 'kvm-cca-agent-exit';
/** The agent's name inside the run's directory (pidof finds it by this name). */
const AGENT_NAME = 'kvm-cca-agent';

/**
 * A sh test that the agent and its directory are root's, mode 0700, and no
 * symbolic links: run before every start of the agent. Paths are ours
 * (mktemp's [A-Za-z0-9._/-]), so they need no quoting.
 */
function privateCheck(agent: string): string {
  const dir = agent.slice(0, agent.lastIndexOf('/'));
  const is = (p: string, kind: string): string => `[ ${kind} ${p} ] && [ ! -L ${p} ] && [ "$(stat -c %u:%a ${p})" = 0:700 ]`;
  return `{ ${is(dir, '-d')} && ${is(agent, '-f')} || { echo "kvm-cca: ${agent} is not private to root (owner 0, mode 0700)" >&2; false; }; }`;
}

export class SshTarget implements Target {
  private dir: string | undefined;
  private master: ReturnType<typeof execa> | undefined;
  private masterEnded = true;
  private masterStderr = '';
  private untrackMaster: (() => void) | undefined;
  private link: AgentLink | undefined;
  private readonly dest: SshDest;
  private readonly remoteBase: string;
  /** This run's private directory on the target (set once uploaded). */
  private remoteDir: string | undefined;

  constructor(
    readonly spec: string,
    private readonly opts: SshTargetOptions = {},
    readonly kind: TargetKind = 'ssh',
    private readonly hooks: SshHooks = {},
  ) {
    this.dest = parseSshSpec(spec);
    this.remoteBase = opts.remoteBase ?? '/tmp';
    if (!/^\/[A-Za-z0-9._/-]*$/.test(this.remoteBase)) throw new TargetSetupError(`bad remote directory ${JSON.stringify(this.remoteBase)}`);
  }

  private get where(): string {
    const { user, host, port } = this.dest;
    return `${user ? `${user}@` : ''}${host}${port ? `:${port}` : ''}`;
  }

  /** Common ssh arguments up to and including the destination. */
  sshArgs(extra: readonly string[] = []): string[] {
    if (!this.dir) throw new Error('ssh target not started');
    const o = (v: string) => ['-o', v];
    const user = (this.opts.sshOptions ?? []).flatMap(o); // first value wins in ssh: user's go first
    const hostKey = this.opts.insecureHostKey ? [...o('StrictHostKeyChecking=no'), ...o('UserKnownHostsFile=/dev/null'), ...o('LogLevel=ERROR')] : [];
    return [
      ...user,
      ...extra,
      ...o('BatchMode=yes'),
      ...o(`ConnectTimeout=${this.opts.connectTimeout ?? 10}`),
      ...o(`ControlPath=${join(this.dir, 'cm')}`),
      ...o('ServerAliveInterval=5'),
      ...o('ServerAliveCountMax=3'),
      ...hostKey,
      ...(this.opts.sshKey ? ['-i', this.opts.sshKey, ...o('IdentitiesOnly=yes')] : []),
      ...(this.dest.port ? ['-p', String(this.dest.port)] : []),
      ...(this.dest.user ? ['-l', this.dest.user] : []),
      '-T',
      this.dest.host,
    ];
  }

  /** Run one command over the master connection. */
  async run(cmd: string, input?: Buffer, timeoutMs = 30000) {
    const t = tied('ssh', [...this.sshArgs(['-o', 'ControlMaster=no']), cmd]);
    return execa(t.file, t.args, {
      env: t.env,
      detached: true,
      reject: false,
      input,
      timeout: timeoutMs,
      encoding: 'utf8',
      stripFinalNewline: true,
    });
  }

  async start(): Promise<TargetIdentity> {
    if (this.link) throw new Error('target already started');
    const probe = await execa('sh', ['-c', 'command -v ssh'], { reject: false });
    if (probe.exitCode !== 0) throw new TargetSetupError('ssh client not found: run scripts/install-deps.sh');
    const agentBin = this.opts.agentBinary ?? (await buildAgent('aarch64'));
    reapLeftovers();
    removeStaleControlDirs();
    this.dir = mkdtempSync(join(tmpdir(), `kvm-cca-ssh-${process.pid}-`));
    try {
      await this.connect();
      await this.checkHost();
      const agent = await this.upload(agentBin);
      this.link = new AgentLink({
        spawn: () => ({
          // The shell reports how the agent ended: ssh itself cannot tell a killed agent from a lost link.
          ...tied('ssh', [...this.sshArgs(['-o', 'ControlMaster=no']), `${privateCheck(agent)} && ${agent}; echo "${EXIT_TAG} $?" >&2`]),
          detached: true,
        }),
        marginMs: this.opts.marginMs ?? 3000,
        precheck: () => this.precheck(),
        explain: (end) => this.explain(end),
      });
      const r = await this.link.request({ op: 'info' });
      if (r.error || !r.info) throw new TargetSetupError(`the agent on ${this.where} did not start: ${r.error ?? 'no info'}${this.hint()}`);
      return { kind: this.kind, spec: this.spec, info: r.info };
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  session(): Promise<Session> {
    if (!this.link) throw new Error('ssh target not started');
    return this.link.session();
  }

  kernelLog(since?: number): Promise<WireResult> {
    if (!this.link) return Promise.resolve({ id: 0, ret: -1, errno: 0, error: 'target-lost: ssh target not started' });
    return this.link.request({ op: 'kmsg', timeout_ms: 10000, ...(since !== undefined ? { since } : {}) });
  }

  /** The agent's local ssh process id (tests). */
  get agentPid(): number | undefined {
    return this.link?.pid;
  }

  /** The master ssh process id (tests). */
  get masterPid(): number | undefined {
    return this.masterEnded ? undefined : this.master?.pid;
  }

  async stop(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    await link?.stop();
    await this.removeRemoteDir();
    await this.stopMaster();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private hint(): string {
    return this.hooks.hint?.() ?? '';
  }

  private async stopMaster(): Promise<void> {
    const m = this.master;
    this.master = undefined;
    if (!m) return;
    m.kill('SIGTERM');
    await m.catch(() => undefined);
    this.untrackMaster?.();
  }

  /** Start the ControlMaster and wait until its socket exists (= authenticated). */
  private async connect(): Promise<void> {
    await this.stopMaster();
    const sock = join(this.dir ?? '', 'cm');
    rmSync(sock, { force: true });
    this.masterStderr = '';
    const t = tied('ssh', ['-M', '-N', ...this.sshArgs(['-o', 'ControlMaster=yes', '-o', 'ControlPersist=no'])]);
    const m = execa(t.file, t.args, {
      env: t.env,
      detached: true, // a terminal's Ctrl-C is the harness's to handle
      reject: false,
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
      buffer: false,
      cleanup: true,
    });
    this.master = m;
    this.masterEnded = false;
    this.untrackMaster = track(m);
    m.stderr.setEncoding('utf8');
    m.stderr.on('data', (c: string) => {
      this.masterStderr = (this.masterStderr + c).slice(-2000);
    });
    void m.then(() => {
      if (this.master === m) this.masterEnded = true;
    });
    // Read through a call: the handler above sets the flag while the loop sleeps.
    const masterEnded = (): boolean => this.masterEnded;
    const deadline = Date.now() + ((this.opts.connectTimeout ?? 10) + 20) * 1000;
    while (Date.now() < deadline) {
      if (masterEnded()) break;
      try {
        if (statSync(sock).isSocket()) return;
      } catch {
        // not yet
      }
      await sleep(50);
    }
    const ended = masterEnded();
    await this.stopMaster();
    throw new TargetSetupError(this.classify(ended ? this.masterStderr : 'no answer in time') + this.hint());
  }

  /** One line for a failed connection. */
  private classify(stderr: string): string {
    const line =
      stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('Warning: Permanently added'))
        .slice(-1)[0] ?? 'ssh failed';
    if (/Permission denied|Too many authentication failures|no mutual signature/i.test(stderr))
      return `ssh ${this.where}: authentication refused (${line.trim()}); pass --ssh-key or load a key into ssh-agent`;
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(stderr))
      return `ssh ${this.where}: host key not trusted (${line.trim()}); add it to known_hosts or pass --ssh-option StrictHostKeyChecking=accept-new`;
    if (/refused|timed out|No route|resolve|unreachable|reset by peer|closed by|Connection closed|no answer/i.test(stderr))
      return `ssh ${this.where}: host unreachable (${line.trim()})`;
    return `ssh ${this.where}: ${line.trim()}`;
  }

  /** arm64, /dev/kvm, root: one ssh run, one line per failure. */
  private async checkHost(): Promise<void> {
    const r = await this.run(`uname -m; if [ -e /dev/kvm ]; then echo kvm; else echo nokvm; fi; id -u`);
    if (r.exitCode !== 0) throw new TargetSetupError(this.classify(r.stderr || `probe exited ${r.exitCode ?? r.signal ?? '?'}`) + this.hint());
    const [machine, kvm, uid] = r.stdout.split('\n').map((s) => s.trim());
    if (machine !== 'aarch64') throw new TargetSetupError(`${this.where} is ${machine || 'unknown'}, not aarch64: the suite needs an arm64 KVM host`);
    if (kvm !== 'kvm') throw new TargetWithoutKvm(`${this.where} has no /dev/kvm: boot a kernel with KVM (at EL2) on it`);
    if (uid !== '0') throw new TargetSetupError(`${this.where}: logged in as uid ${uid ?? '?'}, the agent must run as root (ssh://root@...)`);
  }

  /**
   * Stream the static agent through ssh (no scp: the remote side may only have
   * sh) into a fresh directory private to this run; returns the agent's path.
   */
  private async upload(bin: string): Promise<string> {
    const bytes = readFileSync(bin);
    const r = await this.run(
      `umask 077 && d=$(mktemp -d ${this.remoteBase}/kvm-cca-run.XXXXXXXXXX) && cat > "$d/${AGENT_NAME}" && chmod 700 "$d/${AGENT_NAME}" && echo "$d"`,
      bytes,
    );
    const dir = r.stdout.trim().split('\n').slice(-1)[0] ?? '';
    if (r.exitCode !== 0 || !/^\/[A-Za-z0-9._/-]+$/.test(dir))
      throw new TargetSetupError(
        `uploading the agent to ${this.where}:${this.remoteBase} failed: ${r.stderr.trim().split('\n').slice(-1)[0] || `exit ${r.exitCode ?? r.signal ?? '?'}`}`,
      );
    this.remoteDir = dir;
    const agent = `${dir}/${AGENT_NAME}`;
    const v = await this.run(`${privateCheck(agent)} && echo private`);
    if (v.stdout.trim() !== 'private')
      throw new TargetSetupError(`${this.where}:${dir} is not private to root (owner 0, mode 0700 expected): ${v.stderr.trim() || 'check failed'}`);
    return agent;
  }

  /** The run's agent directory goes with the run. */
  private async removeRemoteDir(): Promise<void> {
    const dir = this.remoteDir;
    this.remoteDir = undefined;
    if (!dir || this.masterEnded || !this.dir) return;
    await this.run(`rm -rf -- ${dir}`, undefined, 5000).catch(() => undefined);
  }

  /** Before (re)starting an agent: the machine must be up and the master connected. */
  private async precheck(): Promise<string | undefined> {
    const machine = await this.hooks.machineFault?.();
    if (machine) return machine;
    if (!this.masterEnded) return undefined;
    try {
      await this.connect();
      return undefined;
    } catch (e) {
      return `target-lost: ssh connection to ${this.where} lost and could not be re-established: ${(e as Error).message}`;
    }
  }

  private async oops(): Promise<string> {
    const r = await this.run('dmesg 2>/dev/null | tail -n 200', undefined, 3000).catch(() => undefined);
    const line = (r?.stdout ?? '')
      .split('\n')
      .filter((l) => OOPS.test(l))
      .slice(-1)[0];
    return line ? ` (kernel: ${line.replace(/^\[[\s\d.]+\]\s*/, '').trim()})` : '';
  }

  private async explain(end: AgentEnd): Promise<string> {
    const tag = new RegExp(`${EXIT_TAG} (\\d+)`).exec(end.stderr);
    if (tag) {
      const machine = await this.hooks.machineFault?.();
      if (machine) return machine;
      const notPrivate = /^kvm-cca: .*not private.*$/m.exec(end.stderr);
      if (notPrivate) return `target-crashed: ${notPrivate[0].slice('kvm-cca: '.length)}; agent not started`;
      const code = Number(tag[1]);
      const sig = code > 128 ? signalName(code - 128) : undefined;
      return `target-crashed: remote agent ${sig ? `killed by ${sig}` : `exited with code ${code}`}${await this.oops()}`;
    }
    // A dead machine outranks a dead link, and a dying master or qemu needs a moment
    // to be seen as exited: poll briefly so a cut link is not taken for a crash.
    for (let i = 0; i < 20; i++) {
      const machine = await this.hooks.machineFault?.();
      if (machine) return machine;
      if ((this.masterEnded || !this.hooks.machineFault) && i >= 10) break;
      await sleep(50);
    }
    const last = end.stderr.trim().split('\n').slice(-1)[0] ?? '';
    if (this.masterEnded || end.exitCode === 255) return `target-lost: ssh connection to ${this.where} lost${last ? ` (${last.trim()})` : ''}${this.hint()}`;
    return `target-crashed: remote agent ended (ssh exit ${end.exitCode ?? end.signal ?? '?'})${this.hint()}`;
  }
}

/** Control dirs of harness processes that died by a signal (no 'exit' hook ran). */
function removeStaleControlDirs(): void {
  for (const d of readdirSync(tmpdir())) {
    const m = /^kvm-cca-ssh-(\d+)-/.exec(d);
    if (!m) continue;
    try {
      if (statSync(join(tmpdir(), d)).uid !== process.getuid?.()) continue; // only our own kind
      process.kill(Number(m[1]), 0);
    } catch {
      rmSync(join(tmpdir(), d), { recursive: true, force: true });
    }
  }
}

/** The kernel's last oops line, if any: a crashed agent is often an oopsed ioctl. */
const OOPS = /Internal error:|Unable to handle kernel|BUG:|Oops|kernel BUG/;

function signalName(n: number): string {
  const names: Record<number, string> = {
    1: 'SIGHUP',
    2: 'SIGINT',
    6: 'SIGABRT',
    9: 'SIGKILL',
    11: 'SIGSEGV',
    13: 'SIGPIPE',
    15: 'SIGTERM',
    7: 'SIGBUS',
    4: 'SIGILL',
  };
  return names[n] ?? `signal ${n}`;
}
