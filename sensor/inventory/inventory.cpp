#include "sensor/inventory/inventory.hpp"

#include <cctype>

namespace eastwatch {

namespace {

uint64_t mix(uint64_t value) noexcept {  // splitmix64's finalizer
  value ^= value >> 30;
  value *= 0xbf58476d1ce4e5b9ull;
  value ^= value >> 27;
  value *= 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

bool port_in(const std::vector<PortSet::Range>& ports, uint16_t port) noexcept {
  if (ports.empty()) return true;
  for (const auto& range : ports) {
    if (port >= range.first && port <= range.last) return true;
  }
  return false;
}

}  // namespace

uint32_t Inventory::find_mac(const uint8_t* mac) const noexcept {
  MacSegment segment;
  return find_mac(mac, segment);
}

uint32_t Inventory::find_mac(const uint8_t* mac, MacSegment& segment) const noexcept {
  segment = MacSegment{};
  if (mac_table_.empty()) return kNotFound;
  uint64_t value = 0;
  for (int i = 0; i < 6; ++i) value = value << 8 | mac[i];
  const uint64_t key = value | (1ull << 48);
  const size_t mask = mac_table_.size() - 1;
  for (size_t i = mix(key) & mask, probes = 0; probes <= mask; i = (i + 1) & mask, ++probes) {
    const MacSlot& slot = mac_table_[i];
    if (slot.key == key) {
      segment = slot.segment;
      return slot.vm;
    }
    if (slot.key == 0) return kNotFound;
  }
  return kNotFound;
}

uint32_t Inventory::find_ip(const IpAddress& address) const noexcept {
  if (ip_table_.empty()) return kNotFound;
  const IpKey key = IpKey::of(address);
  const size_t mask = ip_table_.size() - 1;
  for (size_t i = mix(key.high ^ mix(key.low)) & mask, probes = 0; probes <= mask; i = (i + 1) & mask, ++probes) {
    const IpSlot& slot = ip_table_[i];
    if (slot.vm == kNotFound) return kNotFound;
    if (slot.key == key) return slot.vm;
  }
  return kNotFound;
}

bool Inventory::zone_allowed(uint16_t from, uint16_t to, uint8_t proto, uint16_t server_port) const noexcept {
  if (from == to || default_allow_) return true;
  for (const ZoneAllow& entry : allow_) {
    if (entry.from != ZoneAllow::kAnyZone && entry.from != from) continue;
    if (entry.to != ZoneAllow::kAnyZone && entry.to != to) continue;
    if (entry.proto != 0 && entry.proto != proto) continue;
    if (port_in(entry.ports, server_port)) return true;
  }
  return false;
}

const ManagementService* Inventory::management_match(const IpAddress& address, uint16_t port,
                                                     uint8_t proto) const noexcept {
  for (const ManagementService& service : management_) {
    if (service.proto != 0 && service.proto != proto) continue;
    if (!port_in(service.ports, port)) continue;
    if (service.addresses.contains(address)) return &service;
  }
  return nullptr;
}

std::string Inventory::variable_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  return out;
}

std::map<std::string, std::string> Inventory::rule_variables() const {
  std::map<std::string, std::string> variables;
  std::vector<std::string> zone_values(zones_.size());
  for (const InventoryVm& vm : vms_) {
    std::string value;
    for (const IpAddress& ip : vm.ips) {
      const std::string text = ip.to_string();
      value += (value.empty() ? "" : ",") + text;
      std::string& zone = zone_values[vm.zone_index];
      zone += (zone.empty() ? "" : ",") + text;
    }
    if (!value.empty()) variables["VM_" + variable_name(vm.name)] = "[" + value + "]";
  }
  for (size_t z = 0; z < zones_.size(); ++z) {
    if (!zone_values[z].empty()) variables["ZONE_" + variable_name(zones_[z])] = "[" + zone_values[z] + "]";
  }
  return variables;
}

bool parse_mac(std::string_view text, uint64_t& out) noexcept {
  if (text.size() != 17) return false;
  const char separator = text[2];
  if (separator != ':' && separator != '-') return false;
  uint64_t value = 0;
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != separator) return false;
    for (size_t j = 0; j < 2; ++j) {
      const char c = text[i * 3 + j];
      int digit = -1;
      if (c >= '0' && c <= '9') digit = c - '0';
      if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      if (digit < 0) return false;
      value = value << 4 | static_cast<uint64_t>(digit);
    }
  }
  out = value;
  return true;
}

}  // namespace eastwatch
