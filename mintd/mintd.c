/* mintd.c: the process's settings and counters (mintd.h), defined apart from main so every module depends on them, not on main. */
#include "mintd.h"

struct mintd_settings S;
struct mintd_metrics M;
