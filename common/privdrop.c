/* privdrop.c: the root check and the privilege drop both daemons do at start-up. */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

int
priv_drop(const char *user, struct err *e)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		if (user != NULL && user[0] != '\0' && ((pw = getpwnam(user)) == NULL || pw->pw_uid != geteuid()))
			return err_set(e, 0, "RUN_AS_USER=%s but not started as root or as that user", user);
		return 0;
	}
	if (user == NULL || user[0] == '\0')
		return err_set(e, 0, "refusing to run as root: set RUN_AS_USER to the account to switch to");
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return err_set(e, 0, "RUN_AS_USER=%s: no such user", user);
	if (pw->pw_uid == 0)
		return err_set(e, 0, "RUN_AS_USER=%s is root; name an unprivileged account", user);
	if (setgroups(1, &pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return err_set(e, 0, "switching to %s: %s", user, strerror(errno));
	/* Prove it cannot be undone. */
	if (setuid(0) == 0 || geteuid() == 0)
		return err_set(e, 0, "privilege drop to %s did not stick", user);
	return 0;
}
