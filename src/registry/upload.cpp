// Putting blobs into a repository: HEAD, cross-repository mount, and upload
// (monolithic PUT, or PATCH chunks), with retries.
#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "registry/internal.hpp"
#include "registry/retry.hpp"
#include "registry/transfer.hpp"

namespace rustimg::registry::detail {

std::string repo_url(const std::string& base, const std::string& repo, const std::string& rest) {
  return base + "/v2/" + repo + "/" + rest;
}

std::unique_ptr<std::istream> open_source(BlobSource& source, const std::string& digest) {
  auto in = source.open(digest);
  if (!in || !*in) throw Error(ErrorCode::NotFound, "the push source cannot open " + digest);
  return in;
}

bool head_blob(Auth& auth, RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
               const std::string& digest) {
  HttpResponse resp = auth.send(st, scopes, [&](const std::string& base) {
    HttpRequest r;
    r.method = "HEAD";
    r.url = repo_url(base, repo, "blobs/" + digest);
    return r;
  });
  if (resp.status == 200) return true;
  if (resp.status == 404) return false;
  auth.fail(st, resp, "HEAD blob " + digest + " in " + repo);
}

void check_digest_header(const RegistryState& st, const HttpResponse& resp, const std::string& digest,
                         const std::string& what) {
  std::string got = resp.header("docker-content-digest");
  if (!got.empty() && got != digest)
    throw RegistryError(ErrorCode::Registry, "registry " + st.registry + " answered " + what +
                                                 " with Docker-Content-Digest " + got + ", expected " + digest,
                        resp.status, "DIGEST_INVALID");
}

namespace {

/// A header's decimal number, or nullopt when it is none (or too long).
std::optional<std::uint64_t> parse_decimal(const std::string& value) {
  if (value.empty() || value.size() > 18 ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(value);
}

/// OCI-Chunk-Min-Length: the smallest chunk a registry accepts (0: no limit).
std::uint64_t parse_min_chunk(const std::string& value) { return parse_decimal(value).value_or(0); }

/// A body callback over a stream, limited to `limit` bytes, reporting progress.
std::function<std::size_t(char*, std::size_t)> stream_body(std::shared_ptr<std::istream> in, std::uint64_t limit,
                                                          std::function<void(std::uint64_t)> on_bytes,
                                                          std::string digest) {
  auto sent = std::make_shared<std::uint64_t>(0);
  return [in, limit, sent, on_bytes, digest](char* buf, std::size_t len) -> std::size_t {
    std::uint64_t left = limit - *sent;
    if (left == 0) return 0;
    auto want = static_cast<std::streamsize>(std::min<std::uint64_t>(left, len));
    in->read(buf, want);
    auto got = static_cast<std::size_t>(in->gcount());
    if (got == 0)
      throw Error(ErrorCode::Io, "blob " + digest + " of the push source ended after " + std::to_string(*sent) +
                                     " of " + std::to_string(limit) + " bytes; check the source (a truncated file?)");
    *sent += got;
    if (on_bytes && got > 0) on_bytes(*sent);
    return got;
  };
}

}  // namespace

UploadSession start_upload(Auth& auth, RegistryState& st, const std::string& repo,
                           const std::vector<std::string>& scopes, const std::string& what) {
  std::string post_url;
  HttpResponse resp = auth.send(st, scopes, [&](const std::string& base) {
    HttpRequest r;
    r.method = "POST";
    r.url = post_url = repo_url(base, repo, "blobs/uploads/");
    r.body_size = 0;
    return r;
  });
  if (resp.status != 202) auth.fail(st, resp, "starting an upload of " + what + " to " + repo);
  std::string loc = resp.header("location");
  if (loc.empty())
    throw RegistryError(ErrorCode::Registry, "registry " + st.registry +
                                                 " started an upload without a Location header", resp.status);
  return UploadSession{resolve_location(post_url, loc), parse_min_chunk(resp.header("oci-chunk-min-length"))};
}

std::string send_chunk(Auth& auth, RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                       const std::string& location, std::uint64_t offset, std::uint64_t len, const std::string& what,
                       const std::function<BodyFn()>& body) {
  HttpResponse pr = auth.send_to_location(st, scopes, location, [&] {
    HttpRequest r;
    r.method = "PATCH";
    r.url = location;
    r.headers.emplace_back("Content-Type", "application/octet-stream");
    r.headers.emplace_back("Content-Range", std::to_string(offset) + "-" + std::to_string(offset + len - 1));
    r.body_size = static_cast<std::int64_t>(len);
    r.body = body();
    return r;
  });
  if (pr.status != 202 && pr.status != 201 && pr.status != 204)
    auth.fail(st, pr, "uploading a chunk of " + what + " to " + repo);
  // Range: "0-<last byte the registry holds>"; one that stops short means
  // the registry lost part of the chunk.
  const std::string range = pr.header("range");
  if (const auto dash = range.rfind('-'); dash != std::string::npos) {
    const std::optional<std::uint64_t> last = parse_decimal(range.substr(dash + 1));
    if (last && *last + 1 < offset + len)
      throw RegistryError(ErrorCode::Registry, "registry " + st.registry + " holds " + std::to_string(*last + 1) +
                                                   " bytes of the upload of " + what + " after a chunk ending at " +
                                                   std::to_string(offset + len),
                          pr.status, "BLOB_UPLOAD_INVALID");
  }
  const std::string loc = pr.header("location");
  return loc.empty() ? location : resolve_location(location, loc);
}

HttpResponse finish_upload(Auth& auth, RegistryState& st, const std::vector<std::string>& scopes,
                           const std::string& location, const std::string& digest, std::uint64_t size,
                           const std::function<BodyFn()>& body) {
  const std::string url = append_query(location, "digest", digest);
  return auth.send_to_location(st, scopes, url, [&] {
    HttpRequest r;
    r.method = "PUT";
    r.url = url;
    r.headers.emplace_back("Content-Type", "application/octet-stream");
    r.body_size = static_cast<std::int64_t>(size);
    if (size > 0) r.body = body();
    return r;
  });
}

namespace {

void upload_blob(Auth& auth, RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                 const oci::Descriptor& blob, BlobSource& source, std::string location, Counters& counters) {
  const std::string& digest = blob.digest;
  Context& ctx = auth.context();
  std::uint64_t min_chunk = 0;
  if (location.empty()) {
    UploadSession session = start_upload(auth, st, repo, scopes, digest);
    location = std::move(session.location);
    min_chunk = session.min_chunk;
  }
  const std::uint64_t size = source.size(digest);
  const std::uint64_t chunk = ctx.opt.chunk_size == 0 ? 0 : std::max(ctx.opt.chunk_size, min_chunk);
  auto report = [&](std::uint64_t done) { ctx.progress(stage::kUploading, digest, done, size); };
  HttpResponse resp;
  if (chunk == 0 || size <= chunk) {
    resp = finish_upload(auth, st, scopes, location, digest, size, [&] {
      return stream_body(std::shared_ptr<std::istream>(open_source(source, digest)), size, report, digest);
    });
  } else {
    std::uint64_t offset = 0;
    while (offset < size) {
      const std::uint64_t len = std::min(chunk, size - offset);
      location = send_chunk(auth, st, repo, scopes, location, offset, len, digest, [&] {
        std::shared_ptr<std::istream> in(open_source(source, digest));
        in->seekg(static_cast<std::streamoff>(offset));
        if (!*in) throw Error(ErrorCode::Io, "cannot seek in blob " + digest + " of the push source");
        const std::uint64_t start = offset;
        return stream_body(in, len, [&report, start](std::uint64_t n) { report(start + n); }, digest);
      });
      offset += len;
    }
    resp = finish_upload(auth, st, scopes, location, digest, 0, nullptr);
  }
  if (resp.status != 201 && resp.status != 204) auth.fail(st, resp, "uploading " + digest + " to " + repo);
  check_digest_header(st, resp, digest, "the upload of " + digest);
  counters.bytes += size;
  counters.uploaded++;
  ctx.progress(stage::kDone, digest, size, size);
}

}  // namespace

void push_blob(Auth& auth, RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
               const oci::Descriptor& blob, BlobSource& source, const PushOptions& po, Counters& counters) {
  const std::string& digest = blob.digest;
  Context& ctx = auth.context();
  const auto blob_size = static_cast<std::uint64_t>(blob.size);
  ctx.progress(stage::kChecking, digest, 0, blob_size);
  if (with_retry(ctx, "HEAD " + digest, [&] { return head_blob(auth, st, repo, scopes, digest); })) {
    counters.existing++;
    ctx.progress(stage::kSkipped, digest, blob_size, blob_size);
    return;
  }
  std::string location;
  if (auto src = po.mount_sources.find(digest); src != po.mount_sources.end() && src->second != repo) {
    const std::string from = src->second;
    auto mscopes = scopes;
    mscopes.push_back(repository_scope(from, "pull"));
    try {
      std::string url;
      HttpResponse resp = with_retry(ctx, "mount " + digest, [&] {
        HttpResponse x = auth.send(st, mscopes, [&](const std::string& base) {
          HttpRequest r;
          r.method = "POST";
          r.url = url = append_query(append_query(repo_url(base, repo, "blobs/uploads/"), "mount", digest), "from", from);
          r.body_size = 0;
          return r;
        });
        if (x.status != 201 && x.status != 202) auth.fail(st, x, "mounting " + digest + " from " + from);
        return x;
      });
      if (resp.status == 201) {
        check_digest_header(st, resp, digest, "the mount of " + digest);
        counters.mounted++;
        ctx.progress(stage::kMounted, digest, blob_size, blob_size);
        return;
      }
      if (auto loc = resp.header("location"); !loc.empty()) location = resolve_location(url, loc);
      ctx.log("registry " + st.registry + " did not mount " + digest + " from " + from + "; uploading it");
    } catch (const RegistryError& e) {
      ctx.log("mounting " + digest + " from " + from + " failed, uploading instead: " + e.what());
    }
  }
  int attempt = 0;
  with_retry(ctx, "upload of " + digest, [&] {
    // After a failed attempt the blob may have arrived all the same (the
    // response was lost): check before sending it again.
    if (attempt++ > 0 && head_blob(auth, st, repo, scopes, digest)) {
      counters.existing++;
      ctx.progress(stage::kSkipped, digest, blob_size, blob_size);
      return 0;
    }
    upload_blob(auth, st, repo, scopes, blob, source, std::exchange(location, std::string()), counters);
    return 0;
  });
}

}  // namespace rustimg::registry::detail
