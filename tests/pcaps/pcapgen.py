"""Small helpers on top of scapy to write deterministic test captures.

Used by the demo capture generator and the end-to-end tests (run with Debian's /usr/bin/python3,
which sees python3-scapy). Every packet gets an explicit timestamp; checksums are computed by
scapy; TCP sessions carry correct sequence numbers.
"""
from scapy.all import IP, IPv6, TCP, UDP, ICMP, Ether, Dot1Q, Raw, wrpcap, wrpcapng  # noqa: F401
from scapy.all import conf
from decimal import Decimal

conf.verb = 0


class Capture:
    """Collects frames with increasing timestamps."""

    def __init__(self, start=1795165200, step_usec=1000):
        self.packets = []
        self.usec = start * 1_000_000  # integer microseconds: exact timestamps in the file
        self.step_usec = step_usec

    def add(self, frame, gap_usec=None):
        self.usec += self.step_usec if gap_usec is None else gap_usec
        frame.time = Decimal(self.usec) / Decimal(1_000_000)
        self.packets.append(frame)
        return len(self.packets)  # the frame's pcap_cnt

    def write(self, path):
        wrpcap(path, self.packets)


def ether(src="00:50:56:00:00:01", dst="00:50:56:00:00:02"):
    return Ether(src=src, dst=dst)


def l2(src_mac, dst_mac, vlan=None):
    frame = Ether(src=src_mac, dst=dst_mac)
    return frame / Dot1Q(vlan=vlan) if vlan is not None else frame


def ip_layer(src, dst, **kw):
    return IPv6(src=src, dst=dst, **kw) if ":" in src else IP(src=src, dst=dst, **kw)


class TcpSession:
    """A TCP conversation: handshake, data both ways, FIN teardown."""

    def __init__(self, cap, client, server, cport, sport, cmac="00:50:56:00:00:01", smac="00:50:56:00:00:02",
                 vlan=None):
        self.cap, self.client, self.server = cap, client, server
        self.cport, self.sport, self.cmac, self.smac, self.vlan = cport, sport, cmac, smac, vlan
        self.cseq, self.sseq = 1000, 5000

    def _frame(self, to_server, flags, payload=b""):
        if to_server:
            frame = l2(self.cmac, self.smac, self.vlan) / ip_layer(self.client, self.server) / TCP(
                sport=self.cport, dport=self.sport, flags=flags, seq=self.cseq, ack=self.sseq if "A" in flags else 0)
        else:
            frame = l2(self.smac, self.cmac, self.vlan) / ip_layer(self.server, self.client) / TCP(
                sport=self.sport, dport=self.cport, flags=flags, seq=self.sseq, ack=self.cseq if "A" in flags else 0)
        return frame / Raw(payload) if payload else frame

    def handshake(self):
        self.cap.add(self._frame(True, "S"))
        self.cseq += 1
        self.cap.add(self._frame(False, "SA"))
        self.sseq += 1
        return self.cap.add(self._frame(True, "A"))

    def send(self, payload, to_server=True):
        n = self.cap.add(self._frame(to_server, "PA", payload))
        if to_server:
            self.cseq += len(payload)
        else:
            self.sseq += len(payload)
        return n

    def close(self):
        self.cap.add(self._frame(True, "FA"))
        self.cseq += 1
        self.cap.add(self._frame(False, "FA"))
        self.sseq += 1
        return self.cap.add(self._frame(True, "A"))

    def refused(self):
        """SYN answered by RST/ACK (closed port)."""
        self.cap.add(self._frame(True, "S"))
        self.cseq += 1
        return self.cap.add(self._frame(False, "RA"))


def udp_packet(cap, src, dst, sport, dport, payload, smac="00:50:56:00:00:01", dmac="00:50:56:00:00:02", vlan=None):
    return cap.add(l2(smac, dmac, vlan) / ip_layer(src, dst) / UDP(sport=sport, dport=dport) / Raw(payload))


def icmp_echo(cap, src, dst, ident, seq, payload=b"abcdefghijklmnop", reply=True, smac="00:50:56:00:00:01",
              dmac="00:50:56:00:00:02", vlan=None):
    n = cap.add(l2(smac, dmac, vlan) / IP(src=src, dst=dst) / ICMP(type=8, id=ident, seq=seq) / Raw(payload))
    if reply:
        cap.add(l2(dmac, smac, vlan) / IP(src=dst, dst=src) / ICMP(type=0, id=ident, seq=seq) / Raw(payload))
    return n
