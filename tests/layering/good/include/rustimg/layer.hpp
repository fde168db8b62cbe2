#pragma once
#include <nlohmann/json.hpp>

#include "rustimg/oci.hpp"
#include "rustimg/platform.hpp"
