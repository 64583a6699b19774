/* Whisper's languages in OpenAI's order (whisper/tokenizer.py LANGUAGES): the
 * language token of index i is sot + 1 + i.  large-v3 added "yue" (100). */
#include <ctype.h>
#include <string.h>

#include "whisper/tokenizer.h"

typedef struct tw_language {
  const char *code, *name;
} tw_language;

static const tw_language k_languages[TW_N_LANGUAGES] = {
  {"en", "english"}, {"zh", "chinese"}, {"de", "german"}, {"es", "spanish"}, {"ru", "russian"},
  {"ko", "korean"}, {"fr", "french"}, {"ja", "japanese"}, {"pt", "portuguese"},
  {"tr", "turkish"}, {"pl", "polish"}, {"ca", "catalan"}, {"nl", "dutch"}, {"ar", "arabic"},
  {"sv", "swedish"}, {"it", "italian"}, {"id", "indonesian"}, {"hi", "hindi"}, {"fi", "finnish"},
  {"vi", "vietnamese"}, {"he", "hebrew"}, {"uk", "ukrainian"}, {"el", "greek"}, {"ms", "malay"},
  {"cs", "czech"}, {"ro", "romanian"}, {"da", "danish"}, {"hu", "hungarian"}, {"ta", "tamil"},
  {"no", "norwegian"}, {"th", "thai"}, {"ur", "urdu"}, {"hr", "croatian"}, {"bg", "bulgarian"},
  {"lt", "lithuanian"}, {"la", "latin"}, {"mi", "maori"}, {"ml", "malayalam"}, {"cy", "welsh"},
  {"sk", "slovak"}, {"te", "telugu"}, {"fa", "persian"}, {"lv", "latvian"}, {"bn", "bengali"},
  {"sr", "serbian"}, {"az", "azerbaijani"}, {"sl", "slovenian"}, {"kn", "kannada"},
  {"et", "estonian"}, {"mk", "macedonian"}, {"br", "breton"}, {"eu", "basque"},
  {"is", "icelandic"}, {"hy", "armenian"}, {"ne", "nepali"}, {"mn", "mongolian"},
  {"bs", "bosnian"}, {"kk", "kazakh"}, {"sq", "albanian"}, {"sw", "swahili"}, {"gl", "galician"},
  {"mr", "marathi"}, {"pa", "punjabi"}, {"si", "sinhala"}, {"km", "khmer"}, {"sn", "shona"},
  {"yo", "yoruba"}, {"so", "somali"}, {"af", "afrikaans"}, {"oc", "occitan"}, {"ka", "georgian"},
  {"be", "belarusian"}, {"tg", "tajik"}, {"sd", "sindhi"}, {"gu", "gujarati"}, {"am", "amharic"},
  {"yi", "yiddish"}, {"lo", "lao"}, {"uz", "uzbek"}, {"fo", "faroese"}, {"ht", "haitian creole"},
  {"ps", "pashto"}, {"tk", "turkmen"}, {"nn", "nynorsk"}, {"mt", "maltese"}, {"sa", "sanskrit"},
  {"lb", "luxembourgish"}, {"my", "myanmar"}, {"bo", "tibetan"}, {"tl", "tagalog"},
  {"mg", "malagasy"}, {"as", "assamese"}, {"tt", "tatar"}, {"haw", "hawaiian"},
  {"ln", "lingala"}, {"ha", "hausa"}, {"ba", "bashkir"}, {"jw", "javanese"}, {"su", "sundanese"},
  {"yue", "cantonese"},
};

/* OpenAI's TO_LANGUAGE_CODE aliases: other names users type. */
static const tw_language k_aliases[] = {
  {"my", "burmese"}, {"ca", "valencian"}, {"nl", "flemish"}, {"ht", "haitian"},
  {"lb", "letzeburgesch"}, {"ps", "pushto"}, {"pa", "panjabi"}, {"ro", "moldavian"},
  {"ro", "moldovan"}, {"si", "sinhalese"}, {"es", "castilian"}, {"zh", "mandarin"},
};

const char *tw_language_code(int index) {
  return index >= 0 && index < TW_N_LANGUAGES ? k_languages[index].code : NULL;
}

const char *tw_language_name(int index) {
  return index >= 0 && index < TW_N_LANGUAGES ? k_languages[index].name : NULL;
}

/* Case-insensitive equality; OpenAI lower-cases the user's language first. */
static int same_lower(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != *b) return 0;
  return *a == *b;
}

static int code_index(const char *code) {
  for (int i = 0; i < TW_N_LANGUAGES; i++)
    if (!strcmp(k_languages[i].code, code)) return i;
  return -1;
}

int tw_language_index(const char *s) {
  if (!s) return -1;
  for (int i = 0; i < TW_N_LANGUAGES; i++)
    if (same_lower(s, k_languages[i].code) || same_lower(s, k_languages[i].name)) return i;
  for (size_t i = 0; i < sizeof k_aliases / sizeof k_aliases[0]; i++)
    if (same_lower(s, k_aliases[i].name)) return code_index(k_aliases[i].code);
  return -1;
}

int tw_language_token(const tw_special_tokens *sp, const char *s, int32_t *id, tw_errbuf *err) {
  if (!sp->multilingual)
    return tw_err(err, TW_EUNSUPPORTED,
                  "language \"%s\": this model is English-only (n_vocab %d) and has no usable "
                  "language tokens", s ? s : "(null)", (int)sp->n_vocab);
  int i = tw_language_index(s);
  if (i < 0) return tw_err(err, TW_ENOTFOUND, "unknown language \"%s\"", s ? s : "(null)");
  if (i >= sp->n_languages)
    return tw_err(err, TW_ENOTFOUND,
                  "language \"%s\" (%s) needs a model with %d languages; this one has %d", s,
                  k_languages[i].code, i + 1, (int)sp->n_languages);
  *id = sp->lang_begin + i;
  return TW_OK;
}

int tw_language_of_token(const tw_special_tokens *sp, int32_t id) {
  int32_t i = id - sp->lang_begin;
  return i >= 0 && i < sp->n_languages ? (int)i : -1;
}
