/*
 * Drawing for the tool's pictures: filled rectangles, lines, 5x7 bitmap
 * text on an RGB clcnn__image, and the charts built from them (line charts
 * with axes, ticks, labels and a legend; heat maps; grids of small images).
 * Part of the tool, not the library.
 */
#ifndef CLCNN_DRAW_H
#define CLCNN_DRAW_H

#include "image.h"

typedef struct clcnn__rgb {
    unsigned char r, g, b;
} clcnn__rgb;

extern const unsigned char clcnn__font5x7[95][7];

/* Clipped to the image; a zero-sized rectangle draws nothing. */
void clcnn__draw_rect(clcnn__image *img, int x, int y, int w, int h, clcnn__rgb c);
/* A line `thickness` pixels wide from (x0, y0) to (x1, y1). */
void clcnn__draw_line(clcnn__image *img, int x0, int y0, int x1, int y1, int thickness,
                      clcnn__rgb c);
/* Text with its top-left corner at (x, y), each font pixel scale x scale;
 * characters outside printable ASCII draw as '?'. */
void clcnn__draw_text(clcnn__image *img, int x, int y, const char *text, int scale,
                      clcnn__rgb c);
int clcnn__text_width(const char *text, int scale);
#define CLCNN__TEXT_HEIGHT(scale) (7 * (scale))

/* The colour of series i of a chart (a fixed, distinguishable palette). */
clcnn__rgb clcnn__series_color(int i);

/* One curve of a line chart: n points (x[i], y[i]). */
typedef struct clcnn__series {
    const char *name; /* in the legend; NULL: no legend entry */
    const double *x, *y;
    int n;
} clcnn__series;

/* A line chart in the rectangle (x, y, w, h) of img: axes with ticks at
 * round values, the title above, xlabel below, ylabel above the y axis, one
 * curve with markers per series and a legend when more than one is named.
 * Non-finite points are skipped. */
void clcnn__line_chart(clcnn__image *img, int x, int y, int w, int h, const char *title,
                       const char *xlabel, const char *ylabel, const clcnn__series *series,
                       int count);

/* A classes x classes confusion matrix (row: true class, column: predicted)
 * as a heat map with the count in every cell, white (0) to dark blue (the
 * largest count of its row, so that every class reads alike), written
 * atomically to path (.png). */
clcnn_status clcnn__confusion_chart(const char *path, const char *title, const long *counts,
                                    int classes, char *error, size_t error_size);

/* One row of a benchmark chart: a layer and pass, clcnn's GFLOP/s and the
 * comparison's (NaN: none). */
typedef struct clcnn__bench_bar {
    char label[64];
    double gflops, other_gflops;
} clcnn__bench_bar;

/* Horizontal bars of GFLOP/s per row (the comparison's beside clcnn's when
 * a row has one, named other_name in the legend), the FP32 peak as a line
 * when peak > 0, written atomically to path (.png). */
clcnn_status clcnn__bench_chart(const char *path, const char *title,
                                const clcnn__bench_bar *bars, int count, double peak,
                                const char *other_name, char *error, size_t error_size);

/* A training run as the charts see it: per epoch, the mean training loss
 * and the test accuracy in [0, 1]. */
typedef struct clcnn__run {
    const char *name;
    double *epoch, *loss, *accuracy;
    int n, cap;
} clcnn__run;

/* Appends one epoch to run (growing its arrays); 0 when out of memory. */
int clcnn__run_add(clcnn__run *run, double epoch, double loss, double accuracy);
void clcnn__run_free(clcnn__run *run);

/* The training chart (train loss and test accuracy per epoch, side by side,
 * the runs overlaid with a legend), CLCNN__TRAINING_CHART_W x _H pixels,
 * written atomically to path (.png). Returns a status with a message. */
#define CLCNN__TRAINING_CHART_W 1000
#define CLCNN__TRAINING_CHART_H 420
clcnn_status clcnn__training_chart(const char *path, const clcnn__run *runs, int count,
                                   char *error, size_t error_size);

#endif /* CLCNN_DRAW_H */
