/* Small argument helpers shared by the subcommands. */
#ifndef TW_CLI_ARGS_H
#define TW_CLI_ARGS_H

#include <stddef.h>

/* Parses a whole decimal number in [lo, hi]; 0 on success, -1 otherwise. */
int tw_arg_long(const char *s, long lo, long hi, long *out);

/* Prints "tilewhisper <cmd>: <message>" and the hint, returns 2. */
int tw_usage_error(const char *cmd, const char *usage, const char *fmt, ...);

/* What a command's parser returns after seeing --help or -h: the command
 * prints its usage with tw_usage_print and exits 0. */
#define TW_ARGS_HELP (-1)

/* 1 when s asks for help (--help or -h). */
int tw_arg_is_help(const char *s);

/* Prints the usage on standard output (asked for: not an error); returns 0. */
int tw_usage_print(const char *usage);

/* The refusal for an argument starting with '-' that no branch accepted:
 * "option '--x' needs a value" when it is one of `value_options`
 * (NULL-terminated) given last, else "unknown option '--x'" followed by the
 * options the command knows.  Returns 2 (tw_usage_error). */
int tw_option_error(const char *cmd, const char *usage, const char *arg,
                    const char *const *value_options, int is_last);

/* Refuses (returns 2, saying why) an output path that names the same
 * existing file as one of `inputs` (NULL-terminated; "-" is standard input
 * and skipped), before anything is written; 0 otherwise. */
int tw_check_output(const char *cmd, const char *usage, const char *out,
                    const char *const *inputs);

/* Escapes s for a JSON string body into buf (always terminated). */
const char *tw_json_escape(const char *s, char *buf, size_t cap);

#endif
