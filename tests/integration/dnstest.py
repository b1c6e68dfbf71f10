"""dnstest.py - a private unbound (dnsserver.sh) for the Python integration
tests: zone files from records, restart with a changed zone, and a dkimpy
dnsfunc that asks that server (dnspython), so signatures are verified
against the zone the daemons see."""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
DNSSERVER = os.path.join(HERE, "dnsserver.sh")


def txt_strings(value):
    """a TXT value as quoted strings of at most 255 octets (RFC 1035 3.3.14)"""
    return " ".join('"%s"' % value[i:i + 255] for i in range(0, len(value), 255))


class Server:
    """unbound on 127.0.0.1 serving records [(name, ttl, type, value)]"""

    def __init__(self, tmp, ports):
        self.dir = os.path.join(tmp, "dns")
        self.zone = os.path.join(tmp, "zone")
        self.ports = ports
        self.port = None

    def write(self, records):
        with open(self.zone, "w") as f:
            f.write("zone example. static\n")
            for name, ttl, rtype, value in records:
                if rtype == "TXT":
                    value = txt_strings(value)
                f.write("%s %d %s %s\n" % (name, ttl, rtype, value))

    def start(self, records):
        """start (or restart on the same port) with these records"""
        self.write(records)
        if self.port is not None:
            subprocess.run(["sh", DNSSERVER, "stop", self.dir], check=True)
        p = subprocess.run(["sh", DNSSERVER, "start", self.dir,
                            str(self.port or self.ports), self.zone],
                           capture_output=True, text=True)
        if p.returncode == 77:
            return 77
        if p.returncode != 0:
            raise RuntimeError("dnsserver.sh start: " + p.stderr)
        self.port = int(p.stdout.strip())
        return 0

    def stop(self):
        subprocess.run(["sh", DNSSERVER, "stop", self.dir])

    def forwarder(self):
        return "127.0.0.1@%d" % self.port

    def dnsfunc(self):
        """for dkim.DKIM.verify: the TXT record of a name, from this server"""
        import dns.resolver
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = ["127.0.0.1"]
        r.port = self.port
        r.cache = None

        def lookup(name, timeout=5):
            if isinstance(name, bytes):
                name = name.decode()
            try:
                a = r.resolve(name, "TXT", lifetime=timeout)
            except Exception:
                return None
            return b"".join(b"".join(rr.strings) for rr in a[:1])
        return lookup
