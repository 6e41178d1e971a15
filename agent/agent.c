/*
 * kvm-cca-agent: executes the harness's JSON-lines wire format (uapi/wire.ts)
 * on a real kernel. One request line on stdin, exactly one result line on
 * stdout. It knows no ABI revision: request numbers and struct bytes come from
 * the harness. It never runs a shell or another program. Besides the calls a
 * check makes, it reads the kernel log (/dev/kmsg) when the harness asks
 * ("kmsg"), so a WARN or an oops a check provoked fails that check.
 *
 * Exit codes: 0 on EOF, 3 after reporting a deadline ("timeout"), 4 when out
 * of memory or stdout is gone. The harness restarts it lazily.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define AGENT_VERSION "0.1.0"
#define DEFAULT_TIMEOUT_MS 5000
/* Deadlines are a signed 32-bit millisecond count, as the harness sends them. */
#define MAX_TIMEOUT_MS 2147483647LL
#define MAX_DEPTH 32

/*
 * The call policy (harness/core/policy.ts has the same rules, per revision): the
 * agent runs as root and executes requests from a harness it cannot vouch
 * for, so it does only what the suite's own programs ever ask for.
 *   open   only /dev/kvm, flags O_RDWR|O_CLOEXEC at most
 *   ioctl  KVM requests (type KVMIO) on handles it holds; new handles only from
 *          the ioctls that return fds; a pointer-taking ioctl gets a buffer or a
 *          mapping, or an address below the first page (the EFAULT checks)
 *   mmap   anonymous private, or shared of an fd an ioctl handed out; read/write
 *          at most, never fixed or executable, at most MAX_MAP_LEN
 *   poke/peek  inside a mapping, within its protection; a fault (past the end
 *          of a file mapping) is an error answer, not a crash
 *   kmsg   reads /dev/kmsg only (new kernel log records since the last read)
 * Built with -DAGENT_TEST (make test), open and ioctl accept anything: the
 * project's own tests drive the wire format with /dev/null, FIFOs and
 * userfaultfd. That build is never uploaded to a target.
 */
#define KVMIO 0xae
#define KVM_DEV "/dev/kvm"
#define OPEN_FLAGS (O_RDWR | O_CLOEXEC)
#define MAP_LEN_MAX (1LL << 30)
#define FAULTING_POINTER_LIMIT 4096
#define KVM_CREATE_VM 0xae01u
#define KVM_CREATE_VCPU 0xae41u
#define KVM_CREATE_DEVICE 0xc00caee0u
#define KVM_CREATE_GUEST_MEMFD 0xc040aed4u
#define CREATE_DEVICE_FD_AT 4

static void die(const char *why)
{
	fprintf(stderr, "kvm-cca-agent: %s\n", why);
	exit(4);
}

/* ---- per-request arena: JSON nodes and ioctl buffers, freed after each line ---- */
static void **arena;
static size_t arena_n, arena_cap;

/* Buffers of a page or more are page-aligned: some calls (userfaultfd copies,
 * populate sources) insist on it, and nothing minds. */
static void *amalloc(size_t n)
{
	void *p = NULL;
	if (posix_memalign(&p, n >= 4096 ? 4096 : 16, n ? n : 1))
		die("out of memory");
	memset(p, 0, n ? n : 1);
	if (arena_n == arena_cap) {
		arena_cap = arena_cap ? arena_cap * 2 : 64;
		arena = realloc(arena, arena_cap * sizeof *arena);
		if (!arena)
			die("out of memory");
	}
	arena[arena_n++] = p;
	return p;
}

static void afree(void)
{
	while (arena_n)
		free(arena[--arena_n]);
}

/* ---- minimal JSON: objects, arrays, strings, integers, true/false/null ---- */
enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
struct jv {
	int t;
	int isint;	/* J_NUM: an integer that fits in long long */
	long long n;
	char *s;	/* J_STR: NUL-terminated, unescaped in place */
	const char *key; /* set on object members */
	struct jv *kid, *next;
};

static char *jp;
static const char *jerr;

static void ws(void)
{
	while (*jp == ' ' || *jp == '\t' || *jp == '\n' || *jp == '\r')
		jp++;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* jp at the opening quote; the unescaped text never outgrows the escaped one. */
static char *jstr(void)
{
	char *out = ++jp, *w = out;
	for (;;) {
		unsigned char c = (unsigned char)*jp++;
		if (c == '"')
			break;
		if (c < 0x20) {
			jerr = "bad string";
			return NULL;
		}
		if (c != '\\') {
			*w++ = (char)c;
			continue;
		}
		c = (unsigned char)*jp++;
		switch (c) {
		case '"': case '\\': case '/': *w++ = (char)c; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			unsigned u = 0;
			for (int i = 0; i < 4; i++) {
				int h = hexval(*jp++);
				if (h < 0) {
					jerr = "bad \\u escape";
					return NULL;
				}
				u = u << 4 | (unsigned)h;
			}
			/* BMP only: enough for paths and handle names. */
			if (u < 0x80) {
				*w++ = (char)u;
			} else if (u < 0x800) {
				*w++ = (char)(0xc0 | u >> 6);
				*w++ = (char)(0x80 | (u & 0x3f));
			} else {
				*w++ = (char)(0xe0 | u >> 12);
				*w++ = (char)(0x80 | ((u >> 6) & 0x3f));
				*w++ = (char)(0x80 | (u & 0x3f));
			}
			break;
		}
		default:
			jerr = "bad escape";
			return NULL;
		}
	}
	*w = 0;
	return out;
}

static struct jv *jval(int depth)
{
	struct jv *v;
	ws();
	if (depth > MAX_DEPTH) {
		jerr = "too deep";
		return NULL;
	}
	v = amalloc(sizeof *v);
	if (*jp == '{' || *jp == '[') {
		int obj = *jp++ == '{';
		struct jv **tail = &v->kid;
		v->t = obj ? J_OBJ : J_ARR;
		ws();
		if (*jp == (obj ? '}' : ']')) {
			jp++;
			return v;
		}
		for (;;) {
			const char *key = NULL;
			struct jv *k;
			if (obj) {
				ws();
				if (*jp != '"' || !(key = jstr())) {
					jerr = jerr ? jerr : "expected key";
					return NULL;
				}
				ws();
				if (*jp++ != ':') {
					jerr = "expected ':'";
					return NULL;
				}
			}
			if (!(k = jval(depth + 1)))
				return NULL;
			k->key = key;
			*tail = k;
			tail = &k->next;
			ws();
			if (*jp == ',') {
				jp++;
				continue;
			}
			if (*jp++ == (obj ? '}' : ']'))
				return v;
			jerr = "expected ',' or end";
			return NULL;
		}
	}
	if (*jp == '"') {
		v->t = J_STR;
		return (v->s = jstr()) ? v : NULL;
	}
	if (*jp == '-' || (*jp >= '0' && *jp <= '9')) {
		char *end;
		v->t = J_NUM;
		errno = 0;
		v->n = strtoll(jp, &end, 10);
		v->isint = errno == 0 && end != jp && *end != '.' && *end != 'e' && *end != 'E';
		strtod(jp, &end); /* skip the whole number, whatever its form */
		jp = end;
		return v;
	}
	if (!strncmp(jp, "true", 4) || !strncmp(jp, "null", 4)) {
		v->t = *jp == 't' ? J_BOOL : J_NULL;
		v->n = *jp == 't';
		jp += 4;
		return v;
	}
	if (!strncmp(jp, "false", 5)) {
		v->t = J_BOOL;
		jp += 5;
		return v;
	}
	jerr = "unexpected character";
	return NULL;
}

static struct jv *get(const struct jv *o, const char *k)
{
	if (!o || o->t != J_OBJ)
		return NULL;
	for (struct jv *m = o->kid; m; m = m->next)
		if (!strcmp(m->key, k))
			return m;
	return NULL;
}

/* ---- output line ---- */
static char *ob;
static size_t obn, obcap;

static void oput(const char *s, size_t n)
{
	if (obn + n + 1 > obcap) {
		while (obn + n + 1 > obcap)
			obcap = obcap ? obcap * 2 : 4096;
		ob = realloc(ob, obcap);
		if (!ob)
			die("out of memory");
	}
	memcpy(ob + obn, s, n);
	obn += n;
}

static void ofmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ofmt(const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	oput(tmp, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void ojstr(const char *s)
{
	oput("\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			ofmt("\\%c", c);
		else if (c < 0x20)
			ofmt("\\u%04x", c);
		else
			oput((const char *)&c, 1);
	}
	oput("\"", 1);
}

static void ohex(const unsigned char *p, size_t n)
{
	static const char d[] = "0123456789abcdef";
	char pair[2];
	oput("\"", 1);
	for (size_t i = 0; i < n; i++) {
		pair[0] = d[p[i] >> 4];
		pair[1] = d[p[i] & 15];
		oput(pair, 2);
	}
	oput("\"", 1);
}

static void flush_line(void)
{
	oput("\n", 1);
	if (fwrite(ob, 1, obn, stdout) != obn || fflush(stdout))
		die("stdout is gone");
	obn = 0;
}

static void head(long long id, long long ret, int err)
{
	obn = 0;
	ofmt("{\"id\":%lld,\"ret\":%lld,\"errno\":%d", id, ret, err);
}

static void tail_us(long long us)
{
	ofmt(",\"us\":%lld}", us);
	flush_line();
}

/* ---- handle tables. A rebound name orphans the old entry; reset still closes it. ---- */
struct fdent { char *name; int fd; int from_ioctl; };
struct mapent { char *name; unsigned char *addr; size_t len; int prot; };
static struct fdent *fds;
static struct mapent *maps;
static size_t nfds, nmaps, capfds, capmaps;

static struct fdent *find_fd(const char *name)
{
	for (size_t i = 0; i < nfds; i++)
		if (fds[i].name && !strcmp(fds[i].name, name))
			return &fds[i];
	return NULL;
}

static struct mapent *find_map(const char *name)
{
	for (size_t i = 0; i < nmaps; i++)
		if (maps[i].name && !strcmp(maps[i].name, name))
			return &maps[i];
	return NULL;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		die("out of memory");
	return p;
}

static void bind_fd(const char *name, int fd, int from_ioctl)
{
	struct fdent *old = find_fd(name);
	if (old) {
		free(old->name);
		old->name = NULL;
	}
	if (nfds == capfds) {
		capfds = capfds ? capfds * 2 : 16;
		if (!(fds = realloc(fds, capfds * sizeof *fds)))
			die("out of memory");
	}
	fds[nfds++] = (struct fdent){ xstrdup(name), fd, from_ioctl };
}

static void bind_map(const char *name, void *addr, size_t len, int prot)
{
	struct mapent *old = find_map(name);
	if (old) {
		free(old->name);
		old->name = NULL;
	}
	if (nmaps == capmaps) {
		capmaps = capmaps ? capmaps * 2 : 16;
		if (!(maps = realloc(maps, capmaps * sizeof *maps)))
			die("out of memory");
	}
	maps[nmaps++] = (struct mapent){ xstrdup(name), addr, len, prot };
}

static void drop_fd(struct fdent *e)
{
	free(e->name);
	*e = fds[--nfds];
}

static void drop_map(struct mapent *e)
{
	free(e->name);
	*e = maps[--nmaps];
}

static void reset_all(void)
{
	while (nmaps) {
		munmap(maps[nmaps - 1].addr, maps[nmaps - 1].len);
		drop_map(&maps[nmaps - 1]);
	}
	while (nfds) {
		close(fds[nfds - 1].fd);
		drop_fd(&fds[nfds - 1]);
	}
}

/* ---- request validation: every check happens before any side effect ---- */
static char emsg[200];
#define BAD(...) do { snprintf(emsg, sizeof emsg, __VA_ARGS__); return -1; } while (0)

static int want_int(const struct jv *o, const char *k, long long min, long long *out, int optional)
{
	const struct jv *v = get(o, k);
	if (!v && optional)
		return 0;
	if (!v || v->t != J_NUM || !v->isint || v->n < min)
		BAD("%s must be an integer >= %lld", k, min);
	*out = v->n;
	return 0;
}

static int want_str(const struct jv *o, const char *k, const char **out, int optional)
{
	const struct jv *v = get(o, k);
	if (!v && optional)
		return 0;
	if (!v || v->t != J_STR || !*v->s)
		BAD("%s must be a non-empty string", k);
	*out = v->s;
	return 0;
}

static int want_fd(const struct jv *o, const char *k, struct fdent **out)
{
	const char *name;
	if (want_str(o, k, &name, 0))
		return -1;
	if (!(*out = find_fd(name)))
		BAD("unknown handle %s", name);
	return 0;
}

/* A mapping and an in-bounds range inside it. */
static int want_mem(const struct jv *o, const char *k, long long len, struct mapent **m, long long *off)
{
	const char *name;
	if (want_str(o, k, &name, 0) || want_int(o, "offset", 0, off, 0))
		return -1;
	if (!(*m = find_map(name)))
		BAD("unknown mapping %s", name);
	if ((unsigned long long)*off + (unsigned long long)len > (*m)->len)
		BAD("range %lld+%lld is past mapping %s (%zu bytes)", *off, len, name, (*m)->len);
	return 0;
}

static int decode_hex(const struct jv *v, unsigned char **buf, size_t *len)
{
	size_t n;
	if (!v || v->t != J_STR || (n = strlen(v->s)) % 2)
		BAD("hex must be lowercase hex of even length");
	*len = n / 2;
	*buf = amalloc(*len);
	for (size_t i = 0; i < *len; i++) {
		int hi = hexval(v->s[2 * i]), lo = hexval(v->s[2 * i + 1]);
		if (hi < 0 || lo < 0 || strchr("ABCDEF", v->s[2 * i]) || strchr("ABCDEF", v->s[2 * i + 1]))
			BAD("hex must be lowercase hex of even length");
		(*buf)[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Build a WireBuf: its bytes, then each pointer slot patched (little-endian u64). */
static int build_buf(const struct jv *b, unsigned char **buf, size_t *len, int depth)
{
	const struct jv *ptrs;
	if (!b || b->t != J_OBJ)
		BAD("buf must be an object");
	if (depth > 8)
		BAD("buffers nested too deep");
	if (decode_hex(get(b, "hex"), buf, len))
		return -1;
	/* fds: u32 slots filled with a handle's fd (e.g. guest_memfd in REGION2). */
	const struct jv *fdslots = get(b, "fds");
	if (fdslots) {
		if (fdslots->t != J_ARR)
			BAD("fds must be an array");
		for (const struct jv *f = fdslots->kid; f; f = f->next) {
			long long at;
			struct fdent *e;
			if (want_int(f, "at", 0, &at, 0) || want_fd(f, "fd", &e))
				return -1;
			if ((unsigned long long)at + 4 > *len)
				BAD("fds.at %lld is past the buffer", at);
			for (int i = 0; i < 4; i++)
				(*buf)[at + i] = (unsigned char)((uint32_t)e->fd >> (8 * i));
		}
	}
	ptrs = get(b, "ptrs");
	if (!ptrs)
		return 0;
	if (ptrs->t != J_ARR)
		BAD("ptrs must be an array");
	for (const struct jv *p = ptrs->kid; p; p = p->next) {
		long long at;
		const struct jv *to = get(p, "to");
		uint64_t addr;
		if (want_int(p, "at", 0, &at, 0))
			return -1;
		if ((unsigned long long)at + 8 > *len)
			BAD("ptrs.at %lld is past the buffer", at);
		if (get(to, "buf")) {
			unsigned char *nb;
			size_t nl;
			if (build_buf(get(to, "buf"), &nb, &nl, depth + 1))
				return -1;
			addr = (uint64_t)(uintptr_t)nb;
		} else if (get(to, "mem")) {
			struct mapent *m;
			long long off;
			if (want_mem(to, "mem", 0, &m, &off))
				return -1;
			addr = (uint64_t)(uintptr_t)(m->addr + off);
		} else {
			BAD("ptrs.to must have buf or mem");
		}
		for (int i = 0; i < 8; i++)
			(*buf)[at + i] = (unsigned char)(addr >> (8 * i));
	}
	return 0;
}

/* ---- deadlines: SIGALRM without SA_RESTART makes a blocked call return EINTR ---- */
static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static void arm(long long ms)
{
	if (ms < 1 || ms > MAX_TIMEOUT_MS)
		ms = MAX_TIMEOUT_MS; /* checked at parse time; never arm more than the cap */
	struct itimerval it = { { 0, 0 }, { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 } };
	alarmed = 0;
	setitimer(ITIMER_REAL, &it, NULL);
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long g_id, g_t0;

/* Stop the timer; a call cut short by it is reported as a timeout and we exit. */
static void disarm(long long ret, int err)
{
	struct itimerval z;
	memset(&z, 0, sizeof z);
	setitimer(ITIMER_REAL, &z, NULL);
	if (alarmed && ret == -1 && err == EINTR) {
		obn = 0;
		ofmt("{\"id\":%lld,\"error\":\"timeout\",\"us\":%lld}", g_id, now_us() - g_t0);
		flush_line();
		exit(3);
	}
}

/* ---- memory access that may fault: a mapping past the end of its file raises SIGBUS ---- */
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_armed;

static void on_fault(int sig)
{
	if (fault_armed) {
		fault_armed = 0;
		siglongjmp(fault_jmp, sig);
	}
	signal(sig, SIG_DFL); /* a fault anywhere else is a bug: die of it */
	raise(sig);
}

/* Copy n bytes; 0, or the signal the access raised. */
static int guarded_copy(void *dst, const void *src, size_t n)
{
	int sig = sigsetjmp(fault_jmp, 1);
	if (sig)
		return sig;
	fault_armed = 1;
	for (size_t i = 0; i < n; i++)
		((volatile unsigned char *)dst)[i] = ((const volatile unsigned char *)src)[i];
	fault_armed = 0;
	return 0;
}

/* ---- operations ---- */
static int op_open(const struct jv *r, long long tmo)
{
	const char *path, *as;
	long long flags;
	if (want_str(r, "path", &path, 0) || want_int(r, "flags", 0, &flags, 0) || want_str(r, "as", &as, 0))
		return -1;
#ifndef AGENT_TEST
	if (strcmp(path, KVM_DEV))
		BAD("refused: only " KVM_DEV " may be opened");
	if (flags & ~(long long)OPEN_FLAGS)
		BAD("refused: open flags 0x%llx (O_RDWR|O_CLOEXEC at most)", flags);
#endif
	arm(tmo);
	g_t0 = now_us();
	int fd = open(path, (int)flags | O_CLOEXEC);
	int err = fd < 0 ? errno : 0;
	long long us = now_us() - g_t0;
	disarm(fd, err);
	if (fd >= 0)
		bind_fd(as, fd, 0);
	head(g_id, fd, err);
	tail_us(us);
	return 0;
}

static int op_close(const struct jv *r)
{
	struct fdent *e;
	if (want_fd(r, "fd", &e))
		return -1;
	g_t0 = now_us();
	int ret = close(e->fd);
	int err = ret ? errno : 0;
	drop_fd(e);
	head(g_id, ret, err);
	tail_us(now_us() - g_t0);
	return 0;
}

static int op_ioctl(const struct jv *r, long long tmo)
{
	struct fdent *e;
	long long req, ival = 0;
	const char *as = NULL;
	const struct jv *arg = get(r, "arg"), *peek = get(r, "peek");
	unsigned char *buf = NULL;
	size_t blen = 0;
	unsigned long argv;

	long long fd_at = -1;
	if (want_fd(r, "fd", &e) || want_int(r, "req", 0, &req, 0) || want_str(r, "as", &as, 1) ||
	    want_int(r, "as_fd_at", 0, &fd_at, 1))
		return -1;
	if (req > 0xffffffffLL)
		BAD("req must fit in 32 bits");
	if (!arg || arg->t != J_OBJ)
		BAD("arg must be an object");
	if (get(arg, "int")) {
		if (want_int(arg, "int", 0, &ival, 0))
			return -1;
		argv = (unsigned long)ival;
	} else if (get(arg, "buf")) {
		if (build_buf(get(arg, "buf"), &buf, &blen, 0))
			return -1;
		argv = (unsigned long)(uintptr_t)buf;
	} else if (get(arg, "mem")) {
		struct mapent *m;
		long long off;
		if (want_mem(arg, "mem", 0, &m, &off))
			return -1;
		argv = (unsigned long)(uintptr_t)(m->addr + off);
	} else {
		BAD("arg must have int, buf or mem");
	}
	if (fd_at >= 0 && (!buf || !as || (unsigned long long)fd_at + 4 > blen))
		BAD("as_fd_at needs as and a buf argument holding a u32 at %lld", fd_at);
#ifndef AGENT_TEST
	if (((req >> 8) & 0xff) != KVMIO)
		BAD("refused: ioctl 0x%llx is not a KVM request", req);
	if (get(arg, "int") && ((req >> 16) & 0x3fff) && ival >= FAULTING_POINTER_LIMIT)
		BAD("refused: ioctl 0x%llx takes a pointer, not the integer 0x%llx", req, ival);
	if (fd_at >= 0 && (req != KVM_CREATE_DEVICE || fd_at != CREATE_DEVICE_FD_AT))
		BAD("refused: as_fd_at belongs to KVM_CREATE_DEVICE");
	if (as && req != KVM_CREATE_VM && req != KVM_CREATE_VCPU && req != KVM_CREATE_DEVICE && req != KVM_CREATE_GUEST_MEMFD)
		BAD("refused: ioctl 0x%llx returns no fd to bind", req);
#endif
	if (peek && peek->t != J_ARR)
		BAD("peek must be an array");
	for (const struct jv *p = peek ? peek->kid : NULL; p; p = p->next) {
		struct mapent *m;
		long long off, len;
		if (want_int(p, "len", 0, &len, 0) || want_mem(p, "mem", len, &m, &off))
			return -1;
		if (!(m->prot & PROT_READ))
			BAD("mapping %s is not readable", m->name);
	}

	arm(tmo);
	g_t0 = now_us();
	/* The request number is a full 32-bit value; glibc's prototype takes unsigned long. */
	int ret = ioctl(e->fd, (unsigned long)req, argv);
	int err = ret < 0 ? errno : 0;
	long long us = now_us() - g_t0;
	disarm(ret, err);

	if (ret >= 0 && as) {
		/* KVM_CREATE_DEVICE-style calls return 0 and write the new fd into the struct. */
		int nfd = ret;
		if (fd_at >= 0)
			nfd = (int)(buf[fd_at] | buf[fd_at + 1] << 8 | buf[fd_at + 2] << 16 | (unsigned)buf[fd_at + 3] << 24);
		bind_fd(as, nfd, 1);
	}
	/* Read the peeks first: a mapping that faults (past the end of its file) is an answer, not a crash. */
	size_t npeek = 0;
	for (const struct jv *p = peek ? peek->kid : NULL; p; p = p->next)
		npeek++;
	unsigned char **pk = amalloc((npeek ? npeek : 1) * sizeof *pk);
	size_t i = 0;
	for (const struct jv *p = peek ? peek->kid : NULL; p; p = p->next, i++) {
		struct mapent *m;
		long long off, len;
		want_int(p, "len", 0, &len, 0);
		want_mem(p, "mem", len, &m, &off);
		pk[i] = amalloc((size_t)len);
		int sig = guarded_copy(pk[i], m->addr + off, (size_t)len);
		if (sig) {
			obn = 0;
			ofmt("{\"id\":%lld,\"ret\":%d,\"errno\":%d,\"error\":\"bad-request: peek of mapping ", g_id, ret, err);
			oput(m->name, strlen(m->name) < 64 ? strlen(m->name) : 64);
			ofmt(" faulted (%s) after the call\",\"us\":%lld}", sig == SIGBUS ? "SIGBUS" : "SIGSEGV", us);
			flush_line();
			return 0;
		}
	}
	head(g_id, ret, err);
	if (buf) {
		oput(",\"out\":", 7);
		ohex(buf, blen);
	}
	if (peek) {
		oput(",\"peek\":[", 9);
		for (i = 0; i < npeek; i++) {
			const struct jv *p = peek->kid;
			for (size_t k = 0; k < i; k++)
				p = p->next;
			long long len;
			want_int(p, "len", 0, &len, 0);
			ohex(pk[i], (size_t)len);
			if (i + 1 < npeek)
				oput(",", 1);
		}
		oput("]", 1);
	}
	tail_us(us);
	return 0;
}

static int op_mmap(const struct jv *r, long long tmo)
{
	const char *as, *fdname = NULL;
	long long len, prot, flags, off = 0;
	int fd = -1;
	if (want_str(r, "as", &as, 0) || want_int(r, "len", 1, &len, 0) || want_int(r, "prot", 0, &prot, 0) ||
	    want_int(r, "flags", 0, &flags, 0) || want_str(r, "fd", &fdname, 1) || want_int(r, "offset", 0, &off, 1))
		return -1;
	if (prot & ~(long long)(PROT_READ | PROT_WRITE))
		BAD("refused: mmap prot 0x%llx (read/write at most)", prot);
	if (flags & ~(long long)(MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE))
		BAD("refused: mmap flags 0x%llx (MAP_FIXED and the like)", flags);
	if (!(flags & MAP_SHARED) == !(flags & MAP_PRIVATE))
		BAD("refused: mmap flags 0x%llx: exactly one of MAP_SHARED and MAP_PRIVATE", flags);
	if (len > MAP_LEN_MAX)
		BAD("refused: mmap of %lld bytes (at most %lld)", len, MAP_LEN_MAX);
	if (fdname) {
		struct fdent *e = find_fd(fdname);
		if (!e)
			BAD("unknown handle %s", fdname);
		if (!e->from_ioctl || (flags & MAP_ANONYMOUS) || !(flags & MAP_SHARED) || off % 4096)
			BAD("refused: only a shared mapping of an fd an ioctl handed out (vCPU, guest_memfd)");
		fd = e->fd;
	} else if (!(flags & MAP_ANONYMOUS) || !(flags & MAP_PRIVATE) || off) {
		BAD("refused: a mapping without an fd must be MAP_PRIVATE|MAP_ANONYMOUS");
	}
	arm(tmo);
	g_t0 = now_us();
	void *p = mmap(NULL, (size_t)len, (int)prot, (int)flags, fd, (off_t)off);
	int err = p == MAP_FAILED ? errno : 0;
	long long us = now_us() - g_t0;
	disarm(p == MAP_FAILED ? -1 : 0, err);
	if (p != MAP_FAILED)
		bind_map(as, p, (size_t)len, (int)prot);
	/* The address stays inside the agent: programs only name mappings. */
	head(g_id, p == MAP_FAILED ? -1 : 0, err);
	tail_us(us);
	return 0;
}

static int op_munmap(const struct jv *r)
{
	const char *name;
	struct mapent *m;
	if (want_str(r, "mem", &name, 0))
		return -1;
	if (!(m = find_map(name)))
		BAD("unknown mapping %s", name);
	g_t0 = now_us();
	int ret = munmap(m->addr, m->len);
	int err = ret ? errno : 0;
	drop_map(m);
	head(g_id, ret, err);
	tail_us(now_us() - g_t0);
	return 0;
}

static int op_poke_peek(const struct jv *r, int poke)
{
	struct mapent *m;
	long long off, len = 0;
	unsigned char *bytes = NULL;
	size_t n = 0;
	if (poke) {
		if (decode_hex(get(r, "hex"), &bytes, &n))
			return -1;
		len = (long long)n;
	} else if (want_int(r, "len", 0, &len, 0)) {
		return -1;
	}
	if (want_mem(r, "mem", len, &m, &off))
		return -1;
	if (!(m->prot & (poke ? PROT_WRITE : PROT_READ)))
		BAD("mapping %s is not %s", m->name, poke ? "writable" : "readable");
	g_t0 = now_us();
	unsigned char *out = poke ? NULL : amalloc((size_t)len);
	int sig = poke ? guarded_copy(m->addr + off, bytes, n) : guarded_copy(out, m->addr + off, (size_t)len);
	if (sig)
		BAD("%s of mapping %s faulted (%s): past the end of its file?", poke ? "poke" : "peek", m->name,
		    sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
	head(g_id, 0, 0);
	if (!poke) {
		oput(",\"out\":", 7);
		ohex(out, (size_t)len);
	}
	tail_us(now_us() - g_t0);
	return 0;
}

static void op_info(void)
{
	struct utsname u;
	uname(&u);
	head(g_id, 0, 0);
	oput(",\"info\":{\"sysname\":", 19);
	ojstr(u.sysname);
	oput(",\"release\":", 11);
	ojstr(u.release);
	oput(",\"version\":", 11);
	ojstr(u.version);
	oput(",\"machine\":", 11);
	ojstr(u.machine);
	ofmt(",\"euid\":%u,\"kvm\":%s,\"executor\":\"kvm-cca-agent " AGENT_VERSION "\"}", (unsigned)geteuid(),
	     access("/dev/kvm", R_OK | W_OK) == 0 ? "true" : "false");
	tail_us(0);
}

/*
 * ---- the kernel log: the records logged since the harness last asked ----
 * "since" absent: only note where the log ends now (the newest sequence
 * number); "since": N: every record after N. The fd stays open across
 * requests and resets, so later calls read only new records; an agent started
 * afresh reads the whole buffer and the harness's "since" filters it. Each
 * record goes out as "PRIO,SEQ,USEC;TEXT" (the kernel escapes non-printable
 * bytes in TEXT as \xNN); continuation (KEY=value) lines are dropped.
 */
#define KMSG_MAX_OUT (256 * 1024)
static int kmsg_fd = -1;

static int op_kmsg(const struct jv *r)
{
	long long since = -1, last, dropped = 0, lost = 0;
	static char rec[8192];
	int first = 1;
	if (want_int(r, "since", 0, &since, 1))
		return -1;
	g_t0 = now_us();
	if (kmsg_fd < 0 && (kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		head(g_id, -1, errno);
		tail_us(now_us() - g_t0);
		return 0;
	}
	last = since;
	head(g_id, 0, 0);
	oput(",\"kmsg\":[", 9);
	for (;;) {
		ssize_t n = read(kmsg_fd, rec, sizeof rec - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EPIPE) {
			lost++; /* overwritten before we read them: the next read resumes */
			continue;
		}
		if (n <= 0)
			break;
		rec[n] = 0;
		char *nl = strchr(rec, '\n');
		if (nl)
			*nl = 0;
		char *semi = strchr(rec, ';'), *c1 = strchr(rec, ',');
		if (!semi || !c1 || c1 > semi)
			continue;
		long long seq = strtoll(c1 + 1, NULL, 10);
		if (seq <= last && since >= 0)
			continue;
		if (seq > last)
			last = seq;
		if (since < 0)
			continue;
		/* "PRIO,SEQ,USEC;TEXT": drop the flags field and anything after it */
		char *c2 = strchr(c1 + 1, ',');
		char *c3 = c2 ? strchr(c2 + 1, ',') : NULL;
		if (c3 && c3 < semi) {
			memmove(c3, semi, strlen(semi) + 1);
		}
		if (obn > KMSG_MAX_OUT) {
			dropped++;
			continue;
		}
		if (!first)
			oput(",", 1);
		first = 0;
		ojstr(rec);
	}
	ofmt("],\"seq\":%lld", last);
	if (dropped)
		ofmt(",\"dropped\":%lld", dropped);
	if (lost)
		ofmt(",\"lost\":%lld", lost);
	tail_us(now_us() - g_t0);
	return 0;
}

static int dispatch(char *line)
{
	struct jv *r, *idv;
	const char *op;
	long long tmo = DEFAULT_TIMEOUT_MS;

	g_id = 0;
	jerr = NULL;
	jp = line;
	r = jval(0);
	if (r) {
		ws();
		if (*jp)
			jerr = "trailing characters";
	}
	/* Echo the id whenever it can be read, so the harness can match the error. */
	idv = r ? get(r, "id") : NULL;
	if (idv && idv->t == J_NUM && idv->isint && idv->n >= 0)
		g_id = idv->n;
	if (!r || jerr)
		BAD("not JSON: %s", jerr ? jerr : "?");
	if (r->t != J_OBJ)
		BAD("request must be a JSON object");
	if (want_int(r, "id", 0, &g_id, 0) || want_int(r, "timeout_ms", 1, &tmo, 1) || want_str(r, "op", &op, 0))
		return -1;
	if (tmo > MAX_TIMEOUT_MS)
		BAD("timeout_ms must be below 2^31");

	if (!strcmp(op, "open"))
		return op_open(r, tmo);
	if (!strcmp(op, "close"))
		return op_close(r);
	if (!strcmp(op, "ioctl"))
		return op_ioctl(r, tmo);
	if (!strcmp(op, "mmap"))
		return op_mmap(r, tmo);
	if (!strcmp(op, "munmap"))
		return op_munmap(r);
	if (!strcmp(op, "poke") || !strcmp(op, "peek"))
		return op_poke_peek(r, op[1] == 'o');
	if (!strcmp(op, "reset")) {
		reset_all();
		head(g_id, 0, 0);
		tail_us(0);
		return 0;
	}
	if (!strcmp(op, "info")) {
		op_info();
		return 0;
	}
	if (!strcmp(op, "kmsg"))
		return op_kmsg(r);
	BAD("unknown op %s", op);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], "--version")) {
		puts("kvm-cca-agent " AGENT_VERSION);
		return 0;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the deadline must interrupt the call */
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout shows up as a write error */
	sa.sa_handler = on_fault;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (n == 0 || strspn(line, " \t") == (size_t)n)
			continue;
		if (dispatch(line)) {
			obn = 0;
			ofmt("{\"id\":%lld,\"error\":", g_id);
			char msg[sizeof emsg + 16];
			snprintf(msg, sizeof msg, "bad-request: %s", emsg);
			ojstr(msg);
			oput("}", 1);
			flush_line();
		}
		afree();
	}
	return 0;
}
