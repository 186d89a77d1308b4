/* uuid.h: random (v4) UUIDs and checks of their text form. */
#ifndef GTX_UUID_H
#define GTX_UUID_H

#include <stdbool.h>
#include <stddef.h>

#define UUID_STR_SZ 37 /* 36 characters + NUL */

/* A random version-4 UUID in canonical lower-case text (libsodium's CSPRNG). */
void uuid_v4(char out[UUID_STR_SZ]);
/* s[0..n) is 8-4-4-4-12 lower-case hex: the form PostgreSQL prints and our ids use. */
bool uuid_is_canonical(const char *s, size_t n);
/* The same with hex letters in either case (ids made by other systems, e.g. a JWT's sub). */
bool uuid_is_text(const char *s, size_t n);

#endif
