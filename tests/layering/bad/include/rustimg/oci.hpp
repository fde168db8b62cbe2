// A public header obeys the rule of its module (oci).
#pragma once
#include <string>

#include "rustimg/error.hpp"
#include "rustimg/registry.hpp"
