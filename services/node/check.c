/*
 * check.c — see check.h.
 */
#include "check.h"

size_t node_check_all(kh_service_t *s, const node_t *n, node_check_item_t *items,
                      int *failed)
{
    (void)s;
    (void)n;
    (void)items;
    *failed = 0;
    return 0;
}
