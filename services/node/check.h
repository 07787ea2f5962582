/*
 * check.h — `kh-node check` and the web page's "Kiểm tra kết nối": is this node set up
 * to reach the province?  Each item says OK, or what is wrong and what to do.
 */
#ifndef KH_NODE_CHECK_H
#define KH_NODE_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "kh_service.h"
#include "node.h"

typedef struct {
    const char *id;            /* "key_file", "server_key", "reachable", "registered",
                                * "spool", "clock", … */
    int ok;                    /* 1 OK, 0 failed */
    char what_vi[160], what_en[160];   /* what was checked */
    char fix_vi[640], fix_en[640];     /* "" when ok; else what is wrong and what to do */
} node_check_item_t;

#define NODE_CHECK_MAX 12

/* Runs every check for node n (its district, dir and key) against the service's
 * configuration ([node] collector, key, server_key); blocks a few seconds (the
 * connection tries), up to [security] handshake_ms + 6 s when the key is busy.  Safe to
 * call from a thread other than the node's loop: it opens its own socket.  Fills items (at most NODE_CHECK_MAX), returns how many were
 * filled; *failed counts those not OK. */
size_t node_check_all(kh_service_t *s, const node_t *n, node_check_item_t *items,
                      int *failed);

/* `kh-node check`: runs node_check_all and prints one line per item (OK, or LỖI/FAIL with
 * what to do, Vietnamese and English) and a last line.  Returns the exit status: 0 when
 * all are OK, 1 otherwise. */
int node_check_print(kh_service_t *s, const node_t *n, FILE *out);

#endif
