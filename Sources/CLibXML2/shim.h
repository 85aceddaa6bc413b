// libxml2 is built with ICU, so its encoding.h includes the system's <unicode/ucnv.h>; any
// Swift module that also sees Foundation (through LatheIO) then meets two definitions of
// ICU's enums (the system's and _FoundationICU's) and fails to build. Nothing in Lathe uses
// libxml2's ICU converters, and the only declarations that change are two pointer fields at
// the end of xmlCharEncodingHandler, which Swift never allocates or reads.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/HTMLparser.h>
#include <libxml/xmlreader.h>
#include <libxml/tree.h>
