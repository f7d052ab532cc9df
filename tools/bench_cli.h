/*
 * What `clcnn bench` and `clcnn tune` share on the command line: choosing
 * cases and passes, the default batch per device, and the description of
 * the device that heads their output.
 */
#ifndef CLCNN_BENCH_CLI_H
#define CLCNN_BENCH_CLI_H

#include <stdio.h>

#include "bench/suites.h"
#include "clcnn.h"

/* Parses a comma-separated list of passes (fwd, bwd-data, bwd-filter, all)
 * into a bit mask (1 << bench_pass). Returns an exit status (usage error
 * printed). */
int clcnn__bench_passes(const char *command, const char *text, unsigned *mask);

/* Selects the cases of bench_cases() named by --suite and --layer into
 * selected[]; returns an exit status (usage error printed). */
int clcnn__bench_select(const char *command, const char *suites, const char *layers,
                        unsigned char *selected);

/* The batch of case c on this device: forced when > 0, else the default
 * (about 2 GFLOP per pass on a CPU device, 40 on a GPU). */
int clcnn__bench_batch(const clcnn_device_info *info, const bench_case *c, int forced);

/* The device, driver and clcnn version as JSON members (no braces):
 * "clcnn": ..., "device": ..., "platform": ..., "driver": ...,
 * "device_version": ..., "compute_units": ..., "is_gpu": ..., "date": ... */
void clcnn__bench_json_device(FILE *out, const clcnn_device_info *info);

/* The same as one line of text. */
void clcnn__bench_text_device(FILE *out, const clcnn_device_info *info);

/*
 * `clcnn bench --model`: the set-up time of a network (context, build, every
 * kernel built or loaded) and of its first training step, then training and
 * inference images/s of model (lenet5, convnet, resnet, mobilenet or a spec) on random 1x28x28
 * images at batch: `repeat` timed rounds of about 0.2 s each after `warmup`
 * (at least 2) untimed steps. Returns an exit status.
 */
int clcnn__bench_model(const char *model, const char *device, int batch, int repeat,
                       int warmup, int json);

#endif /* CLCNN_BENCH_CLI_H */
