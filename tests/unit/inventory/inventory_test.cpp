#include <catch2/catch.hpp>

#include "sensor/inventory/inventory.hpp"
#include "sensor/inventory/vm_context.hpp"

using namespace eastwatch;

namespace {

const char* kGood = R"(sensor: {host: esx-01}
zones: [{name: dmz}, {name: db}, {name: app}]
policy:
  default: alert
  allow:
    - {from: dmz, to: db, ports: [5432]}
    - {from: app, to: db, ports: ["6379", "8000-8010"], proto: tcp}
vms:
  - {name: web-01, host: esx-01, zone: dmz, macs: ["00:50:56:00:00:11"], ips: ["10.20.0.11", "fd00:20::11"], tenant: shop}
  - {name: db-01, zone: db, macs: ["00-50-56-00-00-12"], ips: ["10.20.0.12"], tags: [pci]}
  - {name: app-01, host: esx-02, zone: app, ips: ["10.20.0.13"]}
management:
  - {name: vcenter, addresses: ["10.99.0.5", "10.99.1.0/24"], ports: [443, 902], proto: tcp}
)";

std::shared_ptr<const Inventory> good() {
  auto inventory = parse_inventory(kGood, "inv.yaml");
  REQUIRE(inventory);
  return *inventory;
}

// The one error a bad file gives, with its line.
std::string only_error(const std::string& text) {
  auto inventory = parse_inventory(text, "inv.yaml");
  REQUIRE_FALSE(inventory);
  REQUIRE(inventory.error().size() == 1);
  return inventory.error().front();
}

const uint8_t kWebMac[6] = {0x00, 0x50, 0x56, 0x00, 0x00, 0x11};
const uint8_t kDbMac[6] = {0x00, 0x50, 0x56, 0x00, 0x00, 0x12};
const uint8_t kUnknownMac[6] = {0x00, 0x50, 0x56, 0x00, 0x00, 0x99};

}  // namespace

TEST_CASE("a good inventory loads with every field") {
  const auto inventory = good();
  REQUIRE(inventory->vm_count() == 3);
  CHECK(inventory->sensor_host() == "esx-01");
  CHECK(inventory->zones() == std::vector<std::string>{"dmz", "db", "app"});
  const InventoryVm& web = inventory->vm(0);
  CHECK(web.name == "web-01");
  CHECK(web.zone == "dmz");
  CHECK(web.tenant == "shop");
  CHECK(web.ips.size() == 2);
  const InventoryVm& db = inventory->vm(1);
  CHECK(db.host == "esx-01");  // sensor.host when not given
  CHECK(db.tags == std::vector<std::string>{"pci"});
  CHECK(db.host_index == web.host_index);
  CHECK(inventory->vm(2).host_index != web.host_index);
}

TEST_CASE("look-ups by MAC, IPv4 and IPv6, and misses") {
  const auto inventory = good();
  CHECK(inventory->find_mac(kWebMac) == 0);
  CHECK(inventory->find_mac(kDbMac) == 1);  // written with '-'
  CHECK(inventory->find_mac(kUnknownMac) == Inventory::kNotFound);
  CHECK(inventory->find_ip(*IpAddress::parse("10.20.0.13")) == 2);
  CHECK(inventory->find_ip(*IpAddress::parse("fd00:20:0:0::11")) == 0);
  CHECK(inventory->find_ip(*IpAddress::parse("10.20.0.14")) == Inventory::kNotFound);
  CHECK(inventory->find_ip(*IpAddress::parse("fd00:20::12")) == Inventory::kNotFound);
  // An empty inventory answers every look-up with "not found".
  auto empty = parse_inventory("zones: [{name: dmz}]\n", "e.yaml");
  REQUIRE(empty);
  CHECK((*empty)->find_mac(kWebMac) == Inventory::kNotFound);
  CHECK((*empty)->find_ip(*IpAddress::parse("10.20.0.11")) == Inventory::kNotFound);
}

TEST_CASE("many VMs: every MAC and address is found (open addressing with collisions)") {
  std::string text = "sensor: {host: h}\nzones: [{name: z}]\nvms:\n";
  for (int i = 0; i < 600; ++i) {
    char line[160];
    std::snprintf(line, sizeof line, "  - {name: vm-%d, zone: z, macs: [\"02:00:00:00:%02x:%02x\"], ips: [\"10.1.%d.%d\"]}\n",
                  i, i >> 8, i & 0xff, i >> 8, i & 0xff);
    text += line;
  }
  auto inventory = parse_inventory(text, "big.yaml");
  REQUIRE(inventory);
  for (uint32_t i = 0; i < 600; ++i) {
    const uint8_t mac[6] = {2, 0, 0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i & 0xff)};
    REQUIRE((*inventory)->find_mac(mac) == i);
    REQUIRE((*inventory)->find_ip(IpAddress::from_v4((10u << 24) | (1u << 16) | i)) == i);
  }
}

TEST_CASE("the zone policy: same zone, allow entries by ports and protocol, default") {
  const auto inventory = good();
  const uint16_t dmz = 0, db = 1, app = 2;
  CHECK(inventory->zone_allowed(dmz, dmz, 6, 22));       // same zone
  CHECK(inventory->zone_allowed(dmz, db, 6, 5432));
  CHECK_FALSE(inventory->zone_allowed(dmz, db, 6, 6379));  // not that port
  CHECK_FALSE(inventory->zone_allowed(db, dmz, 6, 5432));  // directional
  CHECK(inventory->zone_allowed(app, db, 6, 8005));        // a range
  CHECK_FALSE(inventory->zone_allowed(app, db, 17, 6379));  // tcp only
  CHECK_FALSE(inventory->zone_allowed(dmz, app, 6, 8080));
  auto open = parse_inventory("zones: [{name: a}, {name: b}]\npolicy: {default: allow}\n", "o.yaml");
  REQUIRE(open);
  CHECK((*open)->zone_allowed(0, 1, 6, 1));
}

TEST_CASE("management-plane services by address, CIDR, port and protocol") {
  const auto inventory = good();
  const ManagementService* hit = inventory->management_match(*IpAddress::parse("10.99.1.77"), 443, 6);
  REQUIRE(hit != nullptr);
  CHECK(hit->name == "vcenter");
  CHECK(inventory->management_match(*IpAddress::parse("10.99.0.5"), 902, 6) != nullptr);
  CHECK(inventory->management_match(*IpAddress::parse("10.99.0.5"), 80, 6) == nullptr);
  CHECK(inventory->management_match(*IpAddress::parse("10.99.0.5"), 443, 17) == nullptr);
  CHECK(inventory->management_match(*IpAddress::parse("10.99.2.1"), 443, 6) == nullptr);
}

TEST_CASE("rule variables per zone and VM") {
  const auto variables = good()->rule_variables();
  CHECK(variables.at("VM_web_01") == "[10.20.0.11,fd00:0020:0000:0000:0000:0000:0000:0011]");
  CHECK(variables.at("ZONE_db") == "[10.20.0.12]");
  CHECK(variables.at("ZONE_dmz") == "[10.20.0.11,fd00:0020:0000:0000:0000:0000:0000:0011]");
  CHECK(variables.at("VM_app_01") == "[10.20.0.13]");
  CHECK(Inventory::variable_name("web-01.corp") == "web_01_corp");
}

TEST_CASE("the vm object: scopes, same_host, external sides") {
  const auto inventory = good();
  VmEveData vm;
  REQUIRE(fill_vm_eve(*inventory, 1, 2, vm));  // web-01 -> db-01, both on esx-01
  CHECK(vm.src.name.view() == "web-01");
  CHECK(vm.src.tenant.view() == "shop");
  CHECK(vm.dest.zone.view() == "db");
  CHECK(vm.same_host);
  CHECK(vm.scope == VmEveData::Scope::IntraHost);
  vm = VmEveData{};
  REQUIRE(fill_vm_eve(*inventory, 3, 1, vm));  // app-01 (esx-02) -> web-01 (esx-01)
  CHECK_FALSE(vm.same_host);
  CHECK(vm.scope == VmEveData::Scope::InterHost);
  vm = VmEveData{};
  REQUIRE(fill_vm_eve(*inventory, 1, 0, vm));
  CHECK(vm.scope == VmEveData::Scope::VmToExternal);
  CHECK_FALSE(vm.dest.known);
  vm = VmEveData{};
  REQUIRE(fill_vm_eve(*inventory, 0, 2, vm));
  CHECK(vm.scope == VmEveData::Scope::ExternalToVm);
  vm = VmEveData{};
  CHECK_FALSE(fill_vm_eve(*inventory, 0, 0, vm));  // both external: no vm object
}

TEST_CASE("a side is resolved by MAC first, then by address") {
  const auto inventory = good();
  CHECK(resolve_vm(*inventory, kDbMac, *IpAddress::parse("10.20.0.11")) == 2);       // the MAC wins
  CHECK(resolve_vm(*inventory, kUnknownMac, *IpAddress::parse("10.20.0.11")) == 1);  // routed: by address
  CHECK(resolve_vm(*inventory, nullptr, *IpAddress::parse("10.20.0.13")) == 3);      // raw IP capture
  CHECK(resolve_vm(*inventory, kUnknownMac, *IpAddress::parse("192.0.2.1")) == 0);
}

TEST_CASE("every inventory error names its file, line and key") {
  CHECK(only_error("zones: [{name: dmz}]\nvms:\n  - {name: a, host: h, zone: web, ips: [10.0.0.1]}\n") ==
        "inv.yaml:3: vms[0].zone: unknown zone 'web' (expected one of the zones: dmz)");
  CHECK(only_error("zones: [{name: dmz}]\nvms:\n  - {name: a, host: h, zone: dmz, macs: [\"00:50:56:00:00:1\"]}\n") ==
        "inv.yaml:3: vms[0].macs: '00:50:56:00:00:1' is not a MAC address (expected six hex octets such as "
        "00:50:56:00:00:11)");
  CHECK(only_error("zones: [{name: dmz}]\nvms:\n  - {name: a, host: h, zone: dmz, macs: [\"00:50:56:00:00:11\"]}\n"
                   "  - {name: b, host: h, zone: dmz, macs: [\"00:50:56:00:00:11\"]}\n") ==
        "inv.yaml:4: vms[1].macs: duplicate MAC 00:50:56:00:00:11 (already given to 'a')");
  CHECK(only_error("zones: [{name: dmz}]\nvms:\n  - {name: a, host: h, zone: dmz, ips: [10.0.0.1]}\n"
                   "  - {name: b, host: h, zone: dmz, ips: [10.0.0.1]}\n") ==
        "inv.yaml:4: vms[1].ips: duplicate address 10.0.0.1 (already given to 'a')");
  CHECK(only_error("zones: [{name: dmz}]\nvms:\n  - {name: a, host: h, zone: dmz, ips: [10.0.0.0/24]}\n") ==
        "inv.yaml:3: vms[0].ips: '10.0.0.0/24' is not an address (expected one IPv4 or IPv6 address, no CIDR)");
  CHECK(only_error("zones: [{name: dmz}]\nvms:\n  - {name: a, zone: dmz, ips: [10.0.0.1]}\n") ==
        "inv.yaml:3: vms[0].host: missing (expected the VM's host, or sensor.host)");
  CHECK(only_error("zones: [{name: dmz}]\nvm:\n  - {name: a}\n") ==
        "inv.yaml:2: vm: unknown key (expected one of: sensor, zones, policy, vms, management)");
  CHECK(only_error("zones: [{name: dmz}]\npolicy:\n  default: deny\n") ==
        "inv.yaml:3: policy.default: 'deny' is not valid (expected alert or allow)");
  CHECK(only_error("zones: [{name: dmz}, {name: db}]\npolicy:\n  allow:\n    - {from: dmz, to: db, ports: [70000]}\n") ==
        "inv.yaml:4: policy.allow[0].ports: '70000' is not a port (expected 0-65535 or a range such as 8000-8080)");
  CHECK(only_error("zones: [{name: dmz}, {name: dmz}]\n") == "inv.yaml:1: zones[1].name: duplicate zone 'dmz'");
  CHECK(only_error("zones: [{name: dmz}]\nvms:\n  - {name: web-01, host: h, zone: dmz, ips: [10.0.0.1]}\n"
                   "  - {name: web_01, host: h, zone: dmz, ips: [10.0.0.2]}\n") ==
        "inv.yaml:4: vms[1].name: 'web_01' gives the same rule variable $VM_web_01 as 'web-01' (expected distinct "
        "names)");
  CHECK(only_error("management:\n  - {name: esxi, addresses: [esx-01.local]}\n") ==
        "inv.yaml:2: management[0].addresses: 'esx-01.local' is not an address (expected an IPv4/IPv6 address or "
        "CIDR)");
  CHECK(only_error("zones: [{name: dmz}\n").rfind("inv.yaml:2: YAML syntax error", 0) == 0);
}

TEST_CASE("several problems are all reported") {
  auto inventory = parse_inventory(
      "zones: [{name: dmz}]\nvms:\n  - {name: a, host: h, zone: x, ips: [bad]}\n  - {name: b, host: h, zone: dmz, "
      "macs: [zz]}\n",
      "inv.yaml");
  REQUIRE_FALSE(inventory);
  CHECK(inventory.error().size() == 3);
}

TEST_CASE("MAC text forms") {
  uint64_t mac = 0;
  CHECK(parse_mac("00:50:56:AB:cd:11", mac));
  CHECK(mac == 0x005056abcd11ull);
  CHECK_FALSE(parse_mac("00:50:56:ab:cd", mac));
  CHECK_FALSE(parse_mac("00:50-56:ab:cd:11", mac));
  CHECK_FALSE(parse_mac("00:50:56:ab:cd:1g", mac));
}
