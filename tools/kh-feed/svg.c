/*
 * svg.c — the dashboard's charts as inline SVG; see svg.h for what each draws and the
 * invariants (everything from outside escaped, every mark with its data-value).
 */
#include "svg.h"

#include <math.h>
#include <string.h>

/* Colours of the completeness states (and their signs for black-and-white print). */
static const char *const state_class[] = {"none", "ontime", "late", "missing", "rejected"};
static const char *const state_sign[] = {"", "✓", "!", "✗", "R"};
static const char *const state_fill[] = {"#ffffff", "#2e7d32", "#f9a825", "#c62828",
                                         "#6a1b9a"};
/* Series colours of the line chart (the first the root's, the second a unit's). */
static const char *const line_colour[] = {"#1565c0", "#e65100", "#2e7d32", "#6a1b9a"};

int kh_svg_esc(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default:
            if (*p >= 0x20 || *p == '\t' || *p == '\n') fputc(*p, out);
        }
    }
    return ferror(out) ? -1 : 0;
}

double kh_svg_scale(double v, double scale, double len)
{
    if (!isfinite(v) || !isfinite(scale) || scale <= 0 || v <= 0) return 0;
    double x = v / scale * len;
    return x > len ? len : x;
}

/* A number as an SVG attribute: 2 decimals, never "nan" or "-0.00". */
static void num(FILE *out, double v)
{
    if (!isfinite(v) || fabs(v) < 0.005) v = 0;
    fprintf(out, "%.2f", v);
}

/* A value as people read it on the chart: up to 2 decimals, ',' as the point. */
static void label_value(FILE *out, double v)
{
    char b[64];
    if (!isfinite(v)) v = 0;
    snprintf(b, sizeof b, "%.2f", v);
    char *dot = strchr(b, '.');
    if (dot) {
        size_t n = strlen(b);
        while (n > 0 && b[n - 1] == '0') b[--n] = '\0';
        if (n > 0 && b[n - 1] == '.') b[--n] = '\0';
        if ((dot = strchr(b, '.'))) *dot = ',';
    }
    fputs(b, out);
}

static void open_svg(FILE *out, const char *cls, double w, double h, const char *title)
{
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart %s\" role=\"img\" "
                 "width=\"", cls);
    num(out, w);
    fputs("\" height=\"", out);
    num(out, h);
    fputs("\" viewBox=\"0 0 ", out);
    num(out, w);
    fputc(' ', out);
    num(out, h);
    fputs("\"><title>", out);
    kh_svg_esc(out, title);
    fputs("</title>\n", out);
}

static int empty_chart(FILE *out, const char *cls, const char *title)
{
    open_svg(out, cls, KH_SVG_LABEL_W + KH_SVG_BAR_W, 40, title);
    fputs("<text class=\"empty\" x=\"10\" y=\"25\">Chưa có số liệu / no data yet</text></svg>\n",
          out);
    return ferror(out) ? -1 : 0;
}

int kh_svg_bars(FILE *out, const char *title, const kh_svg_bar_t *bars, size_t n,
                double scale, double target, const char *target_label, const char *unit)
{
    size_t shown = 0;
    double top = target > 0 ? target : 0;
    for (size_t i = 0; i < n; i++)
        if (bars[i].has && isfinite(bars[i].value)) {
            shown++;
            if (bars[i].value > top) top = bars[i].value;
        }
    if (shown == 0) return empty_chart(out, "bars", title);
    if (scale <= 0 || top > scale) scale = top > 0 ? top : 1;
    double w = KH_SVG_LABEL_W + KH_SVG_BAR_W + 70, h = (double)(n + 2) * KH_SVG_ROW_H;
    open_svg(out, "bars", w, h, title);
    for (size_t i = 0; i < n; i++) {
        double y = (double)i * KH_SVG_ROW_H + 4;
        fputs("<g class=\"bar-row\"><text class=\"label\" text-anchor=\"end\" x=\"", out);
        num(out, KH_SVG_LABEL_W - 6);
        fputs("\" y=\"", out);
        num(out, y + KH_SVG_ROW_H - 6);
        fputs("\">", out);
        kh_svg_esc(out, bars[i].label);
        fputs("</text>", out);
        if (bars[i].has && isfinite(bars[i].value)) {
            fputs("<rect class=\"bar\" data-value=\"", out);
            num(out, bars[i].value);
            fprintf(out, "\" x=\"%d\" y=\"", KH_SVG_LABEL_W);
            num(out, y + 2);
            fputs("\" width=\"", out);
            num(out, kh_svg_scale(bars[i].value, scale, KH_SVG_BAR_W));
            fprintf(out, "\" height=\"%d\" fill=\"#1565c0\"/><text class=\"value\" x=\"",
                    KH_SVG_ROW_H - 4);
            num(out, KH_SVG_LABEL_W + kh_svg_scale(bars[i].value, scale, KH_SVG_BAR_W) + 4);
            fputs("\" y=\"", out);
            num(out, y + KH_SVG_ROW_H - 6);
            fputs("\">", out);
            label_value(out, bars[i].value);
            kh_svg_esc(out, unit);
            fputs("</text>", out);
        } else {
            fprintf(out, "<text class=\"value\" x=\"%d\" y=\"", KH_SVG_LABEL_W + 4);
            num(out, y + KH_SVG_ROW_H - 6);
            fputs("\">–</text>", out);
        }
        fputs("</g>\n", out);
    }
    if (target >= 0 && isfinite(target)) {
        double x = KH_SVG_LABEL_W + kh_svg_scale(target, scale, KH_SVG_BAR_W);
        fputs("<line class=\"target\" data-value=\"", out);
        num(out, target);
        fputs("\" x1=\"", out);
        num(out, x);
        fputs("\" x2=\"", out);
        num(out, x);
        fputs("\" y1=\"0\" y2=\"", out);
        num(out, (double)n * KH_SVG_ROW_H + 6);
        fputs("\" stroke=\"#c62828\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>"
              "<text class=\"target-label\" x=\"", out);
        num(out, x);
        fputs("\" y=\"", out);
        num(out, (double)n * KH_SVG_ROW_H + 22);
        fputs("\" text-anchor=\"middle\" fill=\"#c62828\">", out);
        kh_svg_esc(out, target_label);
        fputs(" ", out);
        label_value(out, target);
        kh_svg_esc(out, unit);
        fputs("</text>\n", out);
    }
    fputs("</svg>\n", out);
    return ferror(out) ? -1 : 0;
}

int kh_svg_lines(FILE *out, const char *title, const char *const *xlabels, size_t nx,
                 const kh_svg_series_t *series, size_t ns, double target)
{
    double top = target > 0 ? target : 0;
    size_t shown = 0;
    for (size_t s = 0; s < ns; s++)
        for (size_t i = 0; i < nx; i++)
            if (series[s].has[i] && isfinite(series[s].value[i])) {
                shown++;
                if (series[s].value[i] > top) top = series[s].value[i];
            }
    if (shown == 0 || nx == 0) return empty_chart(out, "lines", title);
    double scale = top > 0 ? top * 1.1 : 1;
    double x0 = KH_SVG_PAD * 2.5, y0 = KH_SVG_PAD;
    double w = x0 + KH_SVG_PLOT_W + KH_SVG_PAD, h = y0 + KH_SVG_PLOT_H + KH_SVG_PAD * 2 +
                                                   (double)ns * 16;
    double step = nx > 1 ? (double)KH_SVG_PLOT_W / (double)(nx - 1) : 0;
    open_svg(out, "lines", w, h, title);
    /* axes, the scale's top and 0, the x labels */
    fputs("<g class=\"axes\" stroke=\"#555\">", out);
    fputs("<line x1=\"", out); num(out, x0); fputs("\" y1=\"", out); num(out, y0);
    fputs("\" x2=\"", out); num(out, x0); fputs("\" y2=\"", out); num(out, y0 + KH_SVG_PLOT_H);
    fputs("\"/><line x1=\"", out); num(out, x0); fputs("\" y1=\"", out);
    num(out, y0 + KH_SVG_PLOT_H); fputs("\" x2=\"", out); num(out, x0 + KH_SVG_PLOT_W);
    fputs("\" y2=\"", out); num(out, y0 + KH_SVG_PLOT_H); fputs("\"/></g>\n", out);
    fputs("<text class=\"axis\" text-anchor=\"end\" x=\"", out); num(out, x0 - 4);
    fputs("\" y=\"", out); num(out, y0 + 4); fputs("\">", out); label_value(out, scale);
    fputs("</text><text class=\"axis\" text-anchor=\"end\" x=\"", out); num(out, x0 - 4);
    fputs("\" y=\"", out); num(out, y0 + KH_SVG_PLOT_H); fputs("\">0</text>\n", out);
    for (size_t i = 0; i < nx; i++) {
        fputs("<text class=\"x\" text-anchor=\"middle\" x=\"", out);
        num(out, x0 + (double)i * step);
        fputs("\" y=\"", out);
        num(out, y0 + KH_SVG_PLOT_H + 16);
        fputs("\">", out);
        kh_svg_esc(out, xlabels[i]);
        fputs("</text>", out);
    }
    fputc('\n', out);
    if (target >= 0 && isfinite(target)) {
        double y = y0 + KH_SVG_PLOT_H - kh_svg_scale(target, scale, KH_SVG_PLOT_H);
        fputs("<line class=\"target\" data-value=\"", out); num(out, target);
        fputs("\" x1=\"", out); num(out, x0); fputs("\" x2=\"", out);
        num(out, x0 + KH_SVG_PLOT_W); fputs("\" y1=\"", out); num(out, y);
        fputs("\" y2=\"", out); num(out, y);
        fputs("\" stroke=\"#c62828\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n", out);
    }
    for (size_t s = 0; s < ns; s++) {
        const char *colour = line_colour[s % (sizeof line_colour / sizeof *line_colour)];
        fprintf(out, "<g class=\"series\" data-series=\"%zu\"><path fill=\"none\" stroke=\"%s\" "
                     "stroke-width=\"2\" d=\"", s, colour);
        int pen = 0;   /* a missing value is skipped: the line joins its neighbours */
        for (size_t i = 0; i < nx; i++) {
            if (!series[s].has[i] || !isfinite(series[s].value[i])) continue;
            fputc(pen ? 'L' : 'M', out);
            num(out, x0 + (double)i * step);
            fputc(' ', out);
            num(out, y0 + KH_SVG_PLOT_H - kh_svg_scale(series[s].value[i], scale, KH_SVG_PLOT_H));
            fputc(' ', out);
            pen = 1;
        }
        fputs("\"/>", out);
        for (size_t i = 0; i < nx; i++) {
            if (!series[s].has[i] || !isfinite(series[s].value[i])) continue;
            fputs("<circle class=\"point\" r=\"3.5\" data-value=\"", out);
            num(out, series[s].value[i]);
            fputs("\" cx=\"", out);
            num(out, x0 + (double)i * step);
            fputs("\" cy=\"", out);
            num(out, y0 + KH_SVG_PLOT_H - kh_svg_scale(series[s].value[i], scale, KH_SVG_PLOT_H));
            fprintf(out, "\" fill=\"%s\"/>", colour);
        }
        fputs("<text class=\"legend\" x=\"", out);
        num(out, x0 + 18);
        fputs("\" y=\"", out);
        num(out, y0 + KH_SVG_PLOT_H + 40 + (double)s * 16);
        fprintf(out, "\" fill=\"%s\">— ", colour);
        kh_svg_esc(out, series[s].name);
        fputs("</text></g>\n", out);
    }
    fputs("</svg>\n", out);
    return ferror(out) ? -1 : 0;
}

int kh_svg_grid(FILE *out, const char *title, const char *const *rows, size_t nr,
                const char *const *cols, size_t nc, const kh_svg_state_t *state)
{
    if (nr == 0 || nc == 0) return empty_chart(out, "grid", title);
    const double cw = 44, ch = KH_SVG_ROW_H;
    double w = KH_SVG_LABEL_W + (double)nc * cw + 10, h = ((double)nr + 1) * ch + 8;
    open_svg(out, "grid", w, h, title);
    for (size_t c = 0; c < nc; c++) {
        fputs("<text class=\"col\" text-anchor=\"middle\" x=\"", out);
        num(out, KH_SVG_LABEL_W + ((double)c + 0.5) * cw);
        fputs("\" y=\"13\">", out);
        kh_svg_esc(out, cols[c]);
        fputs("</text>", out);
    }
    fputc('\n', out);
    for (size_t r = 0; r < nr; r++) {
        double y = ((double)r + 1) * ch;
        fputs("<g class=\"grid-row\"><text class=\"label\" text-anchor=\"end\" x=\"", out);
        num(out, KH_SVG_LABEL_W - 6);
        fputs("\" y=\"", out);
        num(out, y + ch - 5);
        fputs("\">", out);
        kh_svg_esc(out, rows[r]);
        fputs("</text>", out);
        for (size_t c = 0; c < nc; c++) {
            kh_svg_state_t st = state[r * nc + c];
            if (st > KH_SVG_REJECTED) st = KH_SVG_NONE;
            fprintf(out, "<rect class=\"cell %s\" x=\"", state_class[st]);
            num(out, KH_SVG_LABEL_W + (double)c * cw + 2);
            fputs("\" y=\"", out);
            num(out, y + 1);
            fprintf(out, "\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"#999\"/>",
                    (int)cw - 4, (int)ch - 2, state_fill[st]);
            if (st != KH_SVG_NONE) {
                fputs("<text class=\"sign\" text-anchor=\"middle\" fill=\"#fff\" x=\"", out);
                num(out, KH_SVG_LABEL_W + ((double)c + 0.5) * cw);
                fputs("\" y=\"", out);
                num(out, y + ch - 5);
                fprintf(out, "\">%s</text>", state_sign[st]);
            }
        }
        fputs("</g>\n", out);
    }
    fputs("</svg>\n", out);
    return ferror(out) ? -1 : 0;
}
