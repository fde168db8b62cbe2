// rustimg/store.hpp - content-addressed blobs on disk and the image sinks:
// OCI image layout directory, OCI archive, docker-archive.
//
// Every write is atomic: content goes to a temporary file in the target's
// directory and is renamed into place only when complete, so an interrupted
// run leaves the previous state intact (at worst an unreferenced blob or a
// stray ".rustimg-tmp-*" file, which the OCI layout allows).
#pragma once

#include <cstdint>
#include <filesystem>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rustimg/oci.hpp"

namespace rustimg::util {
class AtomicFile;
}  // namespace rustimg::util

namespace rustimg::store {

/// Blobs under `root`/blobs/sha256/<hex>, as in an OCI image layout.
class BlobStore {
 public:
  /// Creates `root`/blobs/sha256 when missing. Throws rustimg::Error (Io).
  explicit BlobStore(std::filesystem::path root);

  const std::filesystem::path& root() const noexcept { return root_; }
  std::filesystem::path path_of(std::string_view digest) const;
  bool contains(std::string_view digest) const;

  /// Stores `bytes` under their digest (a no-op when already present).
  void put(const oci::Blob& blob);
  /// Opens blob `digest` for reading (a seekable stream). Only a regular
  /// file is read, reached without following a symbolic link below root()
  /// (blobs/, blobs/sha256/, the blob): a store or layout from elsewhere
  /// cannot make rustimg read a file outside it, or wait on a FIFO. Throws
  /// NotFound when the blob is missing, InvalidArgument naming the file when
  /// it is anything but a regular file.
  std::unique_ptr<std::istream> open(std::string_view digest) const;
  /// The size in bytes of blob `digest`, with open()'s checks and throws.
  std::uint64_t size(std::string_view digest) const;
  /// Reads a (small) blob, e.g. a manifest, with open()'s checks and throws.
  std::string read(std::string_view digest) const;
  /// Reads the manifest, index or config `d` names, bounded: refused
  /// (InvalidArgument naming the digest and the limit) before anything is
  /// read when `d.size` or the stored file is over `max_bytes`. Otherwise
  /// read()'s checks and throws. The one reader of documents from a store.
  std::string read_document(const oci::Descriptor& d, std::uint64_t max_bytes = oci::kMaxManifestBytes) const;
  /// read_document(), then the bytes read checked as check() checks the
  /// file (its size and digest), in one read: for documents from a layout
  /// made elsewhere. Throws what those two throw.
  std::string read_checked(const oci::Descriptor& d, std::uint64_t max_bytes = oci::kMaxManifestBytes) const;
  /// How take() may share a file with the store it takes from.
  enum class Share {
    /// Never: the blob becomes a file of its own (a reflink where the file
    /// system offers one, else a copy), so later writes to either file
    /// leave the other alone. For a source that lives on (a cache).
    Copy,
    /// A hard link when both are on one file system (else a copy): one file
    /// under two names. Only for a source whose files no one else writes or
    /// keeps (a build's staging store, see is_staging_dir).
    Link,
  };
  /// Makes this store hold blob `digest` of `from`, atomically, as `share`
  /// allows. A no-op when present. Throws NotFound when `from` lacks it,
  /// InvalidArgument when `from`'s file is not a regular file (see open()),
  /// Io when it cannot be written.
  void take(const BlobStore& from, std::string_view digest, Share share = Share::Copy) const;
  /// True when the stored blob exists (a regular file, see open()) and its
  /// content hashes to `digest` (reads the whole file).
  bool verify(std::string_view digest) const;
  /// Throws unless blob `d.digest` is a regular file (see open()) holding
  /// exactly `d.size` bytes that hash to `d.digest`: InvalidArgument naming
  /// the file when it is something else or does not match, NotFound when it
  /// is missing. Reads the whole file.
  void check(const oci::Descriptor& d) const;
  /// Removes a blob; a no-op when absent.
  void remove(std::string_view digest) const;

  /// A blob being written: a ByteSink into a temporary file. commit() moves
  /// it into place under `digest`; destroying it uncommitted removes it.
  class Writer final : public ByteSink {
   public:
    ~Writer() override;
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    using ByteSink::write;
    void write(std::span<const std::byte> data) override;
    /// Flushes, syncs and renames the file to the blob path of `digest`.
    void commit(std::string_view digest);

   private:
    friend class BlobStore;
    explicit Writer(const BlobStore& store);
    const BlobStore& store_;
    std::unique_ptr<util::AtomicFile> file_;
  };
  std::unique_ptr<Writer> begin_blob() const;

 private:
  std::filesystem::path root_;
};

/// A fresh hidden directory inside `parent` (so on the destination's file
/// system), removed with its contents on destruction: where blobs are staged
/// before a sink publishes them.
class TempDir {
 public:
  explicit TempDir(const std::filesystem::path& parent);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// Where `rustimg build` puts an image: a file or directory, or a registry
/// (Kind::Registry, written by a push, never through the sinks below).
struct ImageLocation {
  enum class Kind { OciLayout, OciArchive, DockerArchive, Registry };
  Kind kind = Kind::OciLayout;
  std::filesystem::path path;  ///< empty for Registry
  std::string tag;   ///< OCI: ref.name (default "latest"); docker-archive: "name:tag" (may be empty)
  std::string reference;  ///< Registry: the image reference as given ("host/repo:tag")

  std::string to_string() const;
};

/// Parses "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]", "docker-archive:FILE[:NAME:TAG]",
/// "docker://HOST/REPO:TAG" or "docker://HOST/REPO@DIGEST" (skopeo's names;
/// the reference is checked with parse_reference(), and must name its
/// registry and its tag or digest: none is implied). Throws rustimg::Error (InvalidArgument) naming
/// the input, what it is for (`role`: "output", or "source" for an image pushed) and the forms.
ImageLocation parse_image_location(std::string_view text, std::string_view role = "output");

/// Throws rustimg::Error (InvalidArgument) when `dest` cannot receive an
/// image: an oci: path that is a file or a non-empty directory that is not
/// an OCI layout; an archive path that is a directory. Sinks check this
/// too; call it early to fail before any work is done. A registry is not
/// checked (nothing on disk).
void check_output_location(const ImageLocation& dest);

/// Adds the image or index `top` (whose blobs are in `blobs`) to the OCI
/// layout at `dir` under `tag`: writes the missing blobs, then replaces
/// index.json atomically, keeping every other image and replacing an entry
/// with the same org.opencontainers.image.ref.name. Writers of one layout,
/// in any process, take turns (a lock file, ".rustimg-lock", held for the
/// update): each keeps what the others wrote. Blobs are hard-linked from a
/// staging store (is_staging_dir), copied (or reflinked) from any other.
/// `blobs` may be the layout's own store. `referrers` (OCI 1.1 artifacts
/// about `top` or its platform images, with artifact_type and a tag of
/// their own, oci::referrer_tag(); their blobs in `blobs`) are listed in
/// index.json after the images (see oci::layout_index_with), where `oras
/// discover --oci-layout` finds them. Throws InvalidArgument when `dir` exists but
/// is not an OCI layout.
void write_oci_layout(const std::filesystem::path& dir, const BlobStore& blobs, const oci::Descriptor& top,
                      const std::string& tag, const std::vector<oci::Descriptor>& referrers = {});

/// Writes an OCI archive: a deterministic tar of a layout holding only `top`
/// under `tag`.
void write_oci_archive(const std::filesystem::path& file, const BlobStore& blobs, const oci::Descriptor& top,
                       const std::string& tag);

/// Writes a docker-archive (`docker save` format: manifest.json, the config
/// and the layers) for the single-platform image `manifest`. `repo_tag`
/// ("name:tag") may be empty. Throws InvalidArgument for an index.
void write_docker_archive(const std::filesystem::path& file, const BlobStore& blobs, const oci::Descriptor& manifest,
                          const std::string& repo_tag);

/// Writes `top` to `dest` with the sink its kind names. Throws
/// InvalidArgument for a registry (that is a push: registry::Client::push).
void publish(const ImageLocation& dest, const BlobStore& blobs, const oci::Descriptor& top,
             const std::vector<oci::Descriptor>& referrers = {});

/// The digests of every blob `top` references, `top` included, each once,
/// in a stable order (top first, then depth first).
std::vector<oci::Descriptor> referenced_blobs(const BlobStore& blobs, const oci::Descriptor& top);

/// An artifact about an image in an OCI layout (an SBOM, a provenance
/// statement): its index.json entry and its manifest.
struct Referrer {
  oci::Descriptor descriptor;
  oci::Manifest manifest;
};

/// The artifacts the OCI layout `dir` lists in index.json (entries with an
/// artifactType, as write_oci_layout adds them) whose subject is
/// `subject_digest`, in index.json order, each read once. Throws
/// rustimg::Error (InvalidArgument) for a layout that is not one, more than
/// oci::kMaxReferrers artifacts, or an artifact manifest that is malformed
/// or does not match its digest (BlobStore::check).
std::vector<Referrer> layout_referrers(const std::filesystem::path& dir, const std::string& subject_digest);

/// The index.json entry of the OCI layout `dir` tagged exactly `tag`
/// (org.opencontainers.image.ref.name), or none; nothing else is read.
/// Throws rustimg::Error (InvalidArgument) for a layout that is not one.
std::optional<oci::Descriptor> find_layout_tag(const std::filesystem::path& dir, const std::string& tag);

/// An image read back from one of the destinations above, e.g. to push it.
/// An oci: layout is used in place; an archive is unpacked into a temporary
/// directory that lives as long as the object. Every blob the image
/// references is checked when the object is made (BlobStore::check: a
/// regular file inside the layout, holding the bytes its digest and size
/// promise), so a push sends nothing from a layout that fails. A docker-archive's image gets
/// an OCI manifest made for it (layers keep their bytes; their media type
/// follows their compression).
class StoredImage {
 public:
  /// Throws rustimg::Error: NotFound when the file, directory or tag does not
  /// exist, InvalidArgument when it is not an image of that kind, or is a
  /// registry (pull the image instead: transfer::pull).
  explicit StoredImage(const ImageLocation& source);
  ~StoredImage();
  StoredImage(const StoredImage&) = delete;
  StoredImage& operator=(const StoredImage&) = delete;

  /// The manifest or index the source names.
  const oci::Descriptor& top() const noexcept { return top_; }
  const BlobStore& blobs() const noexcept { return *blobs_; }

 private:
  std::unique_ptr<TempDir> scratch_;
  std::unique_ptr<BlobStore> blobs_;
  oci::Descriptor top_;
};

}  // namespace rustimg::store
