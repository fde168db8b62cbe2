// libFuzzer target for what a registry serves to a pull: the input is a set
// of documents ("<root>\n--\n<doc1>\n--\n<doc2>..."), served by an in-memory
// registry (a Transport, no network): the root under the tag, every document
// under its sha256 digest (as manifest or blob), anything else 404 with the
// last document as the error body. The client walks indexes, manifests and
// configs as it does against a real registry, with and without a platform.
//
// A document names a later one as "@D<n>" (its digest) and "@S<n>" (its
// size), n = 1..9, filled in before serving: mutations of a config or child
// manifest then still match the descriptor that names them, so the fuzzer
// reaches past the digest checks.
#include <istream>
#include <mutex>

#include "fuzz_support.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/platform.hpp"
#include "rustimg/reference.hpp"
#include "rustimg/registry.hpp"

namespace {

namespace reg = rustimg::registry;

class MemoryRegistry final : public reg::Transport {
 public:
  explicit MemoryRegistry(std::vector<std::string> docs) : docs_(std::move(docs)) {}

  reg::HttpResponse perform(const reg::HttpRequest& request) override {
    reg::HttpResponse resp;
    const std::string& url = request.url;
    const auto q = url.find('?');
    const std::string path = url.substr(0, q);
    if (path.size() >= 4 && path.compare(path.size() - 4, 4, "/v2/") == 0) {
      resp.status = 200;
      resp.body = "{}";
      return resp;
    }
    const std::string* doc = nullptr;
    const auto slash = path.rfind('/');
    const std::string id = slash == std::string::npos ? path : path.substr(slash + 1);
    if (path.find("/manifests/") != std::string::npos && id == "t") {
      doc = &docs_.front();
    } else if (path.find("/manifests/") != std::string::npos || path.find("/blobs/") != std::string::npos) {
      for (const auto& d : docs_)
        if (rustimg::oci::sha256_digest(d) == id) doc = &d;
    }
    if (doc == nullptr) {
      resp.status = 404;
      resp.body = docs_.back();
      return resp;
    }
    resp.status = 200;
    resp.headers.emplace_back("content-length", std::to_string(doc->size()));
    if (request.method == "HEAD") return resp;
    if (request.on_body) {
      request.on_body(doc->data(), doc->size());
    } else {
      resp.body = *doc;
    }
    return resp;
  }

 private:
  std::vector<std::string> docs_;
};

/// Reads what pull hands over, as a sink does.
class DrainingSink final : public reg::BlobSink {
 public:
  void put(const std::string&, const std::string&, std::istream& data, std::uint64_t) override {
    char buf[4096];
    while (data.read(buf, sizeof buf) || data.gcount() > 0) {
    }
  }
};

/// Fills in "@D<n>" and "@S<n>", last document first.
std::vector<std::string> link(std::vector<std::string> docs) {
  for (std::size_t i = docs.size(); i-- > 0;) {
    std::string& doc = docs[i];
    for (std::size_t at = doc.find('@'); at != std::string::npos && at + 2 < doc.size(); at = doc.find('@', at + 1)) {
      const char kind = doc[at + 1];
      const char digit = doc[at + 2];
      if ((kind != 'D' && kind != 'S') || digit < '1' || digit > '9') continue;
      const auto n = static_cast<std::size_t>(digit - '0');
      if (n <= i || n >= docs.size()) continue;
      const std::string value =
          kind == 'D' ? rustimg::oci::sha256_digest(docs[n]) : std::to_string(docs[n].size());
      doc.replace(at, 3, value);
      at += value.size() - 1;
    }
  }
  return docs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rustimg::fuzz;
  const auto registry = std::make_shared<MemoryRegistry>(link(documents(text(data, size))));
  reg::Options options;
  options.transport = registry;
  options.use_config_files = false;
  options.retry.max_attempts = 1;
  options.retry.initial_delay = std::chrono::milliseconds(0);
  options.jobs = 1;
  reg::Client client(options);
  const rustimg::Reference ref = rustimg::parse_reference("registry.example/fuzz/app:t");
  for (const bool with_platform : {false, true}) {
    refusable([&] {
      DrainingSink sink;
      reg::PullOptions po;
      if (with_platform) po.platform = rustimg::parse_platform("linux/amd64");
      const reg::PullResult pulled = client.pull(ref, sink, po);
      for (const auto& m : pulled.manifests)
        check(m.digest == rustimg::oci::sha256_digest(m.bytes), "a pulled manifest has the digest of its bytes");
    });
  }
  return 0;
}
