/* acks.h: which stream entry delivered which reading, so the entry is acknowledged once the reading is final. */
#ifndef MINTD_ACKS_H
#define MINTD_ACKS_H

#include <stdbool.h>
#include <stddef.h>

#include "mintd.h"
#include "stream.h"

/* Remembers reading_id -> entry id (replacing an older entry id for the same reading). */
void acks_put(const char *reading_id, const char *eid);
/* Removes the mapping; copies the entry id into eid and returns true when there was one. */
bool acks_take(const char *reading_id, char eid[STREAM_EID_SZ]);
size_t acks_count(void);
void acks_clear(void);

#endif
