// SPDX-License-Identifier: GPL-2.0-only
/*
 * umlinit: PID 1 of a User-Mode Linux guest booted by `pinlab host-check --kernel uml-*`
 * (src/host/uml.ts). The guest's root is a host directory (hostfs) that holds this program,
 * a static pinhost, and /plan; the ext4 disk image is ubd0.
 *
 * It mounts /proc, /sys, /dev (devtmpfs) and the disk on /mnt, then runs the plan: one job a
 * line, "TIMEOUT OUTFILE ARG...", each as `/pinhost ARG...` (or, when the first ARG is an absolute
 * path, as that program: `pinlab fuzz` runs /pinfuzz) in a child process with stdout and
 * stderr in /out/OUTFILE (on hostfs, so the host reads it after the guest powered off), killed
 * after TIMEOUT seconds. After every job it appends one JSON line to /out/status.jsonl:
 * {"out": OUTFILE, "exit": N} or {"out": OUTFILE, "signal": N, "timeout": true|false}, with
 * "ms" the job's run time. Then it syncs, unmounts the disk and powers the guest off
 * (reboot(RB_POWER_OFF)): when init exits instead, the kernel panics.
 *
 * Nothing here decides a verdict: it runs the jobs and reports how each one ended.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 32

static FILE *status;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A line of /out/status.jsonl about the guest itself (mounts), before any job. */
static void event(const char *what, const char *detail, int err)
{
	if (!status)
		return;
	fprintf(status, "{\"event\": \"%s\", \"detail\": \"%s\", \"errno\": %d}\n", what, detail, err);
	fflush(status);
}

static void try_mount(const char *src, const char *dst, const char *type, const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, 0, data) && errno != EBUSY)
		event("mount-failed", dst, errno);
}

static void run_job(char *line)
{
	char *argv[MAX_ARGS + 2], *save = NULL, *tok, *out;
	char path[512];
	long timeout_s;
	long long t0;
	int argc = 1, st = 0, fd, timed_out = 0;
	pid_t pid;

	line[strcspn(line, "\n")] = '\0';
	tok = strtok_r(line, " ", &save);
	if (!tok)
		return;
	timeout_s = strtol(tok, NULL, 10);
	out = strtok_r(NULL, " ", &save);
	if (!out || timeout_s <= 0)
		return;
	argv[0] = "/pinhost";
	while ((tok = strtok_r(NULL, " ", &save)) && argc < MAX_ARGS)
		argv[argc++] = tok;
	argv[argc] = NULL;
	if (argc > 1 && argv[1][0] == '/') {
		argv[0] = argv[1];
		memmove(&argv[1], &argv[2], (size_t)(argc - 1) * sizeof(argv[0]));
		argc--;
	}
	snprintf(path, sizeof(path), "/out/%s", out);
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		if (chdir("/mnt"))
			(void)chdir("/");
		execv(argv[0], argv);
		printf("{\"error\": \"umlinit: cannot run %s\", \"stage\": \"exec\", \"errno\": %d}\n", argv[0], errno);
		_exit(127);
	}
	if (pid < 0) {
		fprintf(status, "{\"out\": \"%s\", \"fork_errno\": %d}\n", out, errno);
		fflush(status);
		return;
	}
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			break;
		if (!timed_out && now_ms() - t0 > timeout_s * 1000) {
			kill(pid, SIGKILL);
			timed_out = 1;
		}
		usleep(5000);
	}
	if (WIFEXITED(st))
		fprintf(status, "{\"out\": \"%s\", \"exit\": %d, \"ms\": %lld}\n", out, WEXITSTATUS(st), now_ms() - t0);
	else
		fprintf(status, "{\"out\": \"%s\", \"signal\": %d, \"timeout\": %s, \"ms\": %lld}\n", out,
			WIFSIGNALED(st) ? WTERMSIG(st) : 0, timed_out ? "true" : "false", now_ms() - t0);
	fflush(status);
	/* reap anything the job left behind (a forked child whose parent was killed) */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	char line[1024];
	FILE *plan;

	try_mount("proc", "/proc", "proc", NULL);
	try_mount("sysfs", "/sys", "sysfs", NULL);
	try_mount("devtmpfs", "/dev", "devtmpfs", NULL);
	mkdir("/out", 0755);
	status = fopen("/out/status.jsonl", "w");
	if (access("/dev/ubda", F_OK) == 0)
		try_mount("/dev/ubda", "/mnt", "ext4", NULL);
	else
		event("no-disk", "/dev/ubda", ENOENT);
	mkdir("/mnt/work", 0755);
	plan = fopen("/plan", "r");
	if (!plan)
		event("no-plan", "/plan", errno);
	while (plan && fgets(line, sizeof(line), plan))
		run_job(line);
	if (plan)
		fclose(plan);
	event("done", "", 0);
	if (status)
		fclose(status);
	sync();
	umount2("/mnt", 0);
	reboot(RB_POWER_OFF);
	return 0;
}
