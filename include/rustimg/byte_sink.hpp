// rustimg/byte_sink.hpp - where a stream of bytes goes: a file, a hash, a
// compressor, an upload. The one interface every writer of bytes takes.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace rustimg {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(std::span<const std::byte> data) = 0;
  void write(std::string_view text) { write(std::as_bytes(std::span(text.data(), text.size()))); }
};

}  // namespace rustimg
