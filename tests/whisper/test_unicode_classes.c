/* The generated character class table and the UTF-8 decoder, against
 * Unicode facts looked up by hand in the UCD (General_Category, White_Space)
 * and against the table's own invariants. */
#include <string.h>

#include "tw_test.h"
#include "whisper/unicode_classes.h"

static void test_classes(void) {
  static const struct {
    uint32_t cp;
    tw_uc_class cls;
  } facts[] = {
    {'A', TW_UC_LETTER},     {'z', TW_UC_LETTER},     {0x00E9, TW_UC_LETTER}, /* é Ll */
    {0x00AA, TW_UC_LETTER},  {0x01C5, TW_UC_LETTER},  /* ª Lo, ǅ Lt */
    {0x02B0, TW_UC_LETTER},  {0x4E00, TW_UC_LETTER},  /* ʰ Lm, 一 (CJK range) */
    {0xAC00, TW_UC_LETTER},  {0xD7A3, TW_UC_LETTER},  /* Hangul syllable range ends */
    {0x20000, TW_UC_LETTER}, {0x2A6DF, TW_UC_LETTER}, /* CJK Ext. B range ends */
    {'0', TW_UC_NUMBER},     {0x0661, TW_UC_NUMBER},  {0x00BD, TW_UC_NUMBER}, /* ١ Nd ½ No */
    {0x2160, TW_UC_NUMBER},  {0x00B2, TW_UC_NUMBER},  {0x1D7CE, TW_UC_NUMBER}, /* Ⅰ Nl ² 𝟎 */
    {' ', TW_UC_SPACE},      {'\t', TW_UC_SPACE},     {'\r', TW_UC_SPACE},
    {0x000B, TW_UC_SPACE},   {0x0085, TW_UC_SPACE},   {0x00A0, TW_UC_SPACE},
    {0x1680, TW_UC_SPACE},   {0x2000, TW_UC_SPACE},   {0x200A, TW_UC_SPACE},
    {0x2028, TW_UC_SPACE},   {0x2029, TW_UC_SPACE},   {0x202F, TW_UC_SPACE},
    {0x205F, TW_UC_SPACE},   {0x3000, TW_UC_SPACE},
    {0x001C, TW_UC_OTHER},   {0x001F, TW_UC_OTHER},   {0x180E, TW_UC_OTHER}, /* not White_Space */
    {0x200B, TW_UC_OTHER},   {0x0301, TW_UC_OTHER},   {0x0903, TW_UC_OTHER}, /* Cf, Mn, Mc */
    {'\'', TW_UC_OTHER},     {'-', TW_UC_OTHER},      {0x266A, TW_UC_OTHER}, /* ♪ So */
    {0x1F600, TW_UC_OTHER},  {0xE000, TW_UC_OTHER},   {0xD800, TW_UC_OTHER}, /* So, Co, Cs */
    {0x10FFFF, TW_UC_OTHER}, {0x110000, TW_UC_OTHER}, {0x0378, TW_UC_OTHER}, /* Cn */
  };
  for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++)
    CHECK_MSG(tw__uc_class(facts[i].cp) == facts[i].cls, "U+%04X: class %d, want %d",
              (unsigned)facts[i].cp, (int)tw__uc_class(facts[i].cp), (int)facts[i].cls);
  int sorted = 1;
  for (int i = 0; i < tw__uc_n_ranges; i++) {
    sorted &= tw__uc_ranges[i].lo <= tw__uc_ranges[i].hi && tw__uc_ranges[i].cls != TW_UC_OTHER;
    if (i) sorted &= tw__uc_ranges[i - 1].hi < tw__uc_ranges[i].lo;
  }
  CHECK_MSG(sorted, "ranges must be sorted, disjoint and classed");
  /* The ASCII fast path agrees with the table. */
  int ascii = 1;
  for (uint32_t c = 0; c < 0x80; c++) {
    tw_uc_class t = TW_UC_OTHER;
    for (int i = 0; i < tw__uc_n_ranges; i++)
      if (c >= tw__uc_ranges[i].lo && c <= tw__uc_ranges[i].hi)
        t = (tw_uc_class)tw__uc_ranges[i].cls;
    ascii &= t == tw__uc_class(c);
  }
  CHECK(ascii);
}

static void test_utf8(void) {
  uint32_t cp = 0;
  CHECK(tw__utf8_next((const unsigned char *)"A", 1, &cp) == 1 && cp == 'A');
  CHECK(tw__utf8_next((const unsigned char *)"\303\251", 2, &cp) == 2 && cp == 0xE9);
  CHECK(tw__utf8_next((const unsigned char *)"\342\231\252", 3, &cp) == 3 && cp == 0x266A);
  CHECK(tw__utf8_next((const unsigned char *)"\360\237\230\200", 4, &cp) == 4 && cp == 0x1F600);
  CHECK(tw__utf8_next((const unsigned char *)"\364\217\277\277", 4, &cp) == 4 && cp == 0x10FFFF);
  static const char *const bad[] = {"\200", "\277", "\300\200", "\301\277", "\340\237\277",
                                    "\355\240\200", "\355\277\277", "\360\217\277\277",
                                    "\364\220\200\200", "\370\210\200\200", "\377"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_MSG(tw__utf8_next((const unsigned char *)bad[i], strlen(bad[i]), &cp) == 0, "case %zu",
              i);
  /* A character cut by the end of the text. */
  CHECK(tw__utf8_next((const unsigned char *)"\342\231\252", 2, &cp) == 0);
  CHECK(tw__utf8_next((const unsigned char *)"\342A\252", 3, &cp) == 0);
}

int main(void) {
  test_classes();
  test_utf8();
  return tw_test_finish("test_unicode_classes");
}
