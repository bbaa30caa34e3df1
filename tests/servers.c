/*
 * servers.c — what the server helpers share: free ports and the CA.
 * The servers themselves: smtp_server.c, dovecot_server.c.
 */
#include <config.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "servers.h"

int
servers_free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd != -1 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd != -1)
		close(fd);
	return port;
}

int
servers_make_ca(const char *dir)
{
	char cmd[PATH_MAX * 2];
	const char *src = getenv("TESTS_SRCDIR");

	if (src == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "sh '%s/tls_ca.sh' '%s'", src, dir);
	return system(cmd) == 0 ? 0 : -1;
}
