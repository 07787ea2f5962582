/*
 * svg.h — the charts of kh-feed's dashboard (serve.c), drawn by the server as inline SVG
 * written to a FILE (an open_memstream of the page): a horizontal bar chart of one value
 * per unit with a target line, a line chart of one or more series over periods, and the
 * completeness grid (units × periods, one state per cell).  No script, no framework: the
 * page stays readable and printable without JavaScript.
 *
 * Invariants: every text from outside (unit names, labels, titles) is XML-escaped
 * (kh_svg_esc); every number written is finite; a bar's length and a point's height are
 * proportional to the value on a scale from 0 (a negative value is drawn at 0, its text
 * kept); a chart with no data says so in words instead of drawing nothing.  Each mark
 * carries its value in a data-value attribute, so a test reads what was drawn.
 *
 * Geometry (user units = CSS pixels): bars KH_SVG_BAR_W long at most, KH_SVG_ROW_H per
 * row, after a label column KH_SVG_LABEL_W wide; the line chart's plot is KH_SVG_PLOT_W
 * × KH_SVG_PLOT_H.
 */
#ifndef KH_FEED_SVG_H
#define KH_FEED_SVG_H

#include <stddef.h>
#include <stdio.h>

#define KH_SVG_LABEL_W 220   /* room for a unit's name ("Thành phố Bến Tre") */
#define KH_SVG_BAR_W 420     /* the longest bar: half a landscape A4 page beside the table */
#define KH_SVG_ROW_H 18      /* one bar per row: 124 communes stay on a few printed pages */
#define KH_SVG_PLOT_W 560    /* the line chart's plot: 8..40 periods across */
#define KH_SVG_PLOT_H 220
#define KH_SVG_PAD 30        /* axis labels around the plot */

/* One bar: a label (a unit's name) and its value; has = 0: no value ("–", no bar). */
typedef struct {
    const char *label;
    double value;
    int has;
} kh_svg_bar_t;

/* One series of a line chart: its name and nx values (has[i] = 0: no value there, e.g.
 * an indicator reported in S2 only: no dot, the line joins the values on either side). */
typedef struct {
    const char *name;
    const double *value;
    const int *has;
} kh_svg_series_t;

/* The states of a completeness cell. */
typedef enum {
    KH_SVG_NONE = 0,      /* the unit did not have to report then (not in force) */
    KH_SVG_ON_TIME,
    KH_SVG_LATE,
    KH_SVG_MISSING,
    KH_SVG_REJECTED
} kh_svg_state_t;

/* Writes s XML-escaped (& < > " ' as entities; control characters other than tab and
 * newline dropped; NULL as nothing).  Returns 0, or -1 when the stream failed. */
int kh_svg_esc(FILE *out, const char *s);

/* A horizontal bar chart: bars[0..n) in the given order, scaled from 0 to `scale`
 * (scale <= 0: the largest of the values and the target), a dashed line at `target`
 * (target < 0: none) named target_label.  `unit` follows each value ("%", "" …).
 * Returns 0, or -1 when the stream failed. */
int kh_svg_bars(FILE *out, const char *title, const kh_svg_bar_t *bars, size_t n,
                double scale, double target, const char *target_label, const char *unit);

/* A line chart: xlabels[0..nx) along the x axis (periods), the series[0..ns) as lines
 * with a dot per value, scaled from 0 to the largest value (or `target`, a dashed line
 * when >= 0).  Returns 0, or -1 when the stream failed. */
int kh_svg_lines(FILE *out, const char *title, const char *const *xlabels, size_t nx,
                 const kh_svg_series_t *series, size_t ns, double target);

/* The completeness grid: one row per unit (rows[0..nr)), one column per period
 * (cols[0..nc)), state[r * nc + c] drawn as a coloured square with a sign that prints in
 * black and white (✓ on time, ! late, ✗ missing, R rejected, blank: not due).
 * Returns 0, or -1 when the stream failed. */
int kh_svg_grid(FILE *out, const char *title, const char *const *rows, size_t nr,
                const char *const *cols, size_t nc, const kh_svg_state_t *state);

/* The length that stands for v on an axis `len` long scaled 0..scale: v / scale × len,
 * clamped to [0, len] (0 for a non-finite value or scale <= 0).  A bar's length, a
 * point's height above the axis.  Exposed for the unit test. */
double kh_svg_scale(double v, double scale, double len);

#endif
