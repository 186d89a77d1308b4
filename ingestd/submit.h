/* submit.h: POST /api/meters/submit-reading and /api/meters/readings/batch. */
#ifndef INGESTD_SUBMIT_H
#define INGESTD_SUBMIT_H

#include "app.h"

/* Each answers req once the reading(s) are stored or refused (asynchronously); a is borrowed. */
void submit_one(struct app *a, struct httpd_req *req);
void submit_batch(struct app *a, struct httpd_req *req);

#endif
