#include <string>

#include <catch2/catch.hpp>

#include "config/config_loader.hpp"
#include "sensor/applayer/http_normalize.hpp"

using namespace eastwatch;

namespace {

std::string uri(const std::string& raw, uint32_t* invalid_out = nullptr) {
  std::string out(raw.size(), '\0');
  uint32_t invalid = 0;
  const uint32_t n = normalize_uri({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()},
                                   {reinterpret_cast<uint8_t*>(out.data()), out.size()}, invalid);
  if (invalid_out) *invalid_out = invalid;
  return out.substr(0, n);
}

std::string host(const std::string& raw) {
  std::string out(raw.size(), '\0');
  const uint32_t n = normalize_host({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()},
                                    {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  return out.substr(0, n);
}

}  // namespace

TEST_CASE("URI normalization as libhtp does it for http.uri") {
  CHECK(uri("/index.html") == "/index.html");
  CHECK(uri("/a/./b/../c") == "/a/c");
  CHECK(uri("/a/b/..") == "/a/");
  CHECK(uri("/a/.") == "/a/");
  CHECK(uri("/..") == "/");
  CHECK(uri("/../../etc/passwd") == "/etc/passwd");
  CHECK(uri("/%41%62c") == "/Abc");
  CHECK(uri("/a%2fb") == "/a/b");
  CHECK(uri("/a/%2e%2e/b") == "/b");
  CHECK(uri("/a%2e%2e/b") == "/a../b");
  CHECK(uri("\\windows\\system32") == "/windows/system32");
  CHECK(uri("//a///b//") == "/a/b/");
  CHECK(uri("/p?q=%41&r=/../x") == "/p?q=%41&r=/../x");  // the query stays raw
  CHECK(uri("http://host:80/x/../y?z") == "/y?z");
  CHECK(uri("http://host") == "/");
  CHECK(uri("*") == "*");
  uint32_t invalid = 0;
  CHECK(uri("/%zz%4", &invalid) == "/%zz%4");
  CHECK(invalid == 2);
}

TEST_CASE("host normalization") {
  CHECK(host("WWW.Example.COM") == "www.example.com");
  CHECK(host("www.example.com.:8080") == "www.example.com");
  CHECK(host("example.com..") == "example.com");
  CHECK(host("  spaced.example  ") == "spaced.example");
  CHECK(host("user:pw@Host.Example:1") == "host.example");
  CHECK(host("[2001:DB8::1]:443") == "[2001:db8::1]");
  CHECK(host("") == "");
}

TEST_CASE("authority of absolute URIs") {
  auto auth = [](const std::string& s) {
    const auto a = uri_authority({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
    return std::string(reinterpret_cast<const char*>(a.data()), a.size());
  };
  CHECK(auth("http://a.b:8/x") == "a.b:8");
  CHECK(auth("https://a?b") == "a");
  CHECK(auth("/http://a") == "");
  CHECK(auth("a.html") == "");
}

TEST_CASE("the app-layer defaults in eastwatch.yaml equal the built-in ones, bad values are reported") {
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  const AppLayerSettings defaults;
  CHECK(settings->app_layer.memcap == defaults.memcap);
  CHECK(settings->app_layer.http.request_body_limit == defaults.http.request_body_limit);
  CHECK(settings->app_layer.http.response_body_limit == defaults.http.response_body_limit);
  CHECK(settings->app_layer.http.header_limit == defaults.http.header_limit);
  CHECK(settings->app_layer.http.compression_bomb_limit == defaults.http.compression_bomb_limit);
  CHECK(settings->app_layer.http.compression_bomb_ratio == defaults.http.compression_bomb_ratio);
  CHECK(settings->app_layer.http.decompressors == defaults.http.decompressors);

  auto set = load_settings(std::nullopt, {"app-layer.http.request-body-limit=1mb"});
  REQUIRE(set);
  CHECK(set->app_layer.http.request_body_limit == (1u << 20));
  auto bad = load_settings(std::nullopt, {"app-layer.http.header-limit=2gb"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error()[0].message.find("app-layer.http.header-limit") != std::string::npos);
  auto unknown = load_settings(std::nullopt, {"app-layer.http.bogus=1"});
  REQUIRE_FALSE(unknown);
}
