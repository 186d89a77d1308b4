/* admin.h: the operator routes (bearer token checked by the router): meters and tokenization control. */
#ifndef INGESTD_ADMIN_H
#define INGESTD_ADMIN_H

#include "app.h"

/* Each answers req once PostgreSQL has (asynchronously); a is borrowed; string arguments are copied. */
void admin_meters(struct app *a, struct httpd_req *req, const char *serial); /* serial NULL: the collection */
void admin_unminted(struct app *a, struct httpd_req *req);
void admin_status(struct app *a, struct httpd_req *req);
void admin_toggle(struct app *a, struct httpd_req *req);
void admin_trigger(struct app *a, struct httpd_req *req);
void admin_retry(struct app *a, struct httpd_req *req, const char *id);
void admin_ack_halt(struct app *a, struct httpd_req *req);

#endif
