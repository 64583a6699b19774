#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli.h"

static void print_usage(FILE *f) {
  fprintf(f,
          "usage: tilewhisper <command> [options]\n"
          "\n"
          "commands:\n"
          "  gemm M K N [--device D] [--kernel MxKxN] [--threads N] [--json]\n"
          "                       run one GEMM, print its plan, cost and error\n"
          "  devices [--json]     list devices, their kernels and costs\n"
          "  info MODEL [--json]  model hyper-parameters and tensor table\n"
          "  encode -m MODEL AUDIO [--device D[:K=V,...]] [--threads N] [--fp32] [-o OUT.f32] [--json]\n"
          "                       run the encoder on every 30 s window, report timings\n"
          "  logits -m MODEL AUDIO --tokens ID,... [--fp32] [--device D] [-o LOGITS.f32]\n"
          "                       logits of the last token after the first window (checking)\n"
          "  transcribe -m MODEL AUDIO... [-f txt|srt|vtt|tsv|json|all] [-o DIR] [-l LANG] ...\n"
          "                       audio to text with timestamps, OpenAI's options (transcribe --help)\n"
          "  detect-language -m MODEL AUDIO [--top N] [--json]\n"
          "                       the most likely spoken languages of the first 30 s\n"
          "  synth-model --size S [--layers N] [--seed S] [--header FILE] [--type T] -o FILE\n"
          "                       write a whisper.cpp model with random weights\n"
          "  bench [--json] ...   the invocation study: the seed's matmul and one Whisper-base\n"
          "                       encoder pass under every dispatch strategy (bench --help)\n"
          "  --help, --version     (every command also takes --help)\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "tilewhisper: no command given\n");
    print_usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    print_usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) return tw_cli_version();
  if (!strcmp(cmd, "gemm")) return tw_cli_gemm(argc - 1, argv + 1);
  if (!strcmp(cmd, "devices")) return tw_cli_devices(argc - 1, argv + 1);
  if (!strcmp(cmd, "bench")) return tw_cli_bench(argc - 1, argv + 1);
  if (!strcmp(cmd, "info")) return tw_cli_info(argc - 1, argv + 1);
  if (!strcmp(cmd, "encode")) return tw_cli_encode(argc - 1, argv + 1);
  if (!strcmp(cmd, "logits")) return tw_cli_logits(argc - 1, argv + 1);
  if (!strcmp(cmd, "transcribe")) return tw_cli_transcribe(argc - 1, argv + 1);
  if (!strcmp(cmd, "detect-language")) return tw_cli_detect_language(argc - 1, argv + 1);
  if (!strcmp(cmd, "synth-model")) return tw_cli_synth_model(argc - 1, argv + 1);
  fprintf(stderr, "tilewhisper: unknown command '%s'\n", cmd);
  print_usage(stderr);
  return 2;
}
