// The public header compiles alone as C++.
#include "rustimg.h"
int rustimg_header_cxx_probe();
int rustimg_header_cxx_probe() { rustimg_spec_load_options o = RUSTIMG_SPEC_LOAD_OPTIONS_INIT; return static_cast<int>(o.version); }
