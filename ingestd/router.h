/* router.h: httpd's callbacks: route each request (routes.h), check admin tokens, dispatch to its handler. */
#ifndef INGESTD_ROUTER_H
#define INGESTD_ROUTER_H

#include <stddef.h>

#include "httpd.h"

/* arg is the struct app (app.h), borrowed for the process's life. */
size_t router_headers(struct httpd_req *req, void *arg);
void router_request(struct httpd_req *req, void *arg);
void router_replied(const struct httpd_req *req, int status, void *arg);

#endif
