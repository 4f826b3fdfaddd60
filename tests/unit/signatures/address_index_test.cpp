#include <catch2/catch.hpp>

#include "signatures/address_index.hpp"
#include "signatures/detail/header_parser.hpp"

using namespace eastwatch;

namespace {

bool has_bit(const AddressIndex& index, const char* address, size_t bit) {
  const uint64_t* bits = index.lookup(*IpAddress::parse(address));
  return (bits[bit / 64] >> (bit % 64)) & 1;
}

}  // namespace

TEST_CASE("the address index answers exactly what AddressSet::contains answers") {
  const RuleVariables vars = RuleVariables::with_suricata_defaults();
  const char* expressions[] = {"any", "$HOME_NET", "$EXTERNAL_NET", "[1.2.3.4,5.6.7.0/24]", "!10.1.0.0/16",
                               "2001:db8::/32", "[0.0.0.0/0,!8.8.8.8]", "255.255.255.255", "::/0"};
  std::vector<AddressSet> sets;
  for (const char* e : expressions) sets.push_back(*detail::parse_address_expression(e, vars));
  // Enough rules to span several 64-bit words.
  std::vector<const AddressSet*> pointers;
  for (int copy = 0; copy < 20; ++copy) {
    for (const auto& set : sets) pointers.push_back(&set);
  }
  const AddressIndex index = AddressIndex::build(pointers);
  CHECK(index.words() == (pointers.size() + 63) / 64);
  const char* probes[] = {"0.0.0.0",  "1.2.3.4",     "1.2.3.5",     "5.6.7.255", "5.6.8.0",     "8.8.8.8",
                          "8.8.8.9",  "10.0.0.1",    "10.1.2.3",    "10.2.0.0",  "172.16.0.1",  "192.168.1.1",
                          "255.255.255.255", "::",   "::1",         "2001:db8::1", "2001:db9::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
  for (const char* probe : probes) {
    for (size_t j = 0; j < pointers.size(); ++j) {
      INFO(probe << " rule " << j);
      CHECK(has_bit(index, probe, j) == pointers[j]->contains(*IpAddress::parse(probe)));
    }
  }
}

TEST_CASE("an empty index still answers") {
  const AddressIndex index = AddressIndex::build({});
  CHECK(index.words() == 0);
  CHECK(index.intervals() == 1);  // the whole address space, no rule bits to read
}
