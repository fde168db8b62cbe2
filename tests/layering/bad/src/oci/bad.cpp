// oci sits below spec: this include is against the layering.
#include "rustimg/oci.hpp"
#include "rustimg/spec.hpp"
