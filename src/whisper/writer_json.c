/* OpenAI's WriteJSON: json.dump(result) of transcribe()'s result, keys in
 * its order, Python's separators (", " and ": "), no trailing newline. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/writer_out.h"

/* Splits snprintf's "%.*e" text into its digits (sign and decimal point,
 * whatever the locale makes it, left out) and the exponent of the first. */
static int split_e(const char *s, char digits[20], int *exp10) {
  int n = 0;
  while (*s && *s != 'e') {
    if (*s >= '0' && *s <= '9') digits[n++] = *s;
    s++;
  }
  digits[n] = '\0';
  *exp10 = (int)strtol(s + 1, NULL, 10);
  return n;
}

/* Adds one unit in the last place of the n digits. */
static void increment(char *digits, int n, int *exp10) {
  int i = n - 1;
  while (i >= 0 && digits[i] == '9') digits[i--] = '0';
  if (i >= 0) {
    digits[i]++;
  } else { /* 99..9 + 1 = 100..0: one more power of ten, same digit count */
    digits[0] = '1';
    (*exp10)++;
  }
}

/* Whether digits * 10^(exp10 - n + 1) reads back as x (no decimal point, so
 * no locale question). */
static int reads_back(double x, const char *digits, int n, int exp10) {
  char tmp[48];
  snprintf(tmp, sizeof tmp, "%s%se%d", signbit(x) ? "-" : "", digits, exp10 - n + 1);
  return strtod(tmp, NULL) == x;
}

/* Decimal digits of x (no sign, no trailing zeros) and the exponent e with
 * |x| = 0.d1d2... * 10^e: the fewest significant digits that read back as x,
 * the closest such when several do (what Python's repr picks); 17 always do.
 * The correctly rounded p digits are the closest; they can miss where x is a
 * power of two, because the interval of values that read back as x is half
 * as wide below x as above, and then one unit more may still hit it. */
static int shortest_digits(double x, char digits[20], int *decpt) {
  char tmp[48];
  int n = 0, exp10 = 0;
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, x);
    n = split_e(tmp, digits, &exp10);
    if (strtod(tmp, NULL) == x || prec == 17) break;
    increment(digits, n, &exp10);
    if (reads_back(x, digits, n, exp10)) break;
  }
  while (n > 1 && digits[n - 1] == '0') n--;
  digits[n] = '\0';
  *decpt = exp10 + 1;
  return n;
}

int tw_py_float_repr(double x, char buf[TW_FLOAT_REPR_MAX]) {
  char digits[20];
  int decpt, len = 0;
  int n = shortest_digits(x, digits, &decpt);
  if (signbit(x)) buf[len++] = '-';
  if (decpt <= -4 || decpt > 16) { /* Python's repr switches to an exponent here */
    buf[len++] = digits[0];
    if (n > 1) {
      buf[len++] = '.';
      memcpy(buf + len, digits + 1, (size_t)(n - 1));
      len += n - 1;
    }
    len += snprintf(buf + len, (size_t)(TW_FLOAT_REPR_MAX - len), "e%c%02d", decpt - 1 < 0 ? '-' : '+',
                    abs(decpt - 1));
  } else if (decpt <= 0) { /* 0.000ddd */
    memcpy(buf + len, "0.", 2);
    len += 2;
    memset(buf + len, '0', (size_t)-decpt);
    len += -decpt;
    memcpy(buf + len, digits, (size_t)n);
    len += n;
  } else if (decpt >= n) { /* ddd000.0 */
    memcpy(buf + len, digits, (size_t)n);
    len += n;
    memset(buf + len, '0', (size_t)(decpt - n));
    len += decpt - n;
    memcpy(buf + len, ".0", 2);
    len += 2;
  } else { /* dd.ddd */
    memcpy(buf + len, digits, (size_t)decpt);
    len += decpt;
    buf[len++] = '.';
    memcpy(buf + len, digits + decpt, (size_t)(n - decpt));
    len += n - decpt;
  }
  buf[len] = '\0';
  return len;
}

/* NaN and infinities have no JSON form: null keeps the file valid. */
static void json_number(tw_wout *o, double x) {
  char buf[TW_FLOAT_REPR_MAX];
  if (!isfinite(x)) {
    tw_wout_str(o, "null");
    return;
  }
  tw_wout_bytes(o, buf, (size_t)tw_py_float_repr(x, buf));
}

static void json_string(tw_wout *o, const char *s) {
  tw_wout_str(o, "\"");
  tw_wout_text(o, s, 0, TW_TEXT_JSON);
  tw_wout_str(o, "\"");
}

static void json_segment(tw_wout *o, const tw_segment *s) {
  tw_wout_fmt(o, "{\"id\": %d, \"seek\": %lld, \"start\": ", s->id, (long long)s->seek);
  json_number(o, s->start);
  tw_wout_str(o, ", \"end\": ");
  json_number(o, s->end);
  tw_wout_str(o, ", \"text\": ");
  json_string(o, s->text);
  tw_wout_str(o, ", \"tokens\": [");
  for (int i = 0; i < s->n_tokens; i++) {
    if (i) tw_wout_str(o, ", ");
    tw_wout_fmt(o, "%" PRId32, s->tokens[i].id);
  }
  tw_wout_str(o, "], \"temperature\": ");
  json_number(o, s->temperature);
  tw_wout_str(o, ", \"avg_logprob\": ");
  json_number(o, s->avg_logprob);
  tw_wout_str(o, ", \"compression_ratio\": ");
  json_number(o, s->compression_ratio);
  tw_wout_str(o, ", \"no_speech_prob\": ");
  json_number(o, s->no_speech_prob);
  tw_wout_str(o, "}");
}

void tw_write_json_body(tw_wout *o, const tw_transcript *t) {
  char lang[sizeof t->language + 1];
  memcpy(lang, t->language, sizeof t->language);
  lang[sizeof t->language] = '\0'; /* the field may fill all 8 bytes */
  tw_wout_str(o, "{\"text\": ");
  json_string(o, t->text);
  tw_wout_str(o, ", \"segments\": [");
  for (int i = 0; i < t->n_segments; i++) {
    if (i) tw_wout_str(o, ", ");
    json_segment(o, &t->segments[i]);
  }
  tw_wout_str(o, "], \"language\": ");
  json_string(o, lang);
  tw_wout_str(o, "}");
}
