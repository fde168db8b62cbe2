// rustimg/option_names.hpp - how the caller spells the options that the
// core's messages tell a user to set.
#pragma once

#include <string>

namespace rustimg {

/// The spelling of each option a message of the core advises ("pass
/// --allow-dynamic"), so the message names what its reader can type: the
/// CLI's flags by default (the C API and Go keep them); the Python binding
/// sets its keyword arguments ("allow_dynamic=True"). Each value is put into
/// a sentence as it is.
struct OptionNames {
  std::string platform = "--platform";            ///< a prebuilt binary's platform
  std::string allow_dynamic = "--allow-dynamic";  ///< put a dynamic binary on scratch/static anyway
  std::string base = "--base";                    ///< the image base
  std::string bin = "--bin";                      ///< the cargo bin target
  std::string package = "--package";              ///< the workspace package
  std::string unlocked = "--no-locked";           ///< let cargo resolve and write Cargo.lock
  std::string insecure_registry = "--insecure-registry";  ///< a registry reached without TLS checks
};

}  // namespace rustimg
