// The mirror encapsulation decoders' settings (Suricata's decoder:, plus Eastwatch's rspan):
// part of Settings (config/settings.hpp), in a header of its own so that sensor/decode needs
// nothing else of the config. Defaults equal config/eastwatch.yaml's.
#pragma once

#include <bitset>
#include <cstdint>
#include <vector>

namespace eastwatch {

struct DecoderSettings {
  bool vxlan_enabled = true;
  std::vector<uint16_t> vxlan_ports{4789};  // UDP destination ports (at most 4, as Suricata)
  bool geneve_enabled = true;
  std::vector<uint16_t> geneve_ports{6081};
  bool erspan_type1_enabled = false;  // GRE 0x88BE without a sequence number (Suricata's typeI)
  std::bitset<4096> rspan_vlans;      // VLAN ids whose frames are RSPAN copies: the tag is removed
};

}  // namespace eastwatch
