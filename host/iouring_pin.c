// SPDX-License-Identifier: GPL-2.0-only
/*
 * iouring_pin: measure the real kernel's long-term pin/unpin cost through
 * io_uring fixed-buffer registration.
 *
 * IORING_REGISTER_BUFFERS -> io_sqe_buffers_register() -> io_sqe_buffer_register()
 *   -> io_pin_pages() (io_uring/memmap.c)
 *   -> pin_user_pages_fast(uaddr, nr_pages, FOLL_WRITE | FOLL_LONGTERM, pages)
 * IORING_UNREGISTER_BUFFERS -> io_sqe_buffers_unregister() -> io_rsrc_data_free()
 *   -> io_buffer_unmap() -> io_release_ubuf() -> unpin_user_folio(folio, 1) per bvec
 *
 * No liburing: raw io_uring_setup/io_uring_register syscalls.
 *
 * Usage: iouring_pin --size BYTES (--thp|--small) [--reps R]
 *        iouring_pin --probe
 * Output: one JSON object on stdout. On error: {"error": ...} and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "host-common.h"

/* io_uring/rsrc.c io_validate_user_buf_range(): "if (ulen > SZ_1G || !ulen) return -EFAULT;" */
#define IOU_MAX_BUF (1UL << 30)
#define MAX_REPS 1000

static int io_uring_setup(unsigned entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int io_uring_register(int fd, unsigned opcode, const void *arg, unsigned nr_args)
{
	return (int)syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct pin_counters {
	int64_t acquired, released;
};

static int stat_refresh_warned;

/*
 * NR_FOLL_PIN_ACQUIRED/RELEASED are node stats with per-cpu deltas
 * (mm/vmstat.c); writing /proc/sys/vm/stat_refresh folds them so the
 * /proc/vmstat read is exact at this instant.
 */
static void read_counters(struct pin_counters *c)
{
	int fd, r;

	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1) {
		if (!stat_refresh_warned) {
			note("stat_refresh write failed (%s); counters may lag by per-cpu deltas",
			     strerror(errno));
			stat_refresh_warned = 1;
		}
	}
	if (fd >= 0)
		close(fd);

	r = read_vmstat_pins(&c->acquired, &c->released);
	if (r == -ENOENT)
		fail("vmstat", 0, "nr_foll_pin_acquired/nr_foll_pin_released missing from /proc/vmstat");
	if (r < 0)
		fail("vmstat", -r, "cannot open /proc/vmstat");
}

/* AnonHugePages (bytes) of the VMA starting at addr, from /proc/self/smaps. */
static long long smaps_anon_huge(unsigned long addr, unsigned long *vma_len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0;
	long long kb = -1;

	*vma_len = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		/* Mapping header "start-end perms ..."; field lines ("Rss:", ...) never match. */
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			in = (addr >= s && addr < e);
			if (in)
				*vma_len = e - s;
			continue;
		}
		if (in && !strncmp(line, "AnonHugePages:", 14)) {
			kb = strtoll(line + 14, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

static unsigned long read_ulong_file(const char *path, unsigned long dflt)
{
	FILE *f = fopen(path, "r");
	unsigned long v = dflt;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = dflt;
		fclose(f);
	}
	return v;
}

static const char *ulong_str(unsigned long long v)
{
	static char b[32];

	snprintf(b, sizeof(b), "%llu", v);
	return b;
}

/* CAP_IPC_LOCK (bit 14) in CapEff of /proc/self/status. */
static int has_cap_ipc_lock(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7))
			eff = strtoull(line + 7, NULL, 16);
	fclose(f);
	return (eff >> 14) & 1;
}

static unsigned long long parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end == 'i' || *end == 'B') end++;
	if (*end == 'B') end++;
	if (*end || end == s)
		fail("args", EINVAL, "bad size '%s'", s);
	return v;
}

/* Build iovecs of at most 'chunk' bytes covering [buf, buf+size). */
static int build_iovecs(struct iovec *iov, int max, char *buf, unsigned long size,
			unsigned long chunk)
{
	int n = 0;
	unsigned long off;

	for (off = 0; off < size; off += chunk) {
		if (n >= max)
			return -1;
		iov[n].iov_base = buf + off;
		iov[n].iov_len = size - off < chunk ? size - off : chunk;
		n++;
	}
	return n;
}

static void print_i64_array(const char *name, const uint64_t *a, int n)
{
	int i;

	printf("\"%s\": [", name);
	for (i = 0; i < n; i++)
		printf("%s%" PRIu64, i ? ", " : "", a[i]);
	printf("]");
}

int main(int argc, char **argv)
{
	unsigned long long size = 0;
	int thp = -1, reps = 5, probe = 0, i;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct io_uring_params params;
	struct utsname uts;
	unsigned long pmd, maplen, pages, chunk, vma_len = 0;
	char *raw, *buf;
	long long thp_bytes;
	int ring, niov, ret;
	struct iovec *iov;
	int max_iov;
	struct pin_counters c0, c1, c2;
	struct pin_counters wd_reg, wd_unreg;
	uint64_t warm_reg_ns, warm_unreg_ns, t0, t1;
	static uint64_t reg_ns[MAX_REPS], unreg_ns[MAX_REPS];
	static struct pin_counters d_reg[MAX_REPS], d_unreg[MAX_REPS];

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = parse_size(argv[++i]);
		else if (!strcmp(argv[i], "--thp"))
			thp = 1;
		else if (!strcmp(argv[i], "--small"))
			thp = 0;
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--probe"))
			probe = 1;
		else
			fail("args", EINVAL,
			     "usage: %s --size BYTES (--thp|--small) [--reps R] | --probe", argv[0]);
	}

	/*
	 * io_uring charges registered pages to RLIMIT_MEMLOCK (io_uring/rsrc.c
	 * __io_account_mem) unless the ring creator has CAP_IPC_LOCK
	 * (io_uring/io_uring.c io_uring_create: ctx->user is only set without it).
	 */
	if (setrlimit(RLIMIT_MEMLOCK, &rl)) {
		int err = errno;

		getrlimit(RLIMIT_MEMLOCK, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
		note("setrlimit(RLIMIT_MEMLOCK, infinity) failed (%s); limit is %s bytes; %s",
		     strerror(err), rl.rlim_cur == RLIM_INFINITY ? "unlimited" : ulong_str(rl.rlim_cur),
		     has_cap_ipc_lock() ? "CAP_IPC_LOCK is effective, so io_uring skips memlock accounting"
					: "no CAP_IPC_LOCK: registrations above the limit fail with ENOMEM");
	}

	memset(&params, 0, sizeof(params));
	ring = io_uring_setup(8, &params);
	if (ring < 0)
		fail("io_uring_setup", errno, "io_uring_setup failed");

	if (probe) {
		struct pin_counters c;

		read_counters(&c);
		printf("{\"ok\": true, \"acquired\": %" PRId64 ", \"released\": %" PRId64 "}\n",
		       c.acquired, c.released);
		return 0;
	}

	if (!size || thp < 0)
		fail("args", EINVAL, "need --size BYTES and one of --thp/--small");
	if (size % PAGE_SZ)
		fail("args", EINVAL, "size %llu is not a multiple of %lu", size, PAGE_SZ);
	if (reps < 1 || reps > MAX_REPS)
		fail("args", EINVAL, "reps must be 1..%d", MAX_REPS);

	pages = size / PAGE_SZ;
	pmd = read_ulong_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", 2UL << 20);
	if (thp && size % pmd)
		note("size is not a multiple of the PMD size %lu; the tail is not THP-eligible", pmd);

	/* Over-allocate by one PMD, then trim so the VMA is exactly [buf, buf+size), PMD-aligned. */
	maplen = size + (thp ? pmd : 0);
	raw = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		fail("mmap", errno, "mmap of %lu bytes failed", maplen);
	buf = raw;
	if (thp) {
		uintptr_t a = ((uintptr_t)raw + pmd - 1) & ~(uintptr_t)(pmd - 1);

		buf = (char *)a;
		if (buf > raw)
			munmap(raw, (size_t)(buf - raw));
		if (raw + maplen > buf + size)
			munmap(buf + size, (size_t)(raw + maplen - (buf + size)));
	}
	if (madvise(buf, size, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		fail("madvise", errno, "madvise(%s) failed", thp ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE");

	/* Write-fault every page first: we measure pinning of present, exclusive anon pages. */
	for (unsigned long pg = 0; pg < pages; pg++)
		((volatile char *)buf)[pg * PAGE_SZ] = (char)1;

	thp_bytes = smaps_anon_huge((unsigned long)buf, &vma_len);
	if (thp_bytes < 0) {
		note("could not read AnonHugePages from /proc/self/smaps");
		thp_bytes = 0;
	}
	if (vma_len && vma_len != size)
		note("VMA holding the buffer is %lu bytes (buffer %llu); AnonHugePages covers the whole VMA",
		     vma_len, size);
	if (thp && (unsigned long long)thp_bytes < size)
		note("THP requested but only %lld of %llu bytes are THP-backed", thp_bytes, size);
	if (!thp && thp_bytes)
		note("small pages requested but %lld bytes are THP-backed", thp_bytes);

	/*
	 * One iovec covering the whole buffer, unless it exceeds the per-buffer
	 * cap in io_validate_user_buf_range() (io_uring/rsrc.c, SZ_1G): then
	 * split into <= 1 GiB iovecs. If the kernel still refuses, halve.
	 */
	chunk = size > IOU_MAX_BUF ? IOU_MAX_BUF : size;
	if (chunk < size)
		note("size exceeds io_uring's 1 GiB per-buffer cap (io_validate_user_buf_range); split into %lu-byte iovecs",
		     chunk);
	max_iov = (int)(size / (2 * PAGE_SZ)) + 2;
	if (max_iov > 16384)
		max_iov = 16384; /* IORING_MAX_REG_BUFFERS, io_uring/rsrc.c */
	iov = calloc((size_t)max_iov, sizeof(*iov));
	if (!iov)
		fail("alloc", ENOMEM, "calloc iovecs");

	/* Warm-up registration (untimed in results): also discovers a layout the kernel accepts. */
	for (;;) {
		niov = build_iovecs(iov, max_iov, buf, size, chunk);
		if (niov < 0)
			fail("iovec", E2BIG, "too many iovecs for chunk %lu", chunk);
		read_counters(&c0);
		t0 = now_ns();
		ret = io_uring_register(ring, IORING_REGISTER_BUFFERS, iov, (unsigned)niov);
		t1 = now_ns();
		if (ret == 0)
			break;
		ret = errno;
		if ((ret == EFAULT || ret == EINVAL || ret == ENOMEM || ret == EOVERFLOW) &&
		    chunk > pmd) {
			note("REGISTER_BUFFERS with %d iovec(s) of <= %lu bytes failed (%s); splitting further",
			     niov, chunk, strerror(ret));
			chunk = (chunk / 2 + pmd - 1) & ~(pmd - 1);
			continue;
		}
		fail("register", ret, "IORING_REGISTER_BUFFERS of %llu bytes in %d iovec(s) failed",
		     size, niov);
	}
	warm_reg_ns = t1 - t0;
	read_counters(&c1);
	t0 = now_ns();
	ret = io_uring_register(ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
	t1 = now_ns();
	if (ret)
		fail("unregister", errno, "IORING_UNREGISTER_BUFFERS failed (warm-up)");
	warm_unreg_ns = t1 - t0;
	read_counters(&c2);
	wd_reg.acquired = c1.acquired - c0.acquired;
	wd_reg.released = c1.released - c0.released;
	wd_unreg.acquired = c2.acquired - c1.acquired;
	wd_unreg.released = c2.released - c1.released;

	for (i = 0; i < reps; i++) {
		read_counters(&c0);
		t0 = now_ns();
		ret = io_uring_register(ring, IORING_REGISTER_BUFFERS, iov, (unsigned)niov);
		t1 = now_ns();
		if (ret)
			fail("register", errno, "IORING_REGISTER_BUFFERS failed at rep %d", i);
		reg_ns[i] = t1 - t0;
		read_counters(&c1);
		t0 = now_ns();
		ret = io_uring_register(ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
		t1 = now_ns();
		if (ret)
			fail("unregister", errno, "IORING_UNREGISTER_BUFFERS failed at rep %d", i);
		unreg_ns[i] = t1 - t0;
		read_counters(&c2);
		d_reg[i].acquired = c1.acquired - c0.acquired;
		d_reg[i].released = c1.released - c0.released;
		d_unreg[i].acquired = c2.acquired - c1.acquired;
		d_unreg[i].released = c2.released - c1.released;
	}

	/* Representative delta: the last rep whose deltas equal the majority (first rep's if none). */
	{
		int best = 0, best_votes = 0, j;

		for (i = 0; i < reps; i++) {
			int votes = 0;

			for (j = 0; j < reps; j++)
				votes += !memcmp(&d_reg[i], &d_reg[j], sizeof(d_reg[i])) &&
					 !memcmp(&d_unreg[i], &d_unreg[j], sizeof(d_unreg[i]));
			if (votes > best_votes) {
				best = i;
				best_votes = votes;
			}
		}
		if (best_votes != reps)
			note("pin counter deltas differed across reps (concurrent pinning elsewhere?); delta is the most common one (%d/%d reps)",
			     best_votes, reps);

		if (uname(&uts))
			strcpy(uts.release, "unknown");
		printf("{\"size\": %llu, \"pages\": %lu, \"thp\": %s, \"thp_backed_bytes\": %lld, ",
		       size, pages, thp ? "true" : "false", thp_bytes);
		printf("\"pmd_size\": %lu, \"iovecs\": %d, \"iovec_max_bytes\": %lu, \"reps\": %d, ",
		       pmd, niov, chunk, reps);
		printf("\"kernel\": ");
		json_str(uts.release);
		printf(", ");
		print_i64_array("register_ns", reg_ns, reps);
		printf(", ");
		print_i64_array("unregister_ns", unreg_ns, reps);
		printf(", \"delta\": {\"register\": {\"acquired\": %" PRId64 ", \"released\": %" PRId64
		       "}, \"unregister\": {\"acquired\": %" PRId64 ", \"released\": %" PRId64 "}}",
		       d_reg[best].acquired, d_reg[best].released,
		       d_unreg[best].acquired, d_unreg[best].released);
		printf(", \"deltas\": [");
		for (i = 0; i < reps; i++)
			printf("%s{\"register\": {\"acquired\": %" PRId64 ", \"released\": %" PRId64
			       "}, \"unregister\": {\"acquired\": %" PRId64 ", \"released\": %" PRId64 "}}",
			       i ? ", " : "", d_reg[i].acquired, d_reg[i].released,
			       d_unreg[i].acquired, d_unreg[i].released);
		printf("]");
		printf(", \"warmup\": {\"register_ns\": %" PRIu64 ", \"unregister_ns\": %" PRIu64
		       ", \"delta\": {\"register\": {\"acquired\": %" PRId64 ", \"released\": %" PRId64
		       "}, \"unregister\": {\"acquired\": %" PRId64 ", \"released\": %" PRId64 "}}}",
		       warm_reg_ns, warm_unreg_ns, wd_reg.acquired, wd_reg.released,
		       wd_unreg.acquired, wd_unreg.released);
		printf(", \"notes\": [");
		for (i = 0; i < nnotes; i++) {
			if (i)
				printf(", ");
			json_str(notes[i]);
		}
		printf("]}\n");
	}
	close(ring);
	munmap(buf, size);
	return 0;
}
