/* Subcommands of the tilewhisper tool.  Each takes argv from its own name on
 * and returns the process exit code: 0 success, 1 failure, 2 usage error. */
#ifndef TW_CLI_CLI_H
#define TW_CLI_CLI_H

int tw_cli_version(void);
int tw_cli_gemm(int argc, char **argv);
int tw_cli_devices(int argc, char **argv);
int tw_cli_bench(int argc, char **argv);
int tw_cli_info(int argc, char **argv);
int tw_cli_synth_model(int argc, char **argv);
int tw_cli_encode(int argc, char **argv);
int tw_cli_logits(int argc, char **argv);
int tw_cli_transcribe(int argc, char **argv);
int tw_cli_detect_language(int argc, char **argv);

#endif
