// Unit tests for the NSS verdict (judge_nss): which lookups of a statically
// linked glibc binary need a module it cannot load, per glibc version and
// per /etc/nsswitch.conf. Reports are made by hand: the verdict is pure.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "rustimg/elf.hpp"
#include "rustimg/error.hpp"

namespace relf = rustimg::elf;

namespace {

/// A static glibc binary with the NSS machinery, of glibc `version`.
relf::Report static_glibc(std::optional<std::string> version) {
  relf::Report r;
  r.libc = relf::LibcKind::Glibc;
  r.linkage = relf::Linkage::StaticPie;
  r.nss_evidence = {"/etc/nsswitch.conf", "libnss_%s.so%s"};
  r.glibc_version = std::move(version);
  return r;
}

relf::Report judged(std::optional<std::string> version, std::optional<std::string> conf) {
  relf::Report r = static_glibc(std::move(version));
  relf::judge_nss(r, relf::NssSwitch{std::move(conf), "the test's nsswitch.conf"});
  return r;
}

bool has(const relf::Report& r, const std::string& db, const std::string& service, bool every) {
  return std::any_of(r.nss_failing.begin(), r.nss_failing.end(), [&](const relf::NssLookup& l) {
    return l.database == db && l.service == service && l.module == "libnss_" + service + ".so.2" &&
           l.every_lookup == every;
  });
}

bool warned(const relf::Report& r, const std::string& text) {
  return std::any_of(r.warnings.begin(), r.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(elf_nss)

BOOST_AUTO_TEST_CASE(files_and_dns_are_built_in_from_glibc_2_34) {
  for (const char* v : {"2.34", "2.36", ">=2.35", "2.40"}) {
    // No nsswitch.conf (scratch), the static base's, and a full files/dns one.
    for (const std::optional<std::string>& conf :
         {std::optional<std::string>(), std::optional<std::string>("hosts: files dns\n"),
          std::optional<std::string>("passwd: files\ngroup: files\nshadow: files\nhosts: files [NOTFOUND=return] "
                                     "dns\nservices: files\nprotocols: files\nnetworks: files dns\n")}) {
      const auto r = judged(v, conf);
      BOOST_TEST(!r.nss_risk, v);
      BOOST_TEST(r.nss_failing.empty(), v);
      BOOST_TEST(!warned(r, "libnss_"), v);
      BOOST_TEST(r.nss_checked_against == "the test's nsswitch.conf");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_module_service_is_a_named_risk) {
  const auto r = judged("2.36",
                        "# Debian's default\n"
                        "passwd:  files systemd\n"
                        "group:   files systemd\n"
                        "hosts:   files mdns4_minimal [NOTFOUND=return] dns myhostname\n"
                        "sudoers: ldap\n");  // not an NSS database of glibc: ignored
  BOOST_TEST(r.nss_risk);
  BOOST_TEST(has(r, "hosts", "mdns4_minimal", false));
  BOOST_TEST(has(r, "hosts", "myhostname", false));
  BOOST_TEST(has(r, "passwd", "systemd", false));
  BOOST_TEST(has(r, "shadow", "systemd", false));  // shadow follows passwd
  BOOST_TEST(has(r, "group", "systemd", false));
  BOOST_TEST(!has(r, "sudoers", "ldap", false));
  BOOST_TEST(!has(r, "hosts", "files", false));
  BOOST_TEST(!has(r, "hosts", "dns", false));
  BOOST_TEST(warned(r, "hosts lookups through 'mdns4_minimal' need libnss_mdns4_minimal.so.2"));
  BOOST_TEST(warned(r, "glibc 2.36"));
  BOOST_TEST(warned(r, "the test's nsswitch.conf"));
}

BOOST_AUTO_TEST_CASE(a_database_with_only_modules_loses_every_lookup) {
  const auto r = judged("2.36", "passwd: sss\ngroup: compat\nhosts: dns\n");
  BOOST_TEST(r.nss_risk);
  BOOST_TEST(has(r, "passwd", "sss", true));
  BOOST_TEST(has(r, "group", "compat", true));  // compat is a module (libnss_compat)
  BOOST_TEST(r.nss_failing.size() == 4u);       // passwd, shadow, group, gshadow; dns is built in
  BOOST_TEST(warned(r, "every passwd, shadow lookup fails"));
}

BOOST_AUTO_TEST_CASE(before_glibc_2_34_even_files_and_dns_are_modules) {
  auto r = judged("2.31", std::nullopt);
  BOOST_TEST(r.nss_risk);
  BOOST_TEST(has(r, "passwd", "files", true));
  BOOST_TEST(has(r, "group", "files", true));
  BOOST_TEST(has(r, "hosts", "dns", true));
  BOOST_TEST(has(r, "hosts", "files", true));
  BOOST_TEST(warned(r, "glibc 2.31 (before 2.34)"));
  BOOST_TEST(warned(r, "libnss_files.so.2"));
  r = judged("2.33", std::string("hosts: files dns\n"));
  BOOST_TEST(r.nss_risk);
  BOOST_TEST(has(r, "hosts", "files", true));
}

BOOST_AUTO_TEST_CASE(an_unknown_version_is_said_not_guessed) {
  const auto r = judged(std::nullopt, std::nullopt);
  BOOST_TEST(r.nss_risk);
  BOOST_TEST(has(r, "passwd", "files", true));
  BOOST_TEST(warned(r, "glibc version could not be told"));
}

BOOST_AUTO_TEST_CASE(glibc_2_34_defaults_ask_dns_before_etc_hosts) {
  auto r = judged("2.34", std::nullopt);
  BOOST_TEST(!r.nss_risk);  // a note, not a module risk
  BOOST_TEST(warned(r, "/etc/hosts is read only when no DNS server answers"));
  r = judged("2.35", std::nullopt);  // "files dns" since 2.35 (bug 28700)
  BOOST_TEST(r.warnings.empty());
  r = judged("2.34", std::string("hosts: files dns\n"));
  BOOST_TEST(r.warnings.empty());
}

BOOST_AUTO_TEST_CASE(judging_again_replaces_the_verdict) {
  relf::Report r = static_glibc("2.36");
  r.warnings.push_back("something else");
  relf::judge_nss(r, {std::string("hosts: mdns4\n"), "first"});
  BOOST_TEST(r.nss_risk);
  BOOST_TEST(r.warnings.size() == 2u);
  relf::judge_nss(r, {std::string("hosts: files dns\n"), "second"});
  BOOST_TEST(!r.nss_risk);
  BOOST_TEST(r.nss_failing.empty());
  BOOST_TEST(r.warnings == std::vector<std::string>{"something else"}, boost::test_tools::per_element());
  BOOST_TEST(r.nss_checked_against == "second");
}

BOOST_AUTO_TEST_CASE(no_verdict_without_static_glibc_nss) {
  relf::Report r = static_glibc("2.31");
  r.libc = relf::LibcKind::Musl;
  relf::judge_nss(r, {std::nullopt, "x"});
  BOOST_TEST(!r.nss_risk);
  BOOST_TEST(r.nss_checked_against.empty());
  r = static_glibc("2.31");
  r.linkage = relf::Linkage::Dynamic;
  relf::judge_nss(r, {std::nullopt, "x"});
  BOOST_TEST(!r.nss_risk);
  r = static_glibc("2.31");
  r.nss_evidence.clear();  // no NSS code linked in
  relf::judge_nss(r, {std::nullopt, "x"});
  BOOST_TEST(!r.nss_risk);
}

BOOST_AUTO_TEST_CASE(nsswitch_input_is_bounded) {
  std::string big(relf::kMaxNsswitchBytes, '#');
  big += "\nhosts: mdns4\n";  // over the limit: refused, never judged in part
  BOOST_CHECK_EXCEPTION(judged("2.36", big), rustimg::Error, [](const rustimg::Error& e) {
    return std::string(e.what()).find("the test's nsswitch.conf is over 64 KiB") != std::string::npos;
  });
  std::string many = "hosts:";
  for (int i = 0; i < 1000; ++i) many += " m" + std::to_string(i);
  BOOST_TEST(judged("2.36", many).nss_failing.size() <= 32u);
}

// The advice fits the case: modules before 2.34 cannot be avoided by
// nsswitch.conf; from 2.34 they can; an unknown version is a condition.
BOOST_AUTO_TEST_CASE(the_advice_depends_on_the_glibc_version) {
  auto r = judged("2.31", std::nullopt);
  BOOST_TEST(warned(r, "build with glibc >= 2.34 or musl, or avoid these lookups"));
  BOOST_TEST(!warned(r, "use only 'files' and 'dns'"));
  BOOST_TEST(!warned(r, "musl target"));
  r = judged("2.36", std::string("passwd: files sss\nhosts: files mdns4_minimal\n"));
  BOOST_TEST(warned(r, "use only 'files' and 'dns' for these databases in /etc/nsswitch.conf, or link "
                       "dynamically on a base that ships libnss_mdns4_minimal.so.2, libnss_sss.so.2"));
  BOOST_TEST(!warned(r, "build with glibc >= 2.34"));
  r = judged(std::nullopt, std::nullopt);
  BOOST_TEST(warned(r, "if it is older than 2.34, 'files' and 'dns' are modules too"));
  BOOST_TEST(warned(r, "lookup would fail"));
  BOOST_TEST(!warned(r, "lookup fails"));
  BOOST_TEST(warned(r, "build with glibc >= 2.34 or musl, or avoid these lookups"));
  // Not "cannot load": the identical glibc's libnss_* would load.
  BOOST_TEST(warned(r, "a static binary can load only from the identical glibc's shared libraries"));
  BOOST_TEST(!warned(r, "cannot load"));
}

// [STATUS=action] as glibc applies it: a failed module's UNAVAIL=return
// ends the lookup; a module reached only when a built-in source is missing
// is no risk; a bad block makes glibc reject the whole file.
BOOST_AUTO_TEST_CASE(action_blocks_are_followed) {
  auto r = judged("2.36", std::string("passwd: sss [UNAVAIL=return] files\n"));
  BOOST_TEST(r.nss_risk);
  BOOST_TEST(has(r, "passwd", "sss", true));  // files is never reached
  BOOST_TEST(warned(r, "every passwd, shadow lookup fails"));
  r = judged("2.36", std::string("passwd: sss [ unavail = Return ] files\n"));  // glibc's spacing and case
  BOOST_TEST(has(r, "passwd", "sss", true));
  r = judged("2.36", std::string("passwd: sss [!UNAVAIL=return] files\n"));  // UNAVAIL still continues
  BOOST_TEST(has(r, "passwd", "sss", false));
  r = judged("2.36", std::string("hosts: files [NOTFOUND=return] mdns4\n"));
  BOOST_TEST(!r.nss_risk);
  BOOST_TEST(r.nss_failing.empty());
  r = judged("2.36", std::string("hosts: files [NOTFOUND=continue] mdns4\n"));
  BOOST_TEST(has(r, "hosts", "mdns4", false));
  r = judged("2.36", std::string("hosts: sss [UNAVAIL=return] mdns4 files\n"));
  BOOST_TEST(has(r, "hosts", "sss", true));
  BOOST_TEST(!has(r, "hosts", "mdns4", true));  // after the return: never tried
  r = judged("2.36", std::string("hosts: files [NOTFOUND=retrun] mdns4\n"));
  BOOST_TEST(r.nss_risk);
  BOOST_TEST(warned(r, "line 1 (\"hosts: files [NOTFOUND=retrun] mdns4\") has an invalid [STATUS=action] block"));
  BOOST_TEST(warned(r, "every NSS lookup fails"));
}

BOOST_AUTO_TEST_CASE(nsswitch_lines_are_read_as_glibc_does) {
  // Colons and spaces may follow the database name; a trailing comment is
  // no service; "files:dns" is one (unknown) service name to glibc.
  auto r = judged("2.36", std::string("  hosts :: files dns # mdns4 later\npasswd:files\n"));
  BOOST_TEST(!r.nss_risk);
  r = judged("2.36", std::string("hosts: files:dns\n"));
  BOOST_TEST(has(r, "hosts", "files:dns", true));
  r = judged("2.36", std::string("hosts: mdns4\nhosts: files dns\n"));  // the last line wins
  BOOST_TEST(!r.nss_risk);
  r = judged("2.36", std::string("Hosts: mdns4\n"));  // database names are case-sensitive
  BOOST_TEST(!r.nss_risk);
}

BOOST_AUTO_TEST_SUITE_END()
