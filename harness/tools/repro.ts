// Standalone C reproducers from a trace: one file needing only libc and the
// kernel's uAPI headers, performing the trace's calls with named constants and
// struct fields, printing each result and exiting 1 where one differs from
// the trace. A patched kernel's headers are rarely installed, and x86 headers
// lack the arm64 parts, so everything the calls need is defined in the
// prelude (harness/tools/repro-prelude.ts), generated from the uAPI description.
// This file is the emitter: the calls, spelt with the description's names.
import { getProfile } from '../../profiles/index.ts';
import type { AbiProfile } from '../../profiles/types.ts';
import { errnoName } from '../../uapi/errno.ts';
import * as K from '../../uapi/kvm-uapi.ts';
import { absenceProbe, NO_KVM_ERRNOS, stopsOnFailure, type AbsenceProbe } from './replay.ts';
import { GenBase } from './repro-calls.ts';
import {
  arm64Definitions,
  bytesInit,
  capDefinitions,
  comment,
  cstr,
  flagNames,
  guestMemfdDefinitions,
  helpers,
  hx,
  ident,
  POPULATE_CHECK,
  realmDefinitions,
  u64lit,
} from './repro-prelude.ts';
import { requestName, type TraceCall, type TraceFile } from './trace.ts';
import { StructReader } from '../../uapi/bytes.ts';
import { fromHex } from '../../uapi/wire.ts';

export class ReproError extends Error {
  override name = 'ReproError';
}

// Upstream arm64 vCPU features (asm/kvm.h); 7 and 8 are HAS_EL2 and HAS_EL2_E2H0
// since 6.x, which is why the REC bit moved 7 -> 8 -> 9 (abi-evolution.md §2a).
const STATUSES = new Set(['pass', 'fail', 'todo', 'skip']);

/** Renders one trace into C. */
class Gen extends GenBase {
  /** One call: a block with its statements and the comparison with the trace. */
  call(c: TraceCall, index: number): void {
    const req = c.request;
    const ind = '\t\t';
    const st: string[] = [];
    const rec = c.result;
    const label = cstr(c.label);
    const seq = Number.isSafeInteger(c.seq) ? c.seq : index + 1;
    let binds = false;
    const after: string[] = [];
    // A trace from outside: a call the suite would never make is not written into the program.
    const refused = this.policy.admit(req);
    if (refused) {
      this.refused.push(`${seq}: ${refused}`);
      st.push(
        `${ind}/* not executed: refused by the suite's call policy */`,
        `${ind}printf("    not executed: %s\\n", ${cstr(refused)});`,
        `${ind}ret = -1;`,
        `${ind}err = EPERM;`,
      );
    } else
      switch (req.op) {
        case 'open':
          st.push(`${ind}ret = ${this.fd(req.as)} = open(${cstr(req.path)}, ${openFlags(req.flags)});`);
          binds = true;
          break;
        case 'close':
          st.push(`${ind}ret = close(${this.fd(req.fd)});`, `${ind}err = errno;`, `${ind}${ident(req.fd)} = -1;`);
          break;
        case 'mmap': {
          const m = this.mem(req.as);
          this.maps.set(req.as, req.len);
          st.push(
            `${ind}void *p = mmap(NULL, ${hx(req.len)}, ${mapProt(req.prot)}, ${mapFlags(req.flags)}, ${req.fd ? this.fd(req.fd) : '-1'}, ${hx(req.offset ?? 0)});`,
            `${ind}err = errno;`,
            `${ind}ret = p == MAP_FAILED ? -1 : 0;`,
            `${ind}${m} = p == MAP_FAILED ? NULL : p;`,
          );
          binds = true;
          break;
        }
        case 'munmap':
          st.push(
            `${ind}ret = ${this.mem(req.mem)} ? munmap(${ident(req.mem)}, ${hx(this.maps.get(req.mem) ?? 0)}) : -1;`,
            `${ind}err = errno;`,
            `${ind}${ident(req.mem)} = NULL;`,
          );
          break;
        case 'poke': {
          const m = this.mem(req.mem);
          const bytes = fromHex(req.hex);
          st.push(`${ind}static const unsigned char data[] = {\n${bytesInit(bytes, `${ind}\t`)}\n${ind}};`);
          st.push(`${ind}ret = ${m} ? 0 : -1;`, `${ind}err = ${m} ? 0 : EFAULT;`, `${ind}if (${m}) memcpy(${m} + ${hx(req.offset)}, data, sizeof(data));`);
          break;
        }
        case 'peek': {
          const m = this.mem(req.mem);
          st.push(`${ind}ret = ${m} ? 0 : -1;`, `${ind}err = ${m} ? 0 : EFAULT;`);
          if (rec.out?.length === req.len * 2) {
            st.push(`${ind}static const unsigned char want[] = {\n${bytesInit(fromHex(rec.out), `${ind}\t`)}\n${ind}};`);
            after.push(
              `${ind}if (${m} && memcmp(${m} + ${hx(req.offset)}, want, sizeof(want))) { printf("    memory differs from the recording\\n"); other_difference(); }`,
            );
          }
          break;
        }
        case 'reset':
          st.push(`${ind}/* reset: the harness closed every handle here */`, `${ind}ret = 0;`, `${ind}err = 0;`);
          break;
        case 'kmsg':
          st.push(`${ind}/* kmsg: the harness read the kernel log here (dmesg shows it) */`, `${ind}ret = 0;`, `${ind}err = 0;`);
          break;
        case 'info':
          st.push(
            `${ind}struct utsname u;`,
            `${ind}ret = uname(&u);`,
            `${ind}err = errno;`,
            `${ind}if (ret == 0) printf("    %s %s %s\\n", u.sysname, u.release, u.machine);`,
          );
          break;
        case 'ioctl': {
          // widened on purpose: this.ioctl() below sets it, TS would keep it narrowed to undefined
          this.populateOut = undefined as Uint8Array | undefined;
          const known = this.ioctl(req, ind);
          if (known) st.push(...known);
          else {
            const decls: string[] = [];
            const arg = this.argExpr(req.arg, decls, ind);
            st.push(
              `${ind}/* ${requestName(req)}: argument as recorded (no struct spelling for it) */`,
              ...decls,
              `${ind}ret = ioctl(${this.fd(req.fd)}, ${hx(req.req)}U, ${arg});`,
            );
          }
          if (!st.some((l) => l.trim() === 'err = errno;')) st.push(`${ind}err = errno;`);
          if (req.as && req.as_fd_at === undefined) st.push(`${ind}if (ret >= 0) ${this.fd(req.as)} = (int)ret;`);
          binds = req.as !== undefined;
          if (known && this.populateOut && rec.ret >= 0 && rec.out?.length === 64) {
            const o = new StructReader(fromHex(rec.out));
            const i = new StructReader(this.populateOut);
            this.usesPopulateCheck = true;
            after.push(`${ind}if (ret >= 0) check_populate(&before, &args, ${u64lit(o.u64(0))}, ${u64lit(o.u64(8))}, ${u64lit(o.u64(0) - i.u64(0))});`);
          } else if (this.populateOut) {
            // The trace has no struct to compare (the call failed): no copy to keep.
            const k = st.findIndex((l) => l.includes(' before = args;'));
            if (k >= 0) st.splice(k, 1);
          }
          if (req.req === K.KVM_RUN && rec.ret >= 0 && rec.peek?.[0] && req.peek?.[0]) {
            const run = new StructReader(fromHex(rec.peek[0]));
            const reason = run.u32(8);
            const m = this.mem(req.peek[0].mem);
            const reasonName = Object.entries(K.KVM_EXIT).find(([, v]) => v === reason)?.[0];
            after.push(
              `${ind}if (ret >= 0 && ${m}) check_exit(${m}, ${reasonName ? `KVM_EXIT_${reasonName}` : reason}, ${reason === K.KVM_EXIT.SYSTEM_EVENT ? run.u32(32) : 0});`,
            );
          }
          break;
        }
      }
    if (!st.some((l) => /\berr = /.test(l))) st.splice(1, 0, `${ind}err = errno;`);
    // The spec's side: the expectation that judged this call (none for set-up, nor for a call not executed).
    const e = refused || !Number.isSafeInteger(c.seq) ? undefined : this.expect.get(c.seq);
    const spec = e ? `&(const struct spec){ ${errnoExpr(e.errno)}, ${e.ret !== undefined ? 1 : 0}, ${e.ret ?? 0}L, ${cstr(e.source)} }` : 'NULL';
    const recorded = rec.error !== undefined ? `0 /* recorded: <${comment(rec.error)}>, no result */, 0, 0` : `1, ${rec.ret}L, ${errnoExpr(rec.errno)}`;
    const probe = refused ? undefined : absenceProbe(c, this.abi, e);
    const absent = probe ? ABSENT_C[probe](this.abi) : { cond: '0', why: 'NULL' };
    const stop = !refused && stopsOnFailure(c, e);
    if (stop) this.usesStop = true;
    this.body.push(
      `\t/* ${seq}: ${comment(c.label)} */`,
      `\t{`,
      `${ind}errno = 0;`,
      ...st,
      `${ind}report(${seq}, ${label}, ret, err, ${binds ? 1 : 0}, ${spec},`,
      `${ind}       ${recorded}, ${absent.cond}, ${absent.why});`,
      ...after,
      ...(stop
        ? [
            `${ind}if (ret < 0) {`,
            `${ind}\tprintf("stopped: call %d failed; the calls after it need what it makes\\n", ${seq});`,
            `${ind}\tstopped = 1;`,
            `${ind}\tgoto out;`,
            `${ind}}`,
          ]
        : []),
      `\t}`,
    );
  }
}

function errnoExpr(e: number): string {
  if (e === 0) return '0';
  const n = errnoName(e);
  return n.startsWith('errno ') ? String(e) : n;
}

const openFlags = (f: number): string =>
  flagNames(
    f,
    [
      ['O_RDWR', K.O_RDWR],
      ['O_CLOEXEC', K.O_CLOEXEC],
    ],
    'O_RDONLY',
  );
const mapProt = (p: number): string =>
  flagNames(
    p,
    [
      ['PROT_READ', K.PROT_READ],
      ['PROT_WRITE', K.PROT_WRITE],
    ],
    'PROT_NONE',
  );
const mapFlags = (f: number): string =>
  flagNames(
    f,
    [
      ['MAP_SHARED', K.MAP_SHARED],
      ['MAP_PRIVATE', K.MAP_PRIVATE],
      ['MAP_ANONYMOUS', K.MAP_ANONYMOUS],
    ],
    '0',
  );

/** The C test of each absence probe's answer and the line saying what it means (see absenceProbe in harness/tools/replay.ts). */
const ABSENT_C: Record<AbsenceProbe, (abi: AbiProfile) => { cond: string; why: string }> = {
  open: () => ({
    cond: `ret < 0 && (${NO_KVM_ERRNOS.map((n) => `err == ${errnoExpr(n)}`).join(' || ')})`,
    why: cstr('no /dev/kvm to open: this kernel offers no KVM to test'),
  }),
  cap: (abi) => ({ cond: 'ret == 0 || (ret == -1 && err == EINVAL)', why: cstr(`the kernel does not offer ${abi.cap.name}, the realm CAP of ${abi.name}`) }),
  vm: (abi) => ({
    cond: 'ret == -1 && err == EINVAL',
    why: cstr(`no realm VM type: the realm uAPI of ${abi.name} is not in this kernel, or no RMM is behind it`),
  }),
};

/** The whole C file for a trace. */
export function generateRepro(trace: TraceFile, from: string): string {
  const abi = getProfile(trace.abi);
  if (!abi) throw new ReproError(`${from}: no profile for ABI revision "${trace.abi}"`);
  const g = new Gen(trace, abi);
  trace.calls.forEach((c, i) => g.call(c, i));
  const t = trace.target;
  // an outside trace is untrusted: its assertions may be anything
  const failed = (Array.isArray(trace.assertions) ? (trace.assertions as unknown[]) : [])
    .filter((a): a is TraceFile['assertions'][number] => typeof a === 'object' && a !== null && !(a as { ok?: unknown }).ok)
    .map((a) => a.message);
  const fds = [...g.fds].map(ident);
  const maps = [...g.maps.keys()].map(ident);
  const bugs = trace.emulator?.bugs.length ? `, emulator bugs: ${trace.emulator.bugs.join(', ')}` : '';
  const judged = trace.calls.filter(
    (c, i) => g.expect.has(c.seq) && !g.refused.some((r) => r.startsWith(`${Number.isSafeInteger(c.seq) ? c.seq : i + 1}: `)),
  ).length;
  return `/*
 * Reproducer for ${comment(`${trace.abi}/${trace.check}`)}: ${comment(trace.description)}
 * Generated by kvm-cca-conformance (./run.sh repro) from ${comment(from)}.
 * Recorded on ${comment(`${t.spec} (${t.release}, ${t.machine}), ABI ${trace.abi}${bugs}`)}; the check's status was ${STATUSES.has(trace.status) ? trace.status : 'not recorded'}.
${failed.map((m) => ` *   failed: ${comment(m)}\n`).join('')}${g.refused.map((m) => ` *   NOT EXECUTED (outside the suite's call policy): call ${comment(m)}\n`).join('')} *
 * Build: gcc -Wall -Werror -o repro repro.c    or    aarch64-linux-gnu-gcc -static -o repro repro.c
 * Run as root on the target. It prints uname -a, then per call the result
 * now, what the ${comment(abi.name)} spec expects (calls the check judged, with the
 * expectation's source) and what the trace recorded. Exit 0: every judged call
 * meets the spec; 1: one violates it (or a structural call - open, VM, vCPU,
 * mmap, memslot - failed and the calls after it were not made); 4: the realm
 * uAPI is absent (no /dev/kvm, the realm CAP answering 0, or the realm VM type
 * refused with EINVAL before any violation), kselftest's SKIP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/kvm.h>

${arm64Definitions()}

/* ---- generic capabilities the calls name (older headers may lack some) */
${capDefinitions()}

${realmDefinitions(abi)}
${abi.privateMemory === 'guest_memfd' ? `\n${guestMemfdDefinitions()}\n` : ''}
#define RECORDING_CONFORMS ${trace.status === 'pass' ? 1 : 0} /* the recorded check passed: its outputs are the spec's */
${helpers()}
${g.usesPopulateCheck ? `\n${POPULATE_CHECK}\n` : ''}
int main(void)
{
	long ret;
	int err;
${fds.map((f) => `\tint ${f} = -1;`).join('\n')}
${maps.map((m) => `\tunsigned char *${m} = NULL;`).join('\n')}

	struct utsname uts;
	int stopped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* uname -a first: a log pasted to a list says which kernel answered. */
	if (uname(&uts) == 0)
		printf("uname -a: %s %s %s %s %s\\n", uts.sysname, uts.nodename, uts.release, uts.version, uts.machine);
	printf("%s\\n", ${cstr(`spec: ${trace.abi}; recorded on ${t.release} (${t.machine}); each call: result, spec, recorded`)});
${g.body.join('\n')}
${g.usesStop ? 'out:\n' : ''}
${fds.map((f) => `\tif (${f} >= 0)\n\t\tclose(${f});`).join('\n')}
${maps.map((m) => `\t(void)${m};`).join('\n')}
	(void)ret;
	(void)err;
	printf("%d of ${judged} judged calls violate the ${comment(trace.abi)} spec; %d of ${trace.calls.length} calls differ from the recording\\n", violations, differences);
	if (stopped)
		printf("exit 1: a structural call failed, the rest was not run\\n");
	else
		printf("exit %d: %s\\n", violations ? 1 : 0, violations ? "the kernel violates the spec" : "the kernel conforms to the spec on these calls");
	return violations || stopped ? 1 : 0;
}
`;
}
