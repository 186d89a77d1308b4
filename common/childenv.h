/* childenv.h: the environment a daemon hands to a program it executes: its own, some variables left out, one added. */
#ifndef GTX_CHILDENV_H
#define GTX_CHILDENV_H

#include <stddef.h>

/*
 * A NULL-terminated array (malloc'd; the caller frees the array, not the strings) of the entries of env that
 * start with none of drop[0..ndrop), followed by add when it is not NULL. The entries point into env and at
 * add, which must outlive the array. Build it before fork(): after it, only exec is safe.
 */
char **childenv_new(char *const *env, const char *const *drop, size_t ndrop, const char *add);

#endif
