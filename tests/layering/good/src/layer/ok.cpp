#include "compress.hpp"
#include "layer/compress.hpp"
#include "rustimg/layer.hpp"
