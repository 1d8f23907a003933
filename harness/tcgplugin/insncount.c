/*
 * insncount: kharness's QEMU TCG plugin. It counts the guest instructions
 * executed between two markers, and how many of them ran at kernel
 * addresses, and writes one line per counted stretch to the file given as
 * out=PATH:
 *
 *   B                    the guest opened a benchmark's counted samples
 *   S <total> <kernel>   one counted stretch: instructions from the start
 *                        marker to the end marker, and those at kernel
 *                        addresses
 *   F                    the line limit was reached: nothing follows
 *
 * A marker is an 8-byte no-op the guest executes, `nopl disp32(%rax,%rax,1)`
 * (0f 1f 84 00 + disp32) whose displacement is 0x6b68'00'NN ("kh"): NN 1
 * opens a benchmark, 2 starts a stretch, 3 ends it. The bytes are recognised
 * when QEMU translates them, so nothing is paid where no marker runs, and
 * the markers cost nothing on a real CPU or under KVM.
 *
 * Counting is an inline add of each translated block's instruction count
 * at the block's entry, to one counter for all code and one for blocks at
 * kernel addresses (>= 0xffff800000000000). Under multi-threaded TCG the
 * adds of two vCPUs could race: kharness runs counted guests of more than
 * one vCPU with thread=single, where vCPUs take turns and the counters see
 * all of them. A block left early (a fault in its middle) is counted whole;
 * the guest cancels the constant part by counting each stretch at two
 * lengths and taking the difference.
 *
 * QEMU ships no header for the plugin API in Debian, so this file declares
 * the few functions of API version 1 (QEMU 4.2 to 8.x) it uses. QEMU 9
 * changed qemu_plugin_insn_data; the version check below makes a newer
 * QEMU refuse to load this plugin instead of misreading instructions.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
    void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
    enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
    void (*cb)(unsigned int vcpu, void *udata), enum qemu_plugin_cb_flags flags, void *udata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
    void (*cb)(qemu_plugin_id_t, void *), void *udata);

/* Version 1: the API whose qemu_plugin_insn_data returns a pointer. */
EXPORT int qemu_plugin_version = 1;

#define KERNEL_BASE 0xffff800000000000ULL
#define MARK_MAGIC 0x6b680000U
#define MARK_BENCH 1
#define MARK_START 2
#define MARK_END 3

static uint64_t total, kernel;     /* all instructions; those at kernel addresses */
static uint64_t start_total, start_kernel;
static bool started;
static int out = -1;
/* A guest that runs markers without end must not fill the host's disk: past
 * this many lines the plugin writes "F" once and then nothing. */
#define MAX_LINES (1UL << 20)
static unsigned long lines;

static void emit(const char *s, size_t n)
{
	if (out < 0 || lines > MAX_LINES)
		return;
	if (++lines > MAX_LINES) {
		s = "F\n";
		n = 2;
	}
	while (n > 0) {
		ssize_t w = write(out, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void on_mark(unsigned int vcpu, void *udata)
{
	char line[64];
	int n;
	(void)vcpu;
	switch ((uintptr_t)udata) {
	case MARK_BENCH:
		emit("B\n", 2);
		started = false;
		break;
	case MARK_START:
		start_total = total;
		start_kernel = kernel;
		started = true;
		break;
	case MARK_END:
		if (!started) {
			emit("E\n", 2); /* an end without a start: the host rejects the file */
			break;
		}
		n = snprintf(line, sizeof line, "S %llu %llu\n",
		    (unsigned long long)(total - start_total),
		    (unsigned long long)(kernel - start_kernel));
		emit(line, (size_t)n);
		started = false;
		break;
	}
}

/* marker returns the marker kind of insn, or 0. */
static int marker(const struct qemu_plugin_insn *insn)
{
	const uint8_t *b;
	uint32_t disp;
	if (qemu_plugin_insn_size(insn) != 8)
		return 0;
	b = qemu_plugin_insn_data(insn);
	if (b[0] != 0x0f || b[1] != 0x1f || b[2] != 0x84 || b[3] != 0x00)
		return 0;
	disp = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
	if ((disp & 0xffff0000U) != MARK_MAGIC)
		return 0;
	switch (disp & 0xffff) {
	case MARK_BENCH:
	case MARK_START:
	case MARK_END:
		return (int)(disp & 0xffff);
	}
	return 0;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	(void)id;
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &total, n);
	if (qemu_plugin_tb_vaddr(tb) >= KERNEL_BASE) {
		qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &kernel, n);
		return; /* markers live in user space */
	}
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		int kind = marker(insn);
		if (kind)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)kind);
	}
}

static void on_qemu_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	if (out >= 0)
		close(out);
	out = -1;
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv)
{
	const char *path = NULL;
	(void)info;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4) == 0)
			path = argv[i] + 4;
		else {
			fprintf(stderr, "insncount: unknown argument %s (want out=FILE)\n", argv[i]);
			return -1;
		}
	}
	if (path == NULL) {
		fprintf(stderr, "insncount: no out=FILE\n");
		return -1;
	}
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		perror(path);
		return -1;
	}
	emit("insncount 1\n", 12);
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
	return 0;
}
