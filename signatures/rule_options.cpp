// Rule options, with Suricata 7's semantics and validation. Options are split at unescaped
// ';' (Suricata does not treat quotes specially when splitting), each `name[:value]`.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include "signatures/detail/asn1_option.hpp"
#include "signatures/detail/buffer_options.hpp"
#include "signatures/detail/byte_options.hpp"
#include "signatures/detail/option_parser.hpp"
#include "signatures/detail/option_syntax.hpp"
#include "signatures/detail/packet_options.hpp"
#include "signatures/detail/tag_option.hpp"
#include "signatures/detail/text.hpp"
#include "signatures/transforms.hpp"

namespace eastwatch::detail {

namespace {

// Snort 3's syntax, decided per rule: `service:`, a content with Snort 3's comma sub-options,
// `http_header:field ...`, or an HTTP buffer keyword (http_uri; ...) before any content, which
// Snort 2 and Suricata would reject as a modifier without a content.
bool is_snort3_syntax(const std::vector<RawOption>& options) {
  bool seen_content = false;
  for (const auto& option : options) {
    if (option.name == "service" || (option.name == "http_header" && option.has_value)) return true;
    if (option.name == "content" || option.name == "uricontent") {
      if (!option.value.empty() && option.value.back() != '"') return true;
      seen_content = true;
    } else if (!seen_content && option.name != "pkt_data" && option.name != "file_data" &&
               snort3_buffer_kind(option.name)) {
      return true;
    }
  }
  return false;
}

class OptionParser {
 public:
  OptionParser(const ClassificationTable* classifications, Rule& rule) : classifications_(classifications), rule_(rule) {}

  tl::expected<void, std::string> parse(std::string_view text) {
    auto options = split_options(text);
    if (!options) return tl::unexpected(options.error());
    bool have_sid = false;
    snort3_ = is_snort3_syntax(*options);
    for (const auto& option : *options) {
      auto result = apply(option, have_sid);
      if (!result) return result;
    }
    if (!have_sid) return tl::unexpected(std::string("rule has no sid"));
    if (auto ended = end_sticky_buffer("the end of the rule"); !ended) return ended;
    for (BufferSection& section : rule_.sections) {
      std::stable_partition(section.steps.begin(), section.steps.end(),
                            [](const ChainStep& step) { return step.kind != ChainStep::Kind::Asn1; });
    }
    // A payload section emptied by content modifiers (every content moved to a buffer) goes.
    std::erase_if(rule_.sections, [](const BufferSection& section) {
      return section.kind == BufferKind::Payload && section.steps.empty();
    });
    for (const BufferSection& section : rule_.sections) {
      if (auto fits = check_bsize(section); !fits) return fits;
      if (auto valid = check_buffer_section(section); !valid) return valid;
    }
    if (explicit_priority_) rule_.priority = *explicit_priority_;
    return {};
  }

 private:
  using Result = tl::expected<void, std::string>;

  Result apply(const RawOption& option, bool& have_sid) {
    const std::string_view name = option.name;
    if (name == "msg") {
      auto text = unquote(option.value, "msg");
      if (!text) return tl::unexpected(text.error());
      rule_.msg = std::move(*text);
      return {};
    }
    if (name == "sid" || name == "rev" || name == "gid" || name == "priority") {
      if (!option.has_value) return tl::unexpected(std::string(name) + ": missing value");
      const int64_t min = name == "rev" ? 0 : 1;
      const int64_t max = name == "priority" ? 255 : 4294967295;
      auto number = parse_integer(option.value, name, min, max);
      if (!number) return tl::unexpected(number.error());
      if (name == "sid") {
        if (have_sid) return tl::unexpected(std::string("sid: duplicate sid option"));
        have_sid = true;
        rule_.sid = static_cast<uint32_t>(*number);
      } else if (name == "rev") {
        rule_.rev = static_cast<uint32_t>(*number);
      } else if (name == "gid") {
        rule_.gid = static_cast<uint32_t>(*number);
      } else {
        explicit_priority_ = static_cast<int>(*number);
      }
      return {};
    }
    if (name == "classtype") return apply_classtype(option.value);
    if (name == "reference") {
      const size_t comma = option.value.find(',');
      if (comma == std::string_view::npos) {
        return tl::unexpected("reference: expected 'system,id', got '" + std::string(option.value) + "'");
      }
      rule_.references.push_back(
          RuleReference{std::string(trim(option.value.substr(0, comma))), std::string(trim(option.value.substr(comma + 1)))});
      return {};
    }
    if (name == "metadata") {
      std::string_view rest = option.value;
      while (!rest.empty()) {
        const size_t comma = rest.find(',');
        const auto entry = trim(rest.substr(0, comma));
        if (!entry.empty()) rule_.metadata.emplace_back(entry);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      return {};
    }
    if (auto buffer = apply_buffer_option(option); buffer) return *buffer;
    if (name == "content") return apply_content(option);
    if (name == "pcre") return apply_pcre(option);
    if (name == "isdataat") return apply_isdataat(option);
    if (name == "byte_test") {
      BufferSection& section = current_section();
      auto test = parse_byte_test(option.value, section);
      if (!test) return tl::unexpected(test.error());
      section.steps.push_back(ChainStep{ChainStep::Kind::ByteTest, static_cast<uint16_t>(section.byte_tests.size())});
      section.byte_tests.push_back(*test);
      return {};
    }
    if (name == "asn1") {
      // Suricata runs asn1 on the packet payload whatever sticky buffer is set, after the payload
      // inspection (finish() moves its step to the end of the payload section).
      auto asn1 = parse_asn1(option.value);
      if (!asn1) return tl::unexpected(asn1.error());
      BufferSection& section = rule_.sections[section_of(BufferKind::Payload, true)];
      section.steps.push_back(ChainStep{ChainStep::Kind::Asn1, static_cast<uint16_t>(section.asn1s.size())});
      section.asn1s.push_back(*asn1);
      return {};
    }
    if (name == "byte_jump") {
      BufferSection& section = current_section();
      auto jump = parse_byte_jump(option.value, section);
      if (!jump) return tl::unexpected(jump.error());
      section.steps.push_back(ChainStep{ChainStep::Kind::ByteJump, static_cast<uint16_t>(section.byte_jumps.size())});
      section.byte_jumps.push_back(*jump);
      return {};
    }
    if (name == "byte_extract" || name == "byte_math" || name == "bsize") return apply_byte_variable(option);
    if (name == "service") return apply_service(option.value);
    if (name == "app-layer-protocol") return apply_app_layer_protocol(option.value);
    if (name == "target") {
      if (option.value == "src_ip") {
        rule_.target = Rule::Target::SrcIp;
      } else if (option.value == "dest_ip") {
        rule_.target = Rule::Target::DestIp;
      } else {
        return tl::unexpected("target: invalid value '" + std::string(option.value) + "' (expected src_ip or dest_ip)");
      }
      return {};
    }
    if (name == "noalert") {
      rule_.noalert = true;
      return {};
    }
    if (name == "tag") {
      auto tag = parse_tag_option(option.value);
      if (!tag) return tl::unexpected(tag.error());
      rule_.tags.push_back(*tag);
      return {};
    }
    if (name == "flowbits") {
      if (!option.has_value) return tl::unexpected(std::string("flowbits: missing value"));
      auto flowbits = parse_flowbits_option(option.value, rule_.flowbits, rule_.noalert);
      if (!flowbits) return tl::unexpected(flowbits.error());
      return {};
    }
    if (name == "ftpbounce") {  // Suricata: no value (SIGMATCH_NOOPT)
      if (option.has_value) return tl::unexpected(std::string("ftpbounce: takes no value"));
      if (rule_.protocol != RuleProtocol::Tcp) return tl::unexpected(std::string("ftpbounce: needs a tcp rule"));
      rule_.ftpbounce = true;
      return {};
    }
    if (name == "xbits") {
      if (!option.has_value) return tl::unexpected(std::string("xbits: missing value"));
      auto xbits = parse_xbits_option(option.value);
      if (!xbits) return tl::unexpected(xbits.error());
      rule_.xbits.push_back(std::move(*xbits));
      return {};
    }
    auto packet = parse_packet_option(name, option.value, option.has_value, rule_.packet, &rule_.threshold);
    if (!packet) return tl::unexpected(packet.error());
    if (*packet) return {};
    if (name == "nocase" || name == "rawbytes" || name == "fast_pattern" || name == "offset" || name == "depth" ||
        name == "distance" || name == "within" || name == "startswith" || name == "endswith") {
      return apply_modifier(option);
    }
    if (name == "raw_data") {
      return tl::unexpected(std::string("raw_data: a Snort 3 buffer keyword, only in a Snort 3 rule (before its "
                                        "content, or with service:); Suricata has no raw_data (use pkt_data)"));
    }
    if (known_unsupported(name)) {
      return tl::unexpected("unsupported keyword '" + std::string(name) + "' (not implemented yet)");
    }
    return tl::unexpected("unknown rule option '" + std::string(name) + "'");
  }

  // byte_extract and byte_math (a new variable of the section) and bsize.
  Result apply_byte_variable(const RawOption& option) {
    BufferSection& section = current_section();
    const auto step = [&](ChainStep::Kind kind, size_t index) {
      section.steps.push_back(ChainStep{kind, static_cast<uint16_t>(index)});
    };
    if (option.name == "bsize") {
      auto bsize = parse_bsize(option.value);
      if (!bsize) return tl::unexpected(bsize.error());
      step(ChainStep::Kind::Bsize, section.bsizes.size());
      section.bsizes.push_back(*bsize);
      return {};
    }
    if (option.name == "byte_extract") {
      auto extract = parse_byte_extract(option.value, section);
      if (!extract) return tl::unexpected(extract.error());
      step(ChainStep::Kind::ByteExtract, section.byte_extracts.size());
      section.byte_extracts.push_back(std::move(*extract));
    } else {
      auto math = parse_byte_math(option.value, section);
      if (!math) return tl::unexpected(math.error());
      step(ChainStep::Kind::ByteMath, section.byte_maths.size());
      section.byte_maths.push_back(std::move(*math));
    }
    ++section.variables;
    return {};
  }

  // Snort 3 `service:http,ssl,...`: services Eastwatch identifies map to their protocol; the
  // others (imap, sunrpc, ...) are kept as never identified (the header's ports decide).
  Result apply_service(std::string_view value) {
    if (value.empty()) return tl::unexpected(std::string("service: missing value"));
    while (!value.empty()) {
      const size_t comma = value.find(',');
      const std::string_view name = trim(value.substr(0, comma));
      if (name.empty()) return tl::unexpected(std::string("service: empty service name"));
      const auto proto = app_proto_from_rule_name(name);
      rule_.services.push_back(proto ? static_cast<uint8_t>(*proto) : Rule::kUnidentifiedService);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
    return {};
  }

  // Suricata `app-layer-protocol:[!]name`; `failed` and `unknown` as in Suricata.
  Result apply_app_layer_protocol(std::string_view value) {
    Rule::AppLayerProtocolTest test;
    if (!value.empty() && value.front() == '!') {
      test.negated = true;
      value = trim(value.substr(1));
    }
    const std::string_view name = trim(value.substr(0, value.find(',')));
    if (name == "failed") {
      test.proto = AppProto::Failed;
    } else if (name == "unknown") {
      test.proto = AppProto::Unknown;
    } else if (auto proto = app_proto_from_rule_name(name)) {
      test.proto = *proto;
    } else {
      return tl::unexpected("unsupported keyword 'app-layer-protocol:" + std::string(name) +
                            "' (not implemented yet: Eastwatch detects http, tls, ssh, smb, dns, ftp and smtp)");
    }
    if (rule_.app_layer_protocol) return tl::unexpected(std::string("app-layer-protocol: used twice in one rule"));
    rule_.app_layer_protocol = test;
    return {};
  }

  Result apply_classtype(std::string_view value) {
    if (value.empty()) return tl::unexpected(std::string("classtype: missing value"));
    rule_.classtype = std::string(value);
    if (classifications_ == nullptr) return {};
    const Classification* found = classifications_->find(value);
    if (found == nullptr) return tl::unexpected("unknown classtype '" + std::string(value) + "'");
    rule_.category = found->description;
    rule_.priority = found->priority;
    return {};
  }

  Result apply_content(const RawOption& option) {
    std::string_view value = option.value;
    ContentOption content;
    if (!value.empty() && value.front() == '!') {
      content.negated = true;
      value = trim(value.substr(1));
    }
    // Snort 3 writes the modifiers after the string: content:"abc",depth 5,nocase;
    std::string_view snort3_modifiers;
    if (!value.empty() && value.front() == '"' && value.back() != '"') {
      size_t close = 1;
      while (close < value.size() && !(value[close] == '"' && value[close - 1] != '\\')) ++close;
      if (close < value.size() && trim(value.substr(close + 1)).substr(0, 1) == ",") {
        snort3_modifiers = trim(value.substr(close + 1)).substr(1);
        value = value.substr(0, close + 1);
      }
    }
    if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
      return tl::unexpected(std::string("content: expected a quoted string"));
    }
    auto bytes = decode_content(value.substr(1, value.size() - 2));
    if (!bytes) return tl::unexpected("content: " + bytes.error());
    if (bytes->empty()) return tl::unexpected(std::string("content: empty pattern"));
    content.pattern = std::move(*bytes);
    BufferSection& section = current_section();
    section.steps.push_back(ChainStep{ChainStep::Kind::Content, static_cast<uint16_t>(section.contents.size())});
    section.contents.push_back(std::move(content));
    last_content_ = LastContent{static_cast<int>(&section - rule_.sections.data()), section.contents.size() - 1};
    return apply_snort3_modifiers(snort3_modifiers);
  }

  // Snort 3 sub-options of content: nocase, offset N, depth N, distance N, within N,
  // fast_pattern, fast_pattern_offset N, fast_pattern_length N. Each maps to its Snort 2 /
  // Suricata modifier, with the same validation.
  Result apply_snort3_modifiers(std::string_view modifiers) {
    std::optional<uint16_t> fp_offset;
    std::optional<uint16_t> fp_length;
    while (!modifiers.empty()) {
      const size_t comma = modifiers.find(',');
      const std::string_view item = trim(modifiers.substr(0, comma));
      modifiers = comma == std::string_view::npos ? std::string_view{} : modifiers.substr(comma + 1);
      if (item.empty()) continue;
      const size_t space = item.find_first_of(" \t");
      RawOption sub;
      sub.name = item.substr(0, space);
      if (space != std::string_view::npos) {
        sub.value = trim(item.substr(space));
        sub.has_value = true;
      }
      if (sub.name == "fast_pattern_offset" || sub.name == "fast_pattern_length") {
        auto number = parse_integer(sub.value, sub.name, 0, 65535);
        if (!number) return tl::unexpected(number.error());
        (sub.name == "fast_pattern_offset" ? fp_offset : fp_length) = static_cast<uint16_t>(*number);
        continue;
      }
      if (sub.name != "nocase" && sub.name != "offset" && sub.name != "depth" && sub.name != "distance" &&
          sub.name != "within" && sub.name != "fast_pattern") {
        return tl::unexpected("content: unknown sub-option '" + std::string(item) +
                              "' (expected nocase, offset, depth, distance, within, fast_pattern, "
                              "fast_pattern_offset, fast_pattern_length)");
      }
      if (auto applied = apply_modifier(sub); !applied) return applied;
    }
    if (fp_offset || fp_length) {
      ContentOption& content = *last_content();
      const auto length = static_cast<uint16_t>(content.pattern.size());
      const uint16_t offset = fp_offset.value_or(0);
      const uint16_t chop = fp_length.value_or(static_cast<uint16_t>(length > offset ? length - offset : 0));
      if (offset + chop > length || chop == 0) {
        return tl::unexpected(std::string("content: fast_pattern_offset/length go past the end of the content"));
      }
      content.fast_pattern = true;
      content.fast_pattern_offset = offset;
      content.fast_pattern_length = chop;
    }
    return {};
  }

  // The section that payload keywords (content, pcre, byte_*, ...) join: the sticky buffer's,
  // else the payload section.
  BufferSection& current_section() {
    return rule_.sections[current_ >= 0 ? static_cast<size_t>(current_) : section_of(BufferKind::Payload, true)];
  }

  ContentOption* last_content() {
    if (last_content_.section < 0) return nullptr;
    return &rule_.sections[static_cast<size_t>(last_content_.section)].contents[last_content_.index];
  }

  // The section options of `kind` go to: with `reuse`, the existing one without transforms
  // (Suricata continues a buffer named a second time), else a new one.
  size_t section_of(BufferKind kind, bool reuse) {
    for (size_t i = 0; reuse && i < rule_.sections.size(); ++i) {
      if (rule_.sections[i].kind == kind && rule_.sections[i].transforms.empty()) return i;
    }
    rule_.sections.push_back(BufferSection{});
    rule_.sections.back().kind = kind;
    return rule_.sections.size() - 1;
  }

  // Sticky buffers, content modifiers, transforms, uricontent, urilen and the app-layer value
  // keywords; nullopt when `option` is none of them.
  std::optional<Result> apply_buffer_option(const RawOption& option) {
    const std::string_view name = option.name;
    if (snort3_) {
      if (name == "http_header" && option.has_value) {
        auto kind = snort3_header_field(option.value);
        if (!kind) return Result(tl::unexpected(kind.error()));
        return select_buffer(*kind, name);
      }
      if (auto kind = snort3_buffer_kind(name)) {
        if (option.has_value) {
          return fail("unsupported keyword '" + std::string(name) + ":" + std::string(option.value) +
                      "' (not implemented yet: Snort 3's parts of a buffer)");
        }
        return select_buffer(*kind, name);
      }
    }
    if (auto kind = sticky_buffer_kind(name)) {
      if (option.has_value) return fail(std::string(name) + ": takes no value");
      return select_buffer(*kind, name);
    }
    if (auto kind = content_modifier_kind(name)) return move_content(*kind, name, option.has_value);
    if (auto transform = parse_transform(name, option.value, option.has_value)) {
      if (!*transform) return fail(transform->error());
      return add_transform(std::move(**transform));
    }
    if (name == "uricontent") {
      // content + http_uri, as Suricata.
      if (auto sticky = check_no_sticky(name, BufferKind::HttpUri); !sticky) return sticky;
      if (auto content = apply_content(option); !content) return content;
      return move_content(BufferKind::HttpUri, name, false);
    }
    if (name == "urilen") {
      auto urilen = parse_urilen(option.value);
      if (!urilen) return fail(urilen.error());
      const BufferKind kind = urilen->raw ? BufferKind::HttpUriRaw : BufferKind::HttpUri;
      if (auto proto = use_app_proto(kind, name); !proto) return proto;
      BufferSection& section = rule_.sections[section_of(kind, true)];
      section.steps.push_back(ChainStep{ChainStep::Kind::Bsize, static_cast<uint16_t>(section.bsizes.size())});
      section.bsizes.push_back(urilen->length);
      return Result{};
    }
    if (name == "bufferlen") {  // Snort 3: the current buffer's length, as bsize
      if (option.value.find("relative") != std::string_view::npos) {
        return fail(std::string("unsupported keyword 'bufferlen:relative' (not implemented yet)"));
      }
      auto length = parse_bufferlen(option.value);
      if (!length) return fail(length.error());
      BufferSection& section = current_section();
      section.steps.push_back(ChainStep{ChainStep::Kind::Bsize, static_cast<uint16_t>(section.bsizes.size())});
      section.bsizes.push_back(*length);
      return Result{};
    }
    if (name == "dns.opcode") {
      auto opcode = parse_dns_opcode(option.value);
      if (!opcode) return fail(opcode.error());
      if (rule_.dns_opcode) return fail(std::string("dns.opcode: used twice in one rule"));
      if (auto proto = require_app_proto(AppProto::Dns, name); !proto) return proto;
      rule_.dns_opcode = *opcode;
      return Result{};
    }
    if (name == "tls.version") {
      auto version = parse_tls_version(option.value);
      if (!version) return fail(version.error());
      if (auto proto = require_app_proto(AppProto::Tls, name); !proto) return proto;
      rule_.tls_versions.push_back(*version);
      return Result{};
    }
    return std::nullopt;
  }

  static Result fail(std::string message) { return tl::unexpected(std::move(message)); }

  Result select_buffer(BufferKind kind, std::string_view keyword) {
    if (auto ended = end_sticky_buffer("'" + std::string(keyword) + "'"); !ended) return ended;
    if (auto proto = use_app_proto(kind, keyword); !proto) return proto;
    if (kind == BufferKind::Payload) {  // pkt_data: back to the payload, no sticky buffer set
      sticky_ = false;
      current_ = -1;
      return {};
    }
    current_ = static_cast<int>(section_of(kind, !buffer_is_multi_instance(kind)));
    sticky_ = true;
    return {};
  }

  // Suricata: a sticky buffer (or its transforms) that no option follows is a load error.
  Result end_sticky_buffer(const std::string& next) {
    if (!sticky_ || !rule_.sections[static_cast<size_t>(current_)].steps.empty()) return {};
    const BufferSection& section = rule_.sections[static_cast<size_t>(current_)];
    return fail("'" + std::string(buffer_kind_name(section.kind)) + "'" +
                (section.transforms.empty() ? "" : " and its transforms") +
                " must be followed by content or another inspecting option before " + next);
  }

  Result check_no_sticky(std::string_view keyword, BufferKind kind) {
    if (!sticky_) return {};
    return fail("'" + std::string(keyword) + "' modifies the preceding content, but the sticky buffer '" +
                std::string(buffer_kind_name(rule_.sections[static_cast<size_t>(current_)].kind)) +
                "' is still set (reset it with pkt_data first, or use '" + std::string(buffer_kind_name(kind)) + ";')");
  }

  // The rule's app-layer protocol follows from its buffers: set when Unknown, an error when
  // another one is set already (Suricata: conflicting alprotos).
  Result use_app_proto(BufferKind kind, std::string_view keyword) {
    if (kind != BufferKind::FileData) return require_app_proto(buffer_app_proto(kind), keyword);
    const AppProto proto = rule_.app_proto;
    if (proto == AppProto::Dns || proto == AppProto::Tls || proto == AppProto::Ssh) {
      return fail("'" + std::string(keyword) + "' cannot be used with protocol '" + std::string(app_proto_name(proto)) +
                  "' (it carries no files)");
    }
    return {};
  }

  Result require_app_proto(AppProto proto, std::string_view keyword) {
    if (proto == AppProto::Unknown || rule_.app_proto == proto) return {};
    if (rule_.app_proto == AppProto::Unknown) {
      rule_.app_proto = proto;
      return {};
    }
    return fail("'" + std::string(keyword) + "' inspects " + std::string(app_proto_name(proto)) +
                " but the rule's protocol is " + std::string(app_proto_name(rule_.app_proto)) +
                " (conflicting app-layer protocols)");
  }

  // A content modifier (http_uri, ...): the payload section's last content moves to `kind`'s
  // section, where relative modifiers chain to the previous content or pcre of that buffer.
  Result move_content(BufferKind kind, std::string_view keyword, bool has_value) {
    const std::string name(keyword);
    if (has_value) return fail(name + ": takes no value");
    if (auto sticky = check_no_sticky(keyword, kind); !sticky) return sticky;
    const size_t from = section_of(BufferKind::Payload, true);
    if (rule_.sections[from].contents.empty()) return fail(name + " needs a preceding content option");
    {
      const ContentOption& content = rule_.sections[from].contents.back();
      if (content.rawbytes) return fail(name + ": cannot be used on a rawbytes content");
      if (content.offset_var >= 0 || content.depth_var >= 0 || content.distance_var >= 0 || content.within_var >= 0) {
        return fail(name + ": the content uses a byte_extract/byte_math variable of the payload; it cannot move to " +
                    std::string(buffer_kind_name(kind)));
      }
    }
    if (auto proto = use_app_proto(kind, keyword); !proto) return proto;
    ContentOption content = std::move(rule_.sections[from].contents.back());
    rule_.sections[from].contents.pop_back();
    const auto index = static_cast<uint16_t>(rule_.sections[from].contents.size());
    std::erase_if(rule_.sections[from].steps, [&](const ChainStep& step) {
      return step.kind == ChainStep::Kind::Content && step.index == index;
    });
    const size_t to = section_of(kind, true);
    BufferSection& target = rule_.sections[to];
    target.steps.push_back(ChainStep{ChainStep::Kind::Content, static_cast<uint16_t>(target.contents.size())});
    target.contents.push_back(std::move(content));
    last_content_ = LastContent{static_cast<int>(to), target.contents.size() - 1};
    return {};
  }

  Result add_transform(Transform transform) {
    const std::string name(transform_name(transform.kind));
    if (!sticky_) return fail(name + ": a transform must follow a sticky buffer (e.g. 'http.uri; " + name + ";')");
    if (!rule_.sections[static_cast<size_t>(current_)].steps.empty()) {
      // Suricata: the options after it inspect a new instance of the buffer, with the
      // transforms from here on only.
      const BufferKind kind = rule_.sections[static_cast<size_t>(current_)].kind;
      current_ = static_cast<int>(section_of(kind, false));
    }
    auto& transforms = rule_.sections[static_cast<size_t>(current_)].transforms;
    if (transforms.size() >= kMaxTransforms) {
      return fail(name + ": more than " + std::to_string(kMaxTransforms) + " transforms on one buffer");
    }
    transforms.push_back(std::move(transform));
    return {};
  }

  // pcre:[!]"/regex/flags"
  Result apply_pcre(const RawOption& option) {
    std::string_view value = option.value;
    PcreOption pcre;
    if (!value.empty() && value.front() == '!') {
      pcre.negated = true;
      value = trim(value.substr(1));
    }
    if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
      return tl::unexpected(std::string("pcre: expected a quoted \"/regex/flags\""));
    }
    value = value.substr(1, value.size() - 2);
    pcre.source = std::string(value);
    const size_t open = value.find('/');
    const size_t close = value.rfind('/');
    if (open != 0 || close == std::string_view::npos || close == 0) {
      return tl::unexpected("pcre: expected /regex/flags, got '" + std::string(value) + "'");
    }
    const std::string_view regex = value.substr(1, close - 1);
    uint32_t options = 0;
    std::optional<BufferKind> flag_kind;  // a buffer flag (U, H, ...): the buffer it inspects
    bool rawbytes = false;
    for (char flag : value.substr(close + 1)) {
      switch (flag) {
        case 'i': options |= PCRE2_CASELESS; break;
        case 's': options |= PCRE2_DOTALL; break;
        case 'm': options |= PCRE2_MULTILINE; break;
        case 'x': options |= PCRE2_EXTENDED; break;
        case 'A': options |= PCRE2_ANCHORED; break;
        case 'E': options |= PCRE2_DOLLAR_ENDONLY; break;
        case 'G': options |= PCRE2_UNGREEDY; break;
        case 'R': pcre.relative = true; break;
        case 'O': break;
        case 'B':
          if (flag_kind) return fail(std::string("pcre: flag 'B' cannot be combined with a buffer flag"));
          rawbytes = true;
          break;
        case 'K':
          return fail(std::string("unsupported keyword 'pcre/K' (not implemented yet: no raw cookie buffer)"));
        default: {
          const auto kind = pcre_flag_kind(flag);
          if (!kind) {
            return fail("pcre: unknown flag '" + std::string(1, flag) +
                        "' (expected i s m x A E G R B O or a buffer: U I P Q H D M C S Y V W Z)");
          }
          if (rawbytes) return fail("pcre: flag '" + std::string(1, flag) + "' cannot be combined with 'B'");
          if (flag_kind && *flag_kind != *kind) {
            return fail(std::string("pcre: two buffer flags name different buffers (only one of U I P Q H D M C S Y V W Z)"));
          }
          flag_kind = kind;
        }
      }
    }
    if (flag_kind == BufferKind::HttpHost && (options & PCRE2_CASELESS) == 0 && regex_has_upper_case(regex)) {
      return fail(std::string("pcre: /W inspects the host, which is lower case, but the regex has an upper-case letter "
                              "(write it in lower case or add /i)"));
    }
    auto compiled = Regex::compile(regex, options);
    if (!compiled) return tl::unexpected("pcre: invalid regular expression: " + compiled.error());
    pcre.regex = std::move(*compiled);
    pcre.expression = std::string(regex);
    pcre.options = options;
    size_t section_index = 0;
    if (flag_kind && sticky_) {
      const BufferKind current = rule_.sections[static_cast<size_t>(current_)].kind;
      // Suricata keeps http.response_body in the file_data list that /Q names.
      if (*flag_kind != current && !(*flag_kind == BufferKind::FileData && current == BufferKind::HttpResponseBody)) {
        return fail("pcre: its flag names '" + std::string(buffer_kind_name(*flag_kind)) + "' but the sticky buffer '" +
                    std::string(buffer_kind_name(current)) + "' is set (reset it with pkt_data or use that buffer)");
      }
    }
    if (flag_kind && !sticky_) {
      if (auto proto = use_app_proto(*flag_kind, "pcre"); !proto) return proto;
      section_index = section_of(*flag_kind, true);
    } else {
      const BufferSection& current = current_section();  // may add the payload section: before data()
      section_index = static_cast<size_t>(&current - rule_.sections.data());
    }
    BufferSection& section = rule_.sections[section_index];
    section.steps.push_back(ChainStep{ChainStep::Kind::Pcre, static_cast<uint16_t>(section.pcres.size())});
    section.pcres.push_back(std::move(pcre));
    return {};
  }

  // isdataat:[!]N[,relative]
  Result apply_isdataat(const RawOption& option) {
    std::string_view value = option.value;
    IsDataAtOption isdataat;
    if (!value.empty() && value.front() == '!') {
      isdataat.negated = true;
      value = trim(value.substr(1));
    }
    const size_t comma = value.find(',');
    BufferSection& section = current_section();
    const std::string_view offset = trim(value.substr(0, comma));
    if (is_variable_name(offset)) {
      const auto slot = find_byte_variable(section, offset);
      if (!slot) return tl::unexpected("isdataat: unknown byte_extract/byte_math variable '" + std::string(offset) + "'");
      isdataat.offset_var = static_cast<int8_t>(*slot);
    } else {
      auto number = parse_integer(offset, "isdataat", 0, 65535);
      if (!number) return tl::unexpected(number.error());
      isdataat.offset = static_cast<uint32_t>(*number);
    }
    if (comma != std::string_view::npos) {
      const std::string_view modifier = trim(value.substr(comma + 1));
      if (modifier == "relative") {
        isdataat.relative = true;
      } else if (modifier != "rawbytes") {
        return tl::unexpected("isdataat: unknown modifier '" + std::string(modifier) + "' (expected relative)");
      }
    }
    section.steps.push_back(ChainStep{ChainStep::Kind::IsDataAt, static_cast<uint16_t>(section.isdataats.size())});
    section.isdataats.push_back(isdataat);
    return {};
  }

  Result apply_modifier(const RawOption& option) {
    const std::string name(option.name);
    if (last_content() == nullptr) return tl::unexpected(name + " needs a preceding content option");
    ContentOption& content = *last_content();
    const int32_t length = static_cast<int32_t>(content.pattern.size());
    if (name == "nocase") {
      if (content.nocase) return tl::unexpected(std::string("nocase: used twice on the same content"));
      content.nocase = true;
      return {};
    }
    if (name == "rawbytes") {
      content.rawbytes = true;
      return {};
    }
    if (name == "startswith") {
      // Suricata turns startswith into offset 0, depth = the content length.
      if (content.startswith) return tl::unexpected(std::string("startswith: used twice on the same content"));
      if (content.offset || content.depth || content.is_relative()) {
        return tl::unexpected(std::string("startswith: cannot be combined with offset, depth, distance or within"));
      }
      content.startswith = true;
      content.offset = 0;
      content.depth = length;
      return {};
    }
    if (name == "endswith") {
      if (content.endswith) return tl::unexpected(std::string("endswith: used twice on the same content"));
      content.endswith = true;
      return {};
    }
    if (name == "fast_pattern") return apply_fast_pattern(option, content);
    if (!option.has_value) return tl::unexpected(name + ": missing value");
    // A byte_extract/byte_math variable of this section in place of the number.
    int8_t var = -1;
    if (is_variable_name(option.value)) {
      const auto slot = find_byte_variable(rule_.sections[static_cast<size_t>(last_content_.section)], option.value);
      if (!slot) return tl::unexpected(name + ": unknown byte_extract/byte_math variable '" + std::string(option.value) + "'");
      var = static_cast<int8_t>(*slot);
    }
    auto number = var >= 0 ? tl::expected<int64_t, std::string>(0)
                           : parse_integer(option.value, name, name == "distance" ? -65535 : 0, 65535);
    if (!number) return tl::unexpected(number.error());
    const auto value = static_cast<int32_t>(*number);
    const bool absolute = name == "offset" || name == "depth";
    if (content.startswith) {
      return tl::unexpected(name + ": cannot be combined with startswith (it already fixes offset and depth)");
    }
    if (absolute ? content.is_relative() : (content.offset || content.depth)) {
      return tl::unexpected(name +
                            ": cannot mix relative (distance, within) and absolute (offset, depth) modifiers on one content");
    }
    if (name == "offset") {
      if (content.offset) return tl::unexpected(std::string("offset: used twice on the same content"));
      content.offset = value;
      content.offset_var = var;
    } else if (name == "depth") {
      if (content.depth) return tl::unexpected(std::string("depth: used twice on the same content"));
      if (var < 0 && value < length) {
        return tl::unexpected("depth: " + std::to_string(value) + " is smaller than the content length " +
                              std::to_string(length) + " (it could never match)");
      }
      content.depth = value;
      content.depth_var = var;
    } else if (name == "distance") {
      if (content.distance) return tl::unexpected(std::string("distance: used twice on the same content"));
      content.distance = value;
      content.distance_var = var;
    } else {
      if (content.within) return tl::unexpected(std::string("within: used twice on the same content"));
      if (var < 0 && value < length) {
        return tl::unexpected("within: " + std::to_string(value) + " is smaller than the content length " +
                              std::to_string(length) + " (it could never match)");
      }
      content.within = value;
      content.within_var = var;
    }
    return {};
  }

  Result apply_fast_pattern(const RawOption& option, ContentOption& content) {
    for (const auto& section : rule_.sections) {
      for (const auto& other : section.contents) {
        if (&other != &content && other.fast_pattern) {
          return tl::unexpected(std::string("fast_pattern: only one content of a rule can be the fast pattern"));
        }
      }
    }
    if (content.fast_pattern) return tl::unexpected(std::string("fast_pattern: used twice on the same content"));
    if (content.negated) return tl::unexpected(std::string("fast_pattern: cannot be used on a negated content"));
    content.fast_pattern = true;
    if (!option.has_value) return {};
    if (option.value == "only") {
      content.fast_pattern_only = true;
      return {};
    }
    const size_t comma = option.value.find(',');
    if (comma == std::string_view::npos) {
      return tl::unexpected("fast_pattern: invalid value '" + std::string(option.value) +
                            "' (expected nothing, 'only' or '<offset>,<length>')");
    }
    auto offset = parse_integer(trim(option.value.substr(0, comma)), "fast_pattern", 0, 65535);
    auto length = parse_integer(trim(option.value.substr(comma + 1)), "fast_pattern", 1, 65535);
    if (!offset) return tl::unexpected(offset.error());
    if (!length) return tl::unexpected(length.error());
    if (*offset + *length > static_cast<int64_t>(content.pattern.size())) {
      return tl::unexpected("fast_pattern: " + std::to_string(*offset) + "," + std::to_string(*length) +
                            " goes past the end of the content (length " + std::to_string(content.pattern.size()) + ")");
    }
    content.fast_pattern_offset = static_cast<uint16_t>(*offset);
    content.fast_pattern_length = static_cast<uint16_t>(*length);
    return {};
  }

  static constexpr size_t kMaxTransforms = 16;  // Suricata's DETECT_TRANSFORMS_MAX
  struct LastContent {
    int section = -1;
    size_t index = 0;
  };

  const ClassificationTable* classifications_;
  Rule& rule_;
  std::optional<int> explicit_priority_;
  bool snort3_ = false;   // the rule is written in Snort 3's syntax
  bool sticky_ = false;   // a sticky buffer is set (pkt_data resets it)
  int current_ = -1;      // the sticky buffer's section; -1: the payload section
  LastContent last_content_;  // where the modifiers (nocase, distance, ...) apply
};

}  // namespace

tl::expected<void, std::string> parse_rule_options(std::string_view options, const ClassificationTable* classifications,
                                                   Rule& rule) {
  return OptionParser(classifications, rule).parse(options);
}

}  // namespace eastwatch::detail
