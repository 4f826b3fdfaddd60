#include <catch2/catch.hpp>

#include "signatures/address.hpp"
#include "signatures/detail/header_parser.hpp"

using namespace eastwatch;

namespace {
IpAddress ip(const char* text) { return *IpAddress::parse(text); }
}  // namespace

TEST_CASE("IpAddress parses and prints both families as Suricata does") {
  CHECK(ip("10.20.0.11").is_v4());
  CHECK(ip("10.20.0.11").v4() == 0x0a14000b);
  CHECK(ip("10.20.0.11").to_string() == "10.20.0.11");
  CHECK_FALSE(ip("2001:db8::1").is_v4());
  CHECK(ip("2001:db8::1").to_string() == "2001:0db8:0000:0000:0000:0000:0000:0001");
  CHECK_FALSE(IpAddress::parse("10.0.0.256"));
  CHECK_FALSE(IpAddress::parse("2001:db8:::1"));
  CHECK_FALSE(IpAddress::parse(""));
}

TEST_CASE("CIDR ranges and including netmask notation") {
  auto r = AddressSet::parse_cidr("10.1.0.0/16");
  REQUIRE(r);
  CHECK(r->first == ip("10.1.0.0"));
  CHECK(r->last == ip("10.1.255.255"));
  auto m = AddressSet::parse_cidr("192.168.0.0/255.255.255.0");
  REQUIRE(m);
  CHECK(m->last == ip("192.168.0.255"));
  auto v6 = AddressSet::parse_cidr("fe80::/10");
  REQUIRE(v6);
  CHECK(v6->last == ip("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  CHECK_FALSE(AddressSet::parse_cidr("10.0.0.0/33"));
  CHECK_FALSE(AddressSet::parse_cidr("10.0.0.0/255.0.255.0"));
}

TEST_CASE("address expressions with variables and lists and negation") {
  const RuleVariables vars = RuleVariables::with_suricata_defaults();
  auto home = detail::parse_address_expression("$HOME_NET", vars);
  REQUIRE(home);
  CHECK(home->contains(ip("10.20.0.11")));
  CHECK(home->contains(ip("172.31.255.255")));
  CHECK_FALSE(home->contains(ip("172.32.0.0")));

  // Suricata negates within the families the negated set mentions: EXTERNAL_NET is IPv4 only.
  auto external = detail::parse_address_expression("$EXTERNAL_NET", vars);
  REQUIRE(external);
  CHECK(external->contains(ip("8.8.8.8")));
  CHECK_FALSE(external->contains(ip("10.0.0.1")));
  CHECK_FALSE(external->contains(ip("2001:db8::1")));

  auto list = detail::parse_address_expression("[10.0.0.0/8,![10.1.0.0/16,10.2.0.1]]", vars);
  REQUIRE(list);
  CHECK(list->contains(ip("10.3.0.1")));
  CHECK_FALSE(list->contains(ip("10.1.2.3")));
  CHECK_FALSE(list->contains(ip("10.2.0.1")));
  CHECK(list->contains(ip("10.2.0.2")));

  auto only_negated = detail::parse_address_expression("[!10.0.0.0/8]", vars);
  REQUIRE(only_negated);
  CHECK(only_negated->contains(ip("11.0.0.1")));
  CHECK_FALSE(only_negated->contains(ip("::1")));

  auto any = detail::parse_address_expression("any", vars);
  REQUIRE(any);
  CHECK(any->contains(ip("::1")));
  CHECK(any->is_any());
}

TEST_CASE("address expression errors") {
  const RuleVariables vars = RuleVariables::with_suricata_defaults();
  CHECK(detail::parse_address_expression("$NOPE", vars).error() == "undefined variable $NOPE");
  CHECK(detail::parse_address_expression("!any", vars).error() == "'!any' matches no address");
  CHECK(detail::parse_address_expression("[10.0.0.0/8", vars).error() == "unbalanced brackets in '[10.0.0.0/8'");
  CHECK(detail::parse_address_expression("10.0.0.x", vars).error() ==
        "invalid address '10.0.0.x' (expected an IPv4/IPv6 address or CIDR)");
  CHECK(detail::parse_address_expression("[10.0.0.1,,10.0.0.2]", vars).error() ==
        "empty list element in '[10.0.0.1,,10.0.0.2]'");
  RuleVariables loop;
  loop.address_groups["A"] = "$B";
  loop.address_groups["B"] = "$A";
  CHECK(detail::parse_address_expression("$A", loop).error().find("variables nest too deeply") == 0);
}

TEST_CASE("port expressions") {
  const RuleVariables vars = RuleVariables::with_suricata_defaults();
  auto ports = detail::parse_port_expression("[80,8000:8100,!8080]", vars);
  REQUIRE(ports);
  CHECK(ports->contains(80));
  CHECK(ports->contains(8000));
  CHECK_FALSE(ports->contains(8080));
  CHECK_FALSE(ports->contains(81));
  auto open_high = detail::parse_port_expression("1024:", vars);
  REQUIRE(open_high);
  CHECK(open_high->contains(65535));
  CHECK_FALSE(open_high->contains(1023));
  auto shellcode = detail::parse_port_expression("$SHELLCODE_PORTS", vars);
  REQUIRE(shellcode);
  CHECK_FALSE(shellcode->contains(80));
  CHECK(shellcode->contains(81));
  auto file_data = detail::parse_port_expression("$FILE_DATA_PORTS", vars);
  REQUIRE(file_data);
  CHECK(file_data->contains(80));
  CHECK(file_data->contains(143));
  CHECK(detail::parse_port_expression("70000", vars).error() ==
        "invalid port '70000' (expected 0-65535, a range a:b, or a list)");
  CHECK(detail::parse_port_expression("90:80", vars).error() == "invalid port range '90:80' (start after end)");
  CHECK(detail::parse_port_expression("!any", vars).error() == "'!any' matches no port");
}
