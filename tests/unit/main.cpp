// The Boost.Test module: one runner for every unit-test file in this folder.
#define BOOST_TEST_MODULE rustimg
#include <boost/test/unit_test.hpp>
