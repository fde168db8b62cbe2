// The state behind a registry::Client: its context and its auth layer.
#pragma once

#include "registry/auth.hpp"
#include "registry/context.hpp"
#include "rustimg/registry.hpp"

namespace rustimg::registry {

struct Client::Impl {
  explicit Impl(Options options) : ctx(std::move(options)), auth(ctx, ctx.opt.transport) {}
  detail::Context ctx;
  detail::Auth auth;
};

}  // namespace rustimg::registry
