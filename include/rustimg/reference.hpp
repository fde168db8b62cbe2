// rustimg/reference.hpp - image references with docker's conventions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rustimg {

/// A parsed, normalised image reference:
///   "alpine"                    -> docker.io/library/alpine:latest
///   "localhost:5000/app@sha256:..." keeps registry "localhost:5000"
/// A reference without tag and digest gets the tag "latest". A reference may
/// carry both a tag and a digest ("repo:tag@sha256:..."); the digest wins
/// when resolving.
struct Reference {
  std::string registry;    ///< "docker.io", "ghcr.io", "localhost:5000"
  std::string repository;  ///< "library/alpine", "org/app"
  std::string tag;         ///< may be empty when digest is set
  std::string digest;      ///< "sha256:<64 hex>" or empty

  /// Fully qualified: "docker.io/library/alpine:latest", "host/repo@sha256:...".
  std::string to_string() const;
  /// registry/repository without tag or digest.
  std::string name() const;
  /// The tag or digest used to address the manifest ("latest", "sha256:...").
  std::string identifier() const;

  friend bool operator==(const Reference&, const Reference&) = default;
};

/// Parses and normalises `text`. Throws rustimg::Error (InvalidArgument) with
/// a message naming the reference and what is wrong with it.
Reference parse_reference(std::string_view text);

/// Where a push of an image whose spec lists `tags` goes for the reference
/// `text`: `text` itself when it names a tag or a digest; else its
/// repository under each of `tags`, in order ("latest" when there are
/// none). Throws what parse_reference() throws.
std::vector<Reference> tagged_references(std::string_view text, const std::vector<std::string>& tags);

/// True for "sha256:<64 lowercase hex>" (and other registered algorithms'
/// shapes: sha512 with 128 hex).
bool is_valid_digest(std::string_view digest);
/// True for a valid tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
bool is_valid_tag(std::string_view tag);

}  // namespace rustimg
