// pipeline may include every core module.
#include <vector>

#include "rustimg/cargo.hpp"
#include "rustimg/registry.hpp"
#include "layer/compress.hpp"
#include "util/crate_path.hpp"
