"""Throwaway X.509 material for the tests, made with the openssl CLI.

make_ca(dir, name)            -> (ca_cert_path, ca_key_path)
make_leaf(dir, name, ca, sans) -> (cert_path, key_path)   signed by ca
make_self_signed(dir, name, sans) -> (cert_path, key_path) (its own CA)

SANs are strings like "DNS:localhost" or "IP:127.0.0.1". Keys are EC P-256
(fast to generate); certificates are valid from one day ago for 30 days so a
slightly wrong clock does not matter.
"""

import os
import shutil
import subprocess


def _openssl():
    path = shutil.which("openssl") or "/usr/bin/openssl"
    if not os.path.exists(path):
        raise RuntimeError("openssl CLI not found: run tests/install-deps "
                           "(apt-get install -y openssl)")
    return path


def _run(args, cwd):
    r = subprocess.run([_openssl()] + args, cwd=cwd, capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args),
                                                      r.stderr.strip()))
    return r


def _key(path, cwd):
    _run(["genpkey", "-algorithm", "EC", "-pkeyopt",
          "ec_paramgen_curve:P-256", "-out", path], cwd)
    os.chmod(path, 0o600)


def make_ca(d, name="imapfs test CA"):
    os.makedirs(d, exist_ok=True)
    key = os.path.join(d, "ca.key")
    crt = os.path.join(d, "ca.crt")
    _key(key, d)
    _run(["req", "-x509", "-new", "-key", key, "-out", crt, "-days", "30",
          "-subj", "/CN=" + name,
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign",
          "-addext", "subjectKeyIdentifier=hash"], d)
    return crt, key


def make_leaf(d, name, ca, sans):
    """A server certificate for SANS signed by CA=(crt, key)."""
    ca_crt, ca_key = ca
    os.makedirs(d, exist_ok=True)
    key = os.path.join(d, name + ".key")
    csr = os.path.join(d, name + ".csr")
    crt = os.path.join(d, name + ".crt")
    ext = os.path.join(d, name + ".ext")
    _key(key, d)
    cn = sans[0].split(":", 1)[1] if sans else name
    _run(["req", "-new", "-key", key, "-out", csr, "-subj", "/CN=" + cn], d)
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=%s\n" % ",".join(sans))
    _run(["x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
          "-CAcreateserial", "-out", crt, "-days", "30", "-extfile", ext], d)
    # Dovecot's login processes read the key after dropping privileges only
    # if told to with '<' (the master reads it as root), so 0600 root is fine.
    return crt, key


def make_self_signed(d, name, sans):
    """A self-signed server certificate (nobody's CA trusts it)."""
    os.makedirs(d, exist_ok=True)
    key = os.path.join(d, name + ".key")
    crt = os.path.join(d, name + ".crt")
    _key(key, d)
    cn = sans[0].split(":", 1)[1] if sans else name
    _run(["req", "-x509", "-new", "-key", key, "-out", crt, "-days", "30",
          "-subj", "/CN=" + cn, "-addext",
          "subjectAltName=" + ",".join(sans)], d)
    return crt, key


class Pki:
    """One CA plus the leaf certificates the tests need, in directory D."""

    def __init__(self, d):
        self.dir = d
        self.ca = make_ca(os.path.join(d, "ca"))
        self.cafile = self.ca[0]

    def leaf(self, name, sans=("DNS:localhost", "IP:127.0.0.1")):
        return make_leaf(os.path.join(self.dir, "leaf"), name, self.ca,
                         list(sans))

    def self_signed(self, name, sans=("DNS:localhost", "IP:127.0.0.1")):
        return make_self_signed(os.path.join(self.dir, "self"), name,
                                list(sans))
