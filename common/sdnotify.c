/* sdnotify.c: one datagram to $NOTIFY_SOCKET per state change (abstract or filesystem socket). */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
sdn_notify(const char *state, struct err *e)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t plen, slen;
	socklen_t salen;
	int fd;
	ssize_t n;

	if (path == NULL || path[0] == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sa.sun_path))
		return err_set(e, 0, "NOTIFY_SOCKET is not an absolute or abstract socket path");
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return err_set(e, 0, "notify socket: %s", strerror(errno));
	slen = strlen(state);
	n = sendto(fd, state, slen, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	close(fd);
	if (n < 0 || (size_t)n != slen)
		return err_set(e, 0, "notify %s: %s", state, n < 0 ? strerror(errno) : "short write");
	return 1;
}

uint64_t
sdn_watchdog_usec(void)
{
	const char *s = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0')
		return 0;
	if (pid != NULL && *pid != '\0' && strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return 0;
	return (uint64_t)v;
}
