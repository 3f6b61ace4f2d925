#!/usr/bin/python3
"""Deterministic mail corpus for the imapfs benchmark (stdlib only).

The corpus is a function of (count, seed) alone: message i is built from
its own random.Random("SEED:i") (string seeds are hashed with SHA-512, so
the bytes do not depend on PYTHONHASHSEED, the Python build or the order
in which messages are made). Shape of the default corpus:

  * total message sizes log-normal with a median of about 4 KiB (clamped
    to 700 B .. 256 KiB before any attachment);
  * about 5% are multipart/mixed with one base64 attachment whose decoded
    size is log-uniform in 50 KiB .. 2 MiB (random bytes behind a PDF, JPEG
    or ZIP magic number, i.e. incompressible like real attachments);
  * realistic headers: Return-Path, Received, Date, From, To, sometimes Cc,
    Subject (about 40% UTF-8 as RFC 2047 encoded-words, B or Q), Message-ID,
    sometimes In-Reply-To/References, MIME-Version, Content-Type,
    Content-Transfer-Encoding; about 30% of the bodies are UTF-8 (8bit);
  * exactly round(count / 100) messages contain the word "invoice" in their
    text body (the grep target); no other message contains the byte string
    "invoice" anywhere (the generator checks every message).

Files use LF line ends (as a delivery agent stores them). They are written
straight into a Maildir's cur/ under names like

    <epoch>.M<i>P<i>.bench,S=<size>,W=<crlf size>:2,S

(S= and W= save Dovecot from reading the file for RFC822.SIZE; <epoch>
strictly increases with i, so Dovecot hands out UIDs in corpus order) with
mtime = the Date header (Dovecot's INTERNALDATE for Maildir).

Used as a module by bench/run.py (Corpus, write_maildir, load_dovecot), or
from the command line:

    gencorpus.py local DIR [--count N] [--seed S]
        write the corpus into the plain Maildir DIR (DIR/cur, new, tmp)
    gencorpus.py dovecot --home HOME --mailbox NAME --port P --cafile CA
                 --user U --password-file F [--count N] [--seed S]
        write it into HOME/Maildir/NAME of a running Dovecot (LAYOUT=fs, as
        tests/integration/dovecot.py "slash" configures it), owned by
        MAIL_UID/MAIL_GID, creating the mailbox over IMAP first and letting
        Dovecot index it once at the end (SELECT + UID FETCH 1:* (UID
        RFC822.SIZE))
    gencorpus.py stats [--count N] [--seed S]
        generate in memory and print messages, bytes, attachments, invoices
"""

import argparse
import base64
import datetime
import email.charset
import email.header
import email.utils
import imaplib
import math
import os
import random
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))

DEFAULT_SEED = "imapfs-bench-1"
NEEDLE = b"invoice"                 # what `grep -rl invoice` looks for
BASE_EPOCH = 1672531200             # 2023-01-01 00:00:00 UTC
LF = "\n"

# ---- vocabulary (none of these may contain "invoice") ----------------------

_ASCII_WORDS = """
the of and to in is that for it as was with be by on not he this are or his
from at which but have an they you were her she there been one all we their
has would when if more no out so said what up its about into than them can
only other new some could time these two may then do first any my now such
like our over man me even most made after also did many before must through
back years where much your way well down should because each just those
people how too little state good very make world still own see men work long
get here between both life being under never day same another know while
last might us great old year off come since against go came right used take
three meeting project report budget quarter review schedule draft update
release server backup deadline agenda notes summary proposal contract order
shipment delivery payment receipt account customer support ticket issue
question answer thanks regards please kindly attached following regarding
team office travel lunch weekend holiday conference presentation slides
numbers figures forecast plan roadmap milestone feature design testing
deployment migration database network storage cluster monitoring alert
incident postmortem retrospective planning estimate priority status
""".split()

_UTF8_WORDS = """
café naïve résumé über Grüße straße Zürich Ærø smörgåsbord crème brûlée
façade déjà señor mañana São Paulo Kraków Łódź Ελλάδα καλημέρα Привет
спасибо Москва 日本語 東京 こんにちは 中文 北京 你好 한국어 서울 שלום
مرحبا हिन्दी €100 £20 ¥500 — … “quoted” «guillemets» ½ ¾ ° ±
""".split()

_FIRST = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory "
          "Niaj Olivia Peggy Rupert Sybil Trent Victor Walter Zoë Jürgen "
          "François Åsa Søren Łukasz Иван Мария 太郎 花子 José").split()
_LAST = ("Smith Jones Müller García Øster Dubois Novák Kowalski Tanaka "
         "Nakamura Rossi Bianchi Петров Ivanova Andersson Johansson O'Neil "
         "Lefèvre Schröder Brown").split()
_DOMAINS = ("example.org example.com example.net mail.example.de "
            "lists.example.org corp.example.co.uk").split()
_SUBJ_ASCII = ("Re: weekly status", "Meeting notes", "Quarterly report",
               "Build failed on main", "Lunch on Friday?", "Travel plans",
               "Re: Re: draft proposal", "Fwd: contract update",
               "Your order has shipped", "Server maintenance tonight",
               "Action required: password expiry", "Slides for tomorrow",
               "Question about the budget", "Holiday schedule",
               "Team offsite agenda", "[project] release candidate 2")
_SUBJ_UTF8 = ("Grüße aus Zürich", "Réunion de lundi — ordre du jour",
              "Привет! Как дела?", "会議の議事録", "Café at 10 ☕",
              "Señor García: presupuesto 2024", "Smörgåsbord på fredag",
              "Εβδομαδιαία αναφορά", "São Paulo trip – photos 📷",
              "Re: naïve question about résumé", "Łódź office move",
              "年度报告 draft", "Ærø ferry times")
_INVOICE_LINES = (
    "Please find the invoice for last month attached.",
    "The invoice number is listed below; payment is due in 30 days.",
    "Could you resend the invoice with the corrected address?",
    "Attached is invoice #{n} for the consulting work.",
)
_ATTACH_TYPES = (
    ("application/pdf", "report-{n}.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
    ("image/jpeg", "IMG_{n}.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
    ("application/zip", "archive-{n}.zip", b"PK\x03\x04\x14\x00\x00\x00"),
)

for _w in _ASCII_WORDS + _UTF8_WORDS:
    assert "invoice" not in _w.lower()

_QP_UTF8 = email.charset.Charset("utf-8")
_QP_UTF8.header_encoding = email.charset.QP


def _text_pool(rng, n, utf8):
    """N lines of filler text (40..76 characters), ASCII or mixed UTF-8."""
    lines = []
    for _ in range(n):
        words = []
        width = rng.randint(40, 76)
        length = 0
        while length < width:
            if utf8 and rng.random() < 0.25:
                w = rng.choice(_UTF8_WORDS)
            else:
                w = rng.choice(_ASCII_WORDS)
            words.append(w)
            length += len(w) + 1
        line = " ".join(words)
        lines.append(line[0].upper() + line[1:] + rng.choice(".,;:!?."))
    return lines


class Message:
    """One generated message: INDEX in the corpus, NAME of its Maildir file
    (in cur/), DATA (bytes, LF line ends), EPOCH (Date and mtime), MSGID
    (the Message-ID without <>), INVOICE (contains the needle)."""
    __slots__ = ("index", "name", "data", "epoch", "msgid", "invoice",
                 "attachment")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


class Corpus:
    """COUNT messages from SEED. attach_rate and invoice_rate default to the
    benchmark corpus (5%, 1%); the ls mailboxes use 0 for both (small
    messages only)."""

    def __init__(self, count, seed=DEFAULT_SEED, attach_rate=0.05,
                 invoice_rate=0.01, tag="bench"):
        self.count = count
        self.seed = str(seed)
        self.attach_rate = attach_rate
        self.tag = tag
        pool_rng = random.Random(self.seed + ":pool")
        self.ascii_lines = _text_pool(pool_rng, 4096, False)
        self.utf8_lines = _text_pool(pool_rng, 2048, True)
        n_invoice = int(round(count * invoice_rate))
        self.invoice_set = frozenset(
            random.Random(self.seed + ":invoices").sample(range(count),
                                                          n_invoice))

    def __len__(self):
        return self.count

    def messages(self):
        for i in range(self.count):
            yield self.message(i)

    # ---- one message ----
    def message(self, i):
        rng = random.Random("%s:%d" % (self.seed, i))
        invoice = i in self.invoice_set
        epoch = BASE_EPOCH + i * 3600 + rng.randint(0, 3000)
        tz = datetime.timezone(datetime.timedelta(
            minutes=rng.choice((0, 0, 60, 120, -300, -480, 330, 540))))
        date = email.utils.format_datetime(
            datetime.datetime.fromtimestamp(epoch, tz))
        msgid = "%d.%08x.%s@%s" % (i, rng.getrandbits(32), self.tag,
                                   rng.choice(_DOMAINS))
        frm_name = "%s %s" % (rng.choice(_FIRST), rng.choice(_LAST))
        frm_addr = "%s.%d@%s" % (rng.choice(("info", "team", "mail", "pm",
                                              "ops", "sales")),
                                 rng.randint(1, 999), rng.choice(_DOMAINS))
        utf8_body = rng.random() < 0.30
        if rng.random() < 0.40:
            subj = rng.choice(_SUBJ_UTF8)
            cs = "utf-8" if rng.random() < 0.5 else _QP_UTF8
            subject = email.header.Header(subj, cs,
                                          header_name="Subject").encode(
                linesep=LF)
        else:
            subject = rng.choice(_SUBJ_ASCII)
        h = [
            "Return-Path: <%s>" % frm_addr,
            "Received: from smtp.%s (smtp.%s [192.0.2.%d])" % (
                frm_addr.split("@")[1], frm_addr.split("@")[1],
                rng.randint(1, 254)),
            "\tby mx.bench.example (Postfix) with ESMTPS id %X" %
            rng.getrandbits(40),
            "\tfor <alice@bench.example>; %s" % date,
            "Date: " + date,
            "From: " + _addr(frm_name, frm_addr),
            "To: " + _addr("Alice Bench", "alice@bench.example"),
        ]
        if rng.random() < 0.2:
            h.append("Cc: " + _addr("%s %s" % (rng.choice(_FIRST),
                                               rng.choice(_LAST)),
                                    "cc%d@%s" % (rng.randint(1, 99),
                                                 rng.choice(_DOMAINS))))
        h += ["Subject: " + subject, "Message-ID: <%s>" % msgid]
        if i > 0 and rng.random() < 0.3:
            ref = "<%d.ref@%s>" % (rng.randint(0, i - 1), rng.choice(_DOMAINS))
            h += ["In-Reply-To: " + ref, "References: " + ref]
        h.append("MIME-Version: 1.0")

        # text body sized so that header + text is log-normal, median 4 KiB
        target = int(min(256 * 1024, max(700, rng.lognormvariate(
            math.log(3800), 0.9))))
        pool = self.utf8_lines if utf8_body else self.ascii_lines
        text = ["Hello Alice,", ""]
        size = sum(len(x) + 1 for x in h) + 40
        while size < target:
            line = rng.choice(pool)
            text.append(line)
            size += len(line.encode("utf-8")) + 1
            if rng.random() < 0.12:
                text.append("")
        if invoice:
            at = rng.randint(2, len(text))
            text.insert(at, rng.choice(_INVOICE_LINES).format(
                n=rng.randint(1000, 99999)))
        text += ["", "-- ", frm_name, ""]
        charset = "utf-8" if utf8_body else "us-ascii"
        cte = "8bit" if utf8_body else "7bit"
        body_text = LF.join(text)

        attachment = rng.random() < self.attach_rate
        if not attachment:
            h += ["Content-Type: text/plain; charset=%s; format=flowed"
                  % charset, "Content-Transfer-Encoding: " + cte]
            data = (LF.join(h) + LF + LF + body_text).encode("utf-8")
        else:
            asize = int(math.exp(rng.uniform(math.log(50 * 1024),
                                             math.log(2 * 1024 * 1024))))
            ctype, fname, magic = rng.choice(_ATTACH_TYPES)
            fname = fname.format(n=rng.randint(1000, 9999))
            boundary = "----=_Part_%d_%x" % (i, rng.getrandbits(48))
            while True:
                blob = base64.encodebytes(
                    magic + rng.randbytes(asize - len(magic)))
                if NEEDLE not in blob:
                    break
            h += ['Content-Type: multipart/mixed; boundary="%s"' % boundary]
            parts = (LF.join(h) + LF + LF +
                     "This is a multi-part message in MIME format." + LF + LF +
                     "--" + boundary + LF +
                     "Content-Type: text/plain; charset=%s" % charset + LF +
                     "Content-Transfer-Encoding: " + cte + LF + LF +
                     body_text + LF +
                     "--" + boundary + LF +
                     'Content-Type: %s; name="%s"' % (ctype, fname) + LF +
                     'Content-Disposition: attachment; filename="%s"' % fname +
                     LF + "Content-Transfer-Encoding: base64" + LF + LF)
            data = (parts.encode("utf-8") + blob +
                    ("--" + boundary + "--" + LF).encode("ascii"))

        if (NEEDLE in data) != invoice:
            raise AssertionError("message %d: needle %s" % (
                i, "missing" if invoice else "present by accident"))
        assert b"\r" not in data
        r = rng.random()
        flags = "S" if r < 0.85 else ("" if r < 0.95 else "FS")
        name = "%d.M%dP%d.%s,S=%d,W=%d:2,%s" % (
            epoch, i % 1000000, i, self.tag, len(data),
            len(data) + data.count(b"\n"), flags)
        return Message(index=i, name=name, data=data, epoch=epoch,
                       msgid=msgid, invoice=invoice, attachment=attachment)


def _addr(name, addr):
    """A From/To value; non-ASCII display names as RFC 2047 encoded-words."""
    try:
        name.encode("ascii")
        if "'" in name:
            name = '"%s"' % name
    except UnicodeEncodeError:
        name = email.header.Header(name, "utf-8").encode()
    return "%s <%s>" % (name, addr)


# ---- writing -----------------------------------------------------------------

def make_maildir(path, uid=None, gid=None):
    """Create PATH/{cur,new,tmp} (mode 0700; chowned when UID is given)."""
    for d in (path, os.path.join(path, "cur"), os.path.join(path, "new"),
              os.path.join(path, "tmp")):
        os.makedirs(d, mode=0o700, exist_ok=True)
        if uid is not None:
            os.chown(d, uid, gid)


def write_maildir(corpus, dirs, uid=None, gid=None, progress=None):
    """Write every message of CORPUS into cur/ of each Maildir in DIRS (a
    list of (path, uid, gid) or plain paths, which then get UID/GID).
    Returns a stats dict: count, bytes, attachments, invoice_msgids (set),
    largest (index, msgid, bytes), msgid_by_index (list)."""
    targets = []
    for d in dirs:
        if isinstance(d, tuple):
            targets.append(d)
        else:
            targets.append((d, uid, gid))
    for path, u, g in targets:
        make_maildir(path, u, g)
    stats = {"count": 0, "bytes": 0, "attachments": 0,
             "invoice_msgids": set(), "largest": (-1, None, -1),
             "msgid_by_index": []}
    t0 = time.monotonic()
    for m in corpus.messages():
        for path, u, g in targets:
            fn = os.path.join(path, "cur", m.name)
            fd = os.open(fn, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(m.data)
                while view:
                    view = view[os.write(fd, view):]
                if u is not None:
                    os.fchown(fd, u, g)
            finally:
                os.close(fd)
            os.utime(fn, (m.epoch, m.epoch))
        stats["count"] += 1
        stats["bytes"] += len(m.data)
        stats["attachments"] += m.attachment
        stats["msgid_by_index"].append(m.msgid)
        if m.invoice:
            stats["invoice_msgids"].add(m.msgid)
        if len(m.data) > stats["largest"][2]:
            stats["largest"] = (m.index, m.msgid, len(m.data))
        if progress and (m.index + 1) % 10000 == 0:
            progress("  %d/%d messages written (%.0fs)" % (
                m.index + 1, corpus.count, time.monotonic() - t0))
    return stats


# ---- Dovecot ---------------------------------------------------------------

def imap_connect(port, cafile, user, password, host="127.0.0.1"):
    ctx = ssl.create_default_context(cafile=cafile)
    c = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=600)
    c.login(user, password)
    return c


def create_mailbox(c, mailbox):
    """CREATE MAILBOX unless it exists (personal namespace, plain ASCII)."""
    typ, dat = c.create('"%s"' % mailbox)
    if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(
            x for x in dat if isinstance(x, bytes)):
        raise RuntimeError("CREATE %s: %s %r" % (mailbox, typ, dat))


def index_mailbox(c, mailbox, expect=None):
    """SELECT MAILBOX and UID FETCH 1:* (UID RFC822.SIZE), so that Dovecot
    scans the Maildir and builds its index now rather than during a
    measurement. Returns the number of messages (checked against EXPECT)."""
    typ, dat = c.select('"%s"' % mailbox, readonly=True)
    if typ != "OK":
        raise RuntimeError("SELECT %s: %s %r" % (mailbox, typ, dat))
    exists = int(dat[0])
    if exists:
        typ, dat = c.uid("FETCH", "1:*", "(UID RFC822.SIZE)")
        if typ != "OK":
            raise RuntimeError("FETCH %s: %s %r" % (mailbox, typ, dat))
    c.close()
    if expect is not None and exists != expect:
        raise RuntimeError("Dovecot sees %d messages in %s, wrote %d"
                           % (exists, mailbox, expect))
    return exists


def dovecot_maildir(home, mailbox):
    """Where LAYOUT=fs keeps MAILBOX under the user's HOME."""
    return os.path.join(home, "Maildir", mailbox)


def load_dovecot(corpus, home, mailbox, port, cafile, user, password,
                 also=(), progress=None):
    """Write CORPUS into MAILBOX of a running Dovecot ("slash" layout of
    tests/integration/dovecot.py) and let Dovecot index it. ALSO: extra
    plain Maildir paths (owned by root) that get the same files. Returns
    write_maildir's stats."""
    import dovecot  # tests/integration; only for MAIL_UID/MAIL_GID
    c = imap_connect(port, cafile, user, password)
    try:
        create_mailbox(c, mailbox)
        path = dovecot_maildir(home, mailbox)
        dirs = [(path, dovecot.MAIL_UID, dovecot.MAIL_GID)]
        dirs += [(p, None, None) for p in also]
        stats = write_maildir(corpus, dirs, progress=progress)
        t0 = time.monotonic()
        index_mailbox(c, mailbox, expect=corpus.count)
        stats["index_seconds"] = time.monotonic() - t0
    finally:
        try:
            c.logout()
        except Exception:
            pass
    return stats


# ---- command line ------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("local", "dovecot", "stats"):
        p = sub.add_parser(name)
        p.add_argument("--count", type=int, default=10000)
        p.add_argument("--seed", default=DEFAULT_SEED)
        if name == "local":
            p.add_argument("dir")
        if name == "dovecot":
            p.add_argument("--home", required=True,
                           help="the user's home (Dovecot.maildir_home())")
            p.add_argument("--mailbox", default="Bench")
            p.add_argument("--port", type=int, required=True,
                           help="imaps port on 127.0.0.1")
            p.add_argument("--cafile", required=True)
            p.add_argument("--user", required=True)
            p.add_argument("--password-file", required=True)
    a = ap.parse_args(argv)
    corpus = Corpus(a.count, a.seed)
    t0 = time.monotonic()
    say = lambda s: print(s, file=sys.stderr)  # noqa: E731
    if a.cmd == "local":
        st = write_maildir(corpus, [a.dir], progress=say)
    elif a.cmd == "dovecot":
        with open(a.password_file) as f:
            pw = f.read().rstrip("\n")
        st = load_dovecot(corpus, a.home, a.mailbox, a.port, a.cafile,
                          a.user, pw, progress=say)
    else:
        st = {"count": 0, "bytes": 0, "attachments": 0, "invoice_msgids": set(),
              "largest": (-1, None, -1)}
        for m in corpus.messages():
            st["count"] += 1
            st["bytes"] += len(m.data)
            st["attachments"] += m.attachment
            if m.invoice:
                st["invoice_msgids"].add(m.msgid)
            if len(m.data) > st["largest"][2]:
                st["largest"] = (m.index, m.msgid, len(m.data))
    print("messages %d, bytes %d (%.1f MiB), with attachment %d, "
          "with 'invoice' %d, largest #%d %d bytes, %.1fs" % (
              st["count"], st["bytes"], st["bytes"] / 2**20,
              st["attachments"], len(st["invoice_msgids"]), st["largest"][0],
              st["largest"][2], time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
