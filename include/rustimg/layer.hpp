// rustimg/layer.hpp - deterministic layer tarballs and the built-in base files.
//
// A FileTree lists what a layer holds; write_tar() turns it into a tar stream
// and write_layer() compresses and hashes that stream in one pass. Neither
// ever holds a whole file or layer in memory.
//
// Determinism rules (see ARCHITECTURE.md): entries sorted bytewise by path,
// every parent directory once and before its children, relative names
// ("etc/passwd", directories with a trailing '/'), numeric uid/gid with empty
// user and group names, modes fixed by rustimg (never the umask), one mtime
// for every entry (SOURCE_DATE_EPOCH or 0), USTAR headers with a PAX header
// only when a field does not fit, and the archive ends with exactly two
// 512-byte zero blocks (no padding to a 10 KiB record, like Go's archive/tar).
// gzip: one member (MTIME 0, no name/comment/extra, OS byte 0xff, like Go's
// compress/gzip) whose deflate stream is made pigz-style of independently
// compressed 128 KiB blocks (zlib level 6 unless LayerOptions::level says
// otherwise; each block primed with the 32 KiB before it, blocks joined by
// sync flushes), so every core can compress a large layer.
// zstd: level 3 unless LayerOptions::level says otherwise, checksum on,
// libzstd's multi-threaded format. Compressed
// bytes never depend on the number of threads, and are identical for the
// same zlib/libzstd version; the diff_id is identical everywhere.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rustimg/oci.hpp"
#include "rustimg/progress.hpp"

namespace rustimg::layer {

enum class EntryType { Directory, File, Symlink };

/// One tar entry. `path` is relative to the image root ("usr/local/bin/app").
struct Entry {
  std::string path;
  EntryType type = EntryType::File;
  std::uint32_t mode = 0644;        ///< permission bits, including sticky/setuid (07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::filesystem::path source;     ///< File: the host file to copy (when content is unset)
  std::optional<std::string> content;  ///< File: literal bytes
  std::string link_target;          ///< Symlink: the target, verbatim
};

/// The entries of one layer, keyed by normalised path.
class FileTree {
 public:
  /// Image paths may be absolute or relative ("/etc/passwd" == "etc/passwd");
  /// "." and empty components are dropped, ".." is rejected. Adding a path
  /// twice replaces a directory by a directory (the later owner and mode
  /// win) and is an error (InvalidArgument, naming the path) otherwise.
  void add_directory(std::string_view image_path, std::uint32_t mode, std::uint32_t uid = 0,
                     std::uint32_t gid = 0);
  void add_file(std::string_view image_path, const std::filesystem::path& source, std::uint32_t mode,
                std::uint32_t uid = 0, std::uint32_t gid = 0);
  void add_content(std::string_view image_path, std::string content, std::uint32_t mode,
                   std::uint32_t uid = 0, std::uint32_t gid = 0);
  void add_symlink(std::string_view image_path, std::string target, std::uint32_t uid = 0,
                   std::uint32_t gid = 0);

  /// True when `image_path` was added (directories implied by a child do not count).
  bool contains(std::string_view image_path) const;
  bool empty() const noexcept { return entries_.empty(); }

  /// Every entry in tar order: sorted bytewise, parents first. Parent
  /// directories nobody added appear as 0755 root:root. Throws
  /// InvalidArgument when a path's parent is a file or a symlink.
  std::vector<Entry> entries() const;

  /// "etc/passwd" from "/etc//passwd"; throws InvalidArgument for "..", an
  /// empty path or a NUL byte.
  static std::string normalize(std::string_view image_path);

 private:
  void add(Entry entry);
  std::map<std::string, Entry> entries_;
};

/// Writes `tree` as a tar stream (see the determinism rules above) with
/// every entry's mtime set to `mtime`. Throws rustimg::Error (Io) naming a
/// source file that cannot be read or that changed size while being read.
void write_tar(const FileTree& tree, std::int64_t mtime, ByteSink& out);

struct LayerOptions {
  oci::Compression compression = oci::Compression::Gzip;
  oci::Format format = oci::Format::Oci;
  std::int64_t mtime = 0;  ///< SOURCE_DATE_EPOCH or 0
  /// Called every kProgressInterval bytes with stage "layer" and the
  /// uncompressed bytes written so far in bytes_done; returning true cancels
  /// (rustimg::Error, code Cancelled). May be empty.
  ProgressCallback on_progress = nullptr;
  /// Compression threads: 0 uses every CPU this process may run on. The
  /// output bytes are the same for any value.
  unsigned threads = 0;
  /// Compression level: gzip 1..9, zstd 1..19 (InvalidArgument otherwise);
  /// 0 is the default (gzip 6, zlib's default; zstd 3). Ignored without
  /// compression. Part of the layer's identity: another level gives other
  /// bytes. Go's gzip BestSpeed (crane, ko) is level 1: about 3x faster than
  /// 6, layers 8-12% larger.
  int level = 0;
};

/// How often a layer being written reports progress (uncompressed bytes).
inline constexpr std::uint64_t kProgressInterval = 1ull << 20;

/// A written layer: the descriptor of the compressed blob and the diff_id of
/// the uncompressed tar.
struct Layer {
  oci::Descriptor descriptor;
  std::string diff_id;
  std::uint64_t uncompressed_size = 0;
};

/// Streams tar -> compressor -> `out`, hashing both sides on the way.
Layer write_layer(const FileTree& tree, const LayerOptions& options, ByteSink& out);

// --- a layer from an existing tar ----------------------------------------------

/// Bounds on a tar taken as a layer (import_tar), which is hostile input.
inline constexpr std::uint64_t kMaxImportEntries = 1u << 20;  ///< entries
inline constexpr std::uint64_t kMaxImportBytes = 64ull << 30;  ///< uncompressed bytes

/// A layer of the tar file `tar_file`: plain, gzip or zstd (told by its
/// first bytes), read once. Every entry is checked as hostile input, then
/// written again by rustimg's own tar writer (the one write_tar uses), so
/// the layer holds exactly what was checked, whatever tar reader later
/// extracts it: the cleaned name ("./etc/x" -> "etc/x", "./" for the root),
/// type, mode (07777), uid/gid, the tar's own mtime in whole seconds
/// (options.mtime is not used), symlink target, hard link target (cleaned)
/// and data, in the tar's order; user and group names, extended
/// attributes, ACLs and sub-second times are dropped. A tar made by
/// rustimg's writer keeps its diff_id. Names are read and written in the
/// C.UTF-8 locale, whatever the process set. Checks: a name must stay
/// inside the image (not absolute, no ".." component, not below a symlink
/// or file of the same tar), at most 4096 bytes with components of at most
/// 255; a hard link must name an earlier file of the tar; a path may appear
/// once (directories aside), and a path below which earlier entries lie
/// must be a directory; only files, directories, symlinks and hard links
/// are taken (no devices, FIFOs, sockets or sparse files); no pax global
/// header and no GNU sparse record; at most kMaxImportEntries entries and
/// kMaxImportBytes bytes (read and declared), nothing but zero bytes after
/// the end of the archive. Throws rustimg::Error naming the file, the
/// entry (control characters as \xNN) and the fix: InvalidArgument for a
/// refused or malformed tar, NotFound when the file does not exist, Io
/// when it cannot be read; `out` then holds a partial blob the caller
/// discards (BlobStore::Writer uncommitted).
Layer import_tar(const std::filesystem::path& tar_file, const LayerOptions& options, ByteSink& out);

/// "gzip", "zstd" or "" (no compression): the media type suffix.
std::string_view compression_suffix(oci::Compression c) noexcept;

// --- built-in base file sets ---------------------------------------------------

/// Well-known paths and ids of the built-in bases.
using oci::kCaBundlePath;
inline constexpr const char* kHostCaBundle = "/etc/ssl/certs/ca-certificates.crt";
inline constexpr const char* kHostZoneinfo = "/usr/share/zoneinfo";
inline constexpr std::uint32_t kNonrootId = 65532;

struct BaseOptions {
  bool ca_certificates = true;
  /// The spec's "ca-certificates" file, relative to `crate_dir`; empty:
  /// kHostCaBundle. It must stay inside `crate_dir` (no absolute path, no
  /// "..", no symlink that resolves outside it).
  std::filesystem::path ca_bundle;
  /// Add /usr/share/zoneinfo from `zoneinfo`, on "scratch" too (the
  /// default is false, so true is always asked for).
  bool tzdata = false;
  std::filesystem::path zoneinfo = kHostZoneinfo;
  /// Where `ca_bundle` is found (empty: the current directory).
  std::filesystem::path crate_dir;
  /// The spec's "extra-ca-certificates": PEM files, relative to `crate_dir`
  /// (same rules as `ca_bundle`), appended in this order to the bundle the
  /// image has otherwise (the host's or `ca_bundle`; none when
  /// `ca_certificates` is false).
  std::vector<std::filesystem::path> extra_ca_bundles;
  /// "scratch" gets the CA bundle too, because the spec asked for one
  /// explicitly ("ca-certificates" true or a path, or
  /// "extra-ca-certificates"); by default scratch stays empty.
  bool ca_on_scratch = false;
};

/// Largest CA bundle file read (the host's bundle is about 200 KiB).
inline constexpr std::uint64_t kMaxCaBundleBytes = 16u << 20;

/// Checks the bytes of a CA bundle named `name` (in errors): PEM, at least
/// one block, every block a "CERTIFICATE" that parses as X.509 (comments
/// between blocks are fine). Returns the number of certificates. Throws
/// InvalidArgument naming `name`, the problem and the fix: a DER file, a
/// file without any certificate (empty, Cargo.toml...), a block that is not
/// a certificate (a private key...), certificate #N that does not parse, a
/// file over kMaxCaBundleBytes. Pure: no I/O.
std::size_t check_ca_bundle(std::string_view bytes, std::string_view name);

/// The CA bundle a built-in base gets.
struct CaBundle {
  std::string pem;                   ///< empty: no bundle
  std::size_t certificates = 0;
  std::vector<std::string> sources;  ///< the files it was made of, in order
};

/// True when `base` ("scratch" or "static") gets a CA bundle with `options`.
bool has_ca_bundle(std::string_view base, const BaseOptions& options) noexcept;

/// Reads and checks (check_ca_bundle) the CA bundle of `base`: the host's
/// or `options.ca_bundle`, then each of `options.extra_ca_bundles`, joined
/// with newlines in that order. Empty when has_ca_bundle() is false. Throws
/// NotFound naming a missing file and the fix, InvalidArgument for a file
/// outside the crate or one check_ca_bundle() refuses.
CaBundle read_ca_bundle(std::string_view base, const BaseOptions& options);

/// True for the bases rustimg synthesises itself: "scratch" and "static".
bool is_builtin_base(std::string_view base) noexcept;

/// The /etc/nsswitch.conf a built-in base gets: the static base's content,
/// nullopt for "scratch" (none) and any other base.
std::optional<std::string_view> builtin_nsswitch_conf(std::string_view base) noexcept;

/// The files of a built-in base: for "scratch" nothing but the CA bundle
/// when `ca_on_scratch` and tzdata when `tzdata`; for "static" the
/// equivalent of distroless/static (passwd, group, nsswitch.conf, /tmp,
/// /home/nonroot, the CA bundle, tzdata when asked). Throws NotFound naming
/// the CA bundle or zoneinfo directory and the fix when they are missing,
/// InvalidArgument when the CA bundle is outside the crate directory or
/// not a PEM bundle of certificates (check_ca_bundle),
/// Unsupported for any other base.
FileTree base_files(std::string_view base, const BaseOptions& options);
/// The same with the CA bundle already read (read_ca_bundle(base, options)).
FileTree base_files(std::string_view base, const BaseOptions& options, const CaBundle& ca);

/// The mode of a host file put in a layer without one: 0755 when it has
/// any execute bit, else 0644 (assets, add_host_tree, compose::LayerBuilder).
std::uint32_t host_file_mode(std::filesystem::perms perms) noexcept;

/// Adds what the host directory `host_dir` holds at `image_path` ("/" or ""
/// for the image's root), recursively, as an asset directory is copied:
/// every file, directory and symlink (hidden ones too), files with
/// host_file_mode(), directories 0755, all owned by uid:gid, symlinks kept
/// as symlinks. Nothing outside `host_dir` is read or linked to: a symlink
/// that resolves outside it is refused (InvalidArgument naming it and the
/// fix), as is a socket, FIFO or device. Throws NotFound when `host_dir`
/// does not exist, InvalidArgument when it is not a directory, and what
/// FileTree throws for a path added twice.
void add_host_tree(FileTree& tree, std::string_view image_path, const std::filesystem::path& host_dir,
                   std::uint32_t uid = 0, std::uint32_t gid = 0);

/// Adds the spec's assets to `tree`. Sources are globs relative to
/// `crate_dir` ('*', '?', '[..]' within a component, "**" for any depth);
/// a directory is copied recursively (paths below it that the glob also
/// matches are copied with it, once); symlinks are kept as symlinks. A dest
/// ending in '/' receives each match under its path below the glob's
/// literal leading directories ("static/**/*.css" -> dest + "css/site.css"
/// for static/css/site.css; "config" -> dest + "config/..."; "static/**",
/// which matches static itself, -> dest + what static holds); otherwise the
/// glob must match exactly one path, which becomes dest. Throws InvalidArgument when a match (or a
/// symlink's target) resolves outside `crate_dir`, NotFound when a glob
/// matches nothing. File modes: the asset's mode, else 0755 when the source
/// has any execute bit and 0644 otherwise; directories 0755.
void add_assets(FileTree& tree, const std::vector<oci::Asset>& assets, const std::filesystem::path& crate_dir);

}  // namespace rustimg::layer
