// util includes nothing of ours but itself.
#include "util/helper.hpp"
#include "oci/internal.hpp"
