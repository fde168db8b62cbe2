// BlobUpload: a blob sent to the registry while it is written, in chunks
// held in memory, over the same session steps as upload.cpp's chunked upload.
#include <algorithm>
#include <memory>
#include <string_view>
#include <utility>

#include "registry/client_impl.hpp"
#include "registry/internal.hpp"
#include "registry/retry.hpp"
#include "registry/transfer.hpp"

namespace rustimg::registry {

using namespace detail;

namespace {

/// The largest chunk held in memory, whatever a registry's
/// OCI-Chunk-Min-Length asks for.
constexpr std::uint64_t kMaxChunk = 128u << 20;

/// A request body over bytes in memory (which outlive the request).
BodyFn memory_body(std::string_view data) {
  auto sent = std::make_shared<std::size_t>(0);
  return [data, sent](char* buf, std::size_t len) -> std::size_t {
    const std::size_t n = std::min(len, data.size() - *sent);
    std::copy_n(data.data() + *sent, n, buf);
    *sent += n;
    return n;
  };
}

}  // namespace

struct BlobUpload::State {
  Auth& auth;
  RegistryState& st;
  std::string repo;
  std::vector<std::string> scopes;
  std::string location;
  std::uint64_t chunk = 0;
  std::string buffer;      ///< written, not yet sent (less than one chunk)
  std::uint64_t sent = 0;  ///< bytes the registry holds
  bool committed = false;

  Context& ctx() { return auth.context(); }
  std::string what() const { return "a blob being written"; }

  /// Sends the buffer as the next chunk, retrying from memory.
  void flush() {
    location = with_retry(ctx(), "upload of a chunk to " + repo, [&] {
      return send_chunk(auth, st, repo, scopes, location, sent, buffer.size(), what(),
                        [&] { return memory_body(buffer); });
    });
    sent += buffer.size();
    buffer.clear();
    ctx().progress(stage::kUploading, "", sent, 0);
  }
};

BlobUpload::BlobUpload(std::unique_ptr<State> state) : state_(std::move(state)) {}

BlobUpload::~BlobUpload() {
  if (state_->committed) return;
  // Best effort: the registry forgets the session (and its chunks) now
  // rather than when it expires.
  try {
    State& s = *state_;
    s.auth.send_to_location(s.st, s.scopes, s.location, [&] {
      HttpRequest r;
      r.method = "DELETE";
      r.url = s.location;
      r.cleanup = true;  // also after a cancel, and briefly
      return r;
    });
  } catch (...) {
  }
}

void BlobUpload::write(std::span<const std::byte> data) {
  State& s = *state_;
  if (s.committed) throw Error(ErrorCode::InvalidArgument, "write after commit of an upload to " + s.repo);
  while (!data.empty()) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), s.chunk - s.buffer.size()));
    s.buffer.append(reinterpret_cast<const char*>(data.data()), n);
    data = data.subspan(n);
    if (s.buffer.size() == s.chunk) s.flush();
  }
}

std::uint64_t BlobUpload::size() const noexcept { return state_->sent + state_->buffer.size(); }

void BlobUpload::commit(const std::string& digest) {
  State& s = *state_;
  if (s.committed) throw Error(ErrorCode::InvalidArgument, "upload of " + digest + " committed twice");
  const std::uint64_t total = size();
  int attempt = 0;
  with_retry(s.ctx(), "upload of " + digest, [&] {
    // After a failed attempt the upload may have completed all the same
    // (the answer was lost): the blob is then there.
    if (attempt++ > 0 && head_blob(s.auth, s.st, s.repo, s.scopes, digest)) return 0;
    HttpResponse resp = finish_upload(s.auth, s.st, s.scopes, s.location, digest, s.buffer.size(),
                                      [&] { return memory_body(s.buffer); });
    if (resp.status != 201 && resp.status != 204) s.auth.fail(s.st, resp, "uploading " + digest + " to " + s.repo);
    check_digest_header(s.st, resp, digest, "the upload of " + digest);
    return 0;
  });
  s.committed = true;
  s.sent = total;
  s.buffer.clear();
  s.buffer.shrink_to_fit();
  s.ctx().progress(stage::kDone, digest, total, total);
}

std::unique_ptr<BlobUpload> Client::begin_upload(const Reference& repo) {
  Auth& auth = impl_->auth;
  Context& ctx = impl_->ctx;
  RegistryState& st = auth.state(repo.registry);
  std::vector<std::string> scopes = {repository_scope(repo.repository, "pull,push")};
  const UploadSession session = with_retry(ctx, "starting an upload to " + repo.name(), [&] {
    return start_upload(auth, st, repo.repository, scopes, "a blob");
  });
  const std::uint64_t chunk = std::max(ctx.opt.chunk_size == 0 ? BlobUpload::kDefaultChunk : ctx.opt.chunk_size,
                                       session.min_chunk);
  auto state = std::make_unique<BlobUpload::State>(
      BlobUpload::State{auth, st, repo.repository, std::move(scopes), session.location, chunk, {}, 0, false});
  std::unique_ptr<BlobUpload> upload(new BlobUpload(std::move(state)));
  if (chunk > kMaxChunk)  // destroying `upload` cancels the session
    throw RegistryError(ErrorCode::Registry, "registry " + repo.registry + " asks for upload chunks of at least " +
                                                 std::to_string(session.min_chunk) + " bytes, more than the " +
                                                 std::to_string(kMaxChunk >> 20) + " MiB rustimg holds in memory");
  return upload;
}

}  // namespace rustimg::registry
