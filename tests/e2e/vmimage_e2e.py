#!/usr/bin/env python3
"""The sensor VM's first-boot configuration (packaging/vm/eastwatch-firstboot), on the host:
the script runs with --root on a scratch tree holding the package's config, with the VM's NICs
given by --nics, and its outputs are checked -- the eastwatch.yaml it writes passes the real
`eastwatch -T` (--check, which also downloads the rule/inventory URLs from a local HTTP server),
the networkd files put the mirror NIC in promiscuous mode without addresses or IPv6 autoconf,
the nftables ruleset loads (nft -c in a network namespace holding the two NICs); OVF properties
(ovf-env.xml) give the same; capture mode dpdk puts hugepages on SYSLINUX's kernel command
line (and takes them off again for pcap); bad settings and an invalid config exit 1 and say why on the
console (/etc/issue.d/eastwatch.issue) with the setting or FILE:LINE named; the image's kernel
hook points syslinux.cfg at the newest kernel with an initramfs. The boot test of
the whole image is packaging/vm/vm-test.sh (too slow for CI without KVM).
"""
import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_e2e  # noqa: E402
from run_e2e import check  # noqa: E402

import yaml  # noqa: E402

NICS = "ens3=52:54:00:12:34:01,ens4=52:54:00:12:34:02"
OVF_ENV = """<?xml version="1.0" encoding="UTF-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"
    xmlns:oe="http://schemas.dmtf.org/ovf/environment/1" oe:id="eastwatch-sensor">
  <PropertySection>
    <Property oe:key="eastwatch.name" oe:value="esx-07-sensor"/>
    <Property oe:key="eastwatch.mgmt.interface" oe:value="52:54:00:12:34:01"/>
    <Property oe:key="eastwatch.mgmt.address" oe:value="192.0.2.10/24"/>
    <Property oe:key="eastwatch.mgmt.gateway" oe:value="192.0.2.1"/>
    <Property oe:key="eastwatch.mgmt.dns" oe:value="192.0.2.53, 192.0.2.54"/>
    <Property oe:key="eastwatch.mirror.interface" oe:value="ens4"/>
    <Property oe:key="eastwatch.mirror.mtu" oe:value="1600"/>
    <Property oe:key="eastwatch.capture.mode" oe:value="pcap"/>
    <Property oe:key="eastwatch.kafka.brokers" oe:value="k1:9092,k2:9092"/>
    <Property oe:key="eastwatch.kafka.topic" oe:value="soc-eve"/>
    <Property oe:key="eastwatch.syslog" oe:value="192.0.2.99:6514"/>
    <Property oe:key="eastwatch.syslog.transport" oe:value="udp"/>
    <Property oe:key="eastwatch.redis" oe:value=""/>
    <Property oe:key="eastwatch.metrics" oe:value="0.0.0.0:9101"/>
    <Property oe:key="user-data" oe:value="{user_data}"/>
  </PropertySection>
</Environment>
"""


class Tree:
    def __init__(self, env, name, source):
        self.root = env.path(name)
        os.makedirs(os.path.join(self.root, "etc/eastwatch/rules"))
        shutil.copy(os.path.join(source, "config", "eastwatch.yaml"),
                    os.path.join(self.root, "etc/eastwatch/eastwatch.yaml"))

    def p(self, rel):
        return os.path.join(self.root, rel)

    def read(self, rel):
        return open(self.p(rel)).read()


def firstboot(args, tree, *extra):
    script = os.path.join(args.source, "packaging", "vm", "eastwatch-firstboot")
    return subprocess.run(["/usr/bin/python3", script, "--root", tree.root, "--nics", NICS,
                           "--eastwatch", os.path.abspath(args.eastwatch), *extra],
                          capture_output=True, text=True, timeout=120)


def nft_check(ruleset_path):
    """nft -c of the ruleset in a namespace where ens3 and ens4 exist (the netdev chain names
    its device)."""
    name = "ewvmimage"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode != 0:
        return None
    try:
        for nic in ("ens3", "ens4"):
            if subprocess.run(["ip", "-n", name, "link", "add", nic, "type", "dummy"],
                              capture_output=True).returncode != 0:
                return None  # no dummy links here: not checked
        return subprocess.run(["ip", "netns", "exec", name, "nft", "-c", "-f", ruleset_path],
                              capture_output=True, text=True)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def main():
    args = run_e2e.argument_parser("/tmp/eastwatch-vmimage").parse_args()
    env = run_e2e.Env(args, "vmimage")
    rules = os.path.join(os.path.abspath(args.source), "signatures", "rules")
    www = env.path("www")
    os.makedirs(www)
    with open(os.path.join(www, "extra.rules"), "w") as f:
        f.write('alert http any any -> any any (msg:"from the URL"; http.uri; content:"/x"; sid:9990001; rev:1;)\n')
    with open(os.path.join(www, "inventory.yaml"), "w") as f:
        f.write(open(os.path.join(args.source, "tests/e2e/inventory/demo-inventory.yaml")).read())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=www)
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    common = {"default-rule-path": rules, "default-log-dir": env.dir, "spool.dir": env.path("spool")}

    # 1. cloud-init user-data (NoCloud / ConfigDrive): DHCP management, Redis, URL sources.
    t = Tree(env, "cloud", args.source)
    ud = env.write("user-data", "#cloud-config\n" + yaml.safe_dump({
        "ssh_authorized_keys": ["ssh-ed25519 AAAA test"],
        "eastwatch": {"name": "esx-01-sensor", "mirror": {"interface": "auto", "mtu": 9000},
                      "inventory": url + "/inventory.yaml",
                      "outputs": {"redis": {"server": "10.0.2.2:6390", "key": "soc"}},
                      "rules": [url + "/extra.rules"], "set": common}}))
    r = firstboot(args, t, "--user-data", ud)
    check(r.returncode == 0, f"user-data: exit {r.returncode}: {r.stdout}{r.stderr}")
    cfg = yaml.safe_load(t.read("etc/eastwatch/eastwatch.yaml"))
    check(cfg["sensor"]["name"] == "esx-01-sensor", f"sensor.name: {cfg['sensor']}")
    check(cfg["capture"]["mode"] == "pcap" and cfg["capture"]["interfaces"] == ["ens4"],
          f"capture on the second NIC (auto): {cfg['capture']}")
    red = cfg["outputs"]["redis"]
    check(red["enabled"] is True and red["host"] == "10.0.2.2" and red["port"] == 6390 and red["key"] == "soc",
          f"outputs.redis: {red}")
    check(cfg["outputs"]["kafka"]["enabled"] is False, "kafka stays off")
    check(cfg["inventory"]["file"] == t.p("etc/eastwatch/inventory.yaml"), f"inventory: {cfg['inventory']}")
    check(t.p("etc/eastwatch/rules/source-1.rules") in cfg["rule-files"], f"rule-files: {cfg['rule-files']}")
    mirror = t.read("etc/systemd/network/10-eastwatch-mirror.network")
    for line in ("Name=ens4", "Promiscuous=yes", "MTUBytes=9000", "DHCP=no", "LinkLocalAddressing=no",
                 "IPv6AcceptRA=no", "ARP=no"):
        check(line in mirror.splitlines(), f"mirror .network has {line}:\n{mirror}")
    mgmt = t.read("etc/systemd/network/10-eastwatch-mgmt.network")
    check("Name=ens3" in mgmt and "DHCP=yes" in mgmt, f"management NIC on DHCP:\n{mgmt}")
    nft = t.read("etc/nftables.conf")
    check('iifname "ens4" counter drop' in nft and 'device "ens4"' in nft and "dport 22 accept" in nft
          and "9101" not in nft, f"nftables: mirror dropped, SSH only:\n{nft}")
    if os.geteuid() == 0 and shutil.which("nft"):
        res = nft_check(t.p("etc/nftables.conf"))
        if res is not None:
            check(res.returncode == 0, f"nft -c accepts the ruleset: {res.stderr}")
    # The config refers to files it downloads before the start: --check fetches and validates.
    r = firstboot(args, t, "--check")
    check(r.returncode == 0, f"--check: exit {r.returncode}: {r.stdout}{r.stderr}")
    check(os.path.exists(t.p("etc/eastwatch/rules/source-1.rules")) and
          os.path.exists(t.p("etc/eastwatch/inventory.yaml")), "the URL sources were downloaded")
    check(os.stat(t.p("etc/eastwatch/rules/source-1.rules")).st_mode & 0o040,
          "downloads are readable by the sensor's group (the unit's UMask=0027 would hide them)")
    check(not os.path.exists(t.p("etc/issue.d/eastwatch.issue")), "no console message when valid")
    # The same settings again: the operator's edit of eastwatch.yaml is kept.
    with open(t.p("etc/eastwatch/eastwatch.yaml"), "a") as f:
        f.write("# operator edit\n")
    r = firstboot(args, t, "--user-data", ud)
    check(r.returncode == 0 and t.read("etc/eastwatch/eastwatch.yaml").endswith("# operator edit\n"),
          "unchanged settings keep the config as edited")
    # The refresh timer: a changed inventory is downloaded, an unchanged one left alone (its
    # mtime is what makes the sensor reload).
    inv_path = t.p("etc/eastwatch/inventory.yaml")
    with open(os.path.join(www, "inventory.yaml"), "a") as f:
        f.write("# migrated\n")
    r = firstboot(args, t, "--refresh")
    check(r.returncode == 0 and open(inv_path).read().endswith("# migrated\n"), f"refresh: {r.stdout}")
    os.utime(inv_path, (1000000000, 1000000000))
    r = firstboot(args, t, "--refresh")
    check(r.returncode == 0 and os.stat(inv_path).st_mtime == 1000000000, "an unchanged inventory is not rewritten")
    # A download that fails later keeps the previous copy.
    os.unlink(os.path.join(www, "extra.rules"))
    r = firstboot(args, t, "--check")
    check(r.returncode == 0 and "keeping the previous" in r.stdout, f"failed download keeps the copy: {r.stdout}")

    # 2. vSphere OVF properties: static management address by MAC, Kafka, syslog, metrics; the
    # user-data property's eastwatch: key adds the rest.
    t = Tree(env, "ovf", args.source)
    extra = base64.b64encode(("#cloud-config\n" + yaml.safe_dump({"eastwatch": {"set": common}})).encode()).decode()
    ovf = env.write("ovf-env.xml", OVF_ENV.format(user_data=extra))
    r = firstboot(args, t, "--ovf-env", ovf, "--user-data", env.path("none"))
    check(r.returncode == 0, f"ovf: exit {r.returncode}: {r.stdout}{r.stderr}")
    r = firstboot(args, t, "--check")
    check(r.returncode == 0, f"ovf --check: exit {r.returncode}: {r.stdout}{r.stderr}")
    cfg = yaml.safe_load(t.read("etc/eastwatch/eastwatch.yaml"))
    check(cfg["sensor"]["name"] == "esx-07-sensor" and cfg["capture"]["interfaces"] == ["ens4"], "ovf: name, mirror")
    k = cfg["outputs"]["kafka"]
    check(k["enabled"] is True and k["brokers"] == "k1:9092,k2:9092" and k["topic"] == "soc-eve", f"kafka: {k}")
    s = cfg["outputs"]["syslog"]
    check(s["enabled"] is True and s["host"] == "192.0.2.99" and s["port"] == 6514 and s["transport"] == "udp",
          f"syslog: {s}")
    check(cfg["outputs"]["redis"]["enabled"] is False, "an empty property leaves Redis off")
    check(cfg["metrics"]["enabled"] is True and cfg["metrics"]["listen"] == "0.0.0.0:9101", f"metrics {cfg['metrics']}")
    mgmt = t.read("etc/systemd/network/10-eastwatch-mgmt.network").splitlines()
    for line in ("Name=ens3", "Address=192.0.2.10/24", "Gateway=192.0.2.1", "DNS=192.0.2.53", "DNS=192.0.2.54"):
        check(line in mgmt, f"static management has {line}: {mgmt}")
    check("DHCP=yes" not in mgmt, "no DHCP with a static address")
    check("MTUBytes=1600" in t.read("etc/systemd/network/10-eastwatch-mirror.network"), "ovf: mirror MTU")
    check('iifname "ens3" tcp dport 9101 accept' in t.read("etc/nftables.conf"), "the metrics port is opened")

    # 2b. Capture mode dpdk: the config captures the named ports with DPDK (no libpcap
    # interface), hugepages go on the kernel command line (SYSLINUX's APPEND, the image's own
    # syslinux.cfg) once, a changed count replaces them, and back to pcap takes them off again.
    # With --root nothing is reserved on this host (/proc/sys/vm/nr_hugepages is the VM's).
    t = Tree(env, "dpdk", args.source)
    os.makedirs(t.p("boot/syslinux"))
    shipped = open(os.path.join(args.source, "packaging", "vm", "syslinux.cfg")).read()
    open(t.p("boot/syslinux/syslinux.cfg"), "w").write(shipped)
    append = next(line.split() for line in shipped.splitlines() if line.strip().startswith("APPEND"))
    hugepages_before = open("/proc/sys/vm/nr_hugepages").read()

    def dpdk_boot(capture):
        ud = env.write("dpdk.yaml", "#cloud-config\n" + yaml.safe_dump(
            {"eastwatch": {"name": "kvm-03-sensor", "capture": capture, "set": common}}))
        r = firstboot(args, t, "--user-data", ud)
        check(r.returncode == 0, f"dpdk {capture}: exit {r.returncode}: {r.stdout}{r.stderr}")
        lines = [line.split() for line in t.read("boot/syslinux/syslinux.cfg").splitlines()
                 if line.strip().startswith("APPEND")]
        check(len(lines) == 1, f"one APPEND line: {lines}")
        return yaml.safe_load(t.read("etc/eastwatch/eastwatch.yaml"))["capture"], lines[0]

    capture, words = dpdk_boot({"mode": "dpdk", "hugepages": 512, "workers": 2,
                                "dpdk-ports": ["0000:00:05.0"], "eal-args": ["-l", "0-2"]})
    check(capture["mode"] == "dpdk" and capture["interfaces"] == [] and capture["workers"] == 2
          and capture["dpdk"]["ports"] == ["0000:00:05.0"] and capture["dpdk"]["eal-args"] == ["-l", "0-2"],
          f"dpdk capture: {capture}")
    check(words == append + ["hugepages=512", "default_hugepagesz=2M"], f"kernel command line: {words}")
    r = firstboot(args, t, "--check")
    check(r.returncode == 0, f"dpdk --check (eastwatch -T): exit {r.returncode}: {r.stdout}{r.stderr}")
    _, words = dpdk_boot({"mode": "dpdk", "hugepages": 256, "dpdk-ports": ["0000:00:05.0"]})
    check(words == append + ["hugepages=256", "default_hugepagesz=2M"], f"changed count replaces: {words}")
    capture, words = dpdk_boot({"mode": "pcap"})
    check(capture["mode"] == "pcap" and capture["interfaces"] == ["ens4"] and words == append,
          f"back to pcap: {capture} {words}")
    check(open("/proc/sys/vm/nr_hugepages").read() == hugepages_before, "--root reserved hugepages on the host")
    # The same from vSphere's OVF properties alone (the descriptor's eastwatch.capture.* keys).
    for key in ("eastwatch.capture.mode", "eastwatch.capture.hugepages", "eastwatch.capture.dpdk-ports"):
        check(f'ovf:key="{key}"' in open(os.path.join(args.source, "packaging", "vm", "eastwatch-sensor.ovf.in")).read(),
              f"the OVA's descriptor offers {key}")
    props = (OVF_ENV.replace('"eastwatch.capture.mode" oe:value="pcap"', '"eastwatch.capture.mode" oe:value="dpdk"')
             .replace("  </PropertySection>", '    <Property oe:key="eastwatch.capture.hugepages" oe:value="768"/>\n'
                      '    <Property oe:key="eastwatch.capture.dpdk-ports" oe:value="0000:0b:00.0, 0000:13:00.0"/>\n'
                      "  </PropertySection>"))
    extra = base64.b64encode(("#cloud-config\n" + yaml.safe_dump({"eastwatch": {"set": common}})).encode()).decode()
    ovf = env.write("ovf-dpdk.xml", props.format(user_data=extra))
    r = firstboot(args, t, "--ovf-env", ovf, "--user-data", env.path("none"))
    check(r.returncode == 0, f"ovf dpdk: exit {r.returncode}: {r.stdout}{r.stderr}")
    capture = yaml.safe_load(t.read("etc/eastwatch/eastwatch.yaml"))["capture"]
    check(capture["mode"] == "dpdk" and capture["dpdk"]["ports"] == ["0000:0b:00.0", "0000:13:00.0"],
          f"ovf dpdk capture: {capture}")
    check("hugepages=768" in t.read("boot/syslinux/syslinux.cfg"), "ovf: hugepages on the kernel command line")

    # 3. Bad settings: exit 1, the console names the setting; no config written.
    bad = [({"mirror": {"interface": "ens3"}}, "eastwatch.name"),
           ({"name": "s1", "capture": {"mode": "netmap"}}, "eastwatch.capture.mode"),
           ({"name": "s1", "mirror": {"interface": "ens3"}}, "eastwatch.mirror.interface: ens3 is the management NIC"),
           ({"name": "s1", "mirror": {"interface": "aa:bb:cc:dd:ee:ff"}}, "no NIC has MAC aa:bb:cc:dd:ee:ff"),
           ({"name": "s1", "mirror": {"mtu": 100}}, "eastwatch.mirror.mtu: 100 is outside"),
           ({"name": "s1", "capture": {"mode": "dpdk"}}, "eastwatch.capture.dpdk-ports"),
           ({"name": "s1", "outputs": {"redis": {"server": "h:99999"}}}, "eastwatch.outputs.redis.server"),
           ({"name": "s1", "outputs": {"syslog": [{"server": "a"}, {"server": "b"}]}}, "one target"),
           ({"name": "s1", "snort": 1}, "eastwatch.snort: unknown setting")]
    for i, (settings, expect) in enumerate(bad):
        t = Tree(env, f"bad{i}", args.source)
        before = t.read("etc/eastwatch/eastwatch.yaml")
        ud = env.write(f"bad{i}.yaml", "#cloud-config\n" + yaml.safe_dump({"eastwatch": settings}))
        r = firstboot(args, t, "--user-data", ud)
        check(r.returncode == 1, f"bad {settings}: exit {r.returncode}")
        issue = t.read("etc/issue.d/eastwatch.issue")
        check(expect in issue and "not started" in issue and expect in r.stdout,
              f"bad {settings}: console and journal say '{expect}': {issue}")
        check(t.read("etc/eastwatch/eastwatch.yaml") == before, "no config written for bad settings")
    # A config eastwatch rejects: --check exits 1 with eastwatch's FILE:LINE: key message.
    t = Tree(env, "invalid", args.source)
    ud = env.write("invalid.yaml", "#cloud-config\n" + yaml.safe_dump(
        {"eastwatch": {"name": "s1", "set": dict(common, **{"capture.snaplen": "lots"})}}))
    r = firstboot(args, t, "--user-data", ud)
    check(r.returncode == 0, f"settings fine: {r.stdout}")
    r = firstboot(args, t, "--check")
    issue = t.read("etc/issue.d/eastwatch.issue")
    check(r.returncode == 1 and "eastwatch -T" in issue and "eastwatch.yaml:" in issue and "snaplen" in issue,
          f"invalid config: {issue}")
    # Fixed (an operator's edit): the next check passes and clears the console message.
    text = t.read("etc/eastwatch/eastwatch.yaml").replace("snaplen: lots", "snaplen: 65535")
    open(t.p("etc/eastwatch/eastwatch.yaml"), "w").write(text)
    r = firstboot(args, t, "--check")
    check(r.returncode == 0 and not os.path.exists(t.p("etc/issue.d/eastwatch.issue")),
          f"after the fix: {r.stdout}{r.stderr}")
    # The kernel hook (customize.sh's zz-eastwatch-syslinux, run after a kernel's install or
    # removal and after each initramfs update; SYSLINUX boots the versioned files, the image
    # has no second copy under stable names): LINUX and INITRD name the newest kernel in /boot
    # that has its initramfs, in version order; APPEND (hugepages) and the comments stay.
    text = open(os.path.join(args.source, "packaging", "vm", "customize.sh")).read()
    hook = env.write("zz-eastwatch-syslinux", text.split("<<'HOOK'\n", 1)[1].split("\nHOOK\n", 1)[0] + "\n")
    boot = env.path("boot")
    os.makedirs(os.path.join(boot, "syslinux"))
    cfg_path = os.path.join(boot, "syslinux", "syslinux.cfg")
    with open(cfg_path, "w") as f:
        f.write(shipped.replace(" quiet\n", " quiet hugepages=64 default_hugepagesz=2M\n"))

    def kernel_hook(*files):
        for name in files:
            open(os.path.join(boot, name), "w").close()
        r = subprocess.run(["sh", hook, "", "", boot], capture_output=True, text=True)
        check(r.returncode == 0, f"kernel hook: exit {r.returncode}: {r.stderr}")
        cfg = open(cfg_path).read()
        check(cfg.count("hugepages=64") == 1 and "LINUX and INITRD name" in cfg, f"APPEND, comments kept:\n{cfg}")
        words = {line.split()[0]: line.split()[1] for line in cfg.splitlines()
                 if line.strip().split()[:1] in (["LINUX"], ["INITRD"])}
        return words.get("LINUX"), words.get("INITRD")

    ver = "6.1.0-%d-cloud-amd64"
    check(kernel_hook(f"vmlinuz-{ver % 9}", f"initrd.img-{ver % 9}", f"vmlinuz-{ver % 50}",
                      f"initrd.img-{ver % 50}", f"vmlinuz-{ver % 51}")
          == (f"/vmlinuz-{ver % 50}", f"/initrd.img-{ver % 50}"), "hook: newest with an initramfs (50 > 9; 51 has none)")
    check(kernel_hook(f"initrd.img-{ver % 51}") == (f"/vmlinuz-{ver % 51}", f"/initrd.img-{ver % 51}"),
          "hook: the new kernel once its initramfs is made")
    os.remove(os.path.join(boot, f"vmlinuz-{ver % 51}"))
    os.remove(os.path.join(boot, f"initrd.img-{ver % 51}"))
    check(kernel_hook() == (f"/vmlinuz-{ver % 50}", f"/initrd.img-{ver % 50}"), "hook: back to 50 after 51's removal")
    server.shutdown()
    print("vmimage_e2e: PASS")
    return 0


if __name__ == "__main__":
    run_e2e.run_script(main, "vmimage_e2e")
