/* lookup.h: GET /api/meters/readings/{id}: a reading's state, its transaction, its retries. */
#ifndef INGESTD_LOOKUP_H
#define INGESTD_LOOKUP_H

#include "app.h"

/* Answers req once PostgreSQL has (asynchronously); id as it came in the path (validated here). */
void lookup_reading(struct app *a, struct httpd_req *req, const char *id);

#endif
