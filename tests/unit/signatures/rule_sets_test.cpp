// The real rule sets in ../shared/rules: no rule may fail for a parser bug. Every failure must
// be an honest "not implemented yet" (a keyword or header protocol of a later release).
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>

#include "signatures/rule_parser.hpp"

using namespace eastwatch;

TEST_CASE("Emerging Threats Open loads: every failure is an unsupported keyword or protocol") {
  const std::filesystem::path dir = std::filesystem::path(EASTWATCH_SOURCE_DIR) / ".." / "shared" / "rules" / "et-open";
  if (!std::filesystem::exists(dir)) {
    WARN("skipped: " << dir << " is absent");
    return;
  }
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".rules") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::ifstream class_file(dir / "classification.config");
  std::stringstream class_text;
  class_text << class_file.rdbuf();
  const auto classes = ClassificationTable::parse(class_text.str(), "classification.config", nullptr);
  const RuleLoadResult result = load_rule_files(paths, RuleVariables::with_suricata_defaults(), &classes);

  std::map<std::string, int> reasons;
  int unexplained = 0;
  for (const auto& error : result.errors) {
    const bool honest = error.message.rfind("unsupported keyword '", 0) == 0 ||
                        error.message.rfind("unsupported protocol '", 0) == 0;
    if (!honest) {
      ++unexplained;
      UNSCOPED_INFO(error.to_string());
    }
    ++reasons[error.message.substr(0, error.message.find(" ("))];
  }
  WARN("ET Open: " << result.rules.size() << " loaded, " << result.errors.size() << " not yet supported");
  CHECK(unexplained == 0);
  CHECK(result.rules.size() + result.errors.size() > 24000);
  // What loads today (flow, packet keywords, thresholds, sticky buffers, content modifiers,
  // transforms: 99.6%); a regression that stops rules from loading shows here.
  CHECK(result.rules.size() >= 24772);
}

TEST_CASE("ET Open: how many rules load from each file (a regression shows here)") {
  // Update these numbers when a release adds keywords: the failures are "not implemented yet".
  struct Expected {
    const char* file;
    size_t loaded;
    size_t failed;
  };
  static const Expected kExpected[] = {
      {"3coresec.rules", 17, 0},
      {"botcc.portgrouped.rules", 0, 0},
      {"botcc.rules", 12, 0},
      {"ciarmy.rules", 100, 0},
      {"compromised.rules", 9, 0},
      {"drop.rules", 55, 0},
      {"dshield.rules", 1, 0},
      {"emerging-activex.rules", 182, 0},
      {"emerging-adware_pup.rules", 657, 0},
      {"emerging-attack_response.rules", 653, 0},
      {"emerging-chat.rules", 67, 0},
      {"emerging-coinminer.rules", 26, 0},
      {"emerging-current_events.rules", 52, 0},
      {"emerging-deleted.rules", 0, 0},
      {"emerging-dns.rules", 28, 0},
      {"emerging-dos.rules", 58, 0},
      {"emerging-exploit.rules", 1537, 19},
      {"emerging-exploit_kit.rules", 728, 0},
      {"emerging-ftp.rules", 58, 0},
      {"emerging-games.rules", 23, 0},
      {"emerging-hunting.rules", 1145, 9},
      {"emerging-icmp.rules", 0, 0},
      {"emerging-icmp_info.rules", 14, 0},
      {"emerging-imap.rules", 17, 0},
      {"emerging-inappropriate.rules", 0, 0},
      {"emerging-info.rules", 5884, 1},
      {"emerging-ja3.rules", 107, 0},
      {"emerging-misc.rules", 21, 0},
      {"emerging-mobile_malware.rules", 1147, 0},
      {"emerging-netbios.rules", 392, 0},
      {"emerging-p2p.rules", 86, 0},
      {"emerging-phishing.rules", 2685, 0},
      {"emerging-policy.rules", 838, 0},
      {"emerging-pop3.rules", 9, 0},
      {"emerging-rpc.rules", 83, 0},
      {"emerging-scada.rules", 90, 0},
      {"emerging-scan.rules", 284, 1},
      {"emerging-shellcode.rules", 60, 0},
      {"emerging-smtp.rules", 17, 0},
      {"emerging-snmp.rules", 16, 0},
      {"emerging-sql.rules", 191, 0},
      {"emerging-telnet.rules", 8, 0},
      {"emerging-tftp.rules", 13, 0},
      {"emerging-user_agents.rules", 279, 0},
      {"emerging-voip.rules", 16, 0},
      {"emerging-web_client.rules", 499, 0},
      {"emerging-web_server.rules", 643, 0},
      {"emerging-web_specific_apps.rules", 4980, 3},
      {"emerging-worm.rules", 9, 0},
      {"threatview_CS_c2.rules", 15, 0},
      {"tor.rules", 983, 0},
  };
  const std::filesystem::path dir = std::filesystem::path(EASTWATCH_SOURCE_DIR) / ".." / "shared" / "rules" / "et-open";
  if (!std::filesystem::exists(dir)) {
    WARN("skipped: " << dir << " is absent");
    return;
  }
  const auto vars = RuleVariables::with_suricata_defaults();
  size_t total = 0;
  for (const auto& expected : kExpected) {
    INFO(expected.file);
    const auto result = load_rule_files({(dir / expected.file).string()}, vars, nullptr);
    CHECK(result.rules.size() == expected.loaded);
    CHECK(result.errors.size() == expected.failed);
    total += result.rules.size();
  }
  CHECK(total == 24794);
}

TEST_CASE("Snort 3 community rules load: every failure is an unsupported keyword or protocol") {
  const std::filesystem::path file = std::filesystem::path(EASTWATCH_SOURCE_DIR) / ".." / "shared" / "rules" /
                                     "snort3-community" / "snort3-community.rules";
  if (!std::filesystem::exists(file)) {
    WARN("skipped: " << file << " is absent");
    return;
  }
  const auto result = load_rule_files({file.string()}, RuleVariables::with_suricata_defaults(), nullptr);
  int unexplained = 0;
  for (const auto& error : result.errors) {
    if (error.message.rfind("unsupported keyword '", 0) != 0 && error.message.rfind("unsupported protocol '", 0) != 0) {
      ++unexplained;
      UNSCOPED_INFO(error.to_string());
    }
  }
  CHECK(unexplained == 0);
  // Today: every rule but those with keywords of later releases (dce_iface, ssl_state,
  // sip_*, base64_decode, ...); Snort 3's http_uri/http_header/file_data buffers load.
  CHECK(result.rules.size() == 3970);
  CHECK(result.errors.size() == 34);
}

TEST_CASE("the bundled classification.config is the compiled-in table") {
  std::ifstream file(std::string(EASTWATCH_SOURCE_DIR) + "/signatures/rules/classification.config");
  std::stringstream text;
  text << file.rdbuf();
  std::vector<std::string> errors;
  const auto from_file = ClassificationTable::parse(text.str(), "classification.config", &errors);
  CHECK(errors.empty());
  const auto builtin = ClassificationTable::builtin();
  CHECK(from_file.size() == builtin.size());
  REQUIRE(builtin.find("attempted-admin"));
  CHECK(builtin.find("attempted-admin")->description == "Attempted Administrator Privilege Gain");
  CHECK(builtin.find("attempted-admin")->priority == 1);
}

TEST_CASE("the bundled rule pack loads without errors") {
  const auto result = load_rule_files({std::string(EASTWATCH_SOURCE_DIR) + "/signatures/rules/eastwatch.rules"},
                                      RuleVariables::with_suricata_defaults(), nullptr);
  for (const auto& error : result.errors) UNSCOPED_INFO(error.to_string());
  CHECK(result.errors.empty());
  CHECK(result.rules.size() >= 20);
}
