"""Login for the scripted server's session (fakeserver.py _Session
inherits _AuthCommands): STARTTLS, LOGIN, AUTHENTICATE PLAIN, and
XOAUTH2 / OAUTHBEARER checked against fs.oauth_tokens (recorded in
fs.sasl). Runs on the session's thread; uses the session's send, caps,
connection and state.
"""

import base64
import ssl

from fakeimap import _tokens


class _AuthCommands:
    def do_STARTTLS(self, tag, rest):
        srv = self.srv
        if srv.mode != "starttls" or self.c.tls or \
                "STARTTLS" not in self.caps():
            self.send("%s BAD no STARTTLS here\r\n" % tag)
            return
        self.send(("%s OK Begin TLS negotiation now\r\n" % tag).encode() +
                  srv.starttls_extra)
        try:
            self.c.start_tls(srv._server_ctx())
        except (ssl.SSLError, OSError) as e:
            srv._event(("tls-handshake-failed", self.no, str(e)))
            return "close"
        srv._event(("tls", self.no))

    def _login_ok(self, tag, user, password):
        srv = self.srv
        if user == srv.user.encode() and password == srv.password.encode():
            self.state = "auth"
            self.send("%s OK [CAPABILITY %s] Logged in\r\n"
                      % (tag, " ".join(srv.caps_auth)))
        else:
            srv._event(("bad-login", self.no, user))
            self.send("%s NO [AUTHENTICATIONFAILED] Authentication failed."
                      "\r\n" % tag)

    def do_LOGIN(self, tag, rest):
        if "LOGINDISABLED" in self.caps():
            self.send("%s NO LOGIN is disabled\r\n" % tag)
            return
        toks = _tokens(rest)
        if len(toks) != 2:
            self.send("%s BAD LOGIN needs two arguments\r\n" % tag)
            return
        self._login_ok(tag, toks[0], toks[1])

    def do_AUTHENTICATE(self, tag, rest):
        toks = _tokens(rest)
        if toks and toks[0].upper() in (b"XOAUTH2", b"OAUTHBEARER"):
            return self._oauth(tag, toks[0].upper().decode(), toks[1:])
        if not toks or toks[0].upper() != b"PLAIN" or \
                "AUTH=PLAIN" not in self.caps():
            self.send("%s NO unsupported mechanism\r\n" % tag)
            return
        if len(toks) > 1:
            resp = toks[1]
        else:
            self.send("+ \r\n")
            resp = self.c.readline()
        try:
            dec = base64.b64decode(resp)
            _authz, user, password = dec.split(b"\0")
        except ValueError:
            self.send("%s BAD bad PLAIN response\r\n" % tag)
            return
        self._login_ok(tag, user, password)

    def _oauth(self, tag, mech, rest):
        """XOAUTH2 / OAUTHBEARER: the client response must be exactly the
        expected SASL string with one of srv.oauth_tokens. Every exchange
        is recorded in srv.sasl as (mech, decoded response, inline,
        the client's answer to the error challenge or None, the
        connection's number)."""
        srv = self.srv
        if "AUTH=" + mech not in self.caps():
            self.send("%s NO unsupported mechanism\r\n" % tag)
            return
        inline = bool(rest)
        if inline:
            resp = rest[0]
        else:
            self.send("+ \r\n")
            resp = self.c.readline()
        try:
            dec = base64.b64decode(resp, validate=True)
        except ValueError:
            dec = None
        user = srv.user.encode()
        ok = False
        for tok in srv.oauth_tokens:
            tok = tok.encode()
            if mech == "XOAUTH2":
                want = b"user=" + user + b"\x01auth=Bearer " + tok + b"\x01\x01"
            else:
                want = (b"n,a=" + user.replace(b"=", b"=3D").replace(
                    b",", b"=2C") + b",\x01host=" + srv.oauth_host.encode() +
                    b"\x01port=%d\x01auth=Bearer " % self.srv.port + tok +
                    b"\x01\x01")
            if dec == want:
                ok = True
        answer = None
        if not ok:
            # RFC 7628 3.2.2 / Google's XOAUTH2: an error challenge first
            err = base64.b64encode(b'{"status":"invalid_token",'
                                   b'"schemes":"bearer","scope":"mail"}')
            self.send(b"+ " + err + b"\r\n")
            answer = self.c.readline()
        with srv._lock:
            srv.sasl.append((mech, dec, inline, answer, self.no))
        if ok:
            self.state = "auth"
            self.send("%s OK [CAPABILITY %s] Logged in\r\n"
                      % (tag, " ".join(srv.caps_auth)))
        else:
            self.send("%s NO [AUTHENTICATIONFAILED] Invalid credentials "
                      "(Failure)\r\n" % tag)
