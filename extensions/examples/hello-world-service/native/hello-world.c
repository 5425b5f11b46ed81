/*
 * hello-world: the program of the example extension service.
 *
 * A minimal HTTP/1.0 server: every request gets "Hello from Talos Linux Extension Service!".
 *   hello-world [--port N] [--once]
 * --port 0 picks a free port; the port is printed on stdout ("listening on port N").
 * --once serves one request and exits (used by tests).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char body[] = "Hello from Talos Linux Extension Service!\n";

static int serve(int client) {
    char req[4096];
    ssize_t n = read(client, req, sizeof req);
    if (n < 0) return -1;
    char head[256];
    int len = snprintf(head, sizeof head,
                       "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
                       sizeof body - 1);
    if (write(client, head, (size_t)len) != len) return -1;
    if (write(client, body, sizeof body - 1) != (ssize_t)(sizeof body - 1)) return -1;
    return 0;
}

int main(int argc, char **argv) {
    int port = 8080, once = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--once") == 0) {
            once = 1;
        } else {
            fprintf(stderr, "usage: %s [--port N] [--once]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { perror("socket"); return 1; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons((unsigned short)port);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("bind"); return 1; }
    if (listen(fd, 16) < 0) { perror("listen"); return 1; }
    socklen_t alen = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &alen);
    printf("listening on port %d\n", ntohs(addr.sin_port));
    fflush(stdout);
    for (;;) {
        int client = accept(fd, NULL, NULL);
        if (client < 0) continue;
        serve(client);
        close(client);
        if (once) break;
    }
    close(fd);
    return 0;
}
