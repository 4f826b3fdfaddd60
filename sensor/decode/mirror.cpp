// Taking a mirror encapsulation off: the outermost one's metadata is kept, the outer layers'
// fields are cleared so that the packet view describes the inner frame alone.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

bool enter_mirror(Packet& p, DecodeStats& s, const MirrorInfo& mirror, Scope& scope) noexcept {
  if (scope.depth >= kMaxEncapsulationDepth) {
    ++s.too_many_layers;
    return false;
  }
  ++scope.depth;
  const MirrorInfo outermost = p.mirror.encap == MirrorEncap::None ? mirror : p.mirror;
  const DecodeEventSet events = p.events;  // the outer layers' anomalies stay raised
  const bool rebuilt = p.rebuilt_fragment;
  p.reset_decode();
  p.mirror = outermost;
  p.events = events;
  p.rebuilt_fragment = rebuilt;
  return true;
}

}  // namespace eastwatch::detail
