/*
 * kh_findings.h — the list of problems found in a report (Kh__Finding: a code, error or
 * warning, the line, unit, indicator and value it is about, a message in Vietnamese and
 * in English), as kh_validate and the report parser fill it and the receipts carry it.
 *
 * Invariants: the list never holds more than KH_MAX_FINDINGS entries (the last one then
 * says that more were found, and is an error when any dropped finding was), and
 * n_errors counts the errors among the entries it holds.
 */
#ifndef KH_FINDINGS_H
#define KH_FINDINGS_H

#include <stddef.h>
#include <stdint.h>
#include "kh.pb-c.h"

typedef struct {
    Kh__Finding **items;     /* each from kh_findings_add, freed by kh_findings_clear */
    size_t n, cap;
    size_t n_errors;
} kh_findings_t;

/* Appends a finding (strings copied).  Returns 0, or -1 when out of memory or when
 * the list already holds KH_MAX_FINDINGS (the last kept entry then says so). */
#define KH_MAX_FINDINGS 2000
int kh_findings_add(kh_findings_t *f, const char *code, int is_error, uint32_t line,
                    const char *orgunit, const char *indicator, const char *value,
                    const char *msg_vi, const char *msg_en);
void kh_findings_clear(kh_findings_t *f);

/* Copies text from outside (a code, a value, a period as sent) for a finding or its
 * message: valid UTF-8 only (other bytes and control characters become '?'), at most
 * max_bytes, "…" appended when cut.  Always terminates dst when cap > 0. */
void kh_findings_text(char *dst, size_t cap, const char *src, size_t max_bytes);

#endif
