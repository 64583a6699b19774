/* tilewhisper transcribe -m MODEL AUDIO... [options]
 *
 * OpenAI's `whisper` command on the public API: options under OpenAI's
 * names (--beam_size and --beam-size both work, --name=value too) with its
 * CLI defaults (beam 5, best-of 5, fallback 0.2), the model loaded once and
 * one state reused for every file, each file's output written (atomically,
 * by the library) as soon as it is finished.  A failing file is reported
 * and skipped (exit 1 at the end); Ctrl-C stops between decoder steps,
 * writes nothing for the unfinished file and exits 130. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "cli_audio.h"
#include "clock.h"
#include "tilewhisper/tilewhisper.h"

static const char *USAGE =
    "tilewhisper transcribe -m MODEL AUDIO... [options]   (OpenAI's option names; '_' or '-')\n"
    "  -l, --language auto|CODE|NAME      (auto: detected on the first 30 s)\n"
    "  --task transcribe|translate\n"
    "  -bs, --beam-size N (5; 0 = greedy)  --best-of N (5)  --patience F  --length-penalty F|none\n"
    "  --temperature T (0)  --temperature-increment-on-fallback F (0.2; 0 = no fallback)\n"
    "  --compression-ratio-threshold F|none (2.4)  --logprob-threshold F|none (-1.0)\n"
    "  --no-speech-threshold F|none (0.6)  --initial-prompt TEXT\n"
    "  --condition-on-previous-text true|false  --without-timestamps\n"
    "  --suppress-tokens LIST (\"-1\")  --suppress-blank true|false  --seed N\n"
    "  --max-tokens-per-window N          (benchmarks: no EOT before N tokens, stop at N)\n"
    "  -f, --output-format txt|srt|vtt|tsv|json|all\n"
    "                                     (default: all with -o, txt on standard output without)\n"
    "  -o, --output-dir DIR               (files DIR/<audio stem>.<ext>; DIR is created)\n"
    "  -t, --threads N  --device D  --encoder-device D  --decoder-device D  --fp32\n"
    "  --verbose                          (segments as they are final; stderr without -o)\n"
    "  --progress auto|always|never       (auto: a bar on stderr when it is a terminal)\n"
    "  --json-stats                       (one JSON line of timings per file on stderr)\n"
    "  exit: 0 ok, 1 a file or the model failed, 2 usage, 130 interrupted";

/* What a refusal prints under its message (--help prints USAGE). */
static const char *SHORT = "tilewhisper transcribe -m MODEL AUDIO... [options]  (--help lists them)";

static const char *const VALUE_OPTIONS[] = {
    "-m", "--model", "-l", "--language", "--task", "-bs", "--beam-size", "--best-of", "--patience",
    "--length-penalty", "--temperature", "--temperature-increment-on-fallback",
    "--compression-ratio-threshold", "--logprob-threshold", "--no-speech-threshold",
    "--initial-prompt", "--condition-on-previous-text", "--suppress-tokens", "--suppress-blank",
    "--seed", "--max-tokens-per-window", "-f", "--output-format", "-o", "--output-dir", "-t",
    "--threads", "--device", "--encoder-device", "--decoder-device", "--progress", NULL};

enum { PROGRESS_NEVER, PROGRESS_ALWAYS, PROGRESS_AUTO };

typedef struct tx_args {
  const char *model, *out_dir, *device, *encoder_device, *decoder_device;
  const char **audio;
  int n_audio, fmt_given, fp32, verbose, json_stats, progress;
  long threads;
  tw_output_format fmt;
  tw_transcribe_options o;
} tx_args;

/* ---- parsing ---------------------------------------------------------- */

/* A number in [lo, hi]; "none" gives NAN where OpenAI's optional_float
 * takes None (thresholds off, length penalty unset). */
static int arg_double(const char *opt, const char *v, double lo, double hi, int none_ok,
                      double *out) {
  if (none_ok && !strcasecmp(v, "none")) {
    *out = NAN;
    return 0;
  }
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (*v && !*end && !errno && isfinite(x) && x >= lo && x <= hi) {
    *out = x;
    return 0;
  }
  return tw_usage_error("transcribe", SHORT, "option '%s' wants a number in [%g, %g]%s, not '%s'",
                        opt, lo, hi, none_ok ? " or none" : "", v);
}

static int arg_int(const char *opt, const char *v, long lo, long hi, int *out) {
  long x;
  if (tw_arg_long(v, lo, hi, &x))
    return tw_usage_error("transcribe", SHORT, "option '%s' wants a whole number %ld..%ld, not '%s'",
                          opt, lo, hi, v);
  *out = (int)x;
  return 0;
}

static int arg_bool(const char *opt, const char *v, int *out) {
  if (!strcasecmp(v, "true") || !strcmp(v, "1")) *out = 1;
  else if (!strcasecmp(v, "false") || !strcmp(v, "0")) *out = 0;
  else return tw_usage_error("transcribe", SHORT, "option '%s' wants true or false, not '%s'", opt, v);
  return 0;
}

static int arg_seed(const char *v, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (*v < '0' || *v > '9' || *end || errno)
    return tw_usage_error("transcribe", SHORT, "option '--seed' wants a whole number >= 0, not '%s'", v);
  *out = (uint64_t)x;
  return 0;
}

/* "-1,220,50257": integers >= -1 (the ids are checked against the model's
 * vocabulary when it is loaded). */
static int arg_token_list(const char *v) {
  for (const char *p = v; *p;) {
    while (*p == ' ' || *p == ',') p++;
    if (!*p) break;
    char *end;
    long id = strtol(p, &end, 10);
    if (end == p || id < -1 || (*end && *end != ',' && *end != ' '))
      return tw_usage_error("transcribe", SHORT,
                            "option '--suppress-tokens' wants comma-separated ids >= -1, not '%s'", v);
    p = end;
  }
  return 0;
}

/* Options that take a value: one branch each. */
static int parse_value(tx_args *a, const char *opt, const char *v) {
  tw_transcribe_options *o = &a->o;
  int rc = 0;
  if (!strcmp(opt, "-m") || !strcmp(opt, "--model")) a->model = v;
  else if (!strcmp(opt, "-o") || !strcmp(opt, "--output-dir")) a->out_dir = v;
  else if (!strcmp(opt, "--device")) a->device = v;
  else if (!strcmp(opt, "--encoder-device")) a->encoder_device = v;
  else if (!strcmp(opt, "--decoder-device")) a->decoder_device = v;
  else if (!strcmp(opt, "--initial-prompt")) o->initial_prompt = v;
  else if (!strcmp(opt, "-l") || !strcmp(opt, "--language")) {
    if (strcasecmp(v, "auto") && tw_language_index(v) < 0)
      return tw_usage_error("transcribe", SHORT, "option '%s': unknown language '%s'", opt, v);
    o->language = strcasecmp(v, "auto") ? v : NULL; /* NULL: detected */
  } else if (!strcmp(opt, "--task")) {
    if (strcmp(v, "transcribe") && strcmp(v, "translate"))
      return tw_usage_error("transcribe", SHORT, "option '--task' wants transcribe or translate, not '%s'", v);
    o->translate = !strcmp(v, "translate");
  } else if (!strcmp(opt, "-bs") || !strcmp(opt, "--beam-size")) rc = arg_int(opt, v, 0, 64, &o->beam_size);
  else if (!strcmp(opt, "--best-of")) rc = arg_int(opt, v, 1, 64, &o->best_of);
  else if (!strcmp(opt, "--max-tokens-per-window")) rc = arg_int(opt, v, 0, 224, &o->max_tokens_per_window);
  else if (!strcmp(opt, "--patience")) rc = arg_double(opt, v, 1e-3, 64, 0, &o->patience);
  else if (!strcmp(opt, "--length-penalty")) rc = arg_double(opt, v, 0, 1, 1, &o->length_penalty);
  else if (!strcmp(opt, "--temperature")) rc = arg_double(opt, v, 0, 100, 0, &o->temperature);
  else if (!strcmp(opt, "--temperature-increment-on-fallback"))
    rc = arg_double(opt, v, 0, 1, 0, &o->temperature_increment);
  else if (!strcmp(opt, "--compression-ratio-threshold"))
    rc = arg_double(opt, v, -1e9, 1e9, 1, &o->compression_ratio_threshold);
  else if (!strcmp(opt, "--logprob-threshold")) rc = arg_double(opt, v, -1e9, 1e9, 1, &o->logprob_threshold);
  else if (!strcmp(opt, "--no-speech-threshold")) rc = arg_double(opt, v, -1e9, 1e9, 1, &o->no_speech_threshold);
  else if (!strcmp(opt, "--condition-on-previous-text")) rc = arg_bool(opt, v, &o->condition_on_previous_text);
  else if (!strcmp(opt, "--suppress-blank")) rc = arg_bool(opt, v, &o->suppress_blank);
  else if (!strcmp(opt, "--suppress-tokens")) {
    if (!(rc = arg_token_list(v))) o->suppress_tokens = v;
  } else if (!strcmp(opt, "--seed")) rc = arg_seed(v, &o->seed);
  else if (!strcmp(opt, "-t") || !strcmp(opt, "--threads")) {
    int t = 0;
    if (!(rc = arg_int(opt, v, 1, 1024, &t))) a->threads = t;
  } else if (!strcmp(opt, "-f") || !strcmp(opt, "--output-format")) {
    if (tw_output_format_from_name(v, &a->fmt))
      return tw_usage_error("transcribe", SHORT,
                            "option '%s': unknown format '%s' (txt, srt, vtt, tsv, json or all)", opt, v);
    a->fmt_given = 1;
  } else if (!strcmp(opt, "--progress")) {
    if (!strcmp(v, "auto")) a->progress = PROGRESS_AUTO;
    else if (!strcmp(v, "always")) a->progress = PROGRESS_ALWAYS;
    else if (!strcmp(v, "never")) a->progress = PROGRESS_NEVER;
    else return tw_usage_error("transcribe", SHORT, "option '--progress' wants auto, always or never, not '%s'", v);
  } else {
    return -1; /* not a value option */
  }
  return rc;
}

static int is_value_option(const char *opt) {
  for (int i = 0; VALUE_OPTIONS[i]; i++)
    if (!strcmp(opt, VALUE_OPTIONS[i])) return 1;
  return 0;
}

/* "--beam_size=5" -> "--beam-size" and "5": OpenAI spells its options with
 * '_', argparse takes "=value". */
static const char *normalise(const char *arg, char *buf, size_t cap, const char **inline_value) {
  *inline_value = NULL;
  if (strncmp(arg, "--", 2) != 0 || strlen(arg) >= cap) return arg;
  size_t i = 0;
  for (; arg[i] && arg[i] != '='; i++) buf[i] = i >= 2 && arg[i] == '_' ? '-' : arg[i];
  buf[i] = '\0';
  if (arg[i] == '=') *inline_value = arg + i + 1;
  return buf;
}

static int parse_flag(tx_args *a, const char *opt) {
  if (!strcmp(opt, "--fp32")) a->fp32 = 1;
  else if (!strcmp(opt, "--verbose")) a->verbose = 1;
  else if (!strcmp(opt, "--json-stats")) a->json_stats = 1;
  else if (!strcmp(opt, "--without-timestamps")) a->o.without_timestamps = 1;
  else return -1;
  return 0;
}

/* Output paths as the library names them (OpenAI's <stem>.<ext>): refused
 * when one is an input, before anything is loaded or written. */
static int check_outputs(const tx_args *a, const char *const *inputs) {
  struct stat st;
  if (!stat(a->out_dir, &st) && !S_ISDIR(st.st_mode))
    return tw_usage_error("transcribe", SHORT, "-o %s exists and is not a directory", a->out_dir);
  for (int i = 0; i < a->n_audio; i++) {
    for (int f = 0; f < TW_OUTPUT_ALL; f++) {
      if (a->fmt != TW_OUTPUT_ALL && (int)a->fmt != f) continue;
      char path[4096];
      if (tw_transcript_path(a->out_dir, a->audio[i], (tw_output_format)f, path, sizeof path))
        return tw_usage_error("transcribe", SHORT, "%s", tw_last_error());
      int rc = tw_check_output("transcribe", SHORT, path, inputs);
      if (rc) return rc;
    }
  }
  return 0;
}

static int finish_parse(tx_args *a) {
  if (!a->model) return tw_usage_error("transcribe", SHORT, "-m MODEL is required");
  if (!a->n_audio) return tw_usage_error("transcribe", SHORT, "at least one AUDIO file is required");
  if (!a->fmt_given) a->fmt = a->out_dir ? TW_OUTPUT_ALL : TW_OUTPUT_TXT;
  if (!a->out_dir && a->fmt == TW_OUTPUT_ALL)
    return tw_usage_error("transcribe", SHORT,
                          "-f all writes one file per format: it needs -o DIR (standard output "
                          "takes one format)");
  if (!a->out_dir) return 0;
  const char **inputs = calloc((size_t)a->n_audio + 2, sizeof *inputs);
  if (!inputs) return tw_usage_error("transcribe", SHORT, "out of memory");
  inputs[0] = a->model;
  memcpy(inputs + 1, a->audio, (size_t)a->n_audio * sizeof *inputs);
  int rc = check_outputs(a, inputs);
  free(inputs);
  return rc;
}

static int parse(int argc, char **argv, tx_args *a) {
  memset(a, 0, sizeof *a);
  tw_transcribe_options_init(&a->o);
  a->o.beam_size = 5; /* OpenAI's CLI defaults (its transcribe() API decodes greedily) */
  a->o.best_of = 5;
  a->device = "cpu";
  a->progress = PROGRESS_AUTO;
  if (!(a->audio = calloc((size_t)argc, sizeof *a->audio)))
    return tw_usage_error("transcribe", SHORT, "out of memory");
  for (int i = 1; i < argc; i++) {
    char buf[64];
    const char *value;
    const char *opt = normalise(argv[i], buf, sizeof buf, &value);
    if (tw_arg_is_help(opt)) return TW_ARGS_HELP;
    if (is_value_option(opt)) {
      if (!value && i + 1 >= argc)
        return tw_usage_error("transcribe", SHORT, "option '%s' needs a value", opt);
      int rc = parse_value(a, opt, value ? value : argv[++i]);
      if (rc) return rc;
    } else if (parse_flag(a, opt) == 0) {
      if (value) return tw_usage_error("transcribe", SHORT, "option '%s' takes no value", opt);
    } else if (opt[0] == '-' && opt[1] != '\0') {
      return tw_option_error("transcribe", SHORT, opt, VALUE_OPTIONS, 0);
    } else {
      a->audio[a->n_audio++] = argv[i];
    }
  }
  return finish_parse(a);
}

/* ---- one run ------------------------------------------------------------ */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

static int should_abort(void *user) {
  (void)user;
  return interrupted;
}

/* What the callbacks of one file need. */
typedef struct file_run {
  const tx_args *a;
  FILE *verbose; /* where --verbose prints (stdout with -o, else stderr) */
  int bar;       /* draw the progress bar */
  int bar_drawn;
  int windows;
  double start, duration;
} file_run;

static void clear_bar(file_run *r) {
  if (r->bar_drawn) fputs("\r\033[K", stderr);
  r->bar_drawn = 0;
}

static void on_segment(void *user, const tw_segment *s) {
  file_run *r = user;
  if (!r->a->verbose) return;
  char t0[32], t1[32];
  if (tw_format_timestamp(s->start, 0, '.', t0, sizeof t0) < 0) snprintf(t0, sizeof t0, "?");
  if (tw_format_timestamp(s->end, 0, '.', t1, sizeof t1) < 0) snprintf(t1, sizeof t1, "?");
  if (r->verbose == stderr) clear_bar(r);
  fprintf(r->verbose, "[%s --> %s] %s\n", t0, t1, s->text ? s->text : "");
  fflush(r->verbose);
}

static void on_progress(void *user, double fraction) {
  file_run *r = user;
  r->windows++;
  if (!r->bar) return;
  const int width = 24;
  const double elapsed = tw_cli_now() - r->start, done = fraction * r->duration;
  char bar[32];
  int fill = (int)(fraction * width + 0.5);
  for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '-';
  bar[width] = '\0';
  fprintf(stderr, "\r\033[K[%s] %3.0f%%  %d window%s", bar, 100.0 * fraction, r->windows,
          r->windows == 1 ? "" : "s");
  if (done > 0)
    fprintf(stderr, "  %.2fx real time  ETA %.0f s", elapsed / done,
            fraction < 1 ? elapsed * (1 - fraction) / fraction : 0.0);
  fflush(stderr);
  r->bar_drawn = 1;
}

typedef struct session {
  tx_args a;
  tw_model *model;
  tw_model_info info;
  tw_state *state;
  double t0, load_s;
} session;

static int fail(const char *what, const char *why) {
  fprintf(stderr, "tilewhisper transcribe: %s: %s\n", what, why);
  return 1;
}

/* os.makedirs(DIR, exist_ok=True): every missing directory on the way. */
static int make_dirs(const char *dir) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) return ENAMETOOLONG;
  for (char *p = path + 1;; p++) {
    if (*p != '/' && *p) continue;
    char c = *p;
    *p = '\0';
    struct stat st;
    if (mkdir(path, 0777) && errno != EEXIST) return errno;
    if (stat(path, &st) || !S_ISDIR(st.st_mode)) return ENOTDIR;
    if (!(*p = c)) return 0;
  }
}

static int load(session *s) {
  const tx_args *a = &s->a;
  double t = tw_cli_now();
  tw_model_options mo;
  tw_model_options_init(&mo);
  mo.device = a->device;
  mo.encoder_device = a->encoder_device;
  mo.decoder_device = a->decoder_device;
  mo.threads = (int)a->threads;
  mo.fp32 = a->fp32;
  char why[4200];
  if (tw_model_load_file(a->model, &mo, &s->model) || tw_model_get_info(s->model, &s->info)) {
    snprintf(why, sizeof why, "%s", tw_last_error());
    return fail(a->model, why);
  }
  tw_state_options so;
  tw_state_options_init(&so);
  so.threads = (int)a->threads;
  so.max_beams = a->o.beam_size > a->o.best_of ? a->o.beam_size : a->o.best_of;
  if (so.max_beams < 1) so.max_beams = 1;
  if (tw_state_create(s->model, &so, &s->state)) {
    snprintf(why, sizeof why, "%s", tw_last_error());
    return fail(a->model, why);
  }
  s->load_s = tw_cli_now() - t;
  if (s->info.vocab_damaged)
    fprintf(stderr, "tilewhisper transcribe: warning: %s has a damaged vocabulary (%d tokens hold "
            "U+FFFD, from an early converter): English works, other languages' text will come "
            "out wrong\n", a->model, s->info.vocab_fffd_tokens);
  if (!s->info.multilingual && a->o.language &&
      strcmp(tw_language_code(tw_language_index(a->o.language)), "en")) {
    /* as OpenAI's CLI does for .en models */
    fprintf(stderr, "tilewhisper transcribe: warning: %s is an English-only model but got "
            "language '%s'; using English instead\n", a->model, a->o.language);
    s->a.o.language = "en";
  }
  return 0;
}

static int count_tokens(const tw_transcript *t) {
  int n = 0;
  for (int i = 0; i < t->n_segments; i++) n += t->segments[i].n_tokens;
  return n;
}

static void print_stats(const session *s, const char *path, const file_run *r,
                        const tw_transcript *t, const double st[3], const tw_gemm_stats *g) {
  char esc[4200];
  const double tx = st[1], total = tw_cli_now() - s->t0;
  tw_transcribe_stats ts = {0};
  tw_state_transcribe_stats(s->state, &ts);
  fprintf(stderr,
          "{\"file\": \"%s\", \"audio_duration_s\": %.3f, \"load_s\": %.6f, \"read_s\": %.6f, "
          "\"transcribe_s\": %.6f, \"mel_s\": %.6f, \"encode_s\": %.6f, \"cross_kv_s\": %.6f, "
          "\"decode_s\": %.6f, \"rules_s\": %.6f, \"encoder_passes\": %d, "
          "\"decoder_calls\": %ld, \"engine_s\": %.6f, \"engine_calls\": %llu, "
          "\"invocations\": %llu, \"write_s\": %.6f, \"total_s\": %.6f, \"rtf\": %.5f, "
          "\"windows\": %d, \"segments\": %d, \"tokens\": %d, \"language\": \"%s\", "
          "\"threads\": %d, \"encoder_device\": \"%s\", \"decoder_device\": \"%s\"}\n",
          tw_json_escape(path, esc, sizeof esc), r->duration, s->load_s, st[0], tx, ts.mel_s,
          ts.encode_s, ts.cross_kv_s, ts.decode_s,
          ts.total_s - ts.mel_s - ts.encode_s - ts.cross_kv_s - ts.decode_s, ts.encoder_passes,
          ts.decoder_calls, g->total_s,
          (unsigned long long)g->calls, (unsigned long long)g->invocations, st[2], total,
          r->duration > 0 ? tx / r->duration : 0.0, r->windows, t->n_segments, count_tokens(t),
          t->language, tw_state_threads(s->state), s->info.encoder_device,
          s->info.decoder_device);
}

/* The transcript to -o DIR (atomic files) or to standard output. */
static int write_result(const session *s, const char *path, const tw_transcript *t) {
  const tx_args *a = &s->a;
  char why[4200];
  if (a->out_dir) {
    if (!tw_transcript_write_file(a->out_dir, path, t, a->fmt)) return 0;
  } else {
    if (!tw_transcript_write(stdout, t, a->fmt) && !fflush(stdout) && !ferror(stdout)) return 0;
  }
  snprintf(why, sizeof why, "writing the %s output: %s", tw_output_format_name(a->fmt),
           tw_last_error());
  return fail(path, why);
}

/* One file: 0, 1 (reported, the run goes on) or 130 (interrupted). */
static int transcribe_file(session *s, const char *path) {
  const tx_args *a = &s->a;
  file_run r = {.a = a, .verbose = a->out_dir ? stdout : stderr};
  r.bar = a->progress == PROGRESS_ALWAYS || (a->progress == PROGRESS_AUTO && isatty(2));
  double st[3], t = tw_cli_now();
  float *pcm = NULL;
  size_t n = 0;
  tw_audio_info info;
  char why[4200];
  if (tw_audio_read_file(path, &pcm, &n, &info)) {
    snprintf(why, sizeof why, "%s", tw_last_error());
    return fail(path, why);
  }
  tw_cli_audio_warnings("transcribe", path, &info);
  st[0] = tw_cli_now() - t;
  r.duration = (double)n / TW_SAMPLE_RATE;
  tw_transcribe_options o = a->o;
  o.on_segment = on_segment;
  o.on_progress = on_progress;
  o.should_abort = should_abort;
  o.user = &r;
  tw_gemm_stats g0, g1;
  tw_state_stats(s->state, &g0);
  tw_transcript tr;
  memset(&tr, 0, sizeof tr);
  r.start = t = tw_cli_now();
  int rc = tw_transcribe(s->state, pcm, n, &o, &tr);
  st[1] = tw_cli_now() - t;
  tw_audio_free(pcm);
  clear_bar(&r);
  if (rc == TW_EABORTED || interrupted) {
    fprintf(stderr, "tilewhisper transcribe: %s: interrupted; nothing written for it\n", path);
    tw_transcript_clear(&tr);
    return 130;
  }
  if (rc) {
    snprintf(why, sizeof why, "%s", tw_state_last_error(s->state));
    tw_transcript_clear(&tr);
    return fail(path, why);
  }
  if (a->verbose && !a->o.language) {
    int li = tw_language_index(tr.language);
    const char *name = li >= 0 ? tw_language_name(li) : tr.language;
    fprintf(r.verbose, "Detected language: %c%s\n", toupper((unsigned char)name[0]), name + 1);
  }
  t = tw_cli_now();
  rc = write_result(s, path, &tr);
  st[2] = tw_cli_now() - t;
  tw_state_stats(s->state, &g1);
  g1.total_s -= g0.total_s, g1.calls -= g0.calls, g1.invocations -= g0.invocations;
  if (!rc && a->json_stats) print_stats(s, path, &r, &tr, st, &g1);
  tw_transcript_clear(&tr);
  return rc;
}

static int run(session *s) {
  const tx_args *a = &s->a;
  if (a->out_dir) {
    int e = make_dirs(a->out_dir);
    if (e) return fail(a->out_dir, strerror(e));
  }
  if (load(s)) return 1;
  int failed = 0;
  for (int i = 0; i < a->n_audio; i++) {
    int rc = transcribe_file(s, a->audio[i]);
    if (rc == 130) return 130;
    failed |= rc != 0;
  }
  return failed;
}

int tw_cli_transcribe(int argc, char **argv) {
  session s;
  memset(&s, 0, sizeof s);
  s.t0 = tw_cli_now();
  int rc = parse(argc, argv, &s.a);
  if (rc == 0) {
    /* SA_RESETHAND: a second Ctrl-C kills at once (outputs are atomic) */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, &old);
    rc = run(&s);
    sigaction(SIGINT, &old, NULL);
  } else if (rc == TW_ARGS_HELP) {
    rc = tw_usage_print(USAGE);
  }
  tw_state_destroy(s.state);
  tw_model_destroy(s.model);
  free(s.a.audio);
  return rc;
}
