/* The public header compiles alone as strict C99. */
#include "rustimg.h"
int rustimg_header_c99_probe(void);
int rustimg_header_c99_probe(void) { rustimg_spec_load_options o = RUSTIMG_SPEC_LOAD_OPTIONS_INIT; return (int)o.version; }
