// The registry client's operations above the auth layer: blob upload (mount,
// monolithic, chunked), download (redirects, digest check), manifests.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "registry/auth.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/registry.hpp"

namespace rustimg::registry::detail {

/// "<base>/v2/<repo>/<rest>".
std::string repo_url(const std::string& base, const std::string& repo, const std::string& rest);

/// Opens `digest` in the push source; throws NotFound when it cannot.
std::unique_ptr<std::istream> open_source(BlobSource& source, const std::string& digest);

/// Throws when the registry's Docker-Content-Digest contradicts `digest`.
void check_digest_header(const RegistryState& st, const HttpResponse& resp, const std::string& digest,
                         const std::string& what);

// --- upload.cpp ----------------------------------------------------------------

struct Counters {
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<unsigned> uploaded{0}, mounted{0}, existing{0};
};

/// True when `repo` holds blob `digest` (one HEAD, no retry).
bool head_blob(Auth& auth, RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
               const std::string& digest);

/// A request body: fills the buffer, returns the bytes written (0: the end).
using BodyFn = std::function<std::size_t(char*, std::size_t)>;

/// An upload session the registry opened.
struct UploadSession {
  std::string location;     ///< where the upload's requests go
  std::uint64_t min_chunk;  ///< OCI-Chunk-Min-Length (0: none)
};

/// POST blobs/uploads/: opens an upload session in `repo` (one try; `what`
/// names the blob in errors).
UploadSession start_upload(Auth& auth, RegistryState& st, const std::string& repo,
                           const std::vector<std::string>& scopes, const std::string& what);

/// PATCHes bytes [offset, offset+len) of an upload (one try; `body()`
/// makes the body for every send, 401 answers included). Returns the
/// location for the next request. Throws when the registry refuses the
/// chunk, or its Range answer shows it holds less than was sent.
std::string send_chunk(Auth& auth, RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                       const std::string& location, std::uint64_t offset, std::uint64_t len, const std::string& what,
                       const std::function<BodyFn()>& body);

/// PUT <location>?digest=: completes an upload, with the last `size` bytes
/// from `body()` (none when size is 0). Returns the answer unchecked.
HttpResponse finish_upload(Auth& auth, RegistryState& st, const std::vector<std::string>& scopes,
                           const std::string& location, const std::string& digest, std::uint64_t size,
                           const std::function<BodyFn()>& body);

/// Makes sure `repo` holds `blob`: HEAD, then a mount from
/// PushOptions::mount_sources, then an upload (monolithic, or chunked when
/// Options::chunk_size says so), with retries.
void push_blob(Auth& auth, RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
               const oci::Descriptor& blob, BlobSource& source, const PushOptions& po, Counters& counters);

// --- download.cpp --------------------------------------------------------------

/// Downloads a blob, following redirects (credentials stay with the
/// registry's origin), and verifies its digest and size. `restart` discards
/// partial data before every (re)try; `write` receives the bytes. Returns the
/// size.
std::uint64_t download(Auth& auth, RegistryState& st, const Reference& ref, const std::vector<std::string>& scopes,
                       const oci::Descriptor& blob, const std::function<void()>& restart,
                       const std::function<void(const char*, std::size_t)>& write);

// --- manifests.cpp ---------------------------------------------------------------

/// PUTs a manifest as `repo:identifier` (with retries); a tag that already
/// names `digest` on an immutable-tag registry is success. Returns the
/// registry's OCI-Subject header ("" when it sent none): the subject of a
/// manifest with one, when the registry keeps referrers lists itself.
std::string put_manifest(Auth& auth, RegistryState& st, const std::string& repo, const std::vector<std::string>& scopes,
                         const std::string& identifier, const std::string& media_type, const std::string& bytes,
                         const std::string& digest);

/// The digest `identifier` (tag or digest) names in `repo`, or "" if none.
std::string manifest_digest_at(Auth& auth, RegistryState& st, const std::string& repo,
                               const std::vector<std::string>& scopes, const std::string& identifier);

/// Fetches the manifest or index `ref` names. `declared` is the media type
/// a referring descriptor claims ("" for none); a document that contradicts
/// it is refused.
RawManifest fetch_manifest(Auth& auth, const Reference& ref, const std::string& declared);

}  // namespace rustimg::registry::detail
