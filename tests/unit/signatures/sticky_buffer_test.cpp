// Sticky buffers, content modifiers, pcre buffer flags, Snort 3's buffer selectors and
// transforms: the sections the parser builds, with Suricata 7's semantics.
#include <string>

#include <catch2/catch.hpp>

#include "signatures/rule_parser.hpp"

using namespace eastwatch;

namespace {

tl::expected<Rule, RuleError> parse_with(const std::string& header, const std::string& options) {
  static const RuleVariables vars = RuleVariables::with_suricata_defaults();
  return parse_rule(header + " (" + options + " sid:1;)", RuleParseContext{&vars, nullptr, "t.rules", 1});
}

tl::expected<Rule, RuleError> parse(const std::string& options) {
  return parse_with("alert tcp any any -> any any", options);
}

std::string error_of(const std::string& options, const std::string& header = "alert tcp any any -> any any") {
  auto rule = parse_with(header, options);
  return rule ? "(parsed)" : rule.error().message;
}

}  // namespace

TEST_CASE("every sticky buffer keyword starts a section of its kind and sets the protocol") {
  struct Case {
    const char* keyword;
    BufferKind kind;
    AppProto proto;
  };
  static const Case kCases[] = {
      {"http.uri", BufferKind::HttpUri, AppProto::Http},
      {"http.uri.raw", BufferKind::HttpUriRaw, AppProto::Http},
      {"http.method", BufferKind::HttpMethod, AppProto::Http},
      {"http.request_line", BufferKind::HttpRequestLine, AppProto::Http},
      {"http_request_line", BufferKind::HttpRequestLine, AppProto::Http},
      {"http.host", BufferKind::HttpHost, AppProto::Http},
      {"http.host.raw", BufferKind::HttpHostRaw, AppProto::Http},
      {"http.user_agent", BufferKind::HttpUserAgent, AppProto::Http},
      {"http.accept", BufferKind::HttpAccept, AppProto::Http},
      {"http.accept_enc", BufferKind::HttpAcceptEnc, AppProto::Http},
      {"http.accept_lang", BufferKind::HttpAcceptLang, AppProto::Http},
      {"http.referer", BufferKind::HttpReferer, AppProto::Http},
      {"http.connection", BufferKind::HttpConnection, AppProto::Http},
      {"http.request_body", BufferKind::HttpRequestBody, AppProto::Http},
      {"http.protocol", BufferKind::HttpProtocol, AppProto::Http},
      {"http.header", BufferKind::HttpHeader, AppProto::Http},
      {"http.header.raw", BufferKind::HttpHeaderRaw, AppProto::Http},
      {"http.header_names", BufferKind::HttpHeaderNames, AppProto::Http},
      {"http.cookie", BufferKind::HttpCookie, AppProto::Http},
      {"http.content_type", BufferKind::HttpContentType, AppProto::Http},
      {"http.content_len", BufferKind::HttpContentLen, AppProto::Http},
      {"http.start", BufferKind::HttpStart, AppProto::Http},
      {"http.stat_code", BufferKind::HttpStatCode, AppProto::Http},
      {"http.stat_msg", BufferKind::HttpStatMsg, AppProto::Http},
      {"http.response_line", BufferKind::HttpResponseLine, AppProto::Http},
      {"http.server", BufferKind::HttpServer, AppProto::Http},
      {"http.location", BufferKind::HttpLocation, AppProto::Http},
      {"http.response_body", BufferKind::HttpResponseBody, AppProto::Http},
      {"file.data", BufferKind::FileData, AppProto::Unknown},
      {"file_data", BufferKind::FileData, AppProto::Unknown},
      {"dns.query", BufferKind::DnsQuery, AppProto::Dns},
      {"dns_query", BufferKind::DnsQuery, AppProto::Dns},
      {"tls.sni", BufferKind::TlsSni, AppProto::Tls},
      {"tls_sni", BufferKind::TlsSni, AppProto::Tls},
      {"tls.cert_subject", BufferKind::TlsCertSubject, AppProto::Tls},
      {"tls_cert_subject", BufferKind::TlsCertSubject, AppProto::Tls},
      {"tls.cert_issuer", BufferKind::TlsCertIssuer, AppProto::Tls},
      {"tls_cert_issuer", BufferKind::TlsCertIssuer, AppProto::Tls},
      {"tls.cert_serial", BufferKind::TlsCertSerial, AppProto::Tls},
      {"tls_cert_serial", BufferKind::TlsCertSerial, AppProto::Tls},
      {"tls.cert_fingerprint", BufferKind::TlsCertFingerprint, AppProto::Tls},
      {"tls_cert_fingerprint", BufferKind::TlsCertFingerprint, AppProto::Tls},
      {"tls.certs", BufferKind::TlsCerts, AppProto::Tls},
      {"ja3.hash", BufferKind::Ja3Hash, AppProto::Tls},
      {"ja3_hash", BufferKind::Ja3Hash, AppProto::Tls},
      {"ja3.string", BufferKind::Ja3String, AppProto::Tls},
      {"ja3_string", BufferKind::Ja3String, AppProto::Tls},
      {"ja3s.hash", BufferKind::Ja3sHash, AppProto::Tls},
      {"ja3s_hash", BufferKind::Ja3sHash, AppProto::Tls},
      {"ja3s.string", BufferKind::Ja3sString, AppProto::Tls},
      {"ja3s_string", BufferKind::Ja3sString, AppProto::Tls},
  };
  for (const auto& c : kCases) {
    INFO(c.keyword);
    auto rule = parse(std::string(c.keyword) + "; content:\"x\"; isdataat:1,relative;");
    REQUIRE(rule);
    REQUIRE(rule->sections.size() == 1);
    CHECK(rule->sections[0].kind == c.kind);
    CHECK(rule->sections[0].contents.size() == 1);
    CHECK(rule->sections[0].isdataats.size() == 1);
    CHECK(rule->app_proto == c.proto);
  }
}

TEST_CASE("content modifiers move the preceding content, later modifiers apply to it") {
  auto rule = parse(
      R"(content:"GET"; http_method; content:"/a"; http_uri; content:"b"; http_uri; nocase; distance:0; )"
      R"(content:"pay"; content:"Mozilla"; http_user_agent;)");
  REQUIRE(rule);
  CHECK(rule->app_proto == AppProto::Http);
  REQUIRE(rule->sections.size() == 4);
  CHECK(rule->sections[0].kind == BufferKind::Payload);
  REQUIRE(rule->sections[0].contents.size() == 1);
  CHECK(rule->sections[0].contents[0].pattern == "pay");
  REQUIRE(rule->sections[0].steps.size() == 1);
  CHECK(rule->sections[0].steps[0].index == 0);
  CHECK(rule->sections[1].kind == BufferKind::HttpMethod);
  CHECK(rule->sections[1].contents[0].pattern == "GET");
  const BufferSection& uri = rule->sections[2];
  CHECK(uri.kind == BufferKind::HttpUri);
  REQUIRE(uri.contents.size() == 2);
  CHECK(uri.contents[1].pattern == "b");
  CHECK(uri.contents[1].nocase);
  CHECK(uri.contents[1].distance == 0);
  REQUIRE(uri.steps.size() == 2);
  CHECK(uri.steps[1].index == 1);
  CHECK(rule->sections[3].kind == BufferKind::HttpUserAgent);

  // Every content moved: no payload section is left.
  auto moved = parse(R"(content:"a"; http_client_body; content:"b"; http_server_body; content:"c"; http_raw_host;)");
  REQUIRE(moved);
  REQUIRE(moved->sections.size() == 3);
  CHECK(moved->sections[0].kind == BufferKind::HttpRequestBody);
  CHECK(moved->sections[1].kind == BufferKind::HttpResponseBody);
  CHECK(moved->sections[2].kind == BufferKind::HttpHostRaw);

  CHECK(error_of(R"(content:"a"; http_uri; http_header;)") == "http_header needs a preceding content option");
  CHECK(error_of(R"(http.uri; content:"a"; http_header;)") ==
        "'http_header' modifies the preceding content, but the sticky buffer 'http.uri' is still set "
        "(reset it with pkt_data first, or use 'http.header;')");
  CHECK(error_of(R"(content:"a"; rawbytes; http_uri;)") == "http_uri: cannot be used on a rawbytes content");
  // After pkt_data the modifier works again.
  CHECK(parse(R"(http.uri; content:"a"; pkt_data; content:"b"; http_header;)"));
}

TEST_CASE("relative chains stay within a buffer, across other sticky buffers") {
  auto rule = parse(R"(content:"p1"; http.uri; content:"u1"; http.header; content:"h"; )"
                    R"(http.uri; content:"u2"; distance:0; pkt_data; content:"p2"; within:10;)");
  REQUIRE(rule);
  REQUIRE(rule->sections.size() == 3);
  // The same buffer named again continues it (Suricata), so u2 chains to u1 and p2 to p1.
  CHECK(rule->sections[0].kind == BufferKind::Payload);
  REQUIRE(rule->sections[0].contents.size() == 2);
  CHECK(rule->sections[0].contents[1].pattern == "p2");
  CHECK(rule->sections[0].contents[1].within == 10);
  CHECK(rule->sections[1].kind == BufferKind::HttpUri);
  REQUIRE(rule->sections[1].contents.size() == 2);
  CHECK(rule->sections[1].contents[1].is_relative());
  CHECK(rule->sections[2].kind == BufferKind::HttpHeader);

  // dns.query and tls.certs are multi-instance: named again, a new instance.
  auto dns = parse_with("alert dns any any -> any any", R"(dns.query; content:"a"; dns.query; content:"b";)");
  REQUIRE(dns);
  REQUIRE(dns->sections.size() == 2);
  CHECK(dns->sections[1].kind == BufferKind::DnsQuery);
  CHECK(dns->sections[1].contents[0].pattern == "b");
}

TEST_CASE("uricontent and urilen") {
  auto rule = parse(R"(uricontent:"/x.php"; urilen:>5;)");
  REQUIRE(rule);
  REQUIRE(rule->sections.size() == 1);
  const BufferSection& uri = rule->sections[0];
  CHECK(uri.kind == BufferKind::HttpUri);
  CHECK(uri.contents[0].pattern == "/x.php");
  REQUIRE(uri.bsizes.size() == 1);
  CHECK(uri.bsizes[0].op == NumericTest::Op::Greater);
  CHECK(uri.bsizes[0].a == 5);
  CHECK(uri.steps[1].kind == ChainStep::Kind::Bsize);
  CHECK(rule->app_proto == AppProto::Http);

  auto raw = parse("urilen:10<>20,raw;");
  REQUIRE(raw);
  CHECK(raw->sections[0].kind == BufferKind::HttpUriRaw);
  CHECK(raw->sections[0].bsizes[0].op == NumericTest::Op::Between);
  CHECK_FALSE(raw->sections[0].bsizes[0].matches(10));  // Suricata's range is exclusive
  CHECK(raw->sections[0].bsizes[0].matches(11));
  CHECK_FALSE(raw->sections[0].bsizes[0].matches(20));
  CHECK(parse("urilen: 80,norm;")->sections[0].kind == BufferKind::HttpUri);
  CHECK(error_of("urilen:5,bogus;") == "urilen: unknown modifier 'bogus' (expected norm or raw)");
}

TEST_CASE("pcre buffer flags as Suricata's detect-pcre.c") {
  struct Case {
    char flag;
    BufferKind kind;
  };
  static const Case kCases[] = {
      {'U', BufferKind::HttpUri},         {'I', BufferKind::HttpUriRaw},    {'P', BufferKind::HttpRequestBody},
      {'Q', BufferKind::FileData},        {'H', BufferKind::HttpHeader},    {'D', BufferKind::HttpHeaderRaw},
      {'M', BufferKind::HttpMethod},      {'C', BufferKind::HttpCookie},    {'S', BufferKind::HttpStatCode},
      {'Y', BufferKind::HttpStatMsg},     {'V', BufferKind::HttpUserAgent}, {'W', BufferKind::HttpHost},
      {'Z', BufferKind::HttpHostRaw},
  };
  for (const auto& c : kCases) {
    INFO(c.flag);
    auto rule = parse(std::string("pcre:\"/a/") + c.flag + "\";");
    REQUIRE(rule);
    REQUIRE(rule->sections.size() == 1);
    CHECK(rule->sections[0].kind == c.kind);
    CHECK(rule->sections[0].pcres.size() == 1);
  }
  // The same buffer as the sticky one is fine; another is an error.
  CHECK(parse(R"(http.uri; content:"a"; pcre:"/b/UR";)")->sections.size() == 1);
  CHECK(parse(R"(http.response_body; pcre:"/b/Q";)")->sections[0].kind == BufferKind::HttpResponseBody);
  CHECK(error_of(R"(http.uri; pcre:"/b/H";)") ==
        "pcre: its flag names 'http.header' but the sticky buffer 'http.uri' is set (reset it with pkt_data or use "
        "that buffer)");
  CHECK(error_of(R"(pcre:"/a/UH";)") ==
        "pcre: two buffer flags name different buffers (only one of U I P Q H D M C S Y V W Z)");
  CHECK(error_of(R"(pcre:"/a/BU";)") == "pcre: flag 'U' cannot be combined with 'B'");
  CHECK(error_of(R"(pcre:"/Host/W";)").rfind("pcre: /W inspects the host, which is lower case", 0) == 0);
  CHECK(parse(R"(pcre:"/Host/Wi";)"));
  CHECK(parse(R"(pcre:"/\x41host/W";)"));  // an escape is not an upper-case letter
  CHECK(error_of(R"(pcre:"/a/U";)", "alert dns any any -> any any").find("conflicting app-layer protocols") !=
        std::string::npos);
}

TEST_CASE("Snort 3: dotless buffer keywords are sticky, per rule") {
  auto rule = parse(R"(flow:to_server; http_uri; content:"/a",nocase; http_header; content:"X-Foo"; )"
                    R"(pkt_data; content:"raw"; http_raw_uri; content:"%2e",distance 0; service:http;)");
  REQUIRE(rule);
  REQUIRE(rule->sections.size() == 4);
  CHECK(rule->sections[0].kind == BufferKind::HttpUri);
  CHECK(rule->sections[0].contents[0].nocase);
  CHECK(rule->sections[1].kind == BufferKind::HttpHeader);
  CHECK(rule->sections[2].kind == BufferKind::Payload);
  CHECK(rule->sections[3].kind == BufferKind::HttpUriRaw);
  CHECK(rule->sections[3].contents[0].distance == 0);
  // Without service: a buffer keyword before any content is Snort 3's too.
  auto body = parse(R"(http_client_body; content:"a"; file_data; content:"b"; bufferlen:50<=>150;)");
  REQUIRE(body);
  CHECK(body->sections[0].kind == BufferKind::HttpRequestBody);
  CHECK(body->sections[1].kind == BufferKind::FileData);
  REQUIRE(body->sections[1].bsizes.size() == 1);
  CHECK(body->sections[1].bsizes[0].matches(50));
  CHECK(body->sections[1].bsizes[0].matches(150));
  CHECK_FALSE(body->sections[1].bsizes[0].matches(151));
  CHECK(parse(R"(http_header:field User-Agent; content:"curl"; service:http;)")->sections[0].kind ==
        BufferKind::HttpUserAgent);
  CHECK(error_of(R"(http_header:field x-forwarded-for; content:"a"; service:http;)") ==
        "unsupported keyword 'http_header:field x-forwarded-for' (not implemented yet: no buffer of its own for that "
        "header)");
  CHECK(error_of(R"(http_uri:query; content:"a"; service:http;)") ==
        "unsupported keyword 'http_uri:query' (not implemented yet: Snort 3's parts of a buffer)");
  // Snort 2 / Suricata: after a content, http_uri is a modifier.
  auto snort2 = parse(R"(content:"a"; http_uri; content:"b";)");
  REQUIRE(snort2);
  REQUIRE(snort2->sections.size() == 2);
  CHECK(snort2->sections[0].kind == BufferKind::Payload);
  CHECK(snort2->sections[0].contents[0].pattern == "b");
  CHECK(snort2->sections[1].kind == BufferKind::HttpUri);
  CHECK(snort2->sections[1].contents[0].pattern == "a");
}

TEST_CASE("transforms follow a sticky buffer, in order") {
  auto rule = parse_with("alert dns any any -> any any",
                         R"(dns.query; dotprefix; to_lowercase; content:".evil.com"; endswith;)");
  REQUIRE(rule);
  REQUIRE(rule->sections[0].transforms.size() == 2);
  CHECK(rule->sections[0].transforms[0].kind == Transform::Kind::Dotprefix);
  CHECK(rule->sections[0].transforms[1].kind == Transform::Kind::ToLowercase);

  auto xored = parse(R"(http.request_body; xor:"0d0AC8ff"; content:"MZ";)");
  REQUIRE(xored);
  CHECK(xored->sections[0].transforms[0].key == std::string("\x0d\x0a\xc8\xff", 4));

  // A hash then its 32 raw bytes (and fast_pattern on them), as ET Open writes it.
  auto hashed = parse(
      R"(http.uri; to_sha256; content:"|ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad|"; fast_pattern;)");
  REQUIRE(hashed);
  CHECK(hashed->sections[0].contents[0].pattern.size() == 32);
  CHECK(hashed->sections[0].contents[0].fast_pattern);

  // A transform after options: a new instance of the buffer with the transforms from there on.
  auto twice = parse(R"(http.uri; content:"A"; to_lowercase; content:"b"; http.uri; content:"C";)");
  REQUIRE(twice);
  REQUIRE(twice->sections.size() == 2);
  CHECK(twice->sections[0].transforms.empty());
  CHECK(twice->sections[0].contents.size() == 2);  // "C" continues the untransformed one
  CHECK(twice->sections[1].transforms.size() == 1);
  CHECK(twice->sections[1].contents[0].pattern == "b");

  CHECK(error_of(R"(to_lowercase; content:"a";)") ==
        "to_lowercase: a transform must follow a sticky buffer (e.g. 'http.uri; to_lowercase;')");
  CHECK(error_of(R"(http.uri; to_lowercase; content:"aB";)") ==
        "content \"aB\" can never match after to_lowercase (incompatible with the transform)");
  CHECK(error_of(R"(http.uri; strip_whitespace; content:"a|09|b";)") ==
        "content \"a|09|b\" can never match after strip_whitespace (incompatible with the transform)");
  CHECK(error_of(R"(http.uri; xor:"0d0";  content:"a";)") ==
        "xor: invalid key '0d0' (expected an even number of hex digits, 1 to 255 bytes)");
  CHECK(error_of(R"(http.uri; xor:"zz"; content:"a";)") == "xor: invalid key 'zz' (expected hex digits only)");
  CHECK(error_of(R"(http.uri; xor:0d0a; content:"a";)") ==
        "xor: expected a quoted hex key, e.g. xor:\"0d0ac8ff\"");
  CHECK(error_of(R"(http.uri; to_md5:x; content:"a";)") == "to_md5: takes no value");
  CHECK(error_of(R"(http.uri; url_decode; http.host; content:"a";)") ==
        "'http.uri' and its transforms must be followed by content or another inspecting option before 'http.host'");
}

TEST_CASE("the rule's protocol follows its buffers, conflicts are load errors") {
  CHECK(parse_with("alert http any any -> any any", R"(http.uri; content:"a";)")->app_proto == AppProto::Http);
  CHECK(error_of(R"(http.uri; content:"a";)", "alert dns any any -> any any") ==
        "'http.uri' inspects http but the rule's protocol is dns (conflicting app-layer protocols)");
  CHECK(error_of(R"(http.uri; content:"a"; tls.sni; content:"b";)") ==
        "'tls.sni' inspects tls but the rule's protocol is http (conflicting app-layer protocols)");
  CHECK(parse_with("alert smtp any any -> any any", R"(file_data; content:"a";)")->app_proto == AppProto::Smtp);
  CHECK(error_of(R"(file_data; content:"a";)", "alert dns any any -> any any") ==
        "'file_data' cannot be used with protocol 'dns' (it carries no files)");

  auto dns = parse("dns.opcode:!0;");
  REQUIRE(dns);
  CHECK(dns->app_proto == AppProto::Dns);
  REQUIRE(dns->dns_opcode);
  CHECK(dns->dns_opcode->op == NumericTest::Op::NotEqual);
  CHECK(dns->dns_opcode->a == 0);
  CHECK(parse("dns.opcode:4;")->dns_opcode->matches(4));
  CHECK(error_of("dns.opcode:x;") == "dns.opcode: invalid value 'x' (expected [!]N, N from 0 to 255)");

  auto tls = parse(R"(tls.version:1.2; tls.version:"1.0"; tls.version:0x7f1c;)");
  REQUIRE(tls);
  CHECK(tls->app_proto == AppProto::Tls);
  CHECK(tls->tls_versions == std::vector<uint16_t>{0x0303, 0x0301, 0x7f1c});
  CHECK(error_of("tls.version:2.0;") == "tls.version: invalid value '2.0' (expected 1.0, 1.1, 1.2, 1.3 or 0xNNNN)");
}

TEST_CASE("sticky buffer errors say what is wrong") {
  CHECK(error_of(R"(http.uri; http.host; content:"a";)") ==
        "'http.uri' must be followed by content or another inspecting option before 'http.host'");
  CHECK(error_of(R"(content:"a"; http.uri;)") ==
        "'http.uri' must be followed by content or another inspecting option before the end of the rule");
  CHECK(error_of(R"(http.uri:x; content:"a";)") == "http.uri: takes no value");
  CHECK(error_of(R"(http.host; content:"Example.com";)") ==
        "http.host: content \"Example.com\" has upper-case letters, but the host buffer is lower case (write it in "
        "lower case)");
  CHECK(parse(R"(http.host; content:"Example.com"; nocase;)"));
  CHECK(error_of(R"(pcre:"/a/K";)") == "unsupported keyword 'pcre/K' (not implemented yet: no raw cookie buffer)");
  CHECK(error_of(R"(content:"a"; http_raw_cookie;)") ==
        "unsupported keyword 'http_raw_cookie' (not implemented yet)");
}

TEST_CASE("a pcre as the first payload option creates the payload section") {
  auto rule = parse(R"(pcre:"/a/"; http.uri; content:"u"; pkt_data; pcre:"/b/R";)");
  REQUIRE(rule);
  REQUIRE(rule->sections.size() == 2);
  CHECK(rule->sections[0].kind == BufferKind::Payload);
  REQUIRE(rule->sections[0].pcres.size() == 2);
  CHECK(rule->sections[0].pcres[1].relative);
  CHECK(rule->sections[1].kind == BufferKind::HttpUri);
}
