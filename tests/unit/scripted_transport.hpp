// A registry::Transport that answers from a script and records every request,
// for unit tests of the registry client (auth, retries, where credentials go).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "rustimg/registry.hpp"

namespace rustimg::test {

/// One request as the transport saw it.
struct Seen {
  std::string method;
  std::string url;
  std::string authorization;  ///< the Authorization header, "" when none
  std::string body;           ///< the request body, as sent
  bool verify_tls = true;
  std::string content_range;  ///< the Content-Range header, "" when none
};

/// Answers each request with `script`, records what was sent, and drains
/// request bodies as a server would.
class ScriptedTransport final : public registry::Transport {
 public:
  explicit ScriptedTransport(std::function<registry::HttpResponse(const registry::HttpRequest&)> script)
      : script_(std::move(script)) {}

  registry::HttpResponse perform(const registry::HttpRequest& req) override {
    Seen s{req.method, req.url, {}, {}, req.verify_tls, {}};
    for (const auto& [k, v] : req.headers)
      if (k == "Authorization") s.authorization = v;
      else if (k == "Content-Range") s.content_range = v;
    std::size_t at = 0;
    {
      std::lock_guard lock(mu_);
      at = seen_.size();
      seen_.push_back(s);  // recorded even when the body fails
    }
    if (req.body) {
      std::string body;
      char buf[4096];
      for (std::size_t n; (n = req.body(buf, sizeof buf)) > 0;) body.append(buf, n);
      std::lock_guard lock(mu_);
      seen_[at].body = std::move(body);
    }
    return script_(req);
  }

  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::function<registry::HttpResponse(const registry::HttpRequest&)> script_;
  std::mutex mu_;
  std::vector<Seen> seen_;
};

inline registry::HttpResponse answer(int status, std::vector<std::pair<std::string, std::string>> headers = {},
                                     std::string body = {}) {
  registry::HttpResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

inline bool has_prefix(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

/// The value of request header `name`, "" when absent.
inline std::string header_of(const registry::HttpRequest& req, const std::string& name) {
  for (const auto& [k, v] : req.headers)
    if (k == name) return v;
  return {};
}

/// A push source over blobs in memory.
class MemorySource final : public registry::BlobSource {
 public:
  std::map<std::string, std::string> blobs;
  std::unique_ptr<std::istream> open(const std::string& digest) override {
    return std::make_unique<std::istringstream>(blobs.at(digest));
  }
  std::uint64_t size(const std::string& digest) override { return blobs.at(digest).size(); }
};

}  // namespace rustimg::test
