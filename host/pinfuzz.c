// SPDX-License-Identifier: GPL-2.0-only
/*
 * pinfuzz: the kernel side of `pinlab fuzz` (src/fuzz/). A static interpreter of generated
 * programs: no compiler runs per program, and one process (one UML boot) runs thousands.
 *
 *   pinfuzz --dir DIR [--blkdev DEV] [--in PROGRAMS] [< PROGRAMS] > RESULTS
 *
 * PROGRAMS: one program a line, "ID;CALL;CALL;..." with CALL = "OP TASK ARG..." (integers);
 * the encoding is src/fuzz/encode.ts, the one place that writes it. Each program runs in a fresh
 * process (its "parent" task) forked from the interpreter; a FORK call forks its "child" task,
 * which then serves the calls addressed to it over a pipe, so the calls of both tasks run in
 * program order, one at a time, as in the model.
 *
 * RESULTS: one line a program, "ID|CALLS|FACTS|END", where CALLS is "ret,dA,dR" per call joined
 * by ';' (dA/dR: nr_foll_pin_acquired/released across the call), FACTS is "T.S=P,P,..." per live
 * task T and mapped slot S with P per page: '.' not present, 'z' the zero page, otherwise the hex
 * content token (the uint32 at the page's start), and END is "dA,dR" across the whole program
 * including its teardown (exit of both tasks, the deferred release of io_uring rings). A program
 * that crashed prints "ID|!crash SIGNAL" instead.
 *
 * Counters: /proc/sys/vm/stat_refresh (where it exists: SMP kernels) folds the per-CPU deltas
 * before every read; after a call the counters are read until two readings agree (the unpins of
 * an O_DIRECT read may run after the syscall returned), at most SETTLE_MS.
 */
#define _GNU_SOURCE
#include "host-common.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif
#ifndef SPLICE_F_NONBLOCK
#define SPLICE_F_NONBLOCK 2
#endif

/* The layout both sides use: slot S at BASE + S * STRIDE (an mmap hint; src/fuzz/program.ts). */
#define BASE 0x200000000UL
#define STRIDE 0x4000000UL
#define BAD_ADDR 0x10000000UL
#define SINK_PAGES 64
#define MAX_SLOTS 8
#define MAX_CALLS 256
#define MAX_ARGS 16
#define FILE_PAGES 16
#define FILE_TOKEN 0x1f0
#define SETTLE_MS 200

struct call {
	char op;
	int task;
	int nargs;
	long a[MAX_ARGS];
};

static struct call calls[MAX_CALLS];
static int ncalls;
static const char *dir = ".";
static const char *blkdev;
static int refresh_fd = -1;
static int64_t zero_pfn_v = -2;
static int kpageflags_ok = -1;

/* Per program process (both tasks, inherited at fork). */
static int fd_file = -1, fd_memfd = -1, fd_blk = -1, ring = -1, pipe_r = -1, pipe_w = -1;
/*
 * The ring's submission and completion queues, mapped by ring_map() around each 'K' only: a mapping
 * of the ring holds a reference to its file (vma->vm_file), so a ring kept mapped would outlive
 * close() and exit of its last descriptor, and the model (which stands for io_uring_enter() with
 * io_uring_read_fixed/io_uring_write_fixed) has no such mappings.
 */
static struct io_uring_params ring_p;
static unsigned char *sq_map, *cq_map;
static struct pf_sqe *sqes;
static long slot_pages[MAX_SLOTS];
static int is_child;
static pid_t child_pid, parent_pid;
static int to_child[2], from_child[2];
static char sink[SINK_PAGES * PAGE_SZ] __attribute__((aligned(4096)));

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t in_touch;

static void on_fault(int sig)
{
	(void)sig;
	if (in_touch)
		siglongjmp(fault_jmp, 1);
	_exit(128 + sig);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int vmstat_fd = -1;

/* nr_foll_pin_acquired/released from /proc/vmstat, read with one pread() of a descriptor kept open. */
static void counters(int64_t *a, int64_t *r)
{
	static char buf[1 << 16];
	ssize_t n;
	char *p;

	if (refresh_fd >= 0 && pwrite(refresh_fd, "1", 1, 0) < 0)
		(void)0;
	*a = *r = 0;
	if (vmstat_fd < 0 && (vmstat_fd = open("/proc/vmstat", O_RDONLY)) < 0)
		return;
	n = pread(vmstat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = strstr(buf, "nr_foll_pin_acquired ");
	if (p)
		*a = strtoll(p + 21, NULL, 10);
	p = strstr(buf, "nr_foll_pin_released ");
	if (p)
		*r = strtoll(p + 21, NULL, 10);
}

/* Read until two consecutive readings agree (at most SETTLE_MS). */
static void settled(int64_t *a, int64_t *r)
{
	int64_t a2, r2;
	long long t0 = now_ms();

	counters(a, r);
	for (;;) {
		counters(&a2, &r2);
		if (a2 == *a && r2 == *r)
			return;
		*a = a2;
		*r = r2;
		if (now_ms() - t0 > SETTLE_MS)
			return;
		usleep(500);
	}
}

/*
 * After a close or an exit, the last reference to an io_uring ring is dropped and
 * io_ring_exit_work() (io_uring/io_uring.c) unpins its buffers later, from a workqueue, after
 * the ring's percpu reference has died (an RCU grace period; 5.10 then waits in steps of HZ/20):
 * when a registration may be live, wait until the counters stayed the same for QUIET_MS (at most
 * QUIET_MAX_MS).
 */
#define QUIET_MAX_MS 500
#define QUIET_MS 100
static void quiet(int64_t *a, int64_t *r)
{
	long long t0 = now_ms(), since = now_ms();
	int64_t a2, r2;

	while (now_ms() - t0 < QUIET_MAX_MS) {
		usleep(2000);
		counters(&a2, &r2);
		if (a2 != *a || r2 != *r) {
			*a = a2;
			*r = r2;
			since = now_ms();
		} else if (now_ms() - since >= QUIET_MS) {
			return;
		}
	}
}

static unsigned long addr_of(long slot, long off)
{
	if (slot < 0)
		return BAD_ADDR + (unsigned long)off;
	return BASE + (unsigned long)slot * STRIDE + (unsigned long)off;
}

static int fd_of(long f)
{
	return f == 0 ? fd_file : f == 1 ? fd_blk : f == 2 ? fd_memfd : f == 3 ? ring : 9999;
}

static long neg(long r)
{
	return r < 0 ? -errno : r;
}

static long touch(unsigned long a, long n, int write, uint32_t val)
{
	volatile uint32_t *p;
	long i, j;

	in_touch = 1;
	if (sigsetjmp(fault_jmp, 1)) {
		in_touch = 0;
		return -EFAULT;
	}
	for (i = 0; i < n; i++) {
		p = (volatile uint32_t *)(a + (unsigned long)i * PAGE_SZ);
		if (write)
			for (j = 0; j < (long)(PAGE_SZ / 4); j++)
				p[j] = val;
		else
			(void)p[0];
	}
	in_touch = 0;
	return 0;
}

static long do_mmap(struct call *c)
{
	long slot = c->a[0], kind = c->a[1], pages = c->a[2], prot = c->a[3], adv = c->a[4];
	int flags = 0, fd = -1;
	unsigned long hint = addr_of(slot, 0);
	void *p;

	switch (kind) {
	case 0: flags = MAP_PRIVATE | MAP_ANONYMOUS; break;
	case 1: flags = MAP_SHARED | MAP_ANONYMOUS; break;
	case 2: flags = MAP_PRIVATE; fd = fd_file; break;
	case 3: flags = MAP_SHARED; fd = fd_file; break;
	case 4: flags = MAP_SHARED; fd = fd_memfd; break;
	case 5: flags = MAP_PRIVATE; fd = fd_memfd; break;
	default: return -EINVAL;
	}
	p = mmap((void *)hint, (size_t)pages * PAGE_SZ, (int)prot, flags, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if ((unsigned long)p != hint) {
		munmap(p, (size_t)pages * PAGE_SZ);
		return 1; /* not placed at the hint: the layout both sides assume is gone */
	}
	if (slot >= 0 && slot < MAX_SLOTS)
		slot_pages[slot] = pages;
	if (adv && madvise(p, (size_t)pages * PAGE_SZ, adv == 1 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		return -1000 - errno;
	return 0;
}

static long iou_register(struct call *c)
{
	struct iovec iov[MAX_ARGS];
	long nr = c->a[3], i;

	if (nr > MAX_ARGS)
		nr = MAX_ARGS;
	for (i = 0; i < nr; i++) {
		iov[i].iov_base = (void *)(addr_of(c->a[0], c->a[1]) + (unsigned long)(i * c->a[2]));
		iov[i].iov_len = (size_t)c->a[2];
	}
	return neg(syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, iov, nr));
}

/*
 * Map the ring's queues (io_uring/io_uring.c io_uring_mmap(): IORING_OFF_SQ_RING, IORING_OFF_CQ_RING,
 * IORING_OFF_SQES) so 'K' can submit one SQE and reap its CQE.
 */
static size_t sq_sz, cq_sz, sqes_sz;

static void ring_unmap(void)
{
	if (sq_map)
		munmap(sq_map, sq_sz);
	if (cq_map)
		munmap(cq_map, cq_sz);
	if (sqes)
		munmap(sqes, sqes_sz);
	sq_map = cq_map = NULL;
	sqes = NULL;
}

static int ring_map(void)
{
	void *p;

	sq_sz = ring_p.sq_off.array + ring_p.sq_entries * sizeof(uint32_t);
	cq_sz = ring_p.cq_off.cqes + ring_p.cq_entries * sizeof(struct pf_cqe);
	sqes_sz = ring_p.sq_entries * sizeof(struct pf_sqe);

	p = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, PF_OFF_SQ_RING);
	if (p == MAP_FAILED)
		return -errno;
	sq_map = p;
	p = mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, PF_OFF_CQ_RING);
	if (p == MAP_FAILED)
		return -errno;
	cq_map = p;
	p = mmap(NULL, sqes_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, PF_OFF_SQES);
	if (p == MAP_FAILED)
		return -errno;
	sqes = p;
	return 0;
}

/*
 * IORING_OP_READ_FIXED / WRITE_FIXED of one SQE, waited for: the CQE's res (bytes or -errno), or
 * io_uring_enter()'s own -errno (a closed ring: EBADF). a: write, file, buf_index, slot, offset,
 * length, file offset.
 */
static long iou_rw_fixed_mapped(struct call *c);

static long iou_rw_fixed(struct call *c)
{
	long r = ring_map();

	if (!r)
		r = iou_rw_fixed_mapped(c);
	ring_unmap();
	return r;
}

static long iou_rw_fixed_mapped(struct call *c)
{
	long *a = c->a;
	volatile uint32_t *sq_tail = (uint32_t *)(sq_map + ring_p.sq_off.tail);
	uint32_t *sq_array = (uint32_t *)(sq_map + ring_p.sq_off.array);
	uint32_t mask = *(uint32_t *)(sq_map + ring_p.sq_off.ring_mask);
	volatile uint32_t *cq_head = (uint32_t *)(cq_map + ring_p.cq_off.head);
	volatile uint32_t *cq_tail = (uint32_t *)(cq_map + ring_p.cq_off.tail);
	uint32_t cmask = *(uint32_t *)(cq_map + ring_p.cq_off.ring_mask);
	struct pf_cqe *cqes = (struct pf_cqe *)(cq_map + ring_p.cq_off.cqes);
	uint32_t t = *sq_tail, h;
	struct pf_sqe *e = &sqes[t & mask];
	long r;

	memset(e, 0, sizeof(*e));
	e->opcode = a[0] ? PF_OP_WRITE_FIXED : PF_OP_READ_FIXED;
	e->fd = fd_of(a[1]);
	e->addr = (uint64_t)addr_of(a[3], a[4]);
	e->len = (uint32_t)a[5];
	e->off = (uint64_t)a[6];
	e->buf_index = (uint16_t)a[2];
	sq_array[t & mask] = t & mask;
	__atomic_store_n(sq_tail, t + 1, __ATOMIC_RELEASE);
	r = syscall(__NR_io_uring_enter, ring, 1, 1, PF_ENTER_GETEVENTS, NULL, 0);
	if (r < 0)
		return -errno;
	h = *cq_head;
	if (h == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE))
		return -1000 - EAGAIN;
	r = cqes[h & cmask].res;
	__atomic_store_n(cq_head, h + 1, __ATOMIC_RELEASE);
	return r;
}

static long run_call(struct call *c)
{
	long *a = c->a;
	struct iovec iov[4], riov;
	long i, r, n;

	switch (c->op) {
	case 'M':
		return do_mmap(c);
	case 'U':
		return neg(munmap((void *)addr_of(a[0], a[1] * PAGE_SZ), (size_t)a[2] * PAGE_SZ));
	case 'P':
		return neg(mprotect((void *)addr_of(a[0], a[1] * PAGE_SZ), (size_t)a[2] * PAGE_SZ, (int)a[3]));
	case 'A':
		return neg(madvise((void *)addr_of(a[0], a[1] * PAGE_SZ), (size_t)a[2] * PAGE_SZ, (int)a[3]));
	case 'T':
		return touch(addr_of(a[0], a[1] * PAGE_SZ), a[2], (int)a[3], (uint32_t)a[4]);
	case 'R':
		return neg(pread(fd_of(a[0]), (void *)addr_of(a[1], a[2]), (size_t)a[3], a[4]));
	case 'W':
		return neg(pwrite(fd_of(a[0]), (void *)addr_of(a[1], a[2]), (size_t)a[3], a[4]));
	case 'V':
		n = a[2];
		for (i = 0; i < n && i < 4; i++) {
			iov[i].iov_base = (void *)addr_of(a[3 + 3 * i], a[4 + 3 * i]);
			iov[i].iov_len = (size_t)a[5 + 3 * i];
		}
		return neg(preadv(fd_of(a[0]), iov, (int)n, a[1]));
	case 'I':
		return iou_register(c);
	case 'J':
		return neg(syscall(__NR_io_uring_register, ring, IORING_UNREGISTER_BUFFERS, NULL, 0));
	case 'K':
		return iou_rw_fixed(c);
	case 'Q':
		iov[0].iov_base = (void *)addr_of(a[1], a[2]);
		iov[0].iov_len = (size_t)a[3];
		riov.iov_base = (void *)addr_of(a[4], a[5]);
		riov.iov_len = (size_t)a[3];
		if (a[0])
			return neg(process_vm_writev(is_child ? parent_pid : child_pid, iov, 1, &riov, 1, 0));
		return neg(process_vm_readv(is_child ? parent_pid : child_pid, iov, 1, &riov, 1, 0));
	case 'S':
		iov[0].iov_base = (void *)addr_of(a[0], a[1]);
		iov[0].iov_len = (size_t)a[2];
		r = neg(vmsplice(pipe_w, iov, 1, SPLICE_F_NONBLOCK));
		if (r > 0) {
			long got = 0, k;

			while (got < r && (k = read(pipe_r, sink, sizeof(sink) < (size_t)(r - got) ? sizeof(sink) : (size_t)(r - got))) > 0)
				got += k;
		}
		return r;
	case 'Z':
		return neg(ftruncate(fd_of(a[0]), a[1] * PAGE_SZ));
	case 'Y':
		return neg(fsync(fd_of(a[0])));
	case 'C':
		/* the number stays: a later call on it gets EBADF (-1 would mean a registered ring) */
		return neg(close(fd_of(a[0])));
	}
	return -ENOSYS;
}

/* Per-page facts of every slot this task maps: '.', 'z', or the hex token. */
static int facts(char *out, size_t cap)
{
	static uint64_t pmap[512];
	size_t len = 0;
	int s, pm = open("/proc/self/pagemap", O_RDONLY), mem = open("/proc/self/mem", O_RDONLY);
	int kpf = kpageflags_ok > 0 ? open("/proc/kpageflags", O_RDONLY) : -1;
	long i;

	out[0] = '\0';
	for (s = 0; s < MAX_SLOTS; s++) {
		unsigned long base = addr_of(s, 0);
		long n = slot_pages[s];

		if (!n)
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s%c.%d=", len ? " " : "", is_child ? 'c' : 'p', s);
		if (n > 512)
			n = 512;
		/* one read of the slot's pagemap entries */
		if (pread(pm, pmap, (size_t)n * 8, (off_t)(base / PAGE_SZ * 8)) != (ssize_t)(n * 8))
			memset(pmap, 0, sizeof(pmap));
		for (i = 0; i < n && len + 16 < cap; i++) {
			uint64_t e = pmap[i], f = 0;
			uint32_t tok = 0;
			unsigned long va = base + (unsigned long)i * PAGE_SZ;

			if (!(e & (1ULL << 63))) {
				len += (size_t)snprintf(out + len, cap - len, "%s.", i ? "," : "");
				continue;
			}
			if (kpf >= 0 && pread(kpf, &f, 8, (off_t)((e & ((1ULL << 55) - 1)) * 8)) == 8 && (f & (1ULL << 24))) {
				len += (size_t)snprintf(out + len, cap - len, "%sz", i ? "," : "");
				continue;
			}
			if (kpf < 0 && zero_pfn_v >= 0 && (int64_t)(e & ((1ULL << 55) - 1)) == zero_pfn_v) {
				len += (size_t)snprintf(out + len, cap - len, "%sz", i ? "," : "");
				continue;
			}
			if (pread(mem, &tok, 4, (off_t)va) != 4)
				tok = 0xffffffffu;
			len += (size_t)snprintf(out + len, cap - len, "%s%x", i ? "," : "", tok);
		}
	}
	close(pm);
	close(mem);
	if (kpf >= 0)
		close(kpf);
	return (int)len;
}

static void write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			_exit(3);
		}
		p += w;
		n -= (size_t)w;
	}
}

static int read_all(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The child task: serve calls (index >= 0), facts (-1), exit (-2). */
static void __attribute__((noreturn)) serve(void)
{
	static char buf[1 << 16];
	int idx;
	long r;

	is_child = 1;
	close(to_child[1]);
	close(from_child[0]);
	for (;;) {
		if (read_all(to_child[0], &idx, sizeof(idx)))
			_exit(0);
		if (idx == -2)
			_exit(0);
		if (idx == -1) {
			int n = facts(buf, sizeof(buf));

			write_all(from_child[1], &n, sizeof(n));
			write_all(from_child[1], buf, (size_t)n);
			continue;
		}
		r = run_call(&calls[idx]);
		write_all(from_child[1], &r, sizeof(r));
	}
}

static long child_call(int idx)
{
	long r;

	if (!child_pid)
		return -ESRCH;
	write_all(to_child[1], &idx, sizeof(idx));
	if (read_all(from_child[0], &r, sizeof(r)))
		return -10000; /* the child died */
	return r;
}

static long fork_child(void)
{
	pid_t pid;

	if (child_pid)
		return -EBUSY;
	if (pipe(to_child) || pipe(from_child))
		return -errno;
	/* out of the program's way: a closed ring's number must stay free (EBADF, not a pipe) */
	for (int i = 0; i < 2; i++) {
		int hi = fcntl(to_child[i], F_DUPFD, 100), hj = fcntl(from_child[i], F_DUPFD, 100);

		close(to_child[i]);
		close(from_child[i]);
		to_child[i] = hi;
		from_child[i] = hj;
	}
	parent_pid = getpid();
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		serve();
	close(to_child[0]);
	close(from_child[1]);
	child_pid = pid;
	return 0;
}

static long exit_child(void)
{
	int idx = -2;

	if (!child_pid)
		return -ESRCH;
	write_all(to_child[1], &idx, sizeof(idx));
	waitpid(child_pid, NULL, 0);
	close(to_child[1]);
	close(from_child[0]);
	child_pid = 0;
	return 0;
}

static int uses(char op)
{
	int i;

	for (i = 0; i < ncalls; i++)
		if (calls[i].op == op)
			return 1;
	return 0;
}

/* The program's files: f0 (ext4, FILE_PAGES written pages, O_DIRECT), the memfd, the ring, the pipe. */
static int setup(int id)
{
	static uint32_t page[PAGE_SZ / 4] __attribute__((aligned(4096)));
	static char filebuf[FILE_PAGES * PAGE_SZ];
	char path[512];
	int i, fd;

	for (i = 0; i < (int)(PAGE_SZ / 4); i++)
		page[i] = FILE_TOKEN;
	snprintf(path, sizeof(path), "%s/pinfuzz-%d-%d", dir, (int)getpid(), id);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	for (i = 0; i < FILE_PAGES; i++)
		memcpy(filebuf + (size_t)i * PAGE_SZ, page, PAGE_SZ);
	if (pwrite(fd, filebuf, sizeof(filebuf), 0) != (ssize_t)sizeof(filebuf))
		return -errno;
	if (fsync(fd))
		return -errno;
	close(fd);
	fd_file = open(path, O_RDWR | O_DIRECT);
	unlink(path);
	if (fd_file < 0)
		return -errno;
	fd_memfd = (int)syscall(__NR_memfd_create, "pinfuzz", 0);
	if (fd_memfd < 0 || ftruncate(fd_memfd, FILE_PAGES * PAGE_SZ))
		return -errno;
	if (blkdev) {
		fd_blk = open(blkdev, O_RDWR | O_DIRECT);
		if (fd_blk < 0)
			return -errno;
	}
	if (uses('I') || uses('J') || uses('C') || uses('K')) {
		memset(&ring_p, 0, sizeof(ring_p));
		ring = (int)syscall(__NR_io_uring_setup, 4, &ring_p);
		if (ring < 0)
			return -errno;
	}
	{
		int pp[2];

		if (pipe(pp))
			return -errno;
		pipe_r = pp[0];
		pipe_w = pp[1];
	}
	return 0;
}

/* One program in this (fresh) process; results go to out. */
static void __attribute__((noreturn)) run_program(int id, int out)
{
	static char line[1 << 17], fbuf[1 << 16];
	size_t len = 0;
	int i, r, live_reg = 0;
	int64_t a1, r1;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	alarm(20);
	r = setup(id);
	if (r) {
		len = (size_t)snprintf(line, sizeof(line), "!setup %d", r);
		write_all(out, line, len);
		_exit(0);
	}
	/* the reading after call i is the one before call i + 1: nothing runs in between */
	settled(&a1, &r1);
	for (i = 0; i < ncalls; i++) {
		struct call *c = &calls[i];
		int64_t a0 = a1, r0 = r1;
		long ret;

		if (c->op == 'F')
			ret = c->task ? -EINVAL : fork_child();
		else if (c->op == 'X')
			ret = c->task ? exit_child() : -EINVAL;
		else if (c->task)
			ret = child_call(i);
		else
			ret = run_call(c);
		/*
		 * O_DIRECT: a read's pages can be released after the syscall returned (bio_check_pages_dirty()
		 * defers to bio_dirty_work), and on SMP a woken waiter can read before the completing CPU
		 * released a write's pages; a ring's release runs from a workqueue. Other calls release
		 * what they pinned before they return: one reading.
		 */
		/* which registration may be live: any task's calls come back through this loop */
		if (c->op == 'I' && ret == 0)
			live_reg = 1;
		else if (c->op == 'J' && ret == 0)
			live_reg = 0;
		if ((c->op == 'C' || c->op == 'X') && live_reg)
			quiet(&a1, &r1);
		else if (c->op == 'C' || c->op == 'X')
			counters(&a1, &r1);
		else if (c->op == 'R' || c->op == 'V' || c->op == 'W')
			settled(&a1, &r1);
		else
			counters(&a1, &r1);
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%ld,%lld,%lld", i ? ";" : "", ret,
					(long long)(a1 - a0), (long long)(r1 - r0));
	}
	len += (size_t)snprintf(line + len, sizeof(line) - len, "|");
	r = facts(fbuf, sizeof(fbuf));
	len += (size_t)snprintf(line + len, sizeof(line) - len, "%s", fbuf);
	if (child_pid) {
		int idx = -1, n = 0;

		write_all(to_child[1], &idx, sizeof(idx));
		if (!read_all(from_child[0], &n, sizeof(n)) && n >= 0 && n < (int)sizeof(fbuf) &&
		    !read_all(from_child[0], fbuf, (size_t)n)) {
			fbuf[n] = '\0';
			if (n)
				len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", r ? " " : "", fbuf);
		}
		exit_child();
	}
	write_all(out, line, len);
	_exit(0);
}

static int parse(char *s)
{
	char *save = NULL, *tok;

	ncalls = 0;
	for (tok = strtok_r(s, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		struct call *c;
		char *p = tok, *end;

		while (*p == ' ')
			p++;
		if (!*p || ncalls >= MAX_CALLS)
			return -1;
		c = &calls[ncalls++];
		c->op = *p++;
		c->task = (int)strtol(p, &end, 10);
		p = end;
		c->nargs = 0;
		for (;;) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			if (c->nargs >= MAX_ARGS)
				return -1;
			c->a[c->nargs++] = v;
			p = end;
		}
	}
	return 0;
}

/* The zero page's PFN: two read-faulted private anonymous pages that map the same PFN. */
static int64_t find_zero_pfn(void)
{
	uint64_t e[2];
	int64_t z = -1;
	char *p = mmap(NULL, 2 * PAGE_SZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int pm = open("/proc/self/pagemap", O_RDONLY);

	if (p == MAP_FAILED || pm < 0)
		return -1;
	madvise(p, 2 * PAGE_SZ, MADV_NOHUGEPAGE);
	(void)*(volatile char *)p;
	(void)*(volatile char *)(p + PAGE_SZ);
	if (pread(pm, e, 16, (off_t)((unsigned long)p / PAGE_SZ * 8)) == 16 && (e[0] >> 63) && (e[1] >> 63) &&
	    (e[0] & ((1ULL << 55) - 1)) && (e[0] & ((1ULL << 55) - 1)) == (e[1] & ((1ULL << 55) - 1)))
		z = (int64_t)(e[0] & ((1ULL << 55) - 1));
	close(pm);
	munmap(p, 2 * PAGE_SZ);
	return z;
}

static int kpageflags_usable(void)
{
	uint64_t f;
	int fd = open("/proc/kpageflags", O_RDONLY);
	int ok;

	if (fd < 0)
		return 0;
	ok = zero_pfn_v >= 0 && pread(fd, &f, 8, (off_t)(zero_pfn_v * 8)) == 8 && (f & (1ULL << 24));
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16], res[1 << 18];
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--blkdev") && i + 1 < argc)
			blkdev = argv[++i];
		else if (!strcmp(argv[i], "--in") && i + 1 < argc) {
			if (!freopen(argv[++i], "r", stdin)) {
				printf("#pinfuzz cannot open %s: %s\n", argv[i], strerror(errno));
				return 1;
			}
		}
		else {
			fprintf(stderr, "usage: pinfuzz --dir DIR [--blkdev DEV] [--in PROGRAMS]\n");
			return 2;
		}
	}
	(void)fail;
	(void)note;
	refresh_fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	zero_pfn_v = find_zero_pfn();
	kpageflags_ok = kpageflags_usable();
	printf("#pinfuzz zero_pfn=%lld kpageflags=%d refresh=%d\n", (long long)zero_pfn_v, kpageflags_ok, refresh_fd >= 0);
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin)) {
		char *semi;
		int id, p[2], st = 0;
		int64_t a0, r0, a1, r1;
		size_t n = 0;
		ssize_t k;
		pid_t pid;
		long long t0;

		buf[strcspn(buf, "\n")] = '\0';
		if (!buf[0])
			continue;
		id = atoi(buf);
		semi = strchr(buf, ';');
		if (parse(semi ? semi + 1 : buf + strlen(buf))) {
			printf("%d|!parse\n", id);
			fflush(stdout);
			continue;
		}
		if (pipe(p))
			return 1;
		settled(&a0, &r0);
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			run_program(id, p[1]);
		}
		close(p[1]);
		while (n < sizeof(res) - 1 && (k = read(p[0], res + n, sizeof(res) - 1 - n)) > 0)
			n += (size_t)k;
		res[n] = '\0';
		close(p[0]);
		waitpid(pid, &st, 0);
		/* Teardown: the exit released what the program held, a ring maybe from a worker later. */
		t0 = now_ms();
		for (;;) {
			settled(&a1, &r1);
			if (a1 - a0 == r1 - r0 || now_ms() - t0 > QUIET_MAX_MS)
				break;
			usleep(1000);
		}
		if (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st)))
			printf("%d|!crash %d\n", id, WIFSIGNALED(st) ? WTERMSIG(st) : 1000 + WEXITSTATUS(st));
		else if (res[0] == '!')
			printf("%d|%s\n", id, res);
		else
			printf("%d|%s|%lld,%lld\n", id, res, (long long)(a1 - a0), (long long)(r1 - r0));
		fflush(stdout);
	}
	return 0;
}
