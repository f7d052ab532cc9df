/*
 * Option parsing and error printing shared by the clcnn commands, so that
 * every command words its errors and exit statuses the same way.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void vprint_error(const char *command, const char *fmt, va_list ap)
{
    fprintf(stderr, "clcnn: %s: ", command);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int clcnn__cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_error(command, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Run 'clcnn %s --help' for its usage.\n", command);
    return CLCNN__EXIT_USAGE;
}

int clcnn__cli_fail(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_error(command, fmt, ap);
    va_end(ap);
    return CLCNN__EXIT_FAILURE;
}

int clcnn__cli_library_fail(const clcnn_context *ctx, const char *what)
{
    fprintf(stderr, "clcnn: %s: %s\n", what, clcnn_last_error(ctx));
    return CLCNN__EXIT_FAILURE;
}

int clcnn__cli_context(const char *command, const char *selector, clcnn_context **out)
{
    char err[1024] = "";
    clcnn_context_options options = {.device = selector};
    clcnn_status st = clcnn_context_create(&options, out, err, sizeof err);
    if (st != CLCNN_OK)
        return clcnn__cli_fail(command, "cannot create an OpenCL context (%s): %s",
                               clcnn_status_name(st), err);
    return CLCNN__EXIT_OK;
}

static const clcnn__option *find_long(const clcnn__option *options, size_t count,
                                      const char *name, size_t length)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(options[i].name) == length && strncmp(options[i].name, name, length) == 0)
            return &options[i];
    return NULL;
}

static const clcnn__option *find_short(const clcnn__option *options, size_t count, char name)
{
    for (size_t i = 0; i < count; i++)
        if (options[i].short_name && options[i].short_name == name)
            return &options[i];
    return NULL;
}

int clcnn__cli_parse(const char *command, int argc, char **argv, const clcnn__option *options,
                     size_t option_count, const char **positional, int min_positional,
                     int max_positional, int *positional_count)
{
    int npos = 0;
    int options_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        /* "-" alone is an operand (conventionally stdin/stdout), not an option */
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            if (npos >= max_positional)
                return clcnn__cli_usage_error(command, "unexpected argument '%s'", arg);
            positional[npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = 1;
            continue;
        }
        const clcnn__option *opt;
        const char *inline_value = NULL;
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t length = eq ? (size_t)(eq - name) : strlen(name);
            opt = find_long(options, option_count, name, length);
            if (!opt)
                return clcnn__cli_usage_error(command, "unknown option '--%.*s'", (int)length,
                                              name);
            if (eq)
                inline_value = eq + 1;
        } else {
            if (arg[2] != '\0')
                return clcnn__cli_usage_error(command, "unknown option '%s'", arg);
            opt = find_short(options, option_count, arg[1]);
            if (!opt)
                return clcnn__cli_usage_error(command, "unknown option '%s'", arg);
        }
        if (!opt->value) {
            if (inline_value)
                return clcnn__cli_usage_error(command, "option '--%s' takes no value",
                                              opt->name);
            *opt->flag = 1;
            continue;
        }
        if (!inline_value) {
            if (i + 1 >= argc)
                return clcnn__cli_usage_error(command, "option '--%s' needs a value",
                                              opt->name);
            inline_value = argv[++i];
        }
        *opt->value = inline_value;
    }
    if (npos < min_positional)
        return clcnn__cli_usage_error(command, "expected %d argument%s, got %d",
                                      min_positional, min_positional == 1 ? "" : "s", npos);
    if (positional_count)
        *positional_count = npos;
    return CLCNN__EXIT_OK;
}

int clcnn__cli_int(const char *command, const char *option, const char *text, int lo, int hi,
                   int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || v < lo || v > hi)
        return clcnn__cli_usage_error(command, "invalid --%s '%s' (expected an integer in "
                                      "%d..%d)", option, text, lo, hi);
    *out = (int)v;
    return CLCNN__EXIT_OK;
}

int clcnn__cli_choice(const char *command, const char *option, const char *text,
                      const char *const *choices, int *index)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(text, choices[i]) == 0) {
            *index = i;
            return CLCNN__EXIT_OK;
        }
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; choices[i] && used < sizeof list; i++) {
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", choices[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return clcnn__cli_usage_error(command, "invalid --%s '%s' (expected one of: %s)", option,
                                  text, list);
}
