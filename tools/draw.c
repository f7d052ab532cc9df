/*
 * Drawing primitives and line charts for the tool's PNG pictures (see
 * draw.h): plain loops over an RGB image, text from the built-in 5x7 font.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

static void put(clcnn__image *img, int x, int y, clcnn__rgb c)
{
    if (x < 0 || y < 0 || x >= img->width || y >= img->height)
        return;
    unsigned char *p = img->data + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
}

void clcnn__draw_rect(clcnn__image *img, int x, int y, int w, int h, clcnn__rgb c)
{
    for (int j = y < 0 ? 0 : y; j < y + h && j < img->height; j++)
        for (int i = x < 0 ? 0 : x; i < x + w && i < img->width; i++)
            put(img, i, j, c);
}

void clcnn__draw_line(clcnn__image *img, int x0, int y0, int x1, int y1, int thickness,
                      clcnn__rgb c)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy, half = thickness / 2;
    for (;;) { /* Bresenham, a square pen at each step */
        clcnn__draw_rect(img, x0 - half, y0 - half, thickness, thickness, c);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy)
            err += dy, x0 += sx;
        if (e2 <= dx)
            err += dx, y0 += sy;
    }
}

int clcnn__text_width(const char *text, int scale)
{
    size_t n = strlen(text);
    return n ? (int)n * 6 * scale - scale : 0;
}

void clcnn__draw_text(clcnn__image *img, int x, int y, const char *text, int scale,
                      clcnn__rgb c)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++, x += 6 * scale) {
        unsigned ch = *p >= 32 && *p < 127 ? *p : '?';
        const unsigned char *rows = clcnn__font5x7[ch - 32];
        for (int r = 0; r < 7; r++)
            for (int col = 0; col < 5; col++)
                if (rows[r] & (0x10 >> col))
                    clcnn__draw_rect(img, x + col * scale, y + r * scale, scale, scale, c);
    }
}

clcnn__rgb clcnn__series_color(int i)
{
    static const clcnn__rgb palette[] = {{31, 119, 180}, {214, 39, 40},  {44, 160, 44},
                                         {255, 127, 14}, {148, 103, 189}, {140, 86, 75},
                                         {227, 119, 194}, {23, 190, 207}};
    return palette[(unsigned)i % (sizeof palette / sizeof palette[0])];
}

/* A tick step of 1, 2 or 5 times a power of ten giving about `want` ticks. */
static double nice_step(double span, int want)
{
    double raw = span / want, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/* Tick text with as many decimals as the step needs. */
static void tick_label(char *buf, size_t size, double v, double step)
{
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, size, "%.*f", decimals > 6 ? 6 : decimals, fabs(v) < step * 1e-6 ? 0.0 : v);
}

/* The range of the finite values of one coordinate over every series,
 * widened to round numbers (and to a span when all values are equal). */
static void axis_range(const clcnn__series *s, int count, int use_y, double *lo, double *hi,
                       double *step)
{
    double a = INFINITY, b = -INFINITY;
    for (int k = 0; k < count; k++)
        for (int i = 0; i < s[k].n; i++) {
            double v = use_y ? s[k].y[i] : s[k].x[i];
            if (isfinite(v) && isfinite(use_y ? s[k].x[i] : s[k].y[i]))
                a = v < a ? v : a, b = v > b ? v : b;
        }
    if (!(a <= b))
        a = 0, b = 1;
    if (b - a < 1e-12 * (fabs(a) + 1))
        a -= 0.5 * (fabs(a) + 1e-3), b += 0.5 * (fabs(b) + 1e-3);
    *step = nice_step(b - a, 5);
    *lo = floor(a / *step + 1e-9) * *step;
    *hi = ceil(b / *step - 1e-9) * *step;
}

void clcnn__line_chart(clcnn__image *img, int x, int y, int w, int h, const char *title,
                       const char *xlabel, const char *ylabel, const clcnn__series *series,
                       int count)
{
    const clcnn__rgb ink = {40, 40, 40}, grid = {225, 225, 225};
    const int s = 2, th = CLCNN__TEXT_HEIGHT(s);
    /* the plot area: room for the title and y label above, tick labels left,
     * tick labels and the x label below */
    int named = 0;
    for (int k = 0; k < count; k++)
        named += series[k].name != NULL;
    int legend = named > 1 ? th + 10 : 0; /* a row of entries under the x label */
    int left = x + 8 * 6 * s, top = y + 2 * th + 14, right = x + w - 12 - 3 * s,
        bottom = y + h - 2 * th - 16 - legend;
    if (right - left < 20 || bottom - top < 20)
        return;
    double x0, x1, xs, y0, y1, ys;
    axis_range(series, count, 0, &x0, &x1, &xs);
    axis_range(series, count, 1, &y0, &y1, &ys);
    if (xs < 1 && x1 - x0 >= 2) /* epochs are whole numbers */
        xs = 1;
    clcnn__draw_text(img, x + (w - clcnn__text_width(title, s)) / 2, y, title, s, ink);
    clcnn__draw_text(img, left - 4 * s, y + th + 6, ylabel, s, ink);
    clcnn__draw_text(img, left + (right - left - clcnn__text_width(xlabel, s)) / 2,
                     bottom + th + 12, xlabel, s, ink);
#define PX_(v) (left + (int)lround(((v) - x0) / (x1 - x0) * (right - left)))
#define PY_(v) (bottom - (int)lround(((v) - y0) / (y1 - y0) * (bottom - top)))
    char label[32];
    for (double v = y0; v <= y1 + ys * 1e-6; v += ys) {
        clcnn__draw_line(img, left, PY_(v), right, PY_(v), 1, grid);
        clcnn__draw_line(img, left - 5, PY_(v), left, PY_(v), 1, ink);
        tick_label(label, sizeof label, v, ys);
        clcnn__draw_text(img, left - 8 - clcnn__text_width(label, s), PY_(v) - th / 2, label,
                         s, ink);
    }
    for (double v = x0; v <= x1 + xs * 1e-6; v += xs) {
        clcnn__draw_line(img, PX_(v), bottom, PX_(v), bottom + 5, 1, ink);
        tick_label(label, sizeof label, v, xs);
        clcnn__draw_text(img, PX_(v) - clcnn__text_width(label, s) / 2, bottom + 8, label, s,
                         ink);
    }
    clcnn__draw_line(img, left, top, left, bottom, 2, ink);
    clcnn__draw_line(img, left, bottom, right, bottom, 2, ink);
    for (int k = 0; k < count; k++) {
        clcnn__rgb c = clcnn__series_color(k);
        int have = 0, px = 0, py = 0;
        for (int i = 0; i < series[k].n; i++) {
            double vx = series[k].x[i], vy = series[k].y[i];
            if (!isfinite(vx) || !isfinite(vy))
                continue;
            int qx = PX_(vx), qy = PY_(vy);
            if (have)
                clcnn__draw_line(img, px, py, qx, qy, 2, c);
            clcnn__draw_rect(img, qx - 3, qy - 3, 7, 7, c);
            px = qx, py = qy, have = 1;
        }
    }
#undef PX_
#undef PY_
    if (!legend)
        return;
    int lx = left, ly = y + h - th;
    for (int k = 0; k < count; k++) {
        if (!series[k].name)
            continue;
        clcnn__draw_rect(img, lx, ly + th / 2 - 2, 18, 5, clcnn__series_color(k));
        clcnn__draw_text(img, lx + 24, ly, series[k].name, s, ink);
        lx += 24 + clcnn__text_width(series[k].name, s) + 20;
    }
}

int clcnn__run_add(clcnn__run *run, double epoch, double loss, double accuracy)
{
    if (run->n == run->cap) {
        int cap = run->cap ? 2 * run->cap : 16;
        double *arrays[3] = {run->epoch, run->loss, run->accuracy};
        for (int i = 0; i < 3; i++) {
            double *grown = realloc(arrays[i], (size_t)cap * sizeof *grown);
            if (!grown)
                return 0;
            arrays[i] = grown;
        }
        run->epoch = arrays[0], run->loss = arrays[1], run->accuracy = arrays[2];
        run->cap = cap;
    }
    run->epoch[run->n] = epoch;
    run->loss[run->n] = loss;
    run->accuracy[run->n] = 100.0 * accuracy;
    run->n++;
    return 1;
}

void clcnn__run_free(clcnn__run *run)
{
    free(run->epoch);
    free(run->loss);
    free(run->accuracy);
    memset(run, 0, sizeof *run);
}

clcnn_status clcnn__training_chart(const char *path, const clcnn__run *runs, int count,
                                   char *error, size_t error_size)
{
    clcnn__image img;
    clcnn_status st = clcnn__image_create(&img, CLCNN__TRAINING_CHART_W,
                                          CLCNN__TRAINING_CHART_H, 3, error, error_size);
    if (st != CLCNN_OK)
        return st;
    memset(img.data, 255, (size_t)img.width * (size_t)img.height * 3);
    clcnn__series *loss = calloc((size_t)count, sizeof *loss);
    clcnn__series *acc = calloc((size_t)count, sizeof *acc);
    if (!loss || !acc) {
        free(loss);
        free(acc);
        clcnn__image_free(&img);
        snprintf(error, error_size, "out of host memory drawing %s", path);
        return CLCNN_ERR_OUT_OF_HOST_MEMORY;
    }
    for (int i = 0; i < count; i++) {
        loss[i] = (clcnn__series){runs[i].name, runs[i].epoch, runs[i].loss, runs[i].n};
        acc[i] = (clcnn__series){runs[i].name, runs[i].epoch, runs[i].accuracy, runs[i].n};
    }
    int half = img.width / 2;
    clcnn__line_chart(&img, 10, 10, half - 20, img.height - 20, "training loss", "epoch",
                      "mean loss", loss, count);
    clcnn__line_chart(&img, half + 10, 10, half - 20, img.height - 20, "test accuracy", "epoch",
                      "accuracy %", acc, count);
    free(loss);
    free(acc);
    st = clcnn__image_write(path, &img, error, error_size);
    clcnn__image_free(&img);
    return st;
}

clcnn_status clcnn__confusion_chart(const char *path, const char *title, const long *counts,
                                    int classes, char *error, size_t error_size)
{
    const clcnn__rgb ink = {40, 40, 40};
    const int s = 2, th = CLCNN__TEXT_HEIGHT(s);
    long most = 1;
    for (int i = 0; i < classes * classes; i++)
        most = counts[i] > most ? counts[i] : most;
    char text[32];
    snprintf(text, sizeof text, "%ld", most);
    int cell = clcnn__text_width(text, s) + 14;
    cell = cell < 4 * th ? 4 * th : cell;
    int left = 6 * 6 * s + 20, top = 3 * th + 30;
    int width = left + classes * cell + 20, height = top + classes * cell + th + 20;
    if (width < clcnn__text_width(title, s) + 40)
        width = clcnn__text_width(title, s) + 40;
    clcnn__image img;
    clcnn_status st = clcnn__image_create(&img, width, height, 3, error, error_size);
    if (st != CLCNN_OK)
        return st;
    memset(img.data, 255, (size_t)img.width * (size_t)img.height * 3);
    clcnn__draw_text(&img, 20, 10, title, s, ink);
    clcnn__draw_text(&img, left, 10 + th + 8, "predicted class", s, ink);
    clcnn__draw_text(&img, 10, top + classes * cell + 10, "rows: true class", s, ink);
    for (int t = 0; t < classes; t++) {
        long row_most = 1;
        for (int p = 0; p < classes; p++)
            row_most = counts[t * classes + p] > row_most ? counts[t * classes + p] : row_most;
        snprintf(text, sizeof text, "%d", t);
        clcnn__draw_text(&img, left - 10 - clcnn__text_width(text, s),
                         top + t * cell + (cell - th) / 2, text, s, ink);
        clcnn__draw_text(&img, left + t * cell + (cell - clcnn__text_width(text, s)) / 2,
                         top - th - 6, text, s, ink);
        for (int p = 0; p < classes; p++) {
            long n = counts[t * classes + p];
            double f = sqrt((double)n / (double)row_most); /* a few errors still show */
            clcnn__rgb c = {(unsigned char)lround(255 - 222 * f), (unsigned char)lround(255 - 180 * f),
                            (unsigned char)lround(255 - 100 * f)};
            int x = left + p * cell, y = top + t * cell;
            clcnn__draw_rect(&img, x, y, cell - 1, cell - 1, c);
            snprintf(text, sizeof text, "%ld", n);
            clcnn__rgb fg = f > 0.5 ? (clcnn__rgb){255, 255, 255} : ink;
            clcnn__draw_text(&img, x + (cell - clcnn__text_width(text, s)) / 2,
                             y + (cell - th) / 2, text, s, fg);
        }
    }
    st = clcnn__image_write(path, &img, error, error_size);
    clcnn__image_free(&img);
    return st;
}

clcnn_status clcnn__bench_chart(const char *path, const char *title,
                                const clcnn__bench_bar *bars, int count, double peak,
                                const char *other_name, char *error, size_t error_size)
{
    const clcnn__rgb ink = {40, 40, 40}, grid = {225, 225, 225}, peak_ink = {214, 39, 40};
    const int s = 2, th = CLCNN__TEXT_HEIGHT(s), bar = 10;
    int others = 0, label_w = 0;
    double most = peak;
    for (int i = 0; i < count; i++) {
        others += isfinite(bars[i].other_gflops);
        int tw = clcnn__text_width(bars[i].label, s);
        label_w = tw > label_w ? tw : label_w;
        most = bars[i].gflops > most ? bars[i].gflops : most;
        if (isfinite(bars[i].other_gflops) && bars[i].other_gflops > most)
            most = bars[i].other_gflops;
    }
    int row = (others ? 2 * bar : bar) + 8;
    int left = label_w + 30, top = 3 * th + 30, plot_w = 700;
    int width = left + plot_w + 40, height = top + count * row + 2 * th + 30;
    clcnn__image img;
    clcnn_status st = clcnn__image_create(&img, width, height, 3, error, error_size);
    if (st != CLCNN_OK)
        return st;
    memset(img.data, 255, (size_t)img.width * (size_t)img.height * 3);
    clcnn__draw_text(&img, 20, 10, title, s, ink);
    /* the legend */
    int lx = 20, ly = 10 + th + 10;
    clcnn__draw_rect(&img, lx, ly + 2, 18, bar, clcnn__series_color(0));
    clcnn__draw_text(&img, lx + 24, ly, "clcnn", s, ink);
    lx += 24 + clcnn__text_width("clcnn", s) + 24;
    if (others) {
        clcnn__draw_rect(&img, lx, ly + 2, 18, bar, clcnn__series_color(3));
        clcnn__draw_text(&img, lx + 24, ly, other_name, s, ink);
        lx += 24 + clcnn__text_width(other_name, s) + 24;
    }
    if (peak > 0) {
        clcnn__draw_rect(&img, lx, ly + th / 2 - 1, 18, 3, peak_ink);
        char text[64];
        snprintf(text, sizeof text, "FP32 peak %.0f GFLOP/s", peak);
        clcnn__draw_text(&img, lx + 24, ly, text, s, ink);
    }
    double step = nice_step(most, 5), hi = ceil(most / step - 1e-9) * step;
    int bottom = top + count * row;
#define BX_(v) (left + (int)lround((v) / hi * plot_w))
    char label[32];
    for (double v = 0; v <= hi + step * 1e-6; v += step) {
        clcnn__draw_line(&img, BX_(v), top, BX_(v), bottom, 1, grid);
        tick_label(label, sizeof label, v, step);
        clcnn__draw_text(&img, BX_(v) - clcnn__text_width(label, s) / 2, bottom + 6, label, s,
                         ink);
    }
    clcnn__draw_text(&img, left + (plot_w - clcnn__text_width("GFLOP/s", s)) / 2,
                     bottom + th + 14, "GFLOP/s", s, ink);
    for (int i = 0; i < count; i++) {
        int y = top + i * row + 4;
        clcnn__draw_text(&img, left - 10 - clcnn__text_width(bars[i].label, s),
                         y + (row - 8 - th) / 2, bars[i].label, s, ink);
        clcnn__draw_rect(&img, left, y, BX_(bars[i].gflops) - left, bar, clcnn__series_color(0));
        if (isfinite(bars[i].other_gflops))
            clcnn__draw_rect(&img, left, y + bar, BX_(bars[i].other_gflops) - left, bar,
                             clcnn__series_color(3));
    }
    clcnn__draw_line(&img, left, top, left, bottom, 2, ink);
    if (peak > 0)
        clcnn__draw_line(&img, BX_(peak), top - 4, BX_(peak), bottom, 2, peak_ink);
#undef BX_
    st = clcnn__image_write(path, &img, error, error_size);
    clcnn__image_free(&img);
    return st;
}
