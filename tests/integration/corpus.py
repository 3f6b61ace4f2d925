"""Sample mail for the integration tests and the demo.

populate(server, big=False) creates the mailboxes and APPENDs the messages
with imaplib (the independent client), then returns a Corpus describing
what it made. Tests compare the mount against what the *server* returns
(the server may normalise what we sent, e.g. bare LF -> CRLF), so the
Corpus mostly names things: where the needle is, where the big message is.

Mailboxes are given as tuples of UTF-8 components relative to the personal
namespace; server_name() joins them with the server's delimiter, adds the
prefix and encodes to modified UTF-7.
"""

import base64
import os
import zlib
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imaputil  # noqa: E402
from imaputil import check, quote, internaldate_str  # noqa: E402

NEEDLE = "xyzzy-needle-7f3a9c-unique"      # appears in exactly one message
BIG_SIZE = 2 * 1024 * 1024                  # the ~2 MB message
HUGE_SIZE = 20 * 1024 * 1024                # the ~20 MB one (big=True)

CRLF = b"\r\n"


def _lines(*ls):
    return CRLF.join(x.encode("utf-8") if isinstance(x, str) else x
                     for x in ls) + CRLF


def _b64_lines(data):
    enc = base64.b64encode(data)
    return CRLF.join(enc[i:i + 76] for i in range(0, len(enc), 76))


def _hdr(subject, frm="Alice Example <alice@example.org>",
         to="Bob <bob@example.org>", date="Mon, 01 Jan 2024 10:00:00 +0000",
         msgid=None, extra=()):
    h = ["From: " + frm, "To: " + to, "Subject: " + subject, "Date: " + date,
         "Message-ID: <%s@imapfs.test>" % (msgid or "%08x" % zlib.crc32(
             subject.encode()))]
    h += list(extra)
    return h


def msg_plain(subject, body, **kw):
    return _lines(*_hdr(subject, **kw), "MIME-Version: 1.0",
                  "Content-Type: text/plain; charset=us-ascii", "", *body)


def tagged(subject, idprefix, body):
    """-> msg(tag, lines=None): a new plain CRLF message (the server stores
    and returns it byte for byte) with Subject "SUBJECT TAG", body LINES
    (else BODY: a list of lines, or a function of TAG giving one) and a
    Message-ID no other call repeats, <IDPREFIX-TAG-NANOSECONDS@imapfs.test>.
    Each write test module makes its own with its subject and prefix."""
    def msg(tag, lines=None):
        if lines is None:
            lines = body(tag) if callable(body) else body
        return msg_plain("%s %s" % (subject, tag), list(lines),
                         msgid="%s-%s-%d" % (idprefix, tag,
                                             time.monotonic_ns()))
    return msg


def msg_alternative(subject):
    b = "==alt-boundary-42=="
    return _lines(
        *_hdr(subject), "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="%s"' % b, "",
        "This is a multi-part message in MIME format.", "",
        "--" + b, "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 7bit", "",
        "Hello in plain text.", "Second line.", "",
        "--" + b, "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: 7bit", "",
        "<html><body><p>Hello in <b>HTML</b>.</p></body></html>", "",
        "--" + b + "--", "")


def msg_mixed(subject, attachment, fname="report.pdf",
              ctype="application/pdf"):
    b = "----=_Part_12345_67890.1700000000000"
    return _lines(
        *_hdr(subject), "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="%s"' % b, "",
        "--" + b, "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: quoted-printable", "",
        "Please find the report attached. Caf=C3=A9 au lait =E2=82=AC5, a ve=",
        "ry long soft-broken line.", "",
        "--" + b, "Content-Type: %s; name=\"%s\"" % (ctype, fname),
        "Content-Transfer-Encoding: base64",
        "Content-Disposition: attachment; filename=\"%s\"" % fname, "",
        _b64_lines(attachment), "",
        "--" + b + "--", "")


def msg_8bit(subject):
    return _lines(
        *_hdr(subject), "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit", "",
        "Grüße aus Köln! Ça va? Naïve café, smørrebrød, 日本語のテキスト, "
        "Ελληνικά, русский текст, emoji \U0001F4EC.",
        "Zweite Zeile mit ß und €.")


def msg_qp(subject):
    return _lines(
        *_hdr(subject), "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=iso-8859-1",
        "Content-Transfer-Encoding: quoted-printable", "",
        "Ol=E1, isto =E9 quoted-printable com uma linha muito longa que =",
        "continua aqui =3D fim.", "Trailing space=20")


def msg_malformed(subject):
    long_value = "x" * 2500
    return _lines(
        "From: Broken Sender <broken@example.org>",
        "To: bob@example.org",
        "Subject: " + subject,
        "This line has no colon at all",
        "X-Very-Long: " + long_value,
        "Date: not a date",
        "X-Folded: first part",
        "\tsecond part after a tab",
        "",
        "Body of a message with broken headers.")


def msg_bare_lf(subject):
    # Bare LF line endings. The server may store or return CRLF: the tests
    # compare with what the server returns, never with this.
    return ("From: lf@example.org\nTo: bob@example.org\nSubject: %s\n"
            "Date: Tue, 02 Jan 2024 11:00:00 +0100\n\nUnix line endings\n"
            "second line\n" % subject).encode()


def msg_big(subject, size, seed):
    rnd = random.Random(seed)
    # base64 expands 3 -> 4 plus CRLF per 76 chars: aim at SIZE total.
    raw = rnd.randbytes(int(size * 3 / 4 * 76 / 78))
    return msg_mixed(subject, raw, fname="big-%d.bin" % seed,
                     ctype="application/octet-stream")


def msg_nested(subject, pdf, inner_bin=b"inner attachment\x00\x01\xff"):
    """What mail clients send, for the parts view: multipart/mixed holding
    an alternative (quoted-printable ISO-8859-1 text, base64 UTF-8 html),
    PDF with an RFC 2231 name in two continuations, a forwarded message
    (itself mixed, with an RFC 2047-named attachment), a second
    attachment of the same name, and names a directory must not take."""
    b1, b2, b3 = "==outer==", "==alt==", "==inner=="
    html = "<p>Gr\u00fc\u00dfe aus K\u00f6ln \u20ac</p>\r\n".encode("utf-8")
    return _lines(
        *_hdr(subject), "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="%s"' % b1, "",
        "--" + b1, 'Content-Type: multipart/alternative; boundary="%s"' % b2, "",
        "--" + b2, "Content-Type: text/plain; charset=iso-8859-1",
        "Content-Transfer-Encoding: quoted-printable", "",
        "Gr=FC=DFe aus K=F6ln, the rates are attached. A long line that is =",
        "soft-broken in the middle.", "Trailing blank=20", "",
        "--" + b2, "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: base64", "",
        _b64_lines(html), "",
        "--" + b2 + "--", "",
        "--" + b1, "Content-Type: application/pdf",
        "Content-Transfer-Encoding: base64",
        "Content-Disposition: attachment;",
        " filename*0*=utf-8''%E2%82%AC%20rates%20for%20;",
        " filename*1*=2024.pdf", "",
        _b64_lines(pdf), "",
        "--" + b1, "Content-Type: message/rfc822",
        'Content-Disposition: attachment; filename="fwd.eml"', "",
        "From: carol@example.org", "Subject: the forwarded one", "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="%s"' % b3, "",
        "--" + b3, "Content-Type: text/plain; charset=utf-8", "",
        "inner text body", "",
        "--" + b3, "Content-Type: application/octet-stream",
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="=?UTF-8?B?w7xiZXIuYmlu?="', "",
        _b64_lines(inner_bin), "",
        "--" + b3 + "--", "",
        "--" + b1, "Content-Type: application/pdf; name=\"\u20ac rates for 2024.pdf\"",
        "Content-Transfer-Encoding: base64", "",
        _b64_lines(b"the second one"), "",
        "--" + b1, "Content-Type: text/plain; name=\"../../etc/passwd\"",
        "Content-Disposition: attachment", "",
        "not a password file", "",
        "--" + b1, "Content-Type: text/plain; name=\"header\"",
        "Content-Disposition: attachment", "",
        "an attachment called header", "",
        "--" + b1 + "--", "")


def msg_broken_mime(subject):
    """A multipart whose closing boundary never comes, a base64 part with
    garbage, an unknown charset, and quoted-printable cut mid-escape."""
    b = "zz"
    return _lines(
        *_hdr(subject), "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="%s"' % b, "",
        "--" + b, "Content-Type: text/plain; charset=x-unknown-charset",
        "Content-Transfer-Encoding: base64", "",
        "R3L8/t9l!!!IGF1cw==", "",
        "--" + b, 'Content-Type: application/octet-stream; name="cut.bin"',
        "Content-Transfer-Encoding: quoted-printable", "",
        "abc=", "def=4")


# Subjects in RFC 2047 form.
SUBJ_UTF8_B = "=?UTF-8?B?%s?=" % base64.b64encode(
    "Grüße – Übersicht 日本".encode()).decode()
SUBJ_LATIN1_Q = "=?ISO-8859-1?Q?Caf=E9_cr=E8me_br=FBl=E9e?="


class Mailbox:
    def __init__(self, path, messages=(), special=None, noselect_parents=0,
                 layouts=("slash", "dot"), namespace="personal"):
        self.path = tuple(path)        # UTF-8 components
        self.messages = list(messages)  # (bytes, flags list, epoch, tz)
        self.special = special
        self.layouts = layouts
        self.namespace = namespace


def mailboxes(big=False):
    """The corpus: a list of Mailbox."""
    d2024 = 1704103200       # 01-Jan-2024 10:00:00 UTC
    d2019 = 1552694399       # 15-Mar-2019 23:59:59 UTC
    d2020 = 1582979696       # 29-Feb-2020 12:34:56 UTC
    d1999 = 946684799        # 31-Dec-1999 23:59:59 UTC
    att = random.Random(7).randbytes(30000)
    mbs = [
        Mailbox(("INBOX",), [
            (msg_plain("Plain hello", ["Hello Bob,", "", "plain text.", "",
                                       "-- ", "Alice"]),
             [], d2024, 0),
            (msg_alternative("Alternative parts"), ["\\Seen"], d2019, -300),
            (msg_mixed("Report attached", att), ["\\Seen", "\\Flagged"],
             d2020, 330),
            (msg_8bit(SUBJ_UTF8_B), ["\\Answered", "\\Seen"], d1999, 60),
            (msg_qp(SUBJ_LATIN1_Q), ["$Label1"], d2024 + 86400, 0),
            (msg_malformed("Malformed headers"), [], d2024 + 3600, 0),
            (msg_bare_lf("Bare LF endings"), ["\\Flagged", "$Label1"],
             d2024 + 7200, 0),
            (msg_plain("Needle in here", ["Some text before.",
                                          "The secret word is %s." % NEEDLE,
                                          "After."]),
             ["\\Seen"], d2020 + 100, 0),
            (msg_plain("Draft", ["unfinished"]), ["\\Draft"], d2024 + 60, 0),
        ]),
        Mailbox(("Reçus",), [
            (msg_plain("Reçu n°1", ["Merci pour votre achat."]),
             ["\\Seen"], d2019, 60),
            (msg_8bit("=?UTF-8?Q?Re=C3=A7u_n=C2=B02?="), [], d2019 + 10, 60),
        ]),
        Mailbox(("日本語",), [
            (msg_8bit("=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?="), [], d2024, 540),
        ]),
        Mailbox(("Ünïcödé Folder",), [
            (msg_plain("unicode folder", ["x"]), ["\\Flagged"], d2020, 0),
        ]),
        Mailbox(("Work Stuff",), [
            (msg_plain("Meeting notes", ["Agenda:", "1. stuff"]), [], d2024,
             0),
        ]),
        Mailbox(("Tom & Jerry",), [
            (msg_plain("Cat and mouse", ["chase"]), ["\\Seen"], d2019, 0),
        ]),
        Mailbox(("100% Done",), [
            (msg_plain("percent", ["100%"]), [], d2019, 0),
        ]),
        # A mailbox with messages and children, nested three levels deep,
        # messages at every level.
        Mailbox(("Projects",), [
            (msg_plain("Project overview", ["top level"]), [], d2019, 0),
        ]),
        Mailbox(("Projects", "2024"), [
            (msg_plain("Year 2024", ["second level"]), ["\\Seen"], d2024, 0),
        ]),
        Mailbox(("Projects", "2024", "Q1"), [
            (msg_plain("Quarter one", ["third level"]), ["\\Answered"],
             d2024 + 99, 0),
            (msg_alternative("Quarter one again"), [], d2024 + 199, 0),
        ]),
        # Only a/b/c is created: a and a/b are \Noselect (Dovecot lists them
        # with \Noselect \HasChildren in both layouts).
        Mailbox(("a", "b", "c"), [
            (msg_plain("deep", ["in a/b/c"]), [], d2020, 0),
        ]),
        Mailbox(("Empty",), []),
        Mailbox(("Sent",), [
            (msg_plain("Sent one", ["I sent this"]), ["\\Seen"], d2024, 0),
        ], special="\\Sent"),
        Mailbox(("Trash",), [], special="\\Trash"),
        Mailbox(("Archive",), [], special="\\Archive"),
        Mailbox(("Big",), [
            (msg_big("Big two megabytes", BIG_SIZE, 1), [], d2024, 0),
        ]),
        # A '/' inside a name is possible only where '/' is not the
        # delimiter (dot layout, Dovecot's listescape plugin).
        Mailbox(("a/b",), [
            (msg_plain("slash in name", ["x"]), [], d2024, 0),
        ], layouts=("dot",)),
        Mailbox(("back\\slash",), [
            (msg_plain("backslash in name", ["x"]), [], d2024, 0),
        ], layouts=("dot",)),
        # The public namespace.
        Mailbox(("Public", "News"), [
            (msg_plain("Public announcement", ["for everyone"]), [], d2024,
             0),
            (msg_plain("Public second", ["also public"]), ["\\Seen"],
             d2024 + 5, 0),
        ], layouts=("slash",), namespace="public"),
    ]
    if big:
        mbs.append(Mailbox(("Huge",), [
            (msg_big("Huge twenty megabytes", HUGE_SIZE, 2), [], d2024, 0)]))
    return mbs


def server_name(server, path, namespace="personal"):
    """Components -> the server's mailbox name (modified UTF-7 str)."""
    if namespace == "public":
        assert path[0] == "Public"
        return server.public_prefix + server.delimiter.join(
            imaputil.mutf7_encode(p) for p in path[1:])
    if path == ("INBOX",):
        return "INBOX"
    return server.personal_prefix + server.delimiter.join(
        imaputil.mutf7_encode(p) for p in path)


class Corpus:
    def __init__(self, server, mbs):
        self.server = server
        self.mailboxes = mbs
        self.names = {}        # path tuple -> server name
        self.needle = NEEDLE
        self.needle_mailbox = None
        self.big_mailbox = None
        self.huge_mailbox = None

    def name(self, *path):
        return self.names[tuple(path)]


def populate(server, big=False, shared=True):
    """Create and fill the corpus on SERVER (a dovecot.Dovecot)."""
    c = imaputil.connect(server)
    mbs = [m for m in mailboxes(big) if server.layout in m.layouts]
    corpus = Corpus(server, mbs)
    try:
        for mb in mbs:
            name = server_name(server, mb.path, mb.namespace)
            corpus.names[mb.path] = name
            if name != "INBOX" and mb.special is None:
                typ, dat = c.create(quote(name))
                if typ != "OK":
                    raise RuntimeError("CREATE %r: %r" % (name, dat))
            for body, flags, epoch, tz in mb.messages:
                typ, dat = imaputil.append(c, name, flags,
                                           internaldate_str(epoch, tz), body)
                if typ != "OK":
                    raise RuntimeError("APPEND to %r: %r" % (name, dat))
                if NEEDLE.encode() in body:
                    corpus.needle_mailbox = name
            if mb.path == ("Big",):
                corpus.big_mailbox = name
            if mb.path == ("Huge",):
                corpus.huge_mailbox = name
        # Everything appended is \Recent for the first session that
        # SELECTs it; select once so later sessions see stable flags.
        for mb in mbs:
            check(c.select(quote(corpus.names[mb.path])), "SELECT")
        if shared and server.shared_prefix:
            # USER2 shares a mailbox with USER (ACL), so NAMESPACE's other
            # users namespace has something in it.
            c2 = imaputil.connect(server, server.user2, server.password2)
            check(c2.create('"Project X"'), "CREATE Project X")
            check(imaputil.append(c2, "Project X", ["\\Seen"],
                                  internaldate_str(1704103200, 0),
                                  msg_plain("Shared with alice",
                                            ["hi alice"])),
                  "APPEND Project X")
            check(c2._simple_command("SETACL", '"Project X"', server.user,
                                     "lrs"), "SETACL")
            c2.logout()
            corpus.shared_name = "%s%s/Project X" % (server.shared_prefix,
                                                     server.user2)
    finally:
        try:
            c.logout()
        except Exception:
            pass
    return corpus
