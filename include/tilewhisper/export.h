/* TW_API marks the functions the shared library exports; everything else in
 * libtilewhisper is built with hidden visibility and stays internal. */
#ifndef TILEWHISPER_EXPORT_H
#define TILEWHISPER_EXPORT_H

#if defined(TW_BUILDING_LIBRARY) && defined(__GNUC__)
#define TW_API __attribute__((visibility("default")))
#else
#define TW_API
#endif

#endif
