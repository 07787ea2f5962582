/*
 * kh_rules.h — the little language of rules.csv: a recursive-descent parser that
 * compiles one rule text into an expression tree checked against the indicator
 * catalogue, and an evaluator that tells whether a unit's values satisfy it and, when
 * they do not, renders the actual values ("GDHT.DANG_KY=812 > HO.TONG=640").
 *
 * Grammar (whitespace between tokens is free):
 *
 *   rule    := cond [ "=>" cond ]                 "if A then B"
 *   cond    := sum cmp sum                         cmp: <= < >= > == !=
 *            | INDICATOR "within" NUMBER "%" "of" "previous"
 *   sum     := term { ("+" | "-") term }
 *   term    := unary { "*" unary }
 *   unary   := "-" unary | primary
 *   primary := NUMBER | INDICATOR | OPTION | "NONE" | "(" sum ")"
 *
 * INDICATOR is a code of the catalogue (letters, digits, '_' and '.'); an identifier
 * that is not one is an OPTION code (TOT, KHA…) when it has no dot, and an "unknown
 * indicator" error when it has one.  Types are checked when compiling: arithmetic and
 * < <= > >= take numbers only; an option indicator compares with == / != against
 * another option indicator, NONE (the empty option) or one of its own option codes.
 * "X within P% of previous" holds when |X - X_prev| <= P% of X_prev, X_prev being
 * the same unit's value in the previous half-year.
 *
 * The module keeps no global state; a compiled expression is immutable and may be
 * evaluated from several threads at once.  It knows the indicators only as an array
 * (kh_indicator.h), never the catalogue that holds them and its rules.
 */
#ifndef KH_RULES_H
#define KH_RULES_H

#include <stddef.h>
#include "kh_indicator.h"
#include "kh_value.h"

#define KH_RULE_TEXT_MAX 512      /* longest rule text accepted */
#define KH_RULE_MAX_NODES 96      /* bounded tree: refuse rules larger than this */

typedef struct kh_expr kh_expr_t;

/* Resolves an indicator code to its index in the catalogue array, or -1. */
typedef int (*kh_rule_resolve_fn)(void *arg, const char *code);

/* Compiles `text`.  `inds`/`n_inds` is the catalogue's indicator array; it must stay
 * alive and unmoved while the expression is used.  Returns 0 and sets *out, or -1 and
 * writes a one-line reason ("unknown indicator X.Y at column 5") into err. */
int kh_rule_compile(const char *text, const kh_indicator_t *inds, size_t n_inds,
                    kh_rule_resolve_fn resolve, void *resolve_arg,
                    kh_expr_t **out, char *err, size_t errlen);
void kh_expr_free(kh_expr_t *e);

/* The distinct indicator indices the expression reads, in order of first appearance.
 * Fills out[] up to cap and returns the total count. */
size_t kh_expr_indicators(const kh_expr_t *e, int *out, size_t cap);
/* 1 when the expression has a "within … of previous" condition. */
int kh_expr_uses_previous(const kh_expr_t *e);

typedef enum { KH_RULE_PASS = 0, KH_RULE_FAIL = 1, KH_RULE_SKIP = 2 } kh_rule_result_t;

/* The unit's current value of indicator `ind` (index): 0 and *out filled, or -1 when
 * it has none (missing or unparseable). */
typedef int (*kh_rule_value_fn)(void *arg, int ind, kh_value_t *out);
/* The unit's value of `ind` in the previous half-year: 0 and *out, or -1. */
typedef int (*kh_rule_prev_fn)(void *arg, int ind, double *out);

/* Evaluates the expression for one unit.  SKIP when a value it reads is missing, or
 * when a "previous" comparison has no previous value (prev NULL or returning -1, or
 * a previous value <= 0, for which a relative change means nothing).  On FAIL writes
 * the actual values, in Vietnamese and English, into the detail buffers (without
 * surrounding parentheses); `prev_label` names the previous period ("2017S2"). */
kh_rule_result_t kh_expr_eval(const kh_expr_t *e, kh_rule_value_fn get,
                              kh_rule_prev_fn prev, void *arg, const char *prev_label,
                              char *detail_vi, size_t vi_len,
                              char *detail_en, size_t en_len);

#endif
