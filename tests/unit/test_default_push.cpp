// `rustimg build --push` without a reference: where the default repository
// (RUSTIMG_REPO, else the spec's "repository") sends the image.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "expect_error.hpp"
#include "rustimg/error.hpp"
#include "rustimg/pipeline.hpp"
#include "rustimg/plan.hpp"
#include "rustimg/spec.hpp"

using rustimg::ErrorCode;
using rustimg::pipeline::default_push_references;
using rustimg::pipeline::Plan;
using rustimg::test::expect_error;
using Refs = std::vector<std::string>;

namespace {

Plan crate_plan(const std::string& name, const std::string& version) {
  Plan plan;
  rustimg::cargo::Package package;
  package.name = name;
  package.version = version;
  plan.package = package;
  plan.spec.package = name;
  return plan;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(default_push)

BOOST_AUTO_TEST_CASE(env_repository_gets_package_version_then_spec_tags) {
  Plan plan = crate_plan("hello", "1.2.0");
  plan.spec.tags = {"v9", "latest", "1.2.0"};
  BOOST_TEST(default_push_references(plan, "127.0.0.1:5000/ns") ==
                 (Refs{"127.0.0.1:5000/ns/hello:1.2.0", "127.0.0.1:5000/ns/hello:v9", "127.0.0.1:5000/ns/hello:latest"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(env_wins_over_spec_and_spec_serves_without_env) {
  Plan plan = crate_plan("hello", "0.1.0");
  plan.spec.repository = "ghcr.io/from-spec";
  BOOST_TEST(default_push_references(plan, "ghcr.io/from-env/") == Refs{"ghcr.io/from-env/hello:0.1.0"},
             boost::test_tools::per_element());
  BOOST_TEST(default_push_references(plan, "") == Refs{"ghcr.io/from-spec/hello:0.1.0"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(name_lowercased_and_build_metadata_made_a_tag) {
  const Plan plan = crate_plan("My_App", "1.0.0+build.5");
  BOOST_TEST(default_push_references(plan, "ghcr.io/org") == Refs{"ghcr.io/org/my_app:1.0.0_build.5"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(no_repository_names_the_variable_and_the_spec_key) {
  const Plan plan = crate_plan("hello", "0.1.0");
  expect_error([&] { default_push_references(plan, ""); }, ErrorCode::InvalidArgument, "RUSTIMG_REPO");
  expect_error([&] { default_push_references(plan, ""); }, ErrorCode::InvalidArgument, "\"repository\"");
}

BOOST_AUTO_TEST_CASE(no_package_or_bad_repository_is_refused) {
  Plan prebuilt;  // --binary without a crate: no name, no version
  expect_error([&] { default_push_references(prebuilt, "ghcr.io/org"); }, ErrorCode::InvalidArgument,
               "needs a crate");
  const Plan plan = crate_plan("hello", "0.1.0");
  expect_error([&] { default_push_references(plan, "Ghcr.io/UPPER"); }, ErrorCode::InvalidArgument,
               "RUSTIMG_REPO");
}

BOOST_AUTO_TEST_SUITE_END()
