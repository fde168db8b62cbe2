// Reading blobs from a registry: redirects (credentials stay on the
// registry's origin), size caps and digest verification, with retries.
#include <span>

#include "registry/internal.hpp"
#include "registry/retry.hpp"
#include "registry/transfer.hpp"

namespace rustimg::registry::detail {

std::uint64_t download(Auth& auth, RegistryState& st, const Reference& ref, const std::vector<std::string>& scopes,
                       const oci::Descriptor& blob, const std::function<void()>& restart,
                       const std::function<void(const char*, std::size_t)>& write) {
  Context& ctx = auth.context();
  const auto blob_size = static_cast<std::uint64_t>(blob.size);
  std::uint64_t size = 0;
  with_retry(ctx, "download of " + blob.digest, [&] {
    std::shared_ptr<oci::Sha256> hasher;
    auto begin = [&] {
      restart();
      hasher = std::make_shared<oci::Sha256>();
      size = 0;
    };
    auto on_body = [&](const char* data, std::size_t len) {
      // The descriptor's size is the most this blob may be: stop reading
      // the moment a body passes it, before it costs memory or disk.
      if (len > blob_size - size)
        throw RegistryError(ErrorCode::Registry,
                            "blob " + blob.digest + " from " + ref.registry + " is longer than the " +
                                std::to_string(blob_size) + " bytes its descriptor gives; refusing the rest",
                            0, "SIZE_INVALID");
      write(data, len);
      hasher->write(std::as_bytes(std::span(data, len)));
      size += len;
      ctx.progress(stage::kDownloading, blob.digest, size, blob_size);
    };
    std::string url;
    HttpResponse resp = auth.send(st, scopes, [&](const std::string& base) {
      begin();
      HttpRequest r;
      r.url = url = repo_url(base, ref.repository, "blobs/" + blob.digest);
      r.on_body = on_body;
      return r;
    });
    // Follow redirects (e.g. to object storage); never send the registry's
    // credentials to another host.
    for (int hops = 0; resp.status >= 300 && resp.status < 400 && resp.status != 304; ++hops) {
      std::string loc = resp.header("location");
      if (loc.empty() || hops >= 10)
        throw RegistryError(ErrorCode::Registry, "registry " + ref.registry + " redirected the download of " +
                                                     blob.digest + " without a usable Location", resp.status);
      url = resolve_location(url, loc);
      if (same_origin(url, st.base)) {
        const std::string next = url;
        resp = auth.send(st, scopes, [&](const std::string&) {
          begin();
          HttpRequest r;
          r.url = next;
          r.on_body = on_body;
          return r;
        });
      } else {
        begin();
        HttpRequest r;
        r.url = url;
        r.on_body = on_body;
        resp = auth.raw(std::move(r), /*trusted=*/false);
      }
    }
    if (resp.status != 200) auth.fail(st, resp, "downloading blob " + blob.digest + " from " + ref.name());
    std::string got = hasher->finish();
    if (got != blob.digest || size != blob_size)
      throw RegistryError(ErrorCode::Registry,
                          "blob " + blob.digest + " from " + ref.registry + " arrived with digest " + got + " and " +
                              std::to_string(size) + " bytes (expected " + std::to_string(blob_size) +
                              "): corrupted or truncated in transit",
                          resp.status, "DIGEST_INVALID", {}, true);
    return 0;
  });
  return size;
}

}  // namespace rustimg::registry::detail
