// libFuzzer target for the archive readers: an archive file is read back as
// a docker-archive (`docker save`) and as an OCI archive, as `rustimg push`
// reads them, and an image that reads is walked blob by blob.
//
// Two kinds of input:
//  - raw bytes (no "\n--\n" in them): the archive file itself (tar, maybe
//    compressed), so the unpacking sees hostile tar headers;
//  - "<path0>\n--\n<content0>\n--\n<path1>\n--\n<content1>...": the files of
//    the archive, written as a tar here, so mutations reach manifest.json,
//    index.json and the blobs instead of breaking the tar. In paths and
//    contents "@D<n>", "@H<n>" and "@S<n>" (n = 0..9) stand for the sha256
//    digest, its hex and the size of content n; a content names only later
//    ones.
#include "fuzz_support.hpp"
#include "rustimg/layer.hpp"
#include "rustimg/oci.hpp"
#include "rustimg/store.hpp"

namespace {

/// Replaces the placeholders of `text` that name contents after `first`.
void fill_in(std::string& text, const std::vector<std::string>& contents, std::size_t first) {
  for (std::size_t at = text.find('@'); at != std::string::npos && at + 2 < text.size(); at = text.find('@', at + 1)) {
    const char kind = text[at + 1];
    const char digit = text[at + 2];
    if ((kind != 'D' && kind != 'H' && kind != 'S') || digit < '0' || digit > '9') continue;
    const auto n = static_cast<std::size_t>(digit - '0');
    if (n < first || n >= contents.size()) continue;
    const std::string digest = rustimg::oci::sha256_digest(contents[n]);
    const std::string value = kind == 'D'   ? digest
                              : kind == 'H' ? digest.substr(7)
                                            : std::to_string(contents[n].size());
    text.replace(at, 3, value);
    at += value.size() - 1;
  }
}

/// The tar of the files `docs` lists, as described above.
std::string archive_of(const std::vector<std::string>& docs) {
  std::vector<std::string> names;
  std::vector<std::string> contents;
  for (std::size_t i = 0; i + 1 < docs.size(); i += 2) {
    names.push_back(docs[i]);
    contents.push_back(docs[i + 1]);
  }
  for (std::size_t i = contents.size(); i-- > 0;) fill_in(contents[i], contents, i + 1);
  rustimg::layer::FileTree tree;
  for (std::size_t i = 0; i < names.size(); ++i) {
    fill_in(names[i], contents, 0);
    tree.add_content(names[i], contents[i], 0644);
  }
  rustimg::fuzz::MemorySink out;
  rustimg::layer::write_tar(tree, 0, out);
  return out.bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rustimg::fuzz;
  namespace store = rustimg::store;
  static const std::filesystem::path file = scratch_dir() / "archive.tar";
  const std::string_view in = text(data, size);
  if (in.find("\n--\n") == std::string_view::npos) {
    write_file(file, in);
  } else {
    bool built = false;
    refusable([&] {
      write_file(file, archive_of(documents(in)));
      built = true;
    });
    if (!built) return 0;  // a path FileTree refuses
  }
  for (const auto kind : {store::ImageLocation::Kind::DockerArchive, store::ImageLocation::Kind::OciArchive}) {
    refusable([&] {
      store::ImageLocation source;
      source.kind = kind;
      source.path = file;
      const store::StoredImage image(source);
      // Reads every manifest and index under the top (the layers are named only).
      static_cast<void>(store::referenced_blobs(image.blobs(), image.top()));
    });
  }
  return 0;
}
