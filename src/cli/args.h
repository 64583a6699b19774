/* Small argument helpers shared by the subcommands. */
#ifndef TW_CLI_ARGS_H
#define TW_CLI_ARGS_H

#include <stddef.h>

/* Parses a whole decimal number in [lo, hi]; 0 on success, -1 otherwise. */
int tw_arg_long(const char *s, long lo, long hi, long *out);

/* Prints "tilewhisper <cmd>: <message>" and the hint, returns 2. */
int tw_usage_error(const char *cmd, const char *usage, const char *fmt, ...);

/* Escapes s for a JSON string body into buf (always terminated). */
const char *tw_json_escape(const char *s, char *buf, size_t cap);

#endif
