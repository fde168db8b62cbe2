// A module includes its own headers, with or without the module directory.
#pragma once
#include "rustimg/oci.hpp"
#include "rustimg/process.hpp"
