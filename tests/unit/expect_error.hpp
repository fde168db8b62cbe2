// Boost.Test assertion shared by the unit tests: a call fails with a
// rustimg::Error of a given code whose message contains a given text.
#pragma once

#include <boost/test/unit_test.hpp>

#include <string>

#include "rustimg/error.hpp"

namespace rustimg::test {

/// Asserts that `fn` throws rustimg::Error with `code` and a message containing `needle`.
template <typename Fn>
void expect_error(Fn&& fn, ErrorCode code, const std::string& needle) {
  try {
    fn();
    BOOST_FAIL("expected an error containing \"" << needle << "\"");
  } catch (const rustimg::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(code), "message: " << e.what());
    BOOST_TEST(std::string(e.what()).find(needle) != std::string::npos, "message: " << e.what());
  }
}

}  // namespace rustimg::test
