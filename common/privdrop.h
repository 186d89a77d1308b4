/* privdrop.h: refuse to run as root, or drop to RUN_AS_USER after the privileged set-up. */
#ifndef GTX_PRIVDROP_H
#define GTX_PRIVDROP_H

#include "err.h"

/*
 * Called at start-up. Not root: 0 (RUN_AS_USER, if set, must then name the
 * current user or be empty). Root without RUN_AS_USER: -1 ("refusing to run as
 * root"). Root with RUN_AS_USER: switches groups, gid and uid to that user
 * (irreversibly, checked) and returns 0. Call it after reading secrets that only
 * root may read, and before serving anything.
 */
int priv_drop(const char *run_as_user, struct err *e) WUR;

#endif
