#include "sensor/flow/host_os_policy.hpp"

#include <catch2/catch.hpp>

#include "config/config_loader.hpp"

using namespace eastwatch;

namespace {

HostOsPolicyEntry entry(OsPolicy policy, std::initializer_list<const char*> cidrs) {
  std::vector<AddressSet::Range> ranges;
  for (const char* cidr : cidrs) ranges.push_back(*AddressSet::parse_cidr(cidr));
  return {policy, AddressSet::from_ranges(ranges)};
}

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

}  // namespace

TEST_CASE("host-os-policy: the most specific entry wins, whatever the order") {
  HostOsPolicyTable table({entry(OsPolicy::Windows, {"10.1.0.0/16"}), entry(OsPolicy::Linux, {"10.0.0.0/8"}),
                           entry(OsPolicy::Solaris, {"10.1.2.3"}), entry(OsPolicy::Macos, {"2001:db8::/32"})});
  CHECK(table.lookup(ip("10.9.9.9")) == OsPolicy::Linux);
  CHECK(table.lookup(ip("10.1.9.9")) == OsPolicy::Windows);
  CHECK(table.lookup(ip("10.1.2.3")) == OsPolicy::Solaris);
  CHECK(table.lookup(ip("10.1.2.4")) == OsPolicy::Windows);
  CHECK(table.lookup(ip("10.1.2.2")) == OsPolicy::Windows);
  CHECK(table.lookup(ip("2001:db8::1")) == OsPolicy::Macos);
  CHECK(table.lookup(ip("11.0.0.1")) == OsPolicy::Bsd);  // fallback
  CHECK_FALSE(table.find(ip("11.0.0.1")).has_value());
  CHECK(table.lookup(ip("9.255.255.255")) == OsPolicy::Bsd);
}

TEST_CASE("host-os-policy: identical ranges, the later entry wins, the fallback is configurable") {
  HostOsPolicyTable table({entry(OsPolicy::Windows, {"0.0.0.0/0"}), entry(OsPolicy::Linux, {"0.0.0.0/0"})},
                          OsPolicy::First);
  CHECK(table.lookup(ip("1.2.3.4")) == OsPolicy::Linux);
  CHECK(table.lookup(ip("::1")) == OsPolicy::First);
  HostOsPolicyTable empty;
  CHECK(empty.lookup(ip("1.2.3.4")) == OsPolicy::Bsd);
}

TEST_CASE("host-os-policy: names round-trip") {
  for (auto name : kOsPolicyNames) {
    auto policy = os_policy_from_name(name);
    REQUIRE(policy);
    CHECK(os_policy_name(*policy) == name);
  }
  CHECK_FALSE(os_policy_from_name("plan9"));
}

TEST_CASE("config: defrag and host-os-policy defaults equal the yaml, values parse, errors name the key") {
  auto defaults = load_settings(std::nullopt, {});
  REQUIRE(defaults);
  const DefragSettings plain;
  CHECK(defaults->defrag.memcap == plain.memcap);
  CHECK(defaults->defrag.hash_size == plain.hash_size);
  CHECK(defaults->defrag.trackers == plain.trackers);
  CHECK(defaults->defrag.max_frags == plain.max_frags);
  CHECK(defaults->defrag.prealloc == plain.prealloc);
  CHECK(defaults->defrag.timeout_seconds == plain.timeout_seconds);
  CHECK(defaults->host_os_policy.empty());

  auto set = load_settings(std::nullopt, {"defrag.timeout=30", "defrag.max-frags=8",
                                          "host-os-policy.linux=[10.0.0.0/8, 192.168.1.1]",
                                          "host-os-policy.windows=\"[2001:db8::/32]\""});
  REQUIRE(set);
  CHECK(set->defrag.timeout_seconds == 30);
  CHECK(set->defrag.max_frags == 8);
  HostOsPolicyTable table(set->host_os_policy);
  CHECK(table.lookup(ip("10.2.3.4")) == OsPolicy::Linux);
  CHECK(table.lookup(ip("192.168.1.1")) == OsPolicy::Linux);
  CHECK(table.lookup(ip("2001:db8::5")) == OsPolicy::Windows);

  auto bad = load_settings(std::nullopt, {"host-os-policy.plan9=[1.2.3.4]", "host-os-policy.bsd=[1.2.3]",
                                          "defrag.timeout=0"});
  REQUIRE_FALSE(bad);
  std::string all;
  for (const auto& error : bad.error()) all += error.message + "\n";
  CHECK_THAT(all, Catch::Contains("host-os-policy.plan9") && Catch::Contains("unknown policy"));
  CHECK_THAT(all, Catch::Contains("'1.2.3' is not an address"));
  CHECK_THAT(all, Catch::Contains("defrag.timeout"));
}
