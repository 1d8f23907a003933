/*
 * kref: the C reference of kharness's fidelity check. It times the same
 * loops as the Go guest, the way LMbench and `perf bench` write them, so
 * that a boot can show Go ÷ C per case.
 *
 *   kref CASE ITERS
 *   kref count CASE ITERS REPS TAG SCHED
 *
 * CASE is null (syscall(SYS_getppid)), read (1 byte of /dev/zero), write
 * (1 byte to /dev/null), pipe (1-byte round trip to a forked child over two
 * pipes: lat_pipe) or ctx (lat_ctx with 2 processes and 0 KiB: the ring's
 * time per hop minus the hop overhead of one process writing and reading
 * its own pipe). ITERS is the number of operations (for pipe and ctx, round
 * trips), as the Go side calibrated it. After a warm-up of ITERS/10 it
 * prints one line: "NS RAW", the ns per operation and the same before any
 * overhead was subtracted.
 *
 * The second form is the count phase of kharness's instruction-counting
 * TCG plugin, the C twin of the Go guest's (guest/insns.go): it sends TAG's
 * hex digits and a benchmark marker, then REPS pairs of counted stretches
 * of ITERS and 2*ITERS iterations, each between a start and an end marker
 * (the same no-op `nopl 0x6b6800NN(%rax,%rax,1)` the Go guest executes).
 * For pipe and ctx, the process and its peer run under SCHED (fifo, batch
 * or default) and each stretch is preceded, as in Go, by a 0.5 ms sleep
 * and one uncounted round trip. It prints nothing: the plugin writes the
 * counts, and the Go guest the comment that names them.
 *
 * Built with gcc -O2 -static when kharness builds its image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static char buf[64];

static void loop_null(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static int fd;

static void loop_read(long n)
{
	for (long i = 0; i < n; i++)
		if (read(fd, buf, 1) != 1)
			die("read");
}

static void loop_write(long n)
{
	for (long i = 0; i < n; i++)
		if (write(fd, buf, 1) != 1)
			die("write");
}

static int wfd, rfd;

/* loop_hop writes a byte to wfd and reads one from rfd, n times. */
static void loop_hop(long n)
{
	for (long i = 0; i < n; i++) {
		if (write(wfd, buf, 1) != 1)
			die("write");
		if (read(rfd, buf, 1) != 1)
			die("read");
	}
}

/* The markers of kharness's counting plugin (guest/marker_amd64.s). */
#define MARK(nn) __asm__ volatile(".byte 0x0f,0x1f,0x84,0x00; .long 0x6b6800" #nn ::: "memory")

static void mark_digit(int d)
{
	switch (d) {
	case 0x0: MARK(10); break;
	case 0x1: MARK(11); break;
	case 0x2: MARK(12); break;
	case 0x3: MARK(13); break;
	case 0x4: MARK(14); break;
	case 0x5: MARK(15); break;
	case 0x6: MARK(16); break;
	case 0x7: MARK(17); break;
	case 0x8: MARK(18); break;
	case 0x9: MARK(19); break;
	case 0xa: MARK(1a); break;
	case 0xb: MARK(1b); break;
	case 0xc: MARK(1c); break;
	case 0xd: MARK(1d); break;
	case 0xe: MARK(1e); break;
	case 0xf: MARK(1f); break;
	}
}

/* stretch runs loop(n) between a start and an end marker. Both lengths go
 * through this one function, not inlined or specialised, so that what
 * lies between the markers besides the loop is the same for both. */
static __attribute__((noinline, noipa)) void stretch(void (*loop)(long), long n)
{
	MARK(02);
	loop(n);
	MARK(03);
}

static double timed(void (*loop)(long), long n)
{
	loop(n / 10 + 1);
	double t = now_ns();
	loop(n);
	return (now_ns() - t) / n;
}

/* peer forks a child echoing bytes from one new pipe to another; the
 * parent's ends go to wfd and rfd. */
static pid_t peer(void)
{
	int a[2], b[2];
	if (pipe(a) < 0 || pipe(b) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		while (read(a[0], buf, 1) == 1)
			if (write(b[1], buf, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	wfd = a[1];
	rfd = b[0];
	return pid;
}

static void stop(pid_t pid)
{
	int st;
	close(wfd);
	close(rfd);
	if (waitpid(pid, &st, 0) < 0 || st != 0)
		die("peer");
}

/* set_sched puts the calling process under the named policy (SCHED_FIFO
 * priority 1 for fifo); a child forked after it inherits it. */
static void set_sched(const char *name)
{
	struct sched_param sp = {0};
	int pol;
	if (!strcmp(name, "fifo")) {
		pol = SCHED_FIFO;
		sp.sched_priority = 1;
	} else if (!strcmp(name, "batch")) {
		pol = SCHED_BATCH;
	} else if (!strcmp(name, "default")) {
		return;
	} else {
		fprintf(stderr, "kref: unknown policy %s\n", name);
		exit(2);
	}
	if (sched_setscheduler(0, pol, &sp) < 0)
		die("sched_setscheduler");
}

/* settle sleeps 0.5 ms, so that any other runnable task runs now and not
 * inside a stretch, then takes one uncounted round trip: what waking from
 * the sleep costs lands there (guest/insns.go, letOthersRun). */
static void settle(void)
{
	struct timespec ts = {0, 500000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	loop_hop(1);
}

/* count is the second form of the command (see the top of this file). */
static int count(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: kref count null|read|write|pipe|ctx ITERS REPS TAG SCHED\n");
		return 2;
	}
	const char *c = argv[2], *tag = argv[5];
	long n = atol(argv[3]), reps = atol(argv[4]);
	if (n < 1 || reps < 1) {
		fprintf(stderr, "kref count: ITERS %s and REPS %s must be at least 1\n", argv[3], argv[4]);
		return 2;
	}
	void (*loop)(long) = NULL;
	int peers = 0;
	if (!strcmp(c, "null")) {
		loop = loop_null;
	} else if (!strcmp(c, "read") || !strcmp(c, "write")) {
		int r = !strcmp(c, "read");
		fd = open(r ? "/dev/zero" : "/dev/null", r ? O_RDONLY : O_WRONLY);
		if (fd < 0)
			die("open");
		loop = r ? loop_read : loop_write;
	} else if (!strcmp(c, "pipe") || !strcmp(c, "ctx")) {
		loop = loop_hop;
		peers = 1;
	} else {
		fprintf(stderr, "kref: unknown case %s\n", c);
		return 2;
	}
	pid_t pid = 0;
	if (peers) {
		set_sched(argv[6]);
		pid = peer();
	}
	loop(n); /* warm */
	for (const char *t = tag; *t; t++) {
		if (*t >= '0' && *t <= '9')
			mark_digit(*t - '0');
		else if (*t >= 'a' && *t <= 'f')
			mark_digit(*t - 'a' + 10);
	}
	MARK(01);
	for (long r = 0; r < reps; r++) {
		if (peers)
			settle();
		stretch(loop, n);
		if (peers)
			settle();
		stretch(loop, 2 * n);
	}
	if (peers)
		stop(pid);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "count"))
		return count(argc, argv);
	if (argc != 3) {
		fprintf(stderr, "usage: kref null|read|write|pipe|ctx ITERS\n");
		return 2;
	}
	const char *c = argv[1];
	long n = atol(argv[2]);
	if (n < 1)
		n = 1;
	double ns, raw;
	if (!strcmp(c, "null")) {
		ns = raw = timed(loop_null, n);
	} else if (!strcmp(c, "read") || !strcmp(c, "write")) {
		int r = !strcmp(c, "read");
		fd = open(r ? "/dev/zero" : "/dev/null", r ? O_RDONLY : O_WRONLY);
		if (fd < 0)
			die("open");
		ns = raw = timed(r ? loop_read : loop_write, n);
	} else if (!strcmp(c, "pipe")) {
		pid_t pid = peer();
		ns = raw = timed(loop_hop, n);
		stop(pid);
	} else if (!strcmp(c, "ctx")) {
		int p[2];
		if (pipe(p) < 0)
			die("pipe");
		wfd = p[1];
		rfd = p[0];
		double over = timed(loop_hop, n);
		close(p[0]);
		close(p[1]);
		pid_t pid = peer();
		raw = timed(loop_hop, n) / 2;
		ns = raw - over;
		stop(pid);
	} else {
		fprintf(stderr, "kref: unknown case %s\n", c);
		return 2;
	}
	printf("%.2f %.2f\n", ns, raw);
	return 0;
}
