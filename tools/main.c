/*
 * clcnn: the command-line tool. Dispatches to one command per
 * CLCNN__COMMANDS row (cli.h) and answers --help, help and --version for all
 * of them, so a new command only adds its row and its file.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
#define CLCNN__COMMAND_ROW_(name, summary) {#name, summary, clcnn__usage_##name, clcnn__cmd_##name},
    CLCNN__COMMANDS(CLCNN__COMMAND_ROW_)
#undef CLCNN__COMMAND_ROW_
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_overview(FILE *out)
{
    fprintf(out,
            "Usage: clcnn COMMAND [OPTIONS] [ARGUMENTS]\n"
            "       clcnn help [COMMAND] | clcnn COMMAND --help | clcnn --version\n"
            "\n"
            "clcnn runs convolutional networks on an OpenCL device (a GPU, or the CPU\n"
            "through PoCL).\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Environment:\n"
            "  CLCNN_DEVICE      device to use: \"P:D\" indices or part of its name\n"
            "                    (see 'clcnn devices')\n"
            "  CLCNN_CACHE_DIR   folder of compiled kernels (default ~/.cache/clcnn;\n"
            "                    empty: no cache)\n"
            "  CLCNN_KERNEL_DIR  read kernels/*.cl from this folder instead of the\n"
            "                    built-in copies\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 wrong command line.\n");
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Edit distance of two short words, to suggest the command meant. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31)
        return 99;
    size_t row[32];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diagonal + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = up;
        }
    }
    return row[lb];
}

static int unknown_command(const char *name)
{
    fprintf(stderr, "clcnn: unknown command '%s'\n", name);
    const command *near = NULL;
    size_t best = 3; /* suggest only close spellings */
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        size_t d = distance(name, commands[i].name);
        if (d < best) {
            best = d;
            near = &commands[i];
        }
    }
    if (near)
        fprintf(stderr, "Did you mean 'clcnn %s'?\n", near->name);
    fprintf(stderr, "Run 'clcnn --help' for the list of commands.\n");
    return CLCNN__EXIT_USAGE;
}

/* True when the command's arguments ask for help ("--" ends the options). */
static int asks_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return CLCNN__EXIT_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0) {
        print_overview(stdout);
        return CLCNN__EXIT_OK;
    }
    if (strcmp(first, "--version") == 0) {
        /* The header's version is the tool's; the library's may differ
         * when the shared library was replaced. */
        printf("clcnn %s (library %s)\n", CLCNN_VERSION_STRING, clcnn_version());
        return CLCNN__EXIT_OK;
    }
    if (strcmp(first, "help") == 0) {
        if (argc > 3) {
            fprintf(stderr, "clcnn: help takes at most one command name\n"
                            "Run 'clcnn --help' for the list of commands.\n");
            return CLCNN__EXIT_USAGE;
        }
        if (argc == 2) {
            print_overview(stdout);
            return CLCNN__EXIT_OK;
        }
        const command *cmd = find_command(argv[2]);
        if (!cmd)
            return unknown_command(argv[2]);
        fputs(cmd->usage, stdout);
        return CLCNN__EXIT_OK;
    }
    if (first[0] == '-') {
        fprintf(stderr, "clcnn: unknown option '%s'\n"
                        "Run 'clcnn --help' for the usage.\n", first);
        return CLCNN__EXIT_USAGE;
    }
    const command *cmd = find_command(first);
    if (!cmd)
        return unknown_command(first);
    if (asks_help(argc - 1, argv + 1)) {
        fputs(cmd->usage, stdout);
        return CLCNN__EXIT_OK;
    }
    int status = cmd->run(argc - 1, argv + 1);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "clcnn: %s: cannot write the output\n", cmd->name);
        return CLCNN__EXIT_FAILURE;
    }
    return status;
}
