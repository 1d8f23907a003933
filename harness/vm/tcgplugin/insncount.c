/*
 * insncount: kharness's QEMU TCG plugin. It counts the guest instructions
 * executed between two markers, and how many of them ran at kernel
 * addresses, and writes one line per counted stretch to the file given as
 * out=PATH:
 *
 *   insncount 2          the first line: the file's version
 *   B <tag>              the guest opened a benchmark's counted samples; tag
 *                        is the hex digits it sent just before (the host
 *                        checks them against the benchmark it names)
 *   P <vaddr> <insns>    (profile=on only) one kernel block executed in the
 *                        stretch whose S line follows: its address in hex,
 *                        and the instructions it ran there (its size times
 *                        its executions)
 *   S <total> <kernel>   one counted stretch: instructions from the start
 *                        marker to the end marker, and those at kernel
 *                        addresses
 *   F                    the line limit was reached: nothing follows
 *
 * Arguments: out=PATH (required) and profile=on|off (default off).
 *
 * A marker is an 8-byte no-op the guest executes, `nopl disp32(%rax,%rax,1)`
 * (0f 1f 84 00 + disp32) whose displacement is 0x6b68'00'NN ("kh"): NN 1
 * opens a benchmark, 2 starts a stretch, 3 ends it, 0x10 to 0x1f send the
 * hex digit 0 to f of the tag that the next "B" line carries (its last 16
 * digits; the guest sends 8, a hash of the benchmark's name, so that the
 * host pairs each group of stretches with its benchmark by something both
 * sides wrote, not by order alone). The bytes are recognised
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
 * Profile mode (profile=on) gives every translated block at a kernel
 * address a record {vaddr, insns, count, start} and an inline add of 1 to
 * its count at the block's entry. A block translated twice has two
 * records; the host sums them by address. Records live in chunks that are
 * allocated once and never move, since QEMU keeps the count's address; past
 * MAX_RECORDS blocks get none (the host then finds that a stretch's P lines
 * do not add up to its kernel count). The start marker copies every
 * record's count to its start; the end marker writes a P line for each
 * record whose count moved, before the stretch's S line. The P lines of a
 * stretch add up to its kernel count, since both come from the same blocks.
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
#include <pthread.h>

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
#define MARK_DIGIT 0x10 /* to 0x1f: a hex digit of the tag */

static uint64_t total, kernel;     /* all instructions; those at kernel addresses */
static uint64_t start_total, start_kernel;
static bool started;
static uint64_t tag; /* the tag's digits sent since the last B */
static int tag_digits;
static int out = -1;
/* A guest that runs markers without end must not fill the host's disk: past
 * this many lines (about 350 MB) the plugin writes "F" once and then
 * nothing. A profiled boot writes a line per function per stretch: 1.1
 * million for the switching benchmarks of configs/switches.toml. */
#define MAX_LINES (1UL << 24)
static unsigned long lines;

/* Output is gathered in buf and written when it fills and at the end of
 * each marker, so that a stretch's P lines cost a write or two, not one
 * each. */
static char buf[1 << 16];
static size_t buffered;

static void flush(void)
{
	const char *s = buf;
	size_t n = buffered;
	buffered = 0;
	while (out >= 0 && n > 0) {
		ssize_t w = write(out, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void emit(const char *s, size_t n)
{
	if (out < 0 || lines > MAX_LINES)
		return;
	if (++lines > MAX_LINES) {
		s = "F\n";
		n = 2;
	}
	if (buffered + n > sizeof buf)
		flush();
	memcpy(buf + buffered, s, n);
	buffered += n;
}

/* Profile mode: the records of kernel blocks, in chunks that never move. */
#define CHUNK_RECORDS (1UL << 16)
#define MAX_RECORDS (4UL << 20)
struct chunk {
	uint64_t count[CHUNK_RECORDS]; /* executions; QEMU adds 1 at the block's entry */
	uint64_t start[CHUNK_RECORDS]; /* count at the last start marker */
	uint64_t vaddr[CHUNK_RECORDS];
	uint32_t insns[CHUNK_RECORDS]; /* the block's instructions */
};
static bool profile;
static struct chunk *chunks[MAX_RECORDS / CHUNK_RECORDS];
static size_t records; /* records handed out */
static pthread_mutex_t records_lock = PTHREAD_MUTEX_INITIALIZER;

/* new_record returns the count of a fresh record for a kernel block, or
 * NULL past MAX_RECORDS or when memory runs out. */
static uint64_t *new_record(uint64_t vaddr, size_t n)
{
	uint64_t *count = NULL;
	pthread_mutex_lock(&records_lock);
	size_t i = records, c = i / CHUNK_RECORDS, j = i % CHUNK_RECORDS;
	if (i < MAX_RECORDS && (chunks[c] != NULL || (chunks[c] = calloc(1, sizeof *chunks[c])) != NULL)) {
		chunks[c]->vaddr[j] = vaddr;
		chunks[c]->insns[j] = (uint32_t)n;
		count = &chunks[c]->count[j];
		__atomic_store_n(&records, i + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&records_lock);
	return count;
}

/* snapshot sets every record's start to its count. */
static void snapshot(void)
{
	size_t n = __atomic_load_n(&records, __ATOMIC_ACQUIRE);
	for (size_t c = 0; c * CHUNK_RECORDS < n; c++) {
		size_t m = n - c * CHUNK_RECORDS;
		if (m > CHUNK_RECORDS)
			m = CHUNK_RECORDS;
		memcpy(chunks[c]->start, chunks[c]->count, m * sizeof(uint64_t));
	}
}

/* emit_profile writes a P line for every record whose count moved since
 * the last snapshot. */
static void emit_profile(void)
{
	char line[64];
	size_t n = __atomic_load_n(&records, __ATOMIC_ACQUIRE);
	for (size_t i = 0; i < n; i++) {
		struct chunk *ch = chunks[i / CHUNK_RECORDS];
		size_t j = i % CHUNK_RECORDS;
		uint64_t d = ch->count[j] - ch->start[j];
		if (d == 0)
			continue;
		int k = snprintf(line, sizeof line, "P %llx %llu\n", (unsigned long long)ch->vaddr[j],
		    (unsigned long long)(d * ch->insns[j]));
		emit(line, (size_t)k);
	}
}

static void on_mark(unsigned int vcpu, void *udata)
{
	char line[64];
	int n;
	(void)vcpu;
	uintptr_t kind = (uintptr_t)udata;
	if (kind >= MARK_DIGIT && kind < MARK_DIGIT + 16) {
		tag = tag << 4 | (kind - MARK_DIGIT);
		if (tag_digits < 16)
			tag_digits++;
		return;
	}
	switch (kind) {
	case MARK_BENCH:
		/* "B" alone when no digit came: the host rejects it. */
		n = tag_digits == 0 ? snprintf(line, sizeof line, "B\n")
		                    : snprintf(line, sizeof line, "B %0*llx\n", tag_digits, (unsigned long long)tag);
		emit(line, (size_t)n);
		tag = 0;
		tag_digits = 0;
		started = false;
		break;
	case MARK_START:
		start_total = total;
		start_kernel = kernel;
		if (profile)
			snapshot();
		started = true;
		break;
	case MARK_END:
		if (!started) {
			emit("E\n", 2); /* an end without a start: the host rejects the file */
			break;
		}
		/* The counts first: writing the profile runs no guest code, but
		 * keep the stretch's numbers those of the marker's moment. */
		uint64_t t = total - start_total, k = kernel - start_kernel;
		if (profile)
			emit_profile();
		n = snprintf(line, sizeof line, "S %llu %llu\n", (unsigned long long)t, (unsigned long long)k);
		emit(line, (size_t)n);
		started = false;
		break;
	}
	flush();
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
	if ((disp & 0xfff0) == MARK_DIGIT)
		return (int)(disp & 0xffff);
	return 0;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	(void)id;
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &total, n);
	if (vaddr >= KERNEL_BASE) {
		qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &kernel, n);
		if (profile) {
			uint64_t *count = new_record(vaddr, n);
			if (count != NULL)
				qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, count, 1);
		}
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
	flush();
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
		else if (strcmp(argv[i], "profile=on") == 0)
			profile = true;
		else if (strcmp(argv[i], "profile=off") == 0)
			profile = false;
		else {
			fprintf(stderr, "insncount: unknown argument %s (want out=FILE or profile=on|off)\n", argv[i]);
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
	emit("insncount 2\n", 12);
	flush();
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
	return 0;
}
