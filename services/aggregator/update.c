/*
 * update.c — the FeedUpdate builder; see update.h.
 *
 * One growable array (KH_GROW) of cells, each with its names beside it: the Kh__Cell's
 * string pointers are set only by ag_update_finish, once the array no longer moves.
 */
#include "update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_util.h"

struct ag_update_cell {
    Kh__Cell c;
    /* owned copies: the names added come from rows and reports freed before the send;
     * as large as kh_cell_t's indicator (an option's cell is "CODE=OPTION") */
    char orgunit[KH_CODE_MAX + 24];
    char indicator[KH_CODE_MAX + 24];
};

int ag_update_add(ag_update_t *u, const char *period, const char *orgunit,
                  const char *indicator, double sum, uint32_t n, int deleted)
{
    if (KH_GROW(u->cells, u->n, u->cap, 512) < 0)
        return -1;
    struct ag_update_cell *e = &u->cells[u->n];
    kh__cell__init(&e->c);
    snprintf(e->orgunit, sizeof e->orgunit, "%s", orgunit);
    snprintf(e->indicator, sizeof e->indicator, "%s", indicator);
    e->c.period = (char *)period;
    e->c.sum = sum;
    e->c.n = n;
    e->c.deleted = deleted;
    u->n++;
    return 0;
}

int ag_update_finish(ag_update_t *u)
{
    free(u->cellp);
    u->cellp = malloc((u->n ? u->n : 1) * sizeof *u->cellp);
    if (!u->cellp)
        return -1;
    kh__feed_update__init(&u->u);
    for (size_t i = 0; i < u->n; i++) {
        u->cells[i].c.orgunit = u->cells[i].orgunit;
        u->cells[i].c.indicator = u->cells[i].indicator;
        u->cellp[i] = &u->cells[i].c;
    }
    u->u.cells = u->cellp;
    u->u.n_cells = u->n;
    return 0;
}

void ag_update_free(ag_update_t *u)
{
    free(u->cells);
    free(u->cellp);
    memset(u, 0, sizeof *u);
}

int ag_update_diff(ag_update_t *u, const char *period, const kh_cells_t *before,
                   const kh_cells_t *now)
{
    size_t i = 0, j = 0;
    while (i < before->n || j < now->n) {
        int c = i >= before->n ? 1 : j >= now->n ? -1 : kh_cell_cmp(&before->v[i], &now->v[j]);
        if (c < 0) {
            if (ag_update_add(u, period, before->v[i].orgunit, before->v[i].indicator, 0, 0,
                              1) < 0)
                return -1;
            i++;
        } else {
            /* a cell the revision leaves as it was is not sent again: the feed carries
             * changes (a subscriber keeps the rest; the snapshot has it all) */
            int same = c == 0 && before->v[i].sum == now->v[j].sum &&
                       before->v[i].n == now->v[j].n;
            if (!same && ag_update_add(u, period, now->v[j].orgunit, now->v[j].indicator,
                                       now->v[j].sum, now->v[j].n, 0) < 0)
                return -1;
            if (c == 0)
                i++;
            j++;
        }
    }
    return 0;
}
