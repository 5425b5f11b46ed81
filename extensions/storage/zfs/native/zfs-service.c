/*
 * zfs-service: the process of the `zfs-service` extension service.
 *
 * At start it imports every pool the node's devices hold (`zpool import -a`) and mounts their
 * datasets; then it waits. When Talos stops the service (SIGTERM, or SIGINT) it exports every
 * pool (`zpool export -a`), so disks are left clean at shutdown, and exits.
 *
 * Exit status: 0 when both steps succeeded, 1 when one failed (Talos restarts the service, so
 * a failed import is retried), 2 on a usage or system error.
 *
 * Usage: zfs-service [ZPOOL]   (default /usr/local/sbin/zpool, the extension's own program,
 * which the service spec bind-mounts into the container)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_ZPOOL "/usr/local/sbin/zpool"

/* Runs `zpool <verb> -a` with the signals unblocked in the child; returns its exit status
 * (128 + signal when killed), or -1 when it could not run. */
static int zpool_all(const char *zpool, const char *verb, const sigset_t *blocked)
{
	char *const argv[] = { (char *)zpool, (char *)verb, "-a", NULL };
	int status;
	pid_t pid;

	fprintf(stderr, "zfs-service: running %s %s -a\n", zpool, verb);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "zfs-service: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, blocked, NULL);
		execv(zpool, argv);
		fprintf(stderr, "zfs-service: cannot run %s: %s\n", zpool, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "zfs-service: waitpid: %s\n", strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int report(const char *zpool, const char *verb, int rc)
{
	if (rc == 0) {
		fprintf(stderr, "zfs-service: %s %s -a: done\n", zpool, verb);
		return 0;
	}
	fprintf(stderr, "zfs-service: %s %s -a failed (status %d)\n", zpool, verb, rc);
	return 1;
}

int main(int argc, char **argv)
{
	const char *zpool = DEFAULT_ZPOOL;
	sigset_t stop;
	int sig, failed;

	if (argc > 2 || (argc == 2 && argv[1][0] != '/')) {
		fprintf(stderr, "usage: zfs-service [ABSOLUTE PATH OF ZPOOL]\n");
		return 2;
	}
	if (argc == 2)
		zpool = argv[1];

	/* Block the stop signals first: one that arrives during the import is taken afterwards. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	if (sigprocmask(SIG_BLOCK, &stop, NULL) != 0) {
		fprintf(stderr, "zfs-service: sigprocmask: %s\n", strerror(errno));
		return 2;
	}

	failed = report(zpool, "import", zpool_all(zpool, "import", &stop));
	if (failed)
		return 1;
	fprintf(stderr, "zfs-service: pools imported; waiting for SIGTERM to export them\n");
	if (sigwait(&stop, &sig) != 0) {
		fprintf(stderr, "zfs-service: sigwait failed\n");
		return 2;
	}
	fprintf(stderr, "zfs-service: %s received\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	return report(zpool, "export", zpool_all(zpool, "export", &stop));
}
