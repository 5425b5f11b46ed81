/*
 * nvidia-fabricmanager-wrapper: runs NVIDIA's fabric manager as a Talos service, with NVIDIA's
 * NVLink subnet manager (NVLSM) beside it when the node has an NVSwitch management port.
 *
 * Our own program (the Talos extensions' wrapper is a Go program; this one does the same steps,
 * see talos_ext_build::nvidia_fabricmanager):
 *   1. look for InfiniBand devices whose PCI VPD carries `SMDL=SW_MNG` (the limited physical
 *      functions of the baseboard's CX7 bridge that manage the NVSwitches) and take the first
 *      non-zero port GUID of the first one, read from sysfs (the port's GID 0, whose low 64 bits
 *      are the port GUID) once the kernel's user MAD interface is there (ib_umad);
 *   2. with a GUID: start nvlsm with it, then wait (up to 15 s) for the socket it opens for the
 *      fabric manager, and a second more;
 *   3. start nv-fabricmanager (with `--fm-sm-mgmt-port-guid` when there is a GUID);
 *   4. when either exits, or the service is stopped (SIGTERM/SIGINT), interrupt the others, give
 *      each 5 s, then kill it; exit with the first child's status.
 *
 * NVIDIA_FABRICMANAGER_WRAPPER_ROOT, when set, is a directory standing for `/` for every path
 * below (sysfs, programs, configuration, run directory): the tests run the wrapper on a fake
 * tree with it. The service never sets it.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FM_PROGRAM "/usr/bin/nv-fabricmanager"
#define FM_CONFIG "/usr/share/nvidia/nvswitch/fabricmanager.cfg"
#define SM_PROGRAM "/opt/nvidia/nvlsm/sbin/nvlsm"
#define SM_CONFIG "/usr/share/nvidia/nvlsm/nvlsm.conf"
#define SM_PID_FILE "/var/run/nvlsm.pid"
#define SM_SOCKET_DIR "/var/run/nvidia-fabricmanager"
#define SM_SOCKET SM_SOCKET_DIR "/fm_sm_ipc.socket"
#define IB_CLASS "/sys/class/infiniband"
#define UMAD_ABI "/sys/class/infiniband_mad/abi_version"
#define STOP_SECONDS 5
#define SOCKET_WAIT_TENTHS 150
#define MAX_PATH 4096

static const char *root = "";

static void say(const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "nvidia-fabricmanager-wrapper: ");
    fprintf(stderr, fmt, a ? a : "", b ? b : "");
    fputc('\n', stderr);
}

/* `path` below the root directory, in `buf`. */
static const char *at(char *buf, const char *path) {
    snprintf(buf, MAX_PATH, "%s%s", root, path);
    return buf;
}

/* The whole file into a NUL-terminated buffer (binary content kept), or NULL. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        char *bigger = realloc(buf, cap + 1);
        if (!bigger) {
            free(buf);
            buf = NULL;
        }
        buf = bigger;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

static int contains(const char *hay, size_t len, const char *needle) {
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= len; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

/* The port GUID of a GID `xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:xxxx`: its last four groups. */
static uint64_t guid_of_gid(const char *gid) {
    unsigned g[8];
    if (sscanf(gid, "%x:%x:%x:%x:%x:%x:%x:%x", &g[0], &g[1], &g[2], &g[3], &g[4], &g[5], &g[6], &g[7]) != 8)
        return 0;
    return ((uint64_t)g[4] << 48) | ((uint64_t)g[5] << 32) | ((uint64_t)g[6] << 16) | (uint64_t)g[7];
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* The first non-zero port GUID of device `dev`, by port number; 0 when none. */
static uint64_t device_port_guid(const char *dev) {
    char rel[MAX_PATH], path[MAX_PATH];
    snprintf(rel, sizeof rel, IB_CLASS "/%s/ports", dev);
    struct dirent **ports;
    int n = scandir(at(path, rel), &ports, NULL, by_name);
    uint64_t found = 0;
    for (int i = 0; i < n; i++) {
        if (!found && ports[i]->d_name[0] != '.') {
            char gid_rel[MAX_PATH];
            snprintf(gid_rel, sizeof gid_rel, "%s/%s/gids/0", rel, ports[i]->d_name);
            char *gid = slurp(at(path, gid_rel), NULL);
            if (gid) {
                found = guid_of_gid(gid);
                free(gid);
            }
        }
        free(ports[i]);
    }
    if (n >= 0)
        free(ports);
    return found;
}

/* The NVSwitch management port GUID (step 1), or 0 with the reason said. */
static uint64_t management_port_guid(void) {
    char path[MAX_PATH];
    struct dirent **devs;
    int n = scandir(at(path, IB_CLASS), &devs, NULL, by_name);
    if (n < 0) {
        say("NVSwitch management disabled: no %s%s", IB_CLASS, "");
        return 0;
    }
    uint64_t guid = 0;
    int umad_checked = 0, umad = 0;
    for (int i = 0; i < n; i++) {
        const char *dev = devs[i]->d_name;
        if (!guid && dev[0] != '.') {
            char rel[MAX_PATH];
            size_t len = 0;
            snprintf(rel, sizeof rel, IB_CLASS "/%s/device/vpd", dev);
            char *vpd = slurp(at(path, rel), &len);
            if (vpd && contains(vpd, len, "SMDL=SW_MNG")) {
                if (!umad_checked) {
                    umad_checked = 1;
                    umad = access(at(path, UMAD_ABI), R_OK) == 0;
                }
                if (umad)
                    guid = device_port_guid(dev);
            }
            free(vpd);
        }
        free(devs[i]);
    }
    free(devs);
    if (!guid) {
        say("NVSwitch management disabled: %s%s",
            umad_checked && !umad ? "the InfiniBand management port needs kernel module ib_umad"
                                  : "no InfiniBand device manages an NVSwitch",
            "");
        say("on Blackwell HGX baseboards and newer (NVLink 5), load ib_umad so that NVLSM runs beside the fabric "
            "manager%s%s",
            "", "");
    }
    return guid;
}

static pid_t start(char *const argv[]) {
    pid_t pid = fork();
    if (pid < 0) {
        perror("nvidia-fabricmanager-wrapper: fork");
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], argv);
        fprintf(stderr, "nvidia-fabricmanager-wrapper: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    say("started %s", argv[0], NULL);
    return pid;
}

static void sleep_tenths(int tenths) {
    struct timespec ts = {tenths / 10, (long)(tenths % 10) * 100000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static pid_t children[2];
static int nchildren;

/* A child that ended: forget it; returns its exit status as the wrapper's. */
static int reaped(pid_t pid, int status) {
    for (int i = 0; i < nchildren; i++)
        if (children[i] == pid)
            children[i] = 0;
    if (WIFEXITED(status)) {
        char code[16];
        snprintf(code, sizeof code, "%d", WEXITSTATUS(status));
        say("a program exited with status %s%s", code, "");
        return WEXITSTATUS(status);
    }
    say("a program was terminated by a signal%s%s", "", "");
    return 1;
}

static int running(void) {
    for (int i = 0; i < nchildren; i++)
        if (children[i] > 0)
            return 1;
    return 0;
}

/* Interrupts the running children, waits up to STOP_SECONDS, then kills what is left. */
static void stop_all(void) {
    for (int i = 0; i < nchildren; i++)
        if (children[i] > 0)
            kill(children[i], SIGINT);
    for (int t = 0; t < STOP_SECONDS * 10 && running(); t++) {
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            reaped(pid, status);
        if (running())
            sleep_tenths(1);
    }
    for (int i = 0; i < nchildren; i++)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
}

int main(void) {
    const char *r = getenv("NVIDIA_FABRICMANAGER_WRAPPER_ROOT");
    if (r && *r)
        root = r;
    signal(SIGHUP, SIG_IGN);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL);

    char guid_text[24] = "";
    uint64_t guid = management_port_guid();
    if (guid) {
        snprintf(guid_text, sizeof guid_text, "0x%llx", (unsigned long long)guid);
        say("NVSwitch management port GUID %s", guid_text, NULL);
    }

    char sm[MAX_PATH], sm_config[MAX_PATH], sm_pid[MAX_PATH], sock_dir[MAX_PATH], sock[MAX_PATH];
    char fm[MAX_PATH], fm_config[MAX_PATH];
    at(fm, FM_PROGRAM);
    at(fm_config, FM_CONFIG);
    if (guid) {
        at(sm, SM_PROGRAM);
        at(sm_config, SM_CONFIG);
        at(sm_pid, SM_PID_FILE);
        if (mkdir(at(sock_dir, SM_SOCKET_DIR), 0755) != 0 && errno != EEXIST)
            say("creating %s: %s", sock_dir, strerror(errno));
        char *argv[] = {sm, "--config", sm_config, "--guid", guid_text, "--pid_file", sm_pid, "--log_file", "stdout", NULL};
        pid_t pid = start(argv);
        if (pid > 0)
            children[nchildren++] = pid;
        at(sock, SM_SOCKET);
        int t = 0;
        while (t < SOCKET_WAIT_TENTHS && access(sock, F_OK) != 0) {
            sleep_tenths(1);
            t++;
        }
        say(t < SOCKET_WAIT_TENTHS ? "the subnet manager's socket %s is there" : "no socket %s after 15 s", sock, NULL);
        sleep_tenths(10);
    }
    char *fm_argv[] = {fm, "--config", fm_config, guid ? "--fm-sm-mgmt-port-guid" : NULL, guid_text, NULL};
    pid_t pid = start(fm_argv);
    if (pid > 0)
        children[nchildren++] = pid;

    int code = 1;
    while (running()) {
        int status;
        pid_t done = waitpid(-1, &status, WNOHANG);
        if (done > 0) {
            code = reaped(done, status);
            break;
        }
        struct timespec tick = {0, 100000000L};
        int sig = sigtimedwait(&stop, NULL, &tick);
        if (sig > 0) {
            say("stopping on signal %s%s", sig == SIGTERM ? "SIGTERM" : "SIGINT", "");
            code = 0;
            break;
        }
    }
    stop_all();
    return code;
}
