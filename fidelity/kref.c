/*
 * kref: the C reference of kharness's fidelity check. It times the same
 * loops as the Go guest, the way LMbench and `perf bench` write them, so
 * that a boot can show Go ÷ C per case.
 *
 *   kref CASE ITERS
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
 * Built with gcc -O2 -static when kharness builds its image.
 */
#define _GNU_SOURCE
#include <fcntl.h>
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

int main(int argc, char **argv)
{
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
