#include <catch2/catch.hpp>

#include "signatures/reference_config.hpp"

using namespace eastwatch;

TEST_CASE("reference.config: systems resolve to URL prefix + id, case-insensitively, bad lines at file:line") {
  std::vector<std::string> errors;
  const auto table = ReferenceTable::parse(
      "# comment\n"
      "config reference: cve http://cve.mitre.org/cgi-bin/cvename.cgi?name=\n"
      "config reference:   URL   http://\n"
      "config reference: nothing\n"
      "reference: cve x\n",
      "reference.config", &errors);
  CHECK(table.size() == 2);
  CHECK(table.resolve({"cve", "2021-44228"}) == "http://cve.mitre.org/cgi-bin/cvename.cgi?name=2021-44228");
  CHECK(table.resolve({"url", "example.com/a"}) == "http://example.com/a");
  CHECK(table.resolve({"Url", "example.com/b"}) == "http://example.com/b");
  CHECK(table.resolve({"md5", "abc"}) == "md5,abc");  // unknown here: kept as written
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "reference.config:4: expected 'config reference: name url-prefix', got 'nothing'");
  CHECK(errors[1] == "reference.config:5: expected 'config reference: name url-prefix'");
  // The built-in list has the systems Emerging Threats uses.
  const auto builtin = ReferenceTable::builtin();
  CHECK(builtin.resolve({"md5", "abc"}) == "http://www.threatexpert.com/report.aspx?md5=abc");
  CHECK(builtin.resolve({"et", "2001219"}) == "http://doc.emergingthreats.net/2001219");
}
