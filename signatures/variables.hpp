// Rule variables: address groups ($HOME_NET, ...) and port groups ($HTTP_PORTS, ...).
//
// Values are kept as the text written in the config (Suricata syntax: "[10.0.0.0/8,!10.1.0.0/16]",
// "any", "$HOME_NET", "!$HOME_NET", "[80,8080:8090]"); resolving a rule header expands them
// recursively. `with_suricata_defaults()` holds Suricata's default suricata.yaml list so that
// real rule sets load without a config.
#pragma once

#include <map>
#include <string>

namespace eastwatch {

struct RuleVariables {
  std::map<std::string, std::string> address_groups;  // name without '$' -> value
  std::map<std::string, std::string> port_groups;

  static RuleVariables with_suricata_defaults();
};

}  // namespace eastwatch
