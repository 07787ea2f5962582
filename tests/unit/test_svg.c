/*
 * test_svg.c — the dashboard's charts (tools/kh-feed/svg.c): a bar's length and a
 * point's height proportional to the value on a scale from 0, the target line where the
 * target is, every text from outside XML-escaped, and a chart without data that says so.
 * The Makefile links this test with svg.o (MOD_test_svg).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/kh-feed/svg.h"

/* The output of one drawing, as a string (freed by the caller). */
typedef struct {
    FILE *f;
    char *buf;
    size_t len;
} out_t;

static FILE *out_open(out_t *o)
{
    memset(o, 0, sizeof *o);
    o->f = open_memstream(&o->buf, &o->len);
    assert_non_null(o->f);
    return o->f;
}

static char *out_close(out_t *o)
{
    assert_int_equal(fclose(o->f), 0);
    return o->buf;
}

/* The values of attribute `attr` of the elements that begin with `tag` (in order). */
static size_t attrs(const char *svg, const char *tag, const char *attr, double *out, size_t cap)
{
    size_t n = 0;
    char key[64];
    snprintf(key, sizeof key, " %s=\"", attr);
    for (const char *p = strstr(svg, tag); p && n < cap; p = strstr(p + 1, tag)) {
        const char *end = strchr(p, '>');
        const char *a = strstr(p, key);
        if (!a || !end || a > end) continue;
        out[n++] = strtod(a + strlen(key), NULL);
    }
    return n;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

static void test_scale(void **state)
{
    (void)state;
    assert_float_equal(kh_svg_scale(50, 100, KH_SVG_BAR_W), KH_SVG_BAR_W / 2.0, 1e-9);
    assert_float_equal(kh_svg_scale(100, 100, KH_SVG_BAR_W), KH_SVG_BAR_W, 1e-9);
    assert_float_equal(kh_svg_scale(150, 100, KH_SVG_BAR_W), KH_SVG_BAR_W, 1e-9); /* clamped */
    assert_float_equal(kh_svg_scale(-5, 100, KH_SVG_BAR_W), 0, 1e-9);
    assert_float_equal(kh_svg_scale(5, 0, KH_SVG_BAR_W), 0, 1e-9);
    assert_float_equal(kh_svg_scale(0.0 / 0.0, 100, KH_SVG_BAR_W), 0, 1e-9);   /* NaN */
}

static void test_bars_proportional(void **state)
{
    (void)state;
    kh_svg_bar_t bars[] = {{"A", 25, 1}, {"B", 50, 1}, {"C", 0, 0}, {"D", 100, 1}};
    out_t o;
    assert_int_equal(kh_svg_bars(out_open(&o), "t", bars, 4, 100, -1, "", "%"), 0);
    char *svg = out_close(&o);
    double w[8], v[8];
    assert_int_equal(attrs(svg, "<rect class=\"bar\"", "width", w, 8), 3);   /* C: no bar */
    assert_int_equal(attrs(svg, "<rect class=\"bar\"", "data-value", v, 8), 3);
    assert_float_equal(w[0], KH_SVG_BAR_W * 0.25, 0.01);
    assert_float_equal(w[1], KH_SVG_BAR_W * 0.50, 0.01);
    assert_float_equal(w[2], KH_SVG_BAR_W * 1.00, 0.01);
    assert_float_equal(v[1], 50, 0.001);
    assert_float_equal(w[1] / w[0], 2.0, 1e-6);   /* twice the value, twice as long */
    assert_non_null(strstr(svg, ">–</text>"));      /* the unit without a value says so */
    assert_int_equal(count(svg, "class=\"target\""), 0);
    free(svg);
}

static void test_target_line(void **state)
{
    (void)state;
    kh_svg_bar_t bars[] = {{"A", 72.5, 1}, {"B", 40, 1}};
    out_t o;
    assert_int_equal(kh_svg_bars(out_open(&o), "t", bars, 2, 100, 70, "Chỉ tiêu / target", "%"),
                     0);
    char *svg = out_close(&o);
    double x1[2], x2[2], v[2];
    assert_int_equal(attrs(svg, "<line class=\"target\"", "x1", x1, 2), 1);
    assert_int_equal(attrs(svg, "<line class=\"target\"", "x2", x2, 2), 1);
    assert_int_equal(attrs(svg, "<line class=\"target\"", "data-value", v, 2), 1);
    assert_float_equal(x1[0], KH_SVG_LABEL_W + KH_SVG_BAR_W * 0.70, 0.01);
    assert_float_equal(x2[0], x1[0], 1e-9);          /* vertical */
    assert_float_equal(v[0], 70, 1e-9);
    assert_non_null(strstr(svg, "Chỉ tiêu / target 70%"));
    assert_non_null(strstr(svg, ">72,5%<"));          /* values written the Vietnamese way */
    free(svg);

    /* scale 0: the largest of the values and the target */
    kh_svg_bar_t b2[] = {{"A", 10, 1}, {"B", 40, 1}};
    assert_int_equal(kh_svg_bars(out_open(&o), "t", b2, 2, 0, 20, "t", ""), 0);
    svg = out_close(&o);
    double w[2];
    assert_int_equal(attrs(svg, "<rect class=\"bar\"", "width", w, 2), 2);
    assert_float_equal(w[1], KH_SVG_BAR_W, 0.01);
    assert_float_equal(w[0], KH_SVG_BAR_W / 4.0, 0.01);
    assert_int_equal(attrs(svg, "<line class=\"target\"", "x1", x1, 2), 1);
    assert_float_equal(x1[0], KH_SVG_LABEL_W + KH_SVG_BAR_W / 2.0, 0.01);
    free(svg);
}

static void test_lines(void **state)
{
    (void)state;
    const char *xs[] = {"2019S2", "2020S1", "2020S2"};
    double v0[] = {50, 0, 100}, v1[] = {25, 30, 0};
    int h0[] = {1, 0, 1}, h1[] = {1, 1, 0};
    kh_svg_series_t ser[] = {{"Toàn bộ", v0, h0}, {"Đơn vị", v1, h1}};
    out_t o;
    assert_int_equal(kh_svg_lines(out_open(&o), "t", xs, 3, ser, 2, 70), 0);
    char *svg = out_close(&o);
    double cy[8], val[8];
    size_t n = attrs(svg, "<circle class=\"point\"", "cy", cy, 8);
    assert_int_equal(n, 4);                           /* a dot per value, none where none */
    assert_int_equal(attrs(svg, "<circle class=\"point\"", "data-value", val, 8), 4);
    /* heights above the axis proportional to the values: 50 is half of 100's */
    double axis = KH_SVG_PAD + KH_SVG_PLOT_H;
    assert_float_equal((axis - cy[0]) * 2, axis - cy[1], 0.02);
    assert_float_equal((axis - cy[2]) * 2, axis - cy[0], 0.02);   /* 25 vs 50 */
    double ty[2];
    assert_int_equal(attrs(svg, "<line class=\"target\"", "y1", ty, 2), 1);
    assert_float_equal((axis - ty[0]) / (axis - cy[1]), 0.70, 0.001);   /* target 70 of 100 */
    /* the first series joins 2019S2 to 2020S2 over the gap: one path, M then L */
    assert_non_null(strstr(svg, "d=\"M"));
    assert_int_equal(count(svg, "<path"), 2);
    free(svg);
}

static void test_escaping(void **state)
{
    (void)state;
    const char *evil = "<script>alert('x')</script> & \"Ấp\"\x01";
    kh_svg_bar_t bars[] = {{evil, 1, 1}};
    out_t o;
    assert_int_equal(kh_svg_bars(out_open(&o), evil, bars, 1, 0, 1, evil, evil), 0);
    char *svg = out_close(&o);
    assert_null(strstr(svg, "<script"));
    assert_null(strstr(svg, "'x'"));
    assert_null(strchr(svg, '\x01'));
    assert_non_null(strstr(svg, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
                                "&quot;Ấp&quot;"));
    free(svg);

    const char *rows[] = {evil}, *cols[] = {"<b>"};
    kh_svg_state_t st[] = {KH_SVG_LATE};
    assert_int_equal(kh_svg_grid(out_open(&o), evil, rows, 1, cols, 1, st), 0);
    svg = out_close(&o);
    assert_null(strstr(svg, "<script"));
    assert_null(strstr(svg, "<b>"));
    assert_non_null(strstr(svg, "&lt;b&gt;"));
    assert_non_null(strstr(svg, "class=\"cell late\""));
    free(svg);

    const char *xs[] = {"<x>"};
    double v[] = {1};
    int h[] = {1};
    kh_svg_series_t ser[] = {{evil, v, h}};
    assert_int_equal(kh_svg_lines(out_open(&o), evil, xs, 1, ser, 1, -1), 0);
    svg = out_close(&o);
    assert_null(strstr(svg, "<script"));
    assert_null(strstr(svg, "<x>"));
    free(svg);
}

static void test_empty(void **state)
{
    (void)state;
    out_t o;
    assert_int_equal(kh_svg_bars(out_open(&o), "t", NULL, 0, 100, 70, "t", "%"), 0);
    char *svg = out_close(&o);
    assert_non_null(strstr(svg, "Chưa có số liệu / no data yet"));
    assert_null(strstr(svg, "class=\"bar\""));
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);

    kh_svg_bar_t none[] = {{"A", 5, 0}};     /* units, none with a value */
    assert_int_equal(kh_svg_bars(out_open(&o), "t", none, 1, 100, -1, "t", ""), 0);
    svg = out_close(&o);
    assert_non_null(strstr(svg, "no data yet"));
    free(svg);

    const char *xs[] = {"2020S1"};
    double v[] = {0};
    int h[] = {0};
    kh_svg_series_t ser[] = {{"s", v, h}};
    assert_int_equal(kh_svg_lines(out_open(&o), "t", xs, 1, ser, 1, -1), 0);
    svg = out_close(&o);
    assert_non_null(strstr(svg, "no data yet"));
    assert_null(strstr(svg, "<circle"));
    free(svg);

    assert_int_equal(kh_svg_grid(out_open(&o), "t", NULL, 0, NULL, 0, NULL), 0);
    svg = out_close(&o);
    assert_non_null(strstr(svg, "no data yet"));
    free(svg);
}

static void test_grid(void **state)
{
    (void)state;
    const char *rows[] = {"A", "B"}, *cols[] = {"2020S1", "2020S2"};
    kh_svg_state_t st[] = {KH_SVG_ON_TIME, KH_SVG_LATE, KH_SVG_MISSING, KH_SVG_NONE};
    out_t o;
    assert_int_equal(kh_svg_grid(out_open(&o), "t", rows, 2, cols, 2, st), 0);
    char *svg = out_close(&o);
    assert_int_equal(count(svg, "<rect class=\"cell "), 4);
    assert_int_equal(count(svg, "class=\"cell ontime\""), 1);
    assert_int_equal(count(svg, "class=\"cell late\""), 1);
    assert_int_equal(count(svg, "class=\"cell missing\""), 1);
    assert_int_equal(count(svg, "class=\"cell none\""), 1);
    assert_int_equal(count(svg, "class=\"sign\""), 3);   /* a sign for print, not for none */
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale),        cmocka_unit_test(test_bars_proportional),
        cmocka_unit_test(test_target_line),  cmocka_unit_test(test_lines),
        cmocka_unit_test(test_escaping),     cmocka_unit_test(test_empty),
        cmocka_unit_test(test_grid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
