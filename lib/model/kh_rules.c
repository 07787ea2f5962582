/*
 * kh_rules.c — compiler and evaluator for the rules of rules.csv (grammar in
 * kh_rules.h).  A hand-written tokenizer feeds a recursive-descent parser that builds
 * a small tree in a fixed-size node array, checking types and names as it goes, so a
 * rule that would misbehave at validation time is refused when the catalogue loads.
 * Evaluation walks the tree with the unit's values supplied by a callback and, on
 * failure, renders each comparison with the relation that actually holds
 * ("GDHT.DANG_KY=812 > HO.TONG=640") so the district officer sees the numbers.
 */
#include "kh_rules.h"
#include "kh_util.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tree ---------------------------------------------------------------------------- */

typedef enum {
    N_NUM, N_IND, N_OPTLIT, N_NONE, N_NEG, N_ADD, N_SUB, N_MUL, N_CMP, N_IMPL, N_WITHIN
} nkind_t;

/* Static type of a node: a number, an option indicator's value, an option constant
 * (a code or NONE, meaningful only next to an option indicator), or a condition. */
typedef enum { TY_NUM, TY_OPT, TY_OPTLIT, TY_BOOL } ntype_t;

typedef enum { OP_LE, OP_LT, OP_GE, OP_GT, OP_EQ, OP_NE } cmpop_t;

typedef struct {
    nkind_t kind;
    ntype_t type;
    int a, b;                  /* children (node indices), -1 when none */
    cmpop_t op;                /* N_CMP */
    double num;                /* N_NUM value; N_WITHIN percentage */
    int ind;                   /* N_IND, N_WITHIN: indicator index */
    char opt[16];              /* N_OPTLIT: the option code */
    int start, end;            /* source span [start, end) for messages */
} node_t;

struct kh_expr {
    char *text;
    const kh_indicator_t *inds;
    size_t n_inds;
    node_t nodes[KH_RULE_MAX_NODES];
    int n_nodes, root;
    int refs[KH_RULE_MAX_NODES];   /* distinct indicator indices, first appearance order */
    int n_refs;
    int uses_prev;
};

/* ---- tokenizer ------------------------------------------------------------------------ */

typedef enum {
    TK_EOF, TK_NUMBER, TK_IDENT, TK_LE, TK_LT, TK_GE, TK_GT, TK_EQ, TK_NE, TK_IMPL,
    TK_PLUS, TK_MINUS, TK_STAR, TK_LP, TK_RP, TK_PCT
} tkind_t;

typedef struct {
    tkind_t kind;
    int start, end;
    double num;
    char ident[KH_CODE_MAX];
} token_t;

typedef struct {
    const char *s;
    int pos;
    token_t tok;
    kh_expr_t *e;
    kh_rule_resolve_fn resolve;
    void *resolve_arg;
    int depth;
    int failed;
    char *err;
    size_t errlen;
} parser_t;

#define MAX_DEPTH 24    /* nesting of parentheses / unary minus: bounds the recursion */

static void perr(parser_t *p, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records the first error only: later ones are consequences of it. */
static void perr(parser_t *p, int col, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (p->err && p->errlen)
        snprintf(p->err, p->errlen, "%s at column %d", what, col + 1);
}

static const char *tok_text(const parser_t *p, char *buf, size_t cap)
{
    if (p->tok.kind == TK_EOF)
        return "end of rule";
    int n = p->tok.end - p->tok.start;
    snprintf(buf, cap, "'%.*s'", n > 40 ? 40 : n, p->s + p->tok.start);
    return buf;
}

static int is_ident_start(int c) { return isalpha(c) || c == '_'; }
static int is_ident_char(int c) { return isalnum(c) || c == '_' || c == '.'; }

/* Reads the next token into p->tok; on a lexical error sets p->failed. */
static void next(parser_t *p)
{
    const char *s = p->s;
    while (s[p->pos] == ' ' || s[p->pos] == '\t')
        p->pos++;
    token_t *t = &p->tok;
    t->start = p->pos;
    t->ident[0] = '\0';
    t->num = 0;
    unsigned char c = (unsigned char)s[p->pos];
    if (c == '\0') {
        t->kind = TK_EOF;
        t->end = p->pos;
        return;
    }
    if (isdigit(c)) {
        /* Literals use '.' as the decimal point and no grouping: 25, 0.5, 2. */
        double v = 0;
        int digits = 0;
        while (isdigit((unsigned char)s[p->pos])) {
            v = v * 10 + (s[p->pos] - '0');
            p->pos++;
            digits++;
        }
        if (s[p->pos] == '.' && isdigit((unsigned char)s[p->pos + 1])) {
            p->pos++;
            double scale = 0.1;
            while (isdigit((unsigned char)s[p->pos])) {
                v += (s[p->pos] - '0') * scale;
                scale /= 10;
                p->pos++;
                digits++;
            }
        }
        if (digits > 15) {
            perr(p, t->start, "number too long");
            t->kind = TK_EOF;
            return;
        }
        if (is_ident_char((unsigned char)s[p->pos])) {
            perr(p, t->start, "malformed number");
            t->kind = TK_EOF;
            return;
        }
        t->kind = TK_NUMBER;
        t->num = v;
        t->end = p->pos;
        return;
    }
    if (is_ident_start(c)) {
        int n = 0;
        while (is_ident_char((unsigned char)s[p->pos])) {
            if (n >= KH_CODE_MAX - 1) {
                perr(p, t->start, "name longer than %d characters", KH_CODE_MAX - 1);
                t->kind = TK_EOF;
                return;
            }
            t->ident[n++] = s[p->pos++];
        }
        t->ident[n] = '\0';
        t->kind = TK_IDENT;
        t->end = p->pos;
        return;
    }
    char c2 = s[p->pos + 1];
    int len = 1;
    switch (c) {
    case '<': if (c2 == '=') { t->kind = TK_LE; len = 2; } else t->kind = TK_LT; break;
    case '>': if (c2 == '=') { t->kind = TK_GE; len = 2; } else t->kind = TK_GT; break;
    case '=':
        if (c2 == '=') { t->kind = TK_EQ; len = 2; }
        else if (c2 == '>') { t->kind = TK_IMPL; len = 2; }
        else { perr(p, t->start, "'=' alone (use '==' to compare)"); t->kind = TK_EOF; return; }
        break;
    case '!':
        if (c2 == '=') { t->kind = TK_NE; len = 2; }
        else { perr(p, t->start, "unexpected '!'"); t->kind = TK_EOF; return; }
        break;
    case '+': t->kind = TK_PLUS; break;
    case '-': t->kind = TK_MINUS; break;
    case '*': t->kind = TK_STAR; break;
    case '(': t->kind = TK_LP; break;
    case ')': t->kind = TK_RP; break;
    case '%': t->kind = TK_PCT; break;
    default:
        if (c >= 0x20 && c < 0x7f)
            perr(p, t->start, "unexpected character '%c'", c);
        else
            perr(p, t->start, "unexpected byte 0x%02x", c);
        t->kind = TK_EOF;
        return;
    }
    p->pos += len;
    t->end = p->pos;
}

/* ---- parser --------------------------------------------------------------------------- */

static int new_node(parser_t *p, nkind_t kind, ntype_t type, int start, int end)
{
    kh_expr_t *e = p->e;
    if (e->n_nodes >= KH_RULE_MAX_NODES) {
        perr(p, start, "rule too complex (more than %d nodes)", KH_RULE_MAX_NODES);
        return -1;
    }
    node_t *n = &e->nodes[e->n_nodes];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->type = type;
    n->a = n->b = -1;
    n->ind = -1;
    n->start = start;
    n->end = end;
    return e->n_nodes++;
}

static void add_ref(kh_expr_t *e, int ind)
{
    for (int i = 0; i < e->n_refs; i++)
        if (e->refs[i] == ind)
            return;
    if (e->n_refs < KH_RULE_MAX_NODES)
        e->refs[e->n_refs++] = ind;
}

static int is_keyword(const char *s)
{
    return strcmp(s, "within") == 0 || strcmp(s, "of") == 0 || strcmp(s, "previous") == 0;
}

static int parse_sum(parser_t *p);

static int parse_primary(parser_t *p)
{
    char tb[64];
    token_t t = p->tok;
    if (p->failed)
        return -1;
    if (t.kind == TK_NUMBER) {
        int n = new_node(p, N_NUM, TY_NUM, t.start, t.end);
        if (n >= 0)
            p->e->nodes[n].num = t.num;
        next(p);
        return n;
    }
    if (t.kind == TK_LP) {
        if (++p->depth > MAX_DEPTH) {
            perr(p, t.start, "parentheses nested too deeply");
            return -1;
        }
        next(p);
        int n = parse_sum(p);
        if (n < 0)
            return -1;
        if (p->tok.kind != TK_RP) {
            perr(p, p->tok.start, "expected ')' but found %s", tok_text(p, tb, sizeof tb));
            return -1;
        }
        p->e->nodes[n].start = t.start;     /* the span shows the parentheses */
        p->e->nodes[n].end = p->tok.end;
        p->depth--;
        next(p);
        return n;
    }
    if (t.kind == TK_IDENT) {
        if (is_keyword(t.ident)) {
            perr(p, t.start, "unexpected '%s'", t.ident);
            return -1;
        }
        int n;
        if (strcmp(t.ident, "NONE") == 0) {
            n = new_node(p, N_NONE, TY_OPTLIT, t.start, t.end);
        } else {
            int ind = p->resolve(p->resolve_arg, t.ident);
            if (ind >= 0 && (size_t)ind < p->e->n_inds) {
                const kh_indicator_t *d = &p->e->inds[ind];
                n = new_node(p, N_IND, d->vtype == KH_VT_OPTION ? TY_OPT : TY_NUM,
                             t.start, t.end);
                if (n >= 0) {
                    p->e->nodes[n].ind = ind;
                    add_ref(p->e, ind);
                }
            } else if (strchr(t.ident, '.') != NULL) {
                perr(p, t.start, "unknown indicator %s", t.ident);
                return -1;
            } else if (strlen(t.ident) >= sizeof p->e->nodes[0].opt) {
                perr(p, t.start, "unknown name %s", t.ident);
                return -1;
            } else {
                /* An option code: checked against its indicator by the comparison. */
                n = new_node(p, N_OPTLIT, TY_OPTLIT, t.start, t.end);
                if (n >= 0)
                    snprintf(p->e->nodes[n].opt, sizeof p->e->nodes[n].opt, "%.15s", t.ident);
            }
        }
        next(p);
        return n;
    }
    perr(p, t.start, "expected a number, an indicator or '(' but found %s",
         tok_text(p, tb, sizeof tb));
    return -1;
}

/* A name for a non-numeric operand in error messages. */
static void operand_name(const parser_t *p, int n, char *buf, size_t cap)
{
    const node_t *d = &p->e->nodes[n];
    snprintf(buf, cap, "%.*s", d->end - d->start > 60 ? 60 : d->end - d->start,
             p->s + d->start);
}

static int need_number(parser_t *p, int n, const char *what)
{
    if (n < 0)
        return -1;
    const node_t *d = &p->e->nodes[n];
    if (d->type == TY_NUM)
        return 0;
    char nm[72];
    operand_name(p, n, nm, sizeof nm);
    if (d->kind == N_OPTLIT)
        perr(p, d->start, "unknown name %s (not an indicator; option codes only compare "
             "with == or != to an option indicator)", nm);
    else
        perr(p, d->start, "%s needs numbers but %s is an option", what, nm);
    return -1;
}

static int parse_unary(parser_t *p)
{
    if (p->failed)
        return -1;
    if (p->tok.kind == TK_MINUS) {
        int start = p->tok.start;
        if (++p->depth > MAX_DEPTH) {
            perr(p, start, "expression nested too deeply");
            return -1;
        }
        next(p);
        int c = parse_unary(p);
        p->depth--;
        if (need_number(p, c, "'-'") < 0)
            return -1;
        int n = new_node(p, N_NEG, TY_NUM, start, p->e->nodes[c].end);
        if (n >= 0)
            p->e->nodes[n].a = c;
        return n;
    }
    return parse_primary(p);
}

static int parse_term(parser_t *p)
{
    int l = parse_unary(p);
    while (l >= 0 && !p->failed && p->tok.kind == TK_STAR) {
        next(p);
        int r = parse_unary(p);
        if (need_number(p, l, "'*'") < 0 || need_number(p, r, "'*'") < 0)
            return -1;
        int n = new_node(p, N_MUL, TY_NUM, p->e->nodes[l].start, p->e->nodes[r].end);
        if (n < 0)
            return -1;
        p->e->nodes[n].a = l;
        p->e->nodes[n].b = r;
        l = n;
    }
    return p->failed ? -1 : l;
}

static int parse_sum(parser_t *p)
{
    int l = parse_term(p);
    while (l >= 0 && !p->failed && (p->tok.kind == TK_PLUS || p->tok.kind == TK_MINUS)) {
        nkind_t k = p->tok.kind == TK_PLUS ? N_ADD : N_SUB;
        const char *what = k == N_ADD ? "'+'" : "'-'";
        next(p);
        int r = parse_term(p);
        if (need_number(p, l, what) < 0 || need_number(p, r, what) < 0)
            return -1;
        int n = new_node(p, k, TY_NUM, p->e->nodes[l].start, p->e->nodes[r].end);
        if (n < 0)
            return -1;
        p->e->nodes[n].a = l;
        p->e->nodes[n].b = r;
        l = n;
    }
    return p->failed ? -1 : l;
}

static int option_index(const kh_indicator_t *d, const char *code)
{
    for (int i = 0; i < d->n_options; i++)
        if (strcmp(d->options[i], code) == 0)
            return i;
    return -1;
}

/* Type check of `l op r`; returns 0 or -1 with the error recorded. */
static int check_comparison(parser_t *p, int l, int r, cmpop_t op, int op_col)
{
    const node_t *L = &p->e->nodes[l], *R = &p->e->nodes[r];
    if (L->type == TY_NUM && R->type == TY_NUM)
        return 0;
    if (op != OP_EQ && op != OP_NE) {
        if (need_number(p, l, "an order comparison") < 0)
            return -1;
        return need_number(p, r, "an order comparison");
    }
    if (L->type == TY_OPTLIT && R->type == TY_OPTLIT) {
        perr(p, op_col, "comparison of two constants");
        return -1;
    }
    if (L->type == TY_NUM || R->type == TY_NUM) {
        /* A number against an option value or constant. */
        int other = L->type == TY_NUM ? r : l;
        const node_t *O = &p->e->nodes[other];
        if (O->kind == N_OPTLIT)
            return need_number(p, other, "the comparison");
        char nm[72];
        operand_name(p, other, nm, sizeof nm);
        perr(p, op_col, "cannot compare a number with the option %s", nm);
        return -1;
    }
    /* Both option-typed: an indicator against an indicator, NONE, or its own code. */
    if (L->type == TY_OPT && R->type == TY_OPT)
        return 0;
    const node_t *I = L->type == TY_OPT ? L : R;
    const node_t *C = L->type == TY_OPT ? R : L;
    if (C->kind == N_NONE)
        return 0;
    const kh_indicator_t *d = &p->e->inds[I->ind];
    if (option_index(d, C->opt) < 0) {
        char list[KH_MAX_OPTIONS * 17] = "";
        size_t used = 0;
        for (int i = 0; i < d->n_options && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                     i ? " " : "", d->options[i]);
        perr(p, C->start, "%s is not an option of %s (%s, or NONE)", C->opt, d->code, list);
        return -1;
    }
    return 0;
}

static int parse_cond(parser_t *p)
{
    char tb[64];
    int l = parse_sum(p);
    if (l < 0 || p->failed)
        return -1;
    token_t t = p->tok;
    if (t.kind == TK_IDENT && strcmp(t.ident, "within") == 0) {
        const node_t *L = &p->e->nodes[l];
        if (L->kind != N_IND || L->type != TY_NUM) {
            perr(p, t.start, "'within' needs a single numeric indicator on its left");
            return -1;
        }
        next(p);
        if (p->tok.kind != TK_NUMBER) {
            perr(p, p->tok.start, "expected a percentage after 'within' but found %s",
                 tok_text(p, tb, sizeof tb));
            return -1;
        }
        double pct = p->tok.num;
        if (!(pct > 0 && pct <= 1000)) {
            perr(p, p->tok.start, "percentage must be in (0, 1000]");
            return -1;
        }
        next(p);
        if (p->tok.kind != TK_PCT) {
            perr(p, p->tok.start, "expected '%%' but found %s", tok_text(p, tb, sizeof tb));
            return -1;
        }
        next(p);
        if (p->tok.kind != TK_IDENT || strcmp(p->tok.ident, "of") != 0) {
            perr(p, p->tok.start, "expected 'of' but found %s", tok_text(p, tb, sizeof tb));
            return -1;
        }
        next(p);
        if (p->tok.kind != TK_IDENT || strcmp(p->tok.ident, "previous") != 0) {
            perr(p, p->tok.start, "expected 'previous' but found %s",
                 tok_text(p, tb, sizeof tb));
            return -1;
        }
        int end = p->tok.end;
        next(p);
        if (p->failed)
            return -1;
        int n = new_node(p, N_WITHIN, TY_BOOL, p->e->nodes[l].start, end);
        if (n < 0)
            return -1;
        p->e->nodes[n].ind = p->e->nodes[l].ind;
        p->e->nodes[n].num = pct;
        p->e->nodes[n].a = l;
        p->e->uses_prev = 1;
        return n;
    }
    cmpop_t op;
    switch (t.kind) {
    case TK_LE: op = OP_LE; break;
    case TK_LT: op = OP_LT; break;
    case TK_GE: op = OP_GE; break;
    case TK_GT: op = OP_GT; break;
    case TK_EQ: op = OP_EQ; break;
    case TK_NE: op = OP_NE; break;
    default:
        perr(p, t.start, "expected a comparison (<= < >= > == !=) or 'within' but found %s",
             tok_text(p, tb, sizeof tb));
        return -1;
    }
    next(p);
    int r = parse_sum(p);
    if (r < 0 || p->failed)
        return -1;
    if (check_comparison(p, l, r, op, t.start) < 0)
        return -1;
    int n = new_node(p, N_CMP, TY_BOOL, p->e->nodes[l].start, p->e->nodes[r].end);
    if (n < 0)
        return -1;
    p->e->nodes[n].op = op;
    p->e->nodes[n].a = l;
    p->e->nodes[n].b = r;
    return n;
}

static int parse_rule(parser_t *p)
{
    char tb[64];
    int a = parse_cond(p);
    if (a < 0 || p->failed)
        return -1;
    int root = a;
    if (p->tok.kind == TK_IMPL) {
        next(p);
        int b = parse_cond(p);
        if (b < 0 || p->failed)
            return -1;
        root = new_node(p, N_IMPL, TY_BOOL, p->e->nodes[a].start, p->e->nodes[b].end);
        if (root < 0)
            return -1;
        p->e->nodes[root].a = a;
        p->e->nodes[root].b = b;
    }
    if (p->tok.kind != TK_EOF || p->failed) {
        perr(p, p->tok.start, "unexpected %s", tok_text(p, tb, sizeof tb));
        return -1;
    }
    return root;
}

int kh_rule_compile(const char *text, const kh_indicator_t *inds, size_t n_inds,
                    kh_rule_resolve_fn resolve, void *resolve_arg,
                    kh_expr_t **out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!text || !inds || !resolve || !out) {
        if (err && errlen)
            snprintf(err, errlen, "invalid arguments");
        return -1;
    }
    *out = NULL;
    size_t len = strlen(text);
    if (len == 0) {
        snprintf(err, errlen, "empty rule");
        return -1;
    }
    if (len > KH_RULE_TEXT_MAX) {
        snprintf(err, errlen, "rule longer than %d characters", KH_RULE_TEXT_MAX);
        return -1;
    }
    kh_expr_t *e = calloc(1, sizeof *e);
    if (!e || !(e->text = strdup(text))) {
        free(e);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->inds = inds;
    e->n_inds = n_inds;
    parser_t p = { .s = e->text, .e = e, .resolve = resolve, .resolve_arg = resolve_arg,
                   .err = err, .errlen = errlen };
    next(&p);
    e->root = p.failed ? -1 : parse_rule(&p);
    if (e->root < 0 || p.failed) {
        if (!p.failed)
            perr(&p, 0, "malformed rule");
        kh_expr_free(e);
        return -1;
    }
    *out = e;
    return 0;
}

void kh_expr_free(kh_expr_t *e)
{
    if (!e)
        return;
    free(e->text);
    free(e);
}

size_t kh_expr_indicators(const kh_expr_t *e, int *out, size_t cap)
{
    if (!e)
        return 0;
    for (int i = 0; i < e->n_refs && (size_t)i < cap; i++)
        out[i] = e->refs[i];
    return (size_t)e->n_refs;
}

int kh_expr_uses_previous(const kh_expr_t *e)
{
    return e ? e->uses_prev : 0;
}

/* ---- evaluation ----------------------------------------------------------------------- */

typedef struct {
    const kh_expr_t *e;
    kh_value_t vals[KH_RULE_MAX_NODES];   /* parallel to e->refs */
    kh_rule_prev_fn prev;
    void *arg;
    const char *prev_label;
} evalctx_t;

/* An operand's value: a number, or an option code ("" for the empty option). */
typedef struct {
    double num;
    const char *opt;
} operand_t;

static const kh_value_t *ref_value(const evalctx_t *x, int ind)
{
    for (int i = 0; i < x->e->n_refs; i++)
        if (x->e->refs[i] == ind)
            return &x->vals[i];
    return NULL;   /* unreachable: every indicator node is in refs */
}

static operand_t eval_operand(const evalctx_t *x, int n)
{
    const node_t *d = &x->e->nodes[n];
    operand_t o = { 0, NULL };
    switch (d->kind) {
    case N_NUM: o.num = d->num; break;
    case N_NONE: o.opt = ""; break;
    case N_OPTLIT: o.opt = d->opt; break;
    case N_IND: {
        const kh_value_t *v = ref_value(x, d->ind);
        const kh_indicator_t *ind = &x->e->inds[d->ind];
        if (d->type == TY_OPT)
            o.opt = (v && !v->is_empty && v->option >= 0 && v->option < ind->n_options)
                        ? ind->options[v->option] : "";
        else
            o.num = v ? v->num : 0;
        break;
    }
    case N_NEG: o.num = -eval_operand(x, d->a).num; break;
    case N_ADD: o.num = eval_operand(x, d->a).num + eval_operand(x, d->b).num; break;
    case N_SUB: o.num = eval_operand(x, d->a).num - eval_operand(x, d->b).num; break;
    case N_MUL: o.num = eval_operand(x, d->a).num * eval_operand(x, d->b).num; break;
    default: break;
    }
    return o;
}

static int compare(cmpop_t op, operand_t l, operand_t r)
{
    if (l.opt || r.opt) {
        int eq = strcmp(l.opt ? l.opt : "", r.opt ? r.opt : "") == 0;
        return op == OP_EQ ? eq : !eq;
    }
    switch (op) {
    case OP_LE: return l.num <= r.num;
    case OP_LT: return l.num < r.num;
    case OP_GE: return l.num >= r.num;
    case OP_GT: return l.num > r.num;
    case OP_EQ: return l.num == r.num;
    case OP_NE: return l.num != r.num;
    }
    return 0;
}

/* Relative change of `cur` against `prev` in percent, for "within". */
static kh_rule_result_t eval_within(const evalctx_t *x, const node_t *d, double *cur,
                                    double *prev, double *change)
{
    const kh_value_t *v = ref_value(x, d->ind);
    *cur = v ? v->num : 0;
    if (!x->prev || x->prev(x->arg, d->ind, prev) != 0 || !(*prev > 0))
        return KH_RULE_SKIP;
    *change = (*cur - *prev) / *prev * 100.0;
    return fabs(*change) <= d->num + 1e-9 ? KH_RULE_PASS : KH_RULE_FAIL;
}

static kh_rule_result_t eval_cond(const evalctx_t *x, int n)
{
    const node_t *d = &x->e->nodes[n];
    switch (d->kind) {
    case N_CMP:
        return compare(d->op, eval_operand(x, d->a), eval_operand(x, d->b))
                   ? KH_RULE_PASS : KH_RULE_FAIL;
    case N_IMPL: {
        kh_rule_result_t a = eval_cond(x, d->a);
        if (a != KH_RULE_PASS)
            return a == KH_RULE_FAIL ? KH_RULE_PASS : KH_RULE_SKIP;
        return eval_cond(x, d->b);
    }
    case N_WITHIN: {
        double cur, prev, change;
        return eval_within(x, d, &cur, &prev, &change);
    }
    default:
        return KH_RULE_SKIP;
    }
}

/* ---- rendering ------------------------------------------------------------------------ */

typedef struct {
    char *buf;
    size_t cap, len;
} sb_t;

/* Appends, truncating at a UTF-8 character boundary when the buffer is full. */
static void sb_put(sb_t *b, const char *s, size_t n)
{
    if (!b->buf || b->cap == 0)
        return;
    size_t room = b->cap - 1 - b->len;
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void sb_printf(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sb_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static const char *op_text(cmpop_t op)
{
    static const char *t[] = { "<=", "<", ">=", ">", "==", "!=" };
    return t[op];
}

static cmpop_t op_negate(cmpop_t op)
{
    static const cmpop_t neg[] = { OP_GT, OP_GE, OP_LT, OP_LE, OP_NE, OP_EQ };
    return neg[op];
}

/* Renders one side of a comparison into both languages (they coincide here);
 * indicators inside compound sides are remembered in `extra` for a trailing list. */
static void render_side(const evalctx_t *x, int n, sb_t *vi, sb_t *en, int *extra,
                        int *n_extra)
{
    const node_t *d = &x->e->nodes[n];
    char num[64];
    operand_t o = eval_operand(x, n);
    char side[256];
    switch (d->kind) {
    case N_NUM:
        kh_fmt_num(d->num, num, sizeof num);
        snprintf(side, sizeof side, "%s", num);
        break;
    case N_NONE:
        snprintf(side, sizeof side, "NONE");
        break;
    case N_OPTLIT:
        snprintf(side, sizeof side, "%s", d->opt);
        break;
    case N_IND:
        if (d->type == TY_OPT)
            snprintf(side, sizeof side, "%s=%s", x->e->inds[d->ind].code,
                     o.opt && o.opt[0] ? o.opt : "NONE");
        else {
            kh_fmt_num(o.num, num, sizeof num);
            snprintf(side, sizeof side, "%s=%s", x->e->inds[d->ind].code, num);
        }
        break;
    default: {
        kh_fmt_num(o.num, num, sizeof num);
        int len = d->end - d->start;
        snprintf(side, sizeof side, "%.*s (= %s)", len > 160 ? 160 : len,
                 x->e->text + d->start, num);
        /* Remember the indicators read inside this compound side. */
        for (int i = 0; i < x->e->n_nodes; i++) {
            const node_t *c = &x->e->nodes[i];
            if (c->kind != N_IND || c->start < d->start || c->end > d->end)
                continue;
            int seen = 0;
            for (int j = 0; j < *n_extra; j++)
                seen |= extra[j] == c->ind;
            if (!seen && *n_extra < KH_RULE_MAX_NODES)
                extra[(*n_extra)++] = c->ind;
        }
        break;
    }
    }
    sb_put(vi, side, strlen(side));
    sb_put(en, side, strlen(side));
}

static void render_cond(const evalctx_t *x, int n, sb_t *vi, sb_t *en, int *extra,
                        int *n_extra)
{
    const node_t *d = &x->e->nodes[n];
    if (d->kind == N_CMP) {
        int holds = compare(d->op, eval_operand(x, d->a), eval_operand(x, d->b));
        const char *op = op_text(holds ? d->op : op_negate(d->op));
        render_side(x, d->a, vi, en, extra, n_extra);
        sb_printf(vi, " %s ", op);
        sb_printf(en, " %s ", op);
        render_side(x, d->b, vi, en, extra, n_extra);
    } else if (d->kind == N_IMPL) {
        render_cond(x, d->a, vi, en, extra, n_extra);
        sb_put(vi, "; ", 2);
        sb_put(en, "; ", 2);
        render_cond(x, d->b, vi, en, extra, n_extra);
    } else if (d->kind == N_WITHIN) {
        double cur = 0, prev = 0, change = 0;
        eval_within(x, d, &cur, &prev, &change);
        char c[64], pv[64], ch[32], lim[32];
        kh_fmt_num(cur, c, sizeof c);
        kh_fmt_num(prev, pv, sizeof pv);
        snprintf(ch, sizeof ch, "%+.1f", change);
        snprintf(lim, sizeof lim, "%g", d->num);
        const char *code = x->e->inds[d->ind].code;
        const char *label = x->prev_label ? x->prev_label : "";
        sb_printf(en, "%s=%s; previous period %s: %s=%s; change %s%% (limit %s%%)",
                  code, c, label, code, pv, ch, lim);
        /* Vietnamese writes the decimal comma. */
        for (char *q = ch; *q; q++)
            if (*q == '.')
                *q = ',';
        for (char *q = lim; *q; q++)
            if (*q == '.')
                *q = ',';
        sb_printf(vi, "%s=%s; kỳ trước %s: %s=%s; thay đổi %s%% (giới hạn %s%%)",
                  code, c, label, code, pv, ch, lim);
    }
}

kh_rule_result_t kh_expr_eval(const kh_expr_t *e, kh_rule_value_fn get,
                              kh_rule_prev_fn prev, void *arg, const char *prev_label,
                              char *detail_vi, size_t vi_len,
                              char *detail_en, size_t en_len)
{
    if (detail_vi && vi_len)
        detail_vi[0] = '\0';
    if (detail_en && en_len)
        detail_en[0] = '\0';
    if (!e || !get || e->root < 0)
        return KH_RULE_SKIP;
    evalctx_t *x = &(evalctx_t){ .e = e, .prev = prev, .arg = arg, .prev_label = prev_label };
    /* Every value the rule reads must be there: otherwise the problem is already
     * reported as missing or unparseable, and the rule says nothing. */
    for (int i = 0; i < e->n_refs; i++)
        if (get(arg, e->refs[i], &x->vals[i]) != 0)
            return KH_RULE_SKIP;
    kh_rule_result_t r = eval_cond(x, e->root);
    if (r != KH_RULE_FAIL)
        return r;
    sb_t vi = { detail_vi, vi_len, 0 }, en = { detail_en, en_len, 0 };
    int extra[KH_RULE_MAX_NODES], n_extra = 0;
    render_cond(x, e->root, &vi, &en, extra, &n_extra);
    for (int i = 0; i < n_extra; i++) {
        const kh_value_t *v = ref_value(x, extra[i]);
        const kh_indicator_t *d = &e->inds[extra[i]];
        char num[64];
        if (d->vtype == KH_VT_OPTION)
            snprintf(num, sizeof num, "%s",
                     v && !v->is_empty && v->option >= 0 ? d->options[v->option] : "NONE");
        else
            kh_fmt_num(v ? v->num : 0, num, sizeof num);
        sb_printf(&vi, "; %s=%s", d->code, num);
        sb_printf(&en, "; %s=%s", d->code, num);
    }
    return KH_RULE_FAIL;
}
