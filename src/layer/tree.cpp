// FileTree: the sorted, normalised entry list of one layer.
#include <utility>

#include "rustimg/error.hpp"
#include "rustimg/layer.hpp"

namespace rustimg::layer {
namespace {

[[noreturn]] void bad_path(std::string_view path, const std::string& why) {
  // A NUL is shown as "\0": the message must survive C strings whole.
  std::string shown;
  for (const char c : path) shown += c == '\0' ? std::string("\\0") : std::string(1, c);
  throw Error(ErrorCode::InvalidArgument, "invalid image path \"" + shown + "\": " + why);
}

const char* type_name(EntryType t) {
  switch (t) {
    case EntryType::Directory: return "a directory";
    case EntryType::File: return "a file";
    case EntryType::Symlink: return "a symlink";
  }
  return "an entry";
}

}  // namespace

std::string FileTree::normalize(std::string_view image_path) {
  if (image_path.find('\0') != std::string_view::npos) bad_path(image_path, "contains a NUL byte");
  std::string out;
  std::size_t pos = 0;
  while (pos <= image_path.size()) {
    std::size_t end = image_path.find('/', pos);
    if (end == std::string_view::npos) end = image_path.size();
    const std::string_view part = image_path.substr(pos, end - pos);
    if (part == "..") bad_path(image_path, "\"..\" is not allowed");
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    pos = end + 1;
  }
  if (out.empty()) bad_path(image_path, "names the root directory, not a file");
  return out;
}

void FileTree::add(Entry entry) {
  auto [it, inserted] = entries_.try_emplace(entry.path, entry);
  if (inserted) return;
  if (it->second.type == EntryType::Directory && entry.type == EntryType::Directory) {
    it->second = std::move(entry);
    return;
  }
  throw Error(ErrorCode::InvalidArgument, "/" + entry.path + " is added twice to the same layer (as " +
                                              type_name(it->second.type) + " and as " + type_name(entry.type) +
                                              "); give each file one destination");
}

namespace {

/// An entry with the fields every kind shares.
Entry make_entry(std::string_view image_path, EntryType type, std::uint32_t mode, std::uint32_t uid,
                           std::uint32_t gid) {
  Entry e;
  e.path = FileTree::normalize(image_path);
  e.type = type;
  e.mode = mode & 07777;
  e.uid = uid;
  e.gid = gid;
  return e;
}

}  // namespace

void FileTree::add_directory(std::string_view image_path, std::uint32_t mode, std::uint32_t uid, std::uint32_t gid) {
  add(make_entry(image_path, EntryType::Directory, mode, uid, gid));
}

void FileTree::add_file(std::string_view image_path, const std::filesystem::path& source, std::uint32_t mode,
                        std::uint32_t uid, std::uint32_t gid) {
  Entry e = make_entry(image_path, EntryType::File, mode, uid, gid);
  e.source = source;
  add(std::move(e));
}

void FileTree::add_content(std::string_view image_path, std::string content, std::uint32_t mode, std::uint32_t uid,
                           std::uint32_t gid) {
  Entry e = make_entry(image_path, EntryType::File, mode, uid, gid);
  e.content = std::move(content);
  add(std::move(e));
}

void FileTree::add_symlink(std::string_view image_path, std::string target, std::uint32_t uid, std::uint32_t gid) {
  if (target.empty() || target.find('\0') != std::string::npos)
    bad_path(image_path, "a symlink needs a non-empty target without NUL bytes");
  Entry e = make_entry(image_path, EntryType::Symlink, 0777, uid, gid);
  e.link_target = std::move(target);
  add(std::move(e));
}

bool FileTree::contains(std::string_view image_path) const {
  return entries_.count(normalize(image_path)) != 0;
}

std::vector<Entry> FileTree::entries() const {
  // std::map orders keys bytewise, and a parent is a prefix of its
  // children, so it sorts before them. Implied parents are merged in.
  std::map<std::string, Entry> all = entries_;
  for (const auto& [path, entry] : entries_) {
    for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      const std::string parent = path.substr(0, slash);
      auto it = all.find(parent);
      if (it == all.end()) {
        Entry dir;
        dir.path = parent;
        dir.type = EntryType::Directory;
        dir.mode = 0755;
        all.emplace(parent, std::move(dir));
      } else if (it->second.type != EntryType::Directory) {
        throw Error(ErrorCode::InvalidArgument, "/" + path + " cannot be added: its parent /" + parent + " is " +
                                                    type_name(it->second.type) + ", not a directory");
      }
    }
  }
  std::vector<Entry> out;
  out.reserve(all.size());
  for (auto& [path, entry] : all) out.push_back(std::move(entry));
  return out;
}

}  // namespace rustimg::layer
