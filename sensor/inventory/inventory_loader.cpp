// The inventory YAML -> a validated Inventory (see inventory.hpp). Every problem is collected
// with its line, as config/config_loader.cpp does for the config.
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <type_traits>
#include <unordered_map>

#include <yaml-cpp/yaml.h>

#include "config/yaml_checker.hpp"
#include "sensor/inventory/inventory.hpp"

namespace eastwatch {

namespace {

uint64_t mix(uint64_t value) noexcept {  // the same finalizer as the look-ups
  value ^= value >> 30;
  value *= 0xbf58476d1ce4e5b9ull;
  value ^= value >> 27;
  value *= 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

size_t table_size(size_t entries) {
  size_t size = 16;
  while (size < entries * 2) size <<= 1;
  return size;
}

std::string mac_text(uint64_t mac) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", static_cast<unsigned>(mac >> 40 & 0xff),
                static_cast<unsigned>(mac >> 32 & 0xff), static_cast<unsigned>(mac >> 24 & 0xff),
                static_cast<unsigned>(mac >> 16 & 0xff), static_cast<unsigned>(mac >> 8 & 0xff),
                static_cast<unsigned>(mac & 0xff));
  return text;
}

}  // namespace

class InventoryBuilder : public config::YamlChecker {
 public:
  explicit InventoryBuilder(std::string file) : YamlChecker(std::move(file)) { inventory_->source_file_ = file_; }

  std::shared_ptr<const Inventory> build(const YAML::Node& root) {
    if (!root || root.IsNull()) {
      fail(root, "", "the file is empty (expected sensor, zones, policy, vms and management)");
      return nullptr;
    }
    if (!root.IsMap()) {
      fail(root, "", "the document must be a mapping of keys");
      return nullptr;
    }
    check_keys(root, "", {"sensor", "zones", "policy", "vms", "management"});
    if (YAML::Node sensor = map_at(root, "sensor", "sensor")) {
      check_keys(sensor, "sensor", {"host"});
      scalar(sensor["host"], "sensor.host", inventory_->sensor_host_);
    }
    load_zones(root["zones"]);
    load_policy(root);
    load_vms(root["vms"]);
    load_management(root["management"]);
    if (!errors_.empty()) return nullptr;
    build_tables();
    return inventory_;
  }

 private:
  static std::string item(const std::string& path, size_t index) { return path + "[" + std::to_string(index) + "]"; }

  // A list of scalars (a single scalar counts as a list of one).
  std::vector<YAML::Node> scalars(const YAML::Node& node, const std::string& path, const char* expected) {
    std::vector<YAML::Node> out;
    if (!node || node.IsNull()) return out;
    if (node.IsScalar()) return {node};
    if (!node.IsSequence()) {
      fail(node, path, std::string("expected a list of ") + expected);
      return out;
    }
    for (const auto& entry : node) {
      if (!entry.IsScalar()) {
        fail(entry, path, std::string("expected a list of ") + expected);
        continue;
      }
      out.push_back(entry);
    }
    return out;
  }

  // A list of mappings; each yields (node, "path[i]").
  template <class F>
  void each_map(const YAML::Node& node, const std::string& path, const char* what, F&& f) {
    if (!node || node.IsNull()) return;
    if (!node.IsSequence()) {
      fail(node, path, std::string("expected a list of ") + what);
      return;
    }
    size_t index = 0;
    for (const auto& entry : node) {
      const std::string where = item(path, index++);
      if (!entry.IsMap()) {
        fail(entry, where, std::string("expected a mapping (") + what + ")");
        continue;
      }
      f(entry, where);
    }
  }

  void load_zones(const YAML::Node& node) {
    each_map(node, "zones", "zones such as {name: dmz}", [&](const YAML::Node& zone, const std::string& path) {
      check_keys(zone, path, {"name"});
      std::string name;
      if (!scalar(zone["name"], join(path, "name"), name) || name.empty()) {
        fail(zone, join(path, "name"), "missing (expected the zone's name)");
        return;
      }
      const std::string variable = Inventory::variable_name(name);
      if (zone_index_.count(name) != 0) {
        fail(zone["name"], join(path, "name"), "duplicate zone '" + name + "'");
      } else if (!zone_variables_.insert(variable).second) {
        fail(zone["name"], join(path, "name"), "'" + name + "' gives the same rule variable $ZONE_" + variable +
                                                   " as another zone (expected distinct names)");
      } else if (inventory_->zones_.size() >= ZoneAllow::kAnyZone) {
        fail(zone, path, "too many zones (expected at most 65534)");
      } else {
        zone_index_[name] = static_cast<uint16_t>(inventory_->zones_.size());
        inventory_->zones_.push_back(name);
      }
    });
  }

  bool zone_ref(const YAML::Node& node, const std::string& path, uint16_t& out, bool any_allowed) {
    std::string name;
    if (!scalar(node, path, name) || name.empty()) {
      fail(node, path, "missing (expected a zone name)");
      return false;
    }
    if (any_allowed && name == "any") {
      out = ZoneAllow::kAnyZone;
      return true;
    }
    auto it = zone_index_.find(name);
    if (it == zone_index_.end()) {
      std::string known;
      for (const auto& zone : inventory_->zones_) known += (known.empty() ? "" : ", ") + zone;
      fail(node, path, "unknown zone '" + name + "' (expected one of the zones: " + known + ")");
      return false;
    }
    out = it->second;
    return true;
  }

  bool parse_proto(const YAML::Node& node, const std::string& path, uint8_t& out) {
    std::string text;
    if (!scalar(node, path, text)) return true;
    std::string value = text;
    std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
    if (value == "tcp") out = 6;
    else if (value == "udp") out = 17;
    else if (value == "icmp") out = 1;
    else if (value == "ipv6-icmp" || value == "icmpv6") out = 58;
    else if (value == "any") out = 0;
    else {
      fail(node, path, "'" + text + "' is not a protocol (expected tcp, udp, icmp, ipv6-icmp or any)");
      return false;
    }
    return true;
  }

  // ports: [5432, "8000-8080", "9000:9100"]
  void parse_ports(const YAML::Node& node, const std::string& path, std::vector<PortSet::Range>& out) {
    for (const YAML::Node& entry : scalars(node, path, "ports")) {
      const std::string text = entry.Scalar();
      const size_t dash = text.find_first_of("-:");
      auto number = [](const std::string& part, uint32_t& value) {
        if (part.empty() || part.size() > 5 || !std::all_of(part.begin(), part.end(), ::isdigit)) return false;
        value = static_cast<uint32_t>(std::stoul(part));
        return value <= 65535;
      };
      uint32_t first = 0, last = 0;
      bool ok = dash == std::string::npos ? number(text, first) && (last = first, true)
                                          : number(text.substr(0, dash), first) && number(text.substr(dash + 1), last);
      if (!ok || first > last) {
        fail(entry, path, "'" + text + "' is not a port (expected 0-65535 or a range such as 8000-8080)");
        continue;
      }
      out.push_back({static_cast<uint16_t>(first), static_cast<uint16_t>(last)});
    }
  }

  void load_policy(const YAML::Node& root) {
    YAML::Node policy = map_at(root, "policy", "policy");
    if (!policy) return;
    check_keys(policy, "policy", {"default", "allow"});
    std::string value = "alert";
    if (scalar(policy["default"], "policy.default", value) && value != "alert" && value != "allow") {
      fail(policy["default"], "policy.default", "'" + value + "' is not valid (expected alert or allow)");
    }
    inventory_->default_allow_ = value == "allow";
    each_map(policy["allow"], "policy.allow", "{from, to, ports, proto}", [&](const YAML::Node& entry, const std::string& path) {
      check_keys(entry, path, {"from", "to", "ports", "proto"});
      ZoneAllow allow;
      const bool from = zone_ref(entry["from"], join(path, "from"), allow.from, true);
      const bool to = zone_ref(entry["to"], join(path, "to"), allow.to, true);
      parse_ports(entry["ports"], join(path, "ports"), allow.ports);
      if (from && to && parse_proto(entry["proto"], join(path, "proto"), allow.proto)) {
        inventory_->allow_.push_back(std::move(allow));
      }
    });
  }

  void load_vms(const YAML::Node& node) {
    std::unordered_map<uint64_t, std::string> mac_owner;
    std::map<IpAddress, std::string> ip_owner;
    std::map<std::string, std::string> variable_owner;
    each_map(node, "vms", "VMs such as {name, host, zone, macs, ips}", [&](const YAML::Node& entry, const std::string& path) {
      check_keys(entry, path,
                 {"name", "host", "zone", "macs", "ips", "tenant", "tags", "roles", "vlan", "vni", "mirror-session"});
      InventoryVm vm;
      if (!scalar(entry["name"], join(path, "name"), vm.name) || vm.name.empty()) {
        fail(entry, join(path, "name"), "missing (expected the VM's name)");
        return;
      }
      const std::string variable = Inventory::variable_name(vm.name);
      auto [owner, inserted] = variable_owner.emplace(variable, vm.name);
      if (!inserted) {
        fail(entry["name"], join(path, "name"),
             owner->second == vm.name ? "duplicate VM '" + vm.name + "'"
                                      : "'" + vm.name + "' gives the same rule variable $VM_" + variable + " as '" +
                                            owner->second + "' (expected distinct names)");
      }
      scalar(entry["host"], join(path, "host"), vm.host);
      if (vm.host.empty()) vm.host = inventory_->sensor_host_;
      if (vm.host.empty()) fail(entry, join(path, "host"), "missing (expected the VM's host, or sensor.host)");
      if (!entry["zone"] || entry["zone"].IsNull()) {
        fail(entry, join(path, "zone"), "missing (expected one of the zones)");
      } else if (zone_ref(entry["zone"], join(path, "zone"), vm.zone_index, false)) {
        vm.zone = inventory_->zones_[vm.zone_index];
      }
      scalar(entry["tenant"], join(path, "tenant"), vm.tenant);
      for (const YAML::Node& tag : scalars(entry["tags"], join(path, "tags"), "tags")) vm.tags.push_back(tag.Scalar());
      for (const YAML::Node& role : scalars(entry["roles"], join(path, "roles"), "roles")) {
        if (role.Scalar() == "dhcp-server") {
          vm.roles |= vm_role::DhcpServer;
        } else if (role.Scalar() == "router") {
          vm.roles |= vm_role::Router;
        } else {
          fail(role, join(path, "roles"), "unknown role '" + role.Scalar() + "' (expected dhcp-server or router)");
        }
      }
      MacSegment vm_segment;
      load_segment(entry, path, vm_segment);
      for (const auto& [mac_node, mac_segment] : mac_entries(entry["macs"], join(path, "macs"), vm_segment)) {
        uint64_t mac = 0;
        if (!parse_mac(mac_node.Scalar(), mac)) {
          fail(mac_node, join(path, "macs"),
               "'" + mac_node.Scalar() + "' is not a MAC address (expected six hex octets such as 00:50:56:00:00:11)");
          continue;
        }
        auto [it, fresh] = mac_owner.emplace(mac, vm.name);
        if (!fresh) {
          fail(mac_node, join(path, "macs"), "duplicate MAC " + mac_text(mac) + " (already given to '" + it->second + "')");
          continue;
        }
        vm.macs.push_back(mac);
        vm.mac_segments.push_back(mac_segment);
      }
      for (const YAML::Node& ip_node : scalars(entry["ips"], join(path, "ips"), "addresses")) {
        const auto address = IpAddress::parse(ip_node.Scalar());
        if (!address) {
          fail(ip_node, join(path, "ips"),
               "'" + ip_node.Scalar() + "' is not an address (expected one IPv4 or IPv6 address, no CIDR)");
          continue;
        }
        auto [it, fresh] = ip_owner.emplace(*address, vm.name);
        if (!fresh) {
          fail(ip_node, join(path, "ips"), "duplicate address " + ip_node.Scalar() + " (already given to '" + it->second + "')");
          continue;
        }
        vm.ips.push_back(*address);
      }
      if (vm.macs.empty() && vm.ips.empty() && (!entry["macs"] || entry["macs"].IsNull()) &&
          (!entry["ips"] || entry["ips"].IsNull())) {
        fail(entry, path, "VM '" + vm.name + "' has neither macs nor ips (expected at least one)");
      }
      auto host = host_index_.emplace(vm.host, static_cast<uint16_t>(host_index_.size()));
      vm.host_index = host.first->second;
      inventory_->vms_.push_back(std::move(vm));
    });
  }

  // vlan (1-4094), vni (0-16777215), mirror-session (0-1023) of a VM or of a MAC entry; each
  // given one replaces the value in `out`.
  void load_segment(const YAML::Node& entry, const std::string& path, MacSegment& out) {
    auto number = [&](const char* key, uint64_t min, uint64_t max, const char* what, uint8_t bit, auto& field) {
      const YAML::Node node = entry[key];
      if (!node || node.IsNull()) return;
      const std::string text = node.IsScalar() ? node.Scalar() : "";
      const bool digits = !text.empty() && text.size() <= 8 && std::all_of(text.begin(), text.end(), ::isdigit);
      const uint64_t value = digits ? std::stoull(text) : 0;
      if (!digits || value < min || value > max) {
        fail(node, join(path, key),
             "'" + text + "' is not valid (expected " + what + ", " + std::to_string(min) + "-" + std::to_string(max) + ")");
        return;
      }
      field = static_cast<std::remove_reference_t<decltype(field)>>(value);
      out.has |= bit;
    };
    number("vlan", 1, 4094, "a VLAN id", MacSegment::kVlan, out.vlan);
    number("vni", 0, 16777215, "a VXLAN/Geneve VNI", MacSegment::kVni, out.vni);
    number("mirror-session", 0, 1023, "an ERSPAN session id", MacSegment::kSession, out.session);
  }

  // macs: ["00:50:56:00:00:11", {mac: "00:50:56:00:00:12", vlan: 20, vni: 5001, mirror-session: 12}]:
  // each MAC's node with its segment (the VM's fields, the entry's own over them).
  std::vector<std::pair<YAML::Node, MacSegment>> mac_entries(const YAML::Node& node, const std::string& path,
                                                             const MacSegment& vm_segment) {
    std::vector<std::pair<YAML::Node, MacSegment>> out;
    if (!node || node.IsNull()) return out;
    if (node.IsScalar()) return {{node, vm_segment}};
    if (!node.IsSequence()) {
      fail(node, path, "expected a list of MAC addresses");
      return out;
    }
    size_t index = 0;
    for (const auto& entry : node) {
      const std::string where = item(path, index++);
      if (entry.IsScalar()) {
        out.emplace_back(entry, vm_segment);
      } else if (entry.IsMap()) {
        check_keys(entry, where, {"mac", "vlan", "vni", "mirror-session"});
        if (!entry["mac"] || !entry["mac"].IsScalar()) {
          fail(entry, join(where, "mac"), "missing (expected the MAC address)");
          continue;
        }
        MacSegment segment = vm_segment;
        load_segment(entry, where, segment);
        out.emplace_back(entry["mac"], segment);
      } else {
        fail(entry, path, "expected a list of MAC addresses (or {mac, vlan, vni, mirror-session})");
      }
    }
    return out;
  }

  void load_management(const YAML::Node& node) {
    each_map(node, "management", "{name, addresses, ports, proto}", [&](const YAML::Node& entry, const std::string& path) {
      check_keys(entry, path, {"name", "addresses", "ports", "proto"});
      ManagementService service;
      if (!scalar(entry["name"], join(path, "name"), service.name) || service.name.empty()) {
        fail(entry, join(path, "name"), "missing (expected the service's name, such as vcenter)");
      }
      std::vector<AddressSet::Range> ranges;
      const auto addresses = scalars(entry["addresses"], join(path, "addresses"), "addresses");
      for (const YAML::Node& address : addresses) {
        const auto range = AddressSet::parse_cidr(address.Scalar());
        if (!range) {
          fail(address, join(path, "addresses"),
               "'" + address.Scalar() + "' is not an address (expected an IPv4/IPv6 address or CIDR)");
          continue;
        }
        ranges.push_back(*range);
      }
      if (addresses.empty()) fail(entry, join(path, "addresses"), "missing (expected at least one address or CIDR)");
      service.addresses = AddressSet::from_ranges(std::move(ranges));
      parse_ports(entry["ports"], join(path, "ports"), service.ports);
      parse_proto(entry["proto"], join(path, "proto"), service.proto);
      inventory_->management_.push_back(std::move(service));
    });
  }

  void build_tables() {
    size_t macs = 0, ips = 0;
    for (const auto& vm : inventory_->vms_) {
      macs += vm.macs.size();
      ips += vm.ips.size();
    }
    auto& mac_table = inventory_->mac_table_;
    auto& ip_table = inventory_->ip_table_;
    if (macs > 0) mac_table.assign(table_size(macs), {});
    if (ips > 0) ip_table.assign(table_size(ips), {});
    for (uint32_t v = 0; v < inventory_->vms_.size(); ++v) {
      const InventoryVm& vm = inventory_->vms_[v];
      for (size_t m = 0; m < vm.macs.size(); ++m) {
        const uint64_t key = vm.macs[m] | (1ull << 48);
        size_t i = mix(key) & (mac_table.size() - 1);
        while (mac_table[i].key != 0) i = (i + 1) & (mac_table.size() - 1);
        mac_table[i] = {key, v, vm.mac_segments[m]};
      }
      for (const IpAddress& address : inventory_->vms_[v].ips) {
        const IpKey key = IpKey::of(address);
        size_t i = mix(key.high ^ mix(key.low)) & (ip_table.size() - 1);
        while (ip_table[i].vm != Inventory::kNotFound) i = (i + 1) & (ip_table.size() - 1);
        ip_table[i] = {key, v};
      }
    }
  }

  std::shared_ptr<Inventory> inventory_ = std::make_shared<Inventory>();
  std::map<std::string, uint16_t> zone_index_;
  std::set<std::string> zone_variables_;
  std::map<std::string, uint16_t> host_index_;
};

tl::expected<std::shared_ptr<const Inventory>, InventoryErrors> parse_inventory(std::string_view text,
                                                                               const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& error) {
    return tl::unexpected(InventoryErrors{file + ":" + std::to_string(error.mark.line + 1) + ": YAML syntax error: " +
                                          error.msg});
  } catch (const YAML::Exception& error) {
    return tl::unexpected(InventoryErrors{file + ": YAML error: " + error.msg});
  }
  InventoryBuilder builder(file);
  std::shared_ptr<const Inventory> inventory;
  try {
    inventory = builder.build(root);
  } catch (const YAML::Exception& error) {
    auto errors = builder.take_errors();
    errors.push_back(file + ": " + error.msg);
    return tl::unexpected(std::move(errors));
  }
  if (!inventory) return tl::unexpected(builder.take_errors());
  return inventory;
}

tl::expected<std::shared_ptr<const Inventory>, InventoryErrors> load_inventory_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(InventoryErrors{path + ": cannot open the inventory file"});
  std::stringstream text;
  text << in.rdbuf();
  return parse_inventory(text.str(), path);
}

}  // namespace eastwatch
