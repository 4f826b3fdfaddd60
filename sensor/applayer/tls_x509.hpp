// A small, bounded DER walker for X.509 certificates (no allocation, no OpenSSL objects):
// what Suricata's x509 handling takes from a TLS flow's leaf certificate.
//
// Contract:
//  - `x509_parse` reads the TBSCertificate's serial, issuer, validity and subject; it reads
//    nothing else and checks only the structure it walks (every length within its parent).
//    False when that structure is broken; the views then are unspecified.
//  - `x509_format_name` writes a Name as Suricata does (the Rust x509-parser's Display):
//    RDNs in certificate order joined by ", ", multi-valued RDNs by " + ", each attribute as
//    SHORT=value with the short names C, ST, L, O, OU, CN, DC, Email, serialNumber, ... (an
//    unknown attribute type as its dotted OID). Output is cut at `cap` bytes.
//  - `x509_format_serial`: the INTEGER's content bytes as upper-case hex joined by ':' (a
//    leading 00 byte kept, as Suricata prints it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace eastwatch {

struct X509Fields {
  std::span<const uint8_t> serial;   // INTEGER content
  std::span<const uint8_t> issuer;   // the Name's content (its RDN SETs)
  std::span<const uint8_t> subject;
  int64_t not_before = 0;            // seconds since the epoch, UTC
  int64_t not_after = 0;
  bool has_validity = false;
};

bool x509_parse(std::span<const uint8_t> der, X509Fields& out) noexcept;
size_t x509_format_name(std::span<const uint8_t> name, char* out, size_t cap) noexcept;
size_t x509_format_serial(std::span<const uint8_t> serial, char* out, size_t cap) noexcept;

}  // namespace eastwatch
