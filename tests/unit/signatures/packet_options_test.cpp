#include <catch2/catch.hpp>

#include "signatures/detail/packet_options.hpp"
#include "signatures/rule_parser.hpp"

using namespace eastwatch;

namespace {

tl::expected<Rule, RuleError> parse(const std::string& options) {
  static const RuleVariables vars = RuleVariables::with_suricata_defaults();
  return parse_rule("alert ip any any -> any any (" + options + " sid:1;)", RuleParseContext{&vars, nullptr, "t", 1});
}

std::string error_of(const std::string& options) {
  auto rule = parse(options);
  return rule ? "(parsed)" : rule.error().message;
}

}  // namespace

TEST_CASE("integer tests in every form Suricata accepts") {
  using Op = NumericTest::Op;
  struct Case {
    const char* text;
    Op op;
    uint64_t a, b;
  } cases[] = {{"10", Op::Equal, 10, 0},      {"!10", Op::NotEqual, 10, 0},  {"<10", Op::Less, 10, 0},
               {"<=10", Op::LessEqual, 10, 0}, {">10", Op::Greater, 10, 0}, {">=10", Op::GreaterEqual, 10, 0},
               {"9<>18", Op::Between, 9, 18},  {"9-18", Op::Between, 9, 18}, {" 0x10 ", Op::Equal, 16, 0}};
  for (const auto& c : cases) {
    INFO(c.text);
    auto test = detail::parse_numeric_test("dsize", c.text, 65535);
    REQUIRE(test);
    CHECK(test->op == c.op);
    CHECK(test->a == c.a);
    CHECK(test->b == c.b);
  }
  auto between = detail::parse_numeric_test("dsize", "9<>18", 65535);
  CHECK_FALSE(between->matches(9));  // exclusive, as in Suricata
  CHECK(between->matches(10));
  CHECK(between->matches(17));
  CHECK_FALSE(between->matches(18));
  CHECK(detail::parse_numeric_test("ttl", "300", 255).error() == "ttl: invalid value '300' (expected a number from 0 to 255)");
  CHECK(detail::parse_numeric_test("dsize", "18<>9", 65535).error() == "dsize: invalid range '18<>9' (expected low<>high)");
  CHECK(detail::parse_numeric_test("dsize", "", 65535).error() == "dsize: missing value");
}

TEST_CASE("flow keyword") {
  auto rule = parse("flow:established,to_server;");
  REQUIRE(rule);
  REQUIRE(rule->packet.flow);
  CHECK(rule->packet.flow->established);
  CHECK(rule->packet.flow->to_server);
  CHECK(parse("flow: from_server , established;")->packet.flow->to_client);
  CHECK(parse("flow:from_client;")->packet.flow->to_server);
  CHECK(parse("flow:stateless;")->packet.flow->stateless);
  CHECK(error_of("flow:to_server,to_client;") == "flow: to_server and to_client cannot both be set");
  CHECK(error_of("flow:established,not_established;") == "flow: established and not_established cannot both be set");
  CHECK(error_of("flow:sideways;") ==
        "flow: unknown option 'sideways' (expected to_server, to_client, from_server, from_client, established, "
        "not_established or stateless)");
  CHECK(error_of("flow:established,only_stream;") == "flow:only_stream needs a tcp rule");
  CHECK(error_of("flow:only_stream,no_stream;") == "flow: only_stream and no_stream cannot both be set");
  CHECK(error_of("flow:only_frag;") == "unsupported keyword 'flow:only_frag' (not implemented yet)");
  CHECK(error_of("flow:to_server; flow:established;") == "flow: used twice in one rule");
}

TEST_CASE("flags keyword: modifiers, digits and the ignore mask") {
  auto exact = parse("flags:SA;");
  REQUIRE(exact);
  CHECK(exact->packet.flags->mode == TcpFlagsTest::Mode::Exact);
  CHECK(exact->packet.flags->flags == 0x12);
  auto ignore = parse("flags:S,12;");
  CHECK(ignore->packet.flags->flags == 0x02);
  CHECK(ignore->packet.flags->ignore == 0xc0);
  CHECK(parse("flags:S+;")->packet.flags->mode == TcpFlagsTest::Mode::All);
  CHECK(parse("flags:*SA;")->packet.flags->mode == TcpFlagsTest::Mode::Any);
  CHECK(parse("flags:!R;")->packet.flags->mode == TcpFlagsTest::Mode::Not);
  CHECK(parse("flags:SF12;")->packet.flags->flags == 0xc3);
  CHECK(parse("flags:0;")->packet.flags->flags == 0);
  CHECK(error_of("flags:SX;") == "flags: invalid flag 'X' (expected F S R P A U C E 1 2 0 and one of the modifiers + * !)");
  CHECK(error_of("flags:+S*;") == "flags: more than one modifier in '+S*'");
}

TEST_CASE("other packet keywords") {
  auto rule = parse("dsize:>100; ttl:<5; tos:8; id:31337; ip_proto:!tcp; itype:8; icode:0; icmp_id:1; icmp_seq:2; "
                    "window:55808; seq:0; ack:1; fragbits:M+; fragoffset:>0; sameip; noalert;");
  REQUIRE(rule);
  const auto& t = rule->packet;
  CHECK(t.dsize->op == NumericTest::Op::Greater);
  CHECK(t.ttl->a == 5);
  CHECK(t.ip_id->a == 31337);
  CHECK(t.ip_proto->op == NumericTest::Op::NotEqual);
  CHECK(t.ip_proto->a == 6);
  CHECK(t.tcp_window->a == 55808);
  CHECK(t.fragbits->bits == 0x04);
  CHECK(t.fragbits->mode == TcpFlagsTest::Mode::All);
  CHECK(t.sameip);
  CHECK(rule->noalert);
  CHECK(error_of("dsize:1; dsize:2;") == "dsize: used twice in one rule");
  CHECK(error_of("fragbits:MX;") == "fragbits: invalid bit 'X' (expected M, D, R and + * !)");
}

TEST_CASE("startswith and endswith modifiers") {
  auto rule = parse(R"(content:"GET"; startswith; content:".php"; endswith;)");
  REQUIRE(rule);
  const auto& c = rule->sections[0].contents;
  CHECK(c[0].startswith);
  CHECK(c[0].offset == 0);
  CHECK(c[0].depth == 3);
  CHECK(c[1].endswith);
  CHECK(error_of(R"(content:"GET"; offset:1; startswith;)") ==
        "startswith: cannot be combined with offset, depth, distance or within");
  CHECK(error_of(R"(content:"GET"; startswith; depth:5;)") ==
        "depth: cannot be combined with startswith (it already fixes offset and depth)");
  // Suricata 7 accepts a negated endswith (ET Open uses it: the buffer does not end with it).
  auto negated = parse(R"(content:!"x"; endswith;)");
  REQUIRE(negated);
  CHECK(negated->sections[0].contents[0].negated);
  CHECK(negated->sections[0].contents[0].endswith);
}

TEST_CASE("threshold and detection_filter") {
  auto rule = parse("threshold: type both, track by_dst, count 5, seconds 120;");
  REQUIRE(rule);
  REQUIRE(rule->threshold);
  CHECK(rule->threshold->type == ThresholdOption::Type::Both);
  CHECK(rule->threshold->track == ThresholdOption::Track::ByDst);
  CHECK(rule->threshold->count == 5);
  CHECK(rule->threshold->seconds == 120);
  auto filter = parse("detection_filter:track by_src,count 10,seconds 60;");
  REQUIRE(filter);
  CHECK(filter->threshold->type == ThresholdOption::Type::DetectionFilter);
  CHECK(error_of("threshold: type limit, track by_src, count 1;") ==
        "threshold: type, track, count and seconds are all required");
  CHECK(error_of("threshold: type often, track by_src, count 1, seconds 1;") ==
        "threshold: invalid type 'often' (expected limit, threshold or both)");
  CHECK(error_of("threshold: type limit, track by_host, count 1, seconds 1;") ==
        "threshold: invalid track 'by_host' (expected by_src, by_dst, by_rule or by_both)");
  CHECK(error_of("detection_filter: type limit, track by_src, count 1, seconds 1;") ==
        "detection_filter: unknown setting 'type limit' (expected track, count, seconds)");
  CHECK(error_of("threshold: type limit, track by_src, count 1, seconds 1; detection_filter: track by_src, count 1, seconds 1;") ==
        "detection_filter: a rule takes one threshold or detection_filter");
}

TEST_CASE("flowbits parsing") {
  auto rule = parse("flowbits:set,ET.a; flowbits:isset,b|c; flowbits:isnotset,d&e; flowbits:noalert;");
  REQUIRE(rule);
  REQUIRE(rule->flowbits.size() == 3);
  CHECK(rule->flowbits[0].command == FlowbitsOption::Command::Set);
  CHECK(rule->flowbits[0].names == std::vector<std::string>{"ET.a"});
  CHECK(rule->flowbits[1].any);
  CHECK(rule->flowbits[1].names == std::vector<std::string>{"b", "c"});
  CHECK_FALSE(rule->flowbits[2].any);
  CHECK(rule->noalert);
  CHECK(error_of("flowbits:flip,a;") ==
        "flowbits: unknown command 'flip' (expected set, unset, toggle, isset, isnotset or noalert)");
  CHECK(error_of("flowbits:isset;") == "flowbits: isset needs a flowbit name");
  CHECK(error_of("flowbits:set,a|b;") == "flowbits: '|' only works with isset and isnotset");
  CHECK(error_of("flowbits:isset,a|b&c;") == "flowbits: cannot mix '|' and '&' in one option");
}

TEST_CASE("pcre and isdataat parsing") {
  auto rule = parse(R"(content:"GET"; pcre:"/^\/x\d+/Ri"; pcre:!"/evil/smx"; isdataat:!10,relative;)");
  REQUIRE(rule);
  const auto& section = rule->sections[0];
  REQUIRE(section.pcres.size() == 2);
  CHECK(section.pcres[0].relative);
  CHECK(section.pcres[0].regex);
  CHECK(section.pcres[1].negated);
  REQUIRE(section.isdataats.size() == 1);
  CHECK(section.isdataats[0].negated);
  CHECK(section.isdataats[0].relative);
  CHECK(section.isdataats[0].offset == 10);
  REQUIRE(section.steps.size() == 4);
  CHECK(section.steps[1].kind == ChainStep::Kind::Pcre);
  CHECK(section.steps[3].kind == ChainStep::Kind::IsDataAt);
  CHECK(error_of(R"(pcre:"/(unclosed/";)").rfind("pcre: invalid regular expression: missing closing parenthesis", 0) == 0);
  CHECK(error_of(R"(pcre:"no slashes";)") == "pcre: expected /regex/flags, got 'no slashes'");
  CHECK(error_of(R"(pcre:"/x/q";)") ==
        "pcre: unknown flag 'q' (expected i s m x A E G R B O or a buffer: U I P Q H D M C S Y V W Z)");
  CHECK(error_of(R"(pcre:"/x/K";)") == "unsupported keyword 'pcre/K' (not implemented yet: no raw cookie buffer)");
  CHECK(error_of(R"(isdataat:5,sideways;)") == "isdataat: unknown modifier 'sideways' (expected relative)");
}

TEST_CASE("byte_test and byte_jump parsing") {
  auto rule = parse(R"(content:"x"; byte_test:2,!&,0x80,-2,relative,little,bitmask 0x0ff0; byte_jump:4,12,relative,multiplier 2,align,from_beginning,post_offset -4,string,hex;)");
  REQUIRE(rule);
  const auto& section = rule->sections[0];
  REQUIRE(section.byte_tests.size() == 1);
  const auto& t = section.byte_tests[0];
  CHECK(t.negated);
  CHECK(t.op == ByteTestOption::Op::And);
  CHECK(t.value == 0x80);
  CHECK(t.read.offset == -2);
  CHECK(t.read.little_endian);
  CHECK(t.read.bitmask == 0x0ff0);
  const auto& j = section.byte_jumps[0];
  CHECK(j.multiplier == 2);
  CHECK(j.align);
  CHECK(j.from_beginning);
  CHECK(j.post_offset == -4);
  CHECK(j.read.string_base == 16);
  CHECK(error_of("byte_test:4,>,1;") == "byte_test: expected bytes, operator, value, offset [, modifiers]");
  CHECK(error_of("byte_test:9,>,1,0;") == "byte_test: 9 bytes is out of range (1 to 8 for a binary number)");
  CHECK(error_of("byte_test:4,~,1,0;") ==
        "byte_test: invalid operator '~' (expected < > = <= >= & ^, optionally negated with !)");
  CHECK(error_of("byte_test:4,>,len,0;") == "byte_test: unknown byte_extract/byte_math variable 'len' as value");
  CHECK(error_of("byte_jump:4,0,sideways;") == "byte_jump: unknown modifier 'sideways'");
  CHECK(error_of("byte_jump:4,0,from_beginning,from_end;") == "byte_jump: from_beginning and from_end cannot both be set");
}

TEST_CASE("target keyword, tcp-pkt and tcp-stream, flow:only_stream and no_stream") {
  CHECK(parse("target:dest_ip;")->target == Rule::Target::DestIp);
  CHECK(parse("target:src_ip;")->target == Rule::Target::SrcIp);
  CHECK(error_of("target:both;") == "target: invalid value 'both' (expected src_ip or dest_ip)");
  static const RuleVariables vars = RuleVariables::with_suricata_defaults();
  auto pkt = parse_rule("alert tcp-pkt any any -> any any (sid:1;)", RuleParseContext{&vars, nullptr, "t", 1});
  REQUIRE(pkt);
  CHECK(pkt->protocol == RuleProtocol::Tcp);
  CHECK(pkt->stream == Rule::StreamMode::PacketOnly);
  auto rule_of = [&](const char* text) { return parse_rule(text, RuleParseContext{&vars, nullptr, "t", 1}); };
  auto stream = rule_of("alert tcp-stream any any -> any any (sid:1;)");
  REQUIRE(stream);
  CHECK(stream->protocol == RuleProtocol::Tcp);
  CHECK(stream->stream == Rule::StreamMode::StreamOnly);
  CHECK(rule_of("alert tcp any any -> any any (sid:1;)")->stream == Rule::StreamMode::Both);
  CHECK(rule_of("alert tcp any any -> any any (flow:only_stream; sid:1;)")->stream == Rule::StreamMode::StreamOnly);
  CHECK(rule_of("alert tcp any any -> any any (flow:no_stream; sid:1;)")->stream == Rule::StreamMode::PacketOnly);
  CHECK(rule_of("alert tcp any any -> any any (dsize:>0; sid:1;)")->stream == Rule::StreamMode::PacketOnly);
  CHECK(rule_of("alert udp any any -> any any (sid:1;)")->stream == Rule::StreamMode::PacketOnly);
  CHECK(rule_of("alert tcp-pkt any any -> any any (flow:only_stream; sid:1;)").error().message ==
        "flow:only_stream contradicts the header protocol 'tcp-pkt'");
  CHECK(rule_of("alert tcp-stream any any -> any any (flow:no_stream; sid:1;)").error().message ==
        "flow:no_stream contradicts the header protocol 'tcp-stream'");
}

TEST_CASE("byte_extract parsing and its variables") {
  auto rule = parse(R"(content:"x"; byte_extract:2,1,len,relative,multiplier 4,little,align 4; )"
                    R"(byte_extract:3,0,n,string,hex; byte_extract:1,0,m,bitmask 0xf0; content:"y"; distance:len; )"
                    R"(within:n; byte_test:1,=,m,len; byte_jump:1,len; isdataat:!n,relative;)");
  REQUIRE(rule);
  const auto& section = rule->sections[0];
  REQUIRE(section.byte_extracts.size() == 3);
  CHECK(section.variables == 3);
  const auto& e = section.byte_extracts[0];
  CHECK(e.name == "len");
  CHECK(e.slot == 0);
  CHECK(e.read.bytes == 2);
  CHECK(e.read.offset == 1);
  CHECK(e.read.relative);
  CHECK(e.read.little_endian);
  CHECK(e.multiplier == 4);
  CHECK(e.align == 4);
  CHECK(section.byte_extracts[1].read.string_base == 16);
  CHECK(section.byte_extracts[1].slot == 1);
  CHECK(section.byte_extracts[2].read.bitmask == 0xf0);
  const auto& y = section.contents[1];
  CHECK(y.is_relative());
  CHECK(y.distance_var == 0);
  CHECK(y.within_var == 1);
  CHECK(section.byte_tests[0].value_var == 2);
  CHECK(section.byte_tests[0].read.offset_var == 0);
  CHECK(section.byte_jumps[0].read.offset_var == 0);
  CHECK(section.isdataats[0].offset_var == 1);
  CHECK(section.steps[1].kind == ChainStep::Kind::ByteExtract);
  // string defaults to decimal
  CHECK(parse("byte_extract:3,0,n,string;")->sections[0].byte_extracts[0].read.string_base == 10);
  // a name defined twice: later uses name the first definition, as Suricata's lookup does
  auto twice = parse(R"(byte_extract:1,0,a; byte_extract:1,1,a; content:"z"; offset:a;)");
  REQUIRE(twice);
  CHECK(twice->sections[0].byte_extracts[1].slot == 1);
  CHECK(twice->sections[0].contents[0].offset_var == 0);

  CHECK(error_of("byte_extract:2,0;") == "byte_extract: expected bytes, offset, name [, modifiers]");
  CHECK(error_of("byte_extract:9,0,v;") == "byte_extract: 9 bytes is out of range (1 to 8 for a binary number)");
  CHECK(error_of("byte_extract:21,0,v,string,dec;") ==
        "byte_extract: 21 bytes is out of range (1 to 20 for this string base)");
  CHECK(error_of("byte_extract:15,0,v,string,hex;") ==
        "byte_extract: 15 bytes is out of range (1 to 14 for this string base)");
  CHECK(parse("byte_extract:23,0,v,string,oct;"));
  CHECK(error_of("byte_extract:2,0,1v;") == "byte_extract: invalid variable name '1v' (expected a letter or '_' first)");
  CHECK(error_of("byte_extract:2,0,v,align 3;") == "byte_extract: invalid align '3' (expected 2 or 4)");
  CHECK(error_of("byte_extract:2,0,v,multiplier 0;") ==
        "byte_extract: invalid multiplier '0' (expected a number from 1 to 65535)");
  CHECK(error_of("byte_extract:2,0,v,big,little;") == "byte_extract: endianness given twice");
  CHECK(error_of("byte_extract:2,0,v,sideways;") == "byte_extract: unknown modifier 'sideways'");
  CHECK(error_of("byte_extract:2,0,v,dce;") == "unsupported keyword 'byte_extract:dce' (not implemented yet: needs DCERPC)");
  // unknown variables, wherever a variable may stand
  CHECK(error_of(R"(content:"a"; distance:nope;)") == "distance: unknown byte_extract/byte_math variable 'nope'");
  CHECK(error_of(R"(content:"a"; within:nope;)") == "within: unknown byte_extract/byte_math variable 'nope'");
  CHECK(error_of(R"(content:"a"; depth:nope;)") == "depth: unknown byte_extract/byte_math variable 'nope'");
  CHECK(error_of("byte_jump:2,nope;") == "byte_jump: unknown byte_extract/byte_math variable 'nope' as offset");
  CHECK(error_of("byte_test:2,=,1,nope;") == "byte_test: unknown byte_extract/byte_math variable 'nope' as offset");
  CHECK(error_of("isdataat:nope;") == "isdataat: unknown byte_extract/byte_math variable 'nope'");
  // used before it is defined
  CHECK(error_of(R"(content:"a"; distance:v; byte_extract:1,0,v;)") ==
        "distance: unknown byte_extract/byte_math variable 'v'");
  // a variable depth is not checked against the content length at load
  CHECK(parse(R"(byte_extract:1,0,v; content:"abc"; depth:v;)"));
  std::string many;
  for (int i = 0; i < 17; ++i) many += "byte_extract:1,0,v" + std::to_string(i) + "; ";
  CHECK(error_of(many) == "byte_extract: more than 16 byte_extract/byte_math variables in one buffer");
}

TEST_CASE("byte_math parsing") {
  auto rule = parse(R"(byte_extract:1,0,k; byte_math:bytes 2, offset -1, oper <<, rvalue k, result r, relative, )"
                    R"(endian little, bitmask 0x0ff0; byte_math:bytes 3,offset 0,oper /,rvalue 7,result q,string dec;)");
  REQUIRE(rule);
  const auto& section = rule->sections[0];
  REQUIRE(section.byte_maths.size() == 2);
  const auto& m = section.byte_maths[0];
  CHECK(m.read.bytes == 2);
  CHECK(m.read.offset == -1);
  CHECK(m.op == ByteMathOption::Op::LeftShift);
  CHECK(m.rvalue_var == 0);
  CHECK(m.name == "r");
  CHECK(m.slot == 1);
  CHECK(m.read.relative);
  CHECK(m.read.little_endian);
  CHECK(m.bitmask == 0x0ff0);
  CHECK(m.read.bitmask == 0);
  CHECK(section.byte_maths[1].op == ByteMathOption::Op::Divide);
  CHECK(section.byte_maths[1].rvalue == 7);
  CHECK(section.byte_maths[1].read.string_base == 10);
  CHECK(section.steps[1].kind == ChainStep::Kind::ByteMath);
  const std::pair<const char*, ByteMathOption::Op> ops[] = {{"+", ByteMathOption::Op::Add},
                                                            {"-", ByteMathOption::Op::Subtract},
                                                            {"*", ByteMathOption::Op::Multiply},
                                                            {">>", ByteMathOption::Op::RightShift}};
  for (const auto& [text, op] : ops) {
    auto r = parse(std::string("byte_math:bytes 1,offset 0,oper ") + text + ",rvalue 1,result x;");
    REQUIRE(r);
    CHECK(r->sections[0].byte_maths[0].op == op);
  }
  // the result is a variable like byte_extract's
  auto reuse = parse(R"(byte_math:bytes 1,offset 0,oper +,rvalue 1,result x; content:"a"; offset:x;)");
  REQUIRE(reuse);
  CHECK(reuse->sections[0].contents[0].offset_var == 0);

  CHECK(error_of("byte_math:bytes 4, offset 0, oper +, rvalue 1;") ==
        "byte_math: bytes, offset, oper, rvalue and result are required");
  CHECK(error_of("byte_math:bytes 11, offset 0, oper +, rvalue 1, result r;") ==
        "byte_math: invalid bytes '11' (expected a number from 1 to 10)");
  CHECK(error_of("byte_math:bytes 9, offset 0, oper +, rvalue 1, result r;") ==
        "byte_math: 9 bytes is out of range (1 to 8 for a binary number)");
  CHECK(error_of("byte_math:bytes 4, offset 70000, oper +, rvalue 1, result r;") ==
        "byte_math: invalid offset '70000' (expected a number from -65535 to 65535)");
  CHECK(error_of("byte_math:bytes 4, offset 0, oper &, rvalue 1, result r;") ==
        "byte_math: invalid oper '&' (expected + - * / << >>)");
  CHECK(error_of("byte_math:bytes 4, offset 0, oper +, rvalue nope, result r;") ==
        "byte_math: unknown byte_extract/byte_math variable 'nope' as rvalue");
  CHECK(error_of("byte_math:bytes 4, offset 0, oper +, rvalue 1, result r, endian middle;") ==
        "byte_math: invalid endian 'middle' (expected big or little)");
  CHECK(error_of("byte_math:bytes 4, offset 0, oper +, rvalue 1, result r, string bin;") ==
        "byte_math: invalid string base 'bin' (expected hex, dec or oct)");
  CHECK(error_of("byte_math:bytes 4, offset 0, oper +, rvalue 1, result r, colour red;") ==
        "byte_math: unknown item 'colour red'");
  CHECK(error_of("byte_math:bytes 4, offset 0, oper +, rvalue 1, result r, dce;") ==
        "unsupported keyword 'byte_math:dce' (not implemented yet: needs DCERPC)");
}

TEST_CASE("bsize parsing and Suricata's content/bsize checks") {
  using Op = NumericTest::Op;
  auto rule = parse(R"(content:"abc"; bsize:3;)");
  REQUIRE(rule);
  REQUIRE(rule->sections[0].bsizes.size() == 1);
  CHECK(rule->sections[0].bsizes[0].op == Op::Equal);
  CHECK(rule->sections[0].steps[1].kind == ChainStep::Kind::Bsize);
  CHECK(parse("bsize:<10;")->sections[0].bsizes[0].op == Op::Less);
  CHECK(parse("bsize:>10;")->sections[0].bsizes[0].op == Op::Greater);
  CHECK(parse("bsize:<=10;")->sections[0].bsizes[0].op == Op::LessEqual);
  CHECK(parse("bsize:>=10;")->sections[0].bsizes[0].op == Op::GreaterEqual);
  CHECK(parse("bsize:5<>10;")->sections[0].bsizes[0].op == Op::Between);
  CHECK(error_of("bsize:10<>5;") == "bsize: invalid range '10<>5' (expected low<>high)");
  CHECK(error_of("bsize:abc;") == "bsize: invalid value 'abc' (expected a number from 0 to 18446744073709551615)");

  CHECK(error_of(R"(content:"abcdef"; bsize:5;)") ==
        "bsize: required content length 6 exceeds bsize value 5 (the rule could never match)");
  CHECK(error_of(R"(content:"abc"; content:"def"; distance:1; bsize:<6;)") ==
        "bsize: required content length 7 exceeds bsize value 6 (the rule could never match)");
  // Suricata takes <N's N as the maximum: 7 bytes "fit" bsize:<7 at load (and never match)
  CHECK(parse(R"(content:"abc"; content:"def"; distance:1; bsize:<7;)"));
  CHECK(error_of(R"(content:"abc"; offset:3; bsize:2<>5;)") ==
        "bsize: required content length 6 (with offset 3) exceeds bsize range 2<>5 (the rule could never match)");
  CHECK(parse(R"(content:"abc"; offset:2; bsize:2<>5;)"));
  // only the first content and the relative ones after it must fit together
  CHECK(parse(R"(content:"abcd"; content:"efgh"; bsize:5;)"));
  // a negated content needs no bytes
  CHECK(parse(R"(content:"ab"; content:!"cdefgh"; distance:0; bsize:3;)"));
  // no upper bound: nothing to check
  CHECK(parse(R"(content:"abcdef"; bsize:>2;)"));
}

TEST_CASE("ipopts parsing") {
  CHECK(*parse("ipopts:rr;")->packet.ipopts == 1u << 7);
  CHECK(*parse("ipopts:eol;")->packet.ipopts == 1u << 0);
  CHECK(*parse("ipopts:nop;")->packet.ipopts == 1u << 1);
  CHECK(*parse("ipopts:sec;")->packet.ipopts == 1u << 2);
  CHECK(*parse("ipopts:lsrr;")->packet.ipopts == 1u << 3);
  CHECK(*parse("ipopts:ts;")->packet.ipopts == 1u << 4);
  CHECK(*parse("ipopts:esec;")->packet.ipopts == 1u << 5);
  CHECK(*parse("ipopts:satid;")->packet.ipopts == 1u << 8);
  CHECK(*parse("ipopts:ssrr;")->packet.ipopts == 1u << 9);
  CHECK(*parse("ipopts:any;")->packet.ipopts == 0);
  CHECK(*parse("ipopts:rr; ipopts:ts;")->packet.ipopts == ((1u << 7) | (1u << 4)));
  CHECK_FALSE(parse("ttl:1;")->packet.ipopts.has_value());
  CHECK(error_of("ipopts:qs;") == "ipopts: invalid option 'qs' (expected rr, eol, nop, ts, sec, esec, lsrr, ssrr, satid or any)");
}
