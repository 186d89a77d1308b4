/* childenv.c: a child's environment from ours (see childenv.h). */
#include "childenv.h"
#include "xmalloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

char **
childenv_new(char *const *env, const char *const *drop, size_t ndrop, const char *add)
{
	size_t n = 0, k = 0;
	char **out;

	while (env[n] != NULL)
		n++;
	out = xcalloc(n + 2, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		bool keep = true;

		for (size_t d = 0; d < ndrop && keep; d++)
			keep = strncmp(env[i], drop[d], strlen(drop[d])) != 0;
		if (keep)
			out[k++] = env[i];
	}
	if (add != NULL)
		out[k++] = (char *)(uintptr_t)add;
	out[k] = NULL;
	return out;
}
