"""A scripted Gmail: X-GM-EXT-1 the way Google documents it, over
fakeserver.py's transport, TLS and login.

    gs = GmailServer(cert=pki.leaf("gmail"), password="pw").start()
    mid = gs.add(b"From: ...", labels={"\\\\Inbox", "Work"})
    gs.labels(mid)         the message's labels now (a set of str)
    gs.folder_uids(b"Work")  {msgid: uid} of that folder now
    gs.exists(mid)         still stored (not deleted for ever)?
    gs.body_fetches()      UID FETCH commands that asked for a body
    gs.bare_system_labels = True   X-GM-LABELS (\\Inbox Work), unquoted
    gs.auto_expunge = True   STORE +FLAGS (\\Deleted) expunges at once
                             (Gmail's "Auto-Expunge on", its default)
    gs.body_delay = 2.0      a UID FETCH of a body waits that long first
                             (outside the store's lock)
    gs.size_claims[mid] = n  RFC822.SIZE n for that message (a lie)

One message store; each message has an X-GM-MSGID, an X-GM-THRID and a
set of labels. Folders are views of the store, each with its own UIDs and
UIDVALIDITY (a message gets the next UID of a folder when it enters it):

    [Gmail]/All Mail (\\All)     every message not in Trash or Spam
    INBOX                       label \\Inbox       (not in Trash/Spam)
    [Gmail]/Sent Mail (\\Sent)   label \\Sent        (not in Trash/Spam)
    [Gmail]/Trash (\\Trash)      label \\Trash
    [Gmail]/Spam (\\Junk)        label \\Spam
    NAME                        user label NAME     (not in Trash/Spam)

What changes do, as Gmail documents them (with the account's "expunged
from the last visible folder" setting at "move to Trash"):
    UID STORE [+|-]X-GM-LABELS (...)   change the labels
    UID COPY uid FOLDER                adds FOLDER's label (COPYUID)
    UID MOVE uid FOLDER                adds FOLDER's label, removes the
                                       source folder's (COPYUID, EXPUNGE)
    \\Deleted + UID EXPUNGE in a label folder   removes that label
                       in [Gmail]/All Mail     moves it to Trash
                       in Trash or Spam        deletes it for ever
    CREATE / DELETE / RENAME            of user labels
FETCH X-GM-LABELS sends system labels as quoted strings ("\\\\Inbox"), and
leaves out the selected folder's own label, as Gmail does. LIST carries
SPECIAL-USE attributes; APPEND stores a new message with the folder's
label. Flags belong to the message (shared by
all its folders), except \\Deleted, which is per folder until EXPUNGE.
"""

import re
import time

from fakeserver import FakeServer, Message, _Session, _imap_quote, \
    _parse_set, _tokens

ALL = b"[Gmail]/All Mail"
TRASH = b"[Gmail]/Trash"
SPAM = b"[Gmail]/Spam"
SENT = b"[Gmail]/Sent Mail"

# folder -> (SPECIAL-USE attribute, system label)
SYSTEM = {
    ALL: ("\\All", None),
    TRASH: ("\\Trash", "\\Trash"),
    SPAM: ("\\Junk", "\\Spam"),
    SENT: ("\\Sent", "\\Sent"),
    b"INBOX": (None, "\\Inbox"),
}


class GMsg:
    def __init__(self, msgid, body, labels, flags, thrid):
        self.msgid = msgid
        self.thrid = thrid
        self.body = body
        self.labels = set(labels)
        self.flags = list(flags)
        self.internaldate = "01-Jan-2024 10:00:00 +0000"


class _View(Message):
    """One message as one folder shows it."""

    def __init__(self, uid, g, deleted):
        super().__init__(uid, g.body, g.flags + (["\\Deleted"] if deleted
                                                 else []), g.internaldate)
        self.g = g


class GmailServer(FakeServer):
    def __init__(self, cert=None, password="secret", **kw):
        kw.setdefault("caps_auth", [
            "IMAP4rev1", "NAMESPACE", "UIDPLUS", "MOVE", "ID", "ENABLE",
            "LITERAL+", "CHILDREN", "UNSELECT", "SPECIAL-USE", "IDLE",
            "X-GM-EXT-1"])
        super().__init__(mode="imaps", cert=cert, password=password,
                         mailboxes={}, **kw)
        self.store = {}             # msgid -> GMsg
        self.user_labels = []       # user label folders, in LIST order
        self.folders = {}           # name -> {"uidvalidity", "uidnext",
        #                                      "uids": {msgid: uid},
        #                                      "deleted": set of uids}
        # send system labels bare (\\Inbox), as Google's documentation
        # shows them, instead of quoted ("\\\\Inbox") as Gmail sends them
        self.bare_system_labels = False
        # Gmail's IMAP setting "Auto-Expunge": a message marked \\Deleted
        # is expunged from that folder at once (what EXPUNGE does there,
        # below); off, it waits for EXPUNGE
        self.auto_expunge = False
        self.body_delay = 0.0
        self.size_claims = {}       # msgid -> RFC822.SIZE to claim
        self._next_msgid = 1278455344230334865
        self._next_uidvalidity = 11
        for f in list(SYSTEM) + [b"[Gmail]/Important"]:
            self._new_folder(f)

    # -------------------------------------------------------------- model
    def _new_folder(self, name):
        self.folders[name] = {"uidvalidity": self._next_uidvalidity,
                              "uidnext": 1, "uids": {}, "deleted": set()}
        self._next_uidvalidity += 1

    def _label_of(self, folder):
        if folder in SYSTEM:
            return SYSTEM[folder][1]
        if folder == b"[Gmail]/Important":
            return "\\Important"
        return folder.decode("ascii")

    def _attrs(self, folder):
        if folder in SYSTEM and SYSTEM[folder][0]:
            return ["\\HasNoChildren", SYSTEM[folder][0]]
        if folder == b"[Gmail]/Important":
            return ["\\HasNoChildren", "\\Important"]
        return ["\\HasNoChildren"]

    def _shows(self, folder, g):
        binned = "\\Trash" in g.labels or "\\Spam" in g.labels
        if folder == ALL:
            return not binned
        lab = self._label_of(folder)
        if lab in ("\\Trash", "\\Spam"):
            return lab in g.labels
        return lab in g.labels and not binned

    def _sync(self):
        """Folder contents follow the labels: a message entering a folder
        gets its next UID, one leaving it loses its UID there."""
        for name, f in self.folders.items():
            for mid in sorted(self.store):
                g = self.store[mid]
                if self._shows(name, g) and mid not in f["uids"]:
                    f["uids"][mid] = f["uidnext"]
                    f["uidnext"] += 1
            for mid in list(f["uids"]):
                if mid not in self.store or \
                        not self._shows(name, self.store[mid]):
                    f["deleted"].discard(f["uids"].pop(mid))

    def add(self, body, labels=("\\Inbox",), flags=()):
        with self._lock:
            mid = self._next_msgid
            self._next_msgid += 1000003
            self.store[mid] = GMsg(mid, body, labels, flags, mid)
            for lab in labels:
                if not lab.startswith("\\") and \
                        lab.encode() not in self.folders:
                    self._new_folder(lab.encode())
            self._sync()
            return mid

    def labels(self, mid):
        with self._lock:
            return set(self.store[mid].labels)

    def exists(self, mid):
        with self._lock:
            return mid in self.store

    def folder_uids(self, folder):
        with self._lock:
            return dict(self.folders[folder]["uids"])

    def body_fetches(self):
        with self._lock:
            return [c for c in self.commands if c[2] == "UID FETCH" and
                    b"BODY" in c[3].upper()]

    # The base class reads mailboxes as {name: {"attrs", "messages"}}:
    # give it views of the store.
    @property
    def mailboxes(self):
        out = {b"[Gmail]": {"attrs": ["\\Noselect", "\\HasChildren"],
                            "messages": []}}
        for name, f in getattr(self, "folders", {}).items():
            by_uid = sorted((uid, mid) for mid, uid in f["uids"].items())
            out[name] = {"attrs": self._attrs(name), "messages": [
                _View(uid, self.store[mid], uid in f["deleted"])
                for uid, mid in by_uid]}
        return out

    @mailboxes.setter
    def mailboxes(self, value):
        pass    # the store is the truth

    def _session(self, conn, no):
        return _GmailSession(self, conn, no)


class _GmailSession(_Session):
    def _folder(self):
        return self.srv.folders.get(self.selected) if self.selected else None

    def _mailbox(self, name):
        return self.srv.mailboxes.get(name)

    def do_IDLE(self, tag, rest):
        try:
            return _Session.do_IDLE(self, tag, rest)
        except EOFError:
            return "close"      # the client went away while idling

    def do_UID_FETCH(self, tag, rest):
        if self.srv.body_delay and b"BODY" in rest.upper():
            time.sleep(self.srv.body_delay)     # others go on meanwhile
        with self.srv._lock:    # the store's view must not move meanwhile
            self._fetch(tag, rest, True)

    def do_FETCH(self, tag, rest):
        with self.srv._lock:
            self._fetch(tag, rest, False)

    def _meta_parts(self, m, items, size=None):
        g = getattr(m, "g", None)
        if g is not None and size is None:
            size = self.srv.size_claims.get(g.msgid)
        parts = _Session._meta_parts(m, items, size)
        if g is None:
            return parts
        if "X-GM-MSGID" in items:
            parts.append(b"X-GM-MSGID %d" % g.msgid)
        if "X-GM-THRID" in items:
            parts.append(b"X-GM-THRID %d" % g.thrid)
        if "X-GM-LABELS" in items:
            labs = []
            # Gmail leaves out the label of the selected folder itself
            own = self.srv._label_of(self.selected) if self.selected \
                else None
            for lab in sorted(g.labels - {own}):
                b = lab.encode("ascii")
                if re.fullmatch(rb"[A-Za-z0-9_.&+-]+", b) or \
                        (self.srv.bare_system_labels and
                         re.fullmatch(rb"\\[A-Za-z]+", b)):
                    labs.append(b)
                else:
                    labs.append(_imap_quote(b))
            parts.append(b"X-GM-LABELS (" + b" ".join(labs) + b")")
        return parts

    def _select(self, tag, rest, ro):
        with self.srv._lock:
            toks = _tokens(rest)
            f = self.srv.folders.get(toks[0]) if toks else None
            if f is None:
                self.selected = None
                self.state = "auth"
                self.send("%s NO [NONEXISTENT] Unknown Mailbox\r\n" % tag)
                return
            self.selected = toks[0]
            self.state = "selected"
            self.send("* FLAGS (\\Answered \\Flagged \\Draft \\Deleted "
                      "\\Seen $NotPhishing $Phishing)\r\n"
                      "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft "
                      "\\Deleted \\Seen $NotPhishing $Phishing \\*)] Flags "
                      "permitted.\r\n"
                      "* OK [UIDVALIDITY %d] UIDs valid.\r\n"
                      "* %d EXISTS\r\n* 0 RECENT\r\n"
                      "* OK [UIDNEXT %d] Predicted next UID.\r\n"
                      "%s OK [%s] %s selected. (Success)\r\n"
                      % (f["uidvalidity"], len(f["uids"]), f["uidnext"],
                         tag, "READ-ONLY" if ro else "READ-WRITE",
                         toks[0].decode("ascii")))

    def do_STATUS(self, tag, rest):
        with self.srv._lock:
            toks = _tokens(rest)
            f = self.srv.folders.get(toks[0]) if toks else None
            if f is None:
                self.send("%s NO [NONEXISTENT] Unknown Mailbox\r\n" % tag)
                return
            unseen = sum(1 for mid in f["uids"]
                         if "\\Seen" not in self.srv.store[mid].flags)
            vals = {"MESSAGES": len(f["uids"]), "UNSEEN": unseen,
                    "UIDNEXT": f["uidnext"], "UIDVALIDITY": f["uidvalidity"],
                    "RECENT": 0}
            items = re.findall(r"[A-Z]+", toks[1].decode().upper()) \
                if len(toks) > 1 else []
            body = " ".join("%s %d" % (i, vals[i]) for i in items
                            if i in vals)
            self.send(b"* STATUS " + _imap_quote(toks[0]) +
                      (" (%s)\r\n%s OK Success\r\n" % (body, tag)).encode())

    def do_UID_SEARCH(self, tag, rest):
        f = self._folder()
        uids = sorted(f["uids"].values()) if f else []
        self.send("* SEARCH %s\r\n%s OK SEARCH completed (Success)\r\n"
                  % (" ".join(map(str, uids)), tag))

    def _msgs_by_uid(self, f, uidset):
        top = max(list(f["uids"].values()) + [0])
        want = _parse_set(uidset, top)
        return [(uid, mid) for mid, uid in f["uids"].items() if uid in want]

    def _seq(self, f, uid):
        return sorted(f["uids"].values()).index(uid) + 1

    def do_UID_STORE(self, tag, rest):
        m = re.match(rb"([0-9:,*]+) ([+-]?)(FLAGS|X-GM-LABELS)(\.SILENT)? "
                     rb"\((.*)\)\s*$", rest, re.I | re.S)
        f = self._folder()
        if f is None or not m:
            self.send("%s BAD Could not parse command\r\n" % tag)
            return
        op, what = m.group(2), m.group(3).upper()
        vals = [t.decode("utf-8") for t in _tokens(m.group(5))]
        with self.srv._lock:
            for uid, mid in self._msgs_by_uid(f, m.group(1).decode()):
                g = self.srv.store[mid]
                if what == b"FLAGS":
                    if "\\Deleted" in vals:
                        if op == b"-":
                            f["deleted"].discard(uid)
                        else:
                            f["deleted"].add(uid)
                    fl = [v for v in vals if v != "\\Deleted"]
                    if op == b"+":
                        g.flags += [x for x in fl if x not in g.flags]
                    elif op == b"-":
                        g.flags = [x for x in g.flags if x not in fl]
                    else:
                        g.flags = fl
                        if "\\Deleted" not in vals:
                            f["deleted"].discard(uid)
                else:
                    for v in vals:
                        if not v.startswith("\\") and \
                                v.encode() not in self.srv.folders:
                            self.srv._new_folder(v.encode())
                    if op == b"+":
                        g.labels |= set(vals)
                    elif op == b"-":
                        g.labels -= set(vals)
                    else:
                        g.labels = set(vals)
            self.srv._sync()
            out = b""
            if self.srv.auto_expunge and what == b"FLAGS" and \
                    f["deleted"]:
                out = self._expunge(f, set(f["deleted"]))
        self.send(out + tag.encode() + b" OK Success\r\n")

    def _expunge(self, f, uids):
        """Gmail's EXPUNGE of UIDS in the selected folder; the untagged
        EXPUNGE lines for them."""
        name = self.selected
        out = b""
        gone = []
        for uid, mid in sorted(((u, mi) for mi, u in f["uids"].items()
                                if u in uids), reverse=True):
            out += b"* %d EXPUNGE\r\n" % self._seq(f, uid)
            gone.append(mid)
        for mid in gone:
            g = self.srv.store[mid]
            if name in (TRASH, SPAM):
                del self.srv.store[mid]             # deleted for ever
            elif name == ALL:
                # the account's "last visible folder" setting: the
                # model takes "move to Trash" (archive and delete for
                # ever are the others)
                g.labels.add("\\Trash")
            else:
                g.labels.discard(self.srv._label_of(name))
        self.srv._sync()
        return out

    def do_UID_EXPUNGE(self, tag, rest):
        f = self._folder()
        if f is None:
            self.send("%s BAD No mailbox selected\r\n" % tag)
            return
        with self.srv._lock:
            want = {u for u, _ in self._msgs_by_uid(f, rest.decode().strip())}
            out = self._expunge(f, want & f["deleted"])
        self.send(out + tag.encode() + b" OK Success\r\n")

    def do_EXPUNGE(self, tag, rest):
        f = self._folder()
        with self.srv._lock:
            out = self._expunge(f, set(f["deleted"])) if f else b""
        self.send(out + tag.encode() + b" OK Success\r\n")

    def _copy(self, tag, rest, move):
        toks = _tokens(rest)
        f = self._folder()
        if f is None or len(toks) < 2:
            self.send("%s BAD Could not parse command\r\n" % tag)
            return
        with self.srv._lock:
            dest = toks[1]
            if dest not in self.srv.folders:
                self.send("%s NO [TRYCREATE] No folder %s\r\n"
                          % (tag, dest.decode("latin-1")))
                return
            pairs = sorted(self._msgs_by_uid(f, toks[0].decode()))
            lab = self.srv._label_of(dest)
            srclab = self.srv._label_of(self.selected)
            out = b""
            for uid, mid in pairs:
                g = self.srv.store[mid]
                if lab is not None:
                    g.labels.add(lab)
                if dest != TRASH and dest != SPAM:
                    g.labels -= {"\\Trash", "\\Spam"}
            if move:
                for uid, mid in sorted(pairs, reverse=True):
                    out += b"* %d EXPUNGE\r\n" % self._seq(f, uid)
                    if srclab is not None:
                        self.srv.store[mid].labels.discard(srclab)
            self.srv._sync()
            df = self.srv.folders[dest]
            src = ",".join(str(u) for u, _ in pairs)
            dst = ",".join(str(df["uids"][mid]) for _, mid in pairs
                           if mid in df["uids"])
            code = "COPYUID %d %s %s" % (df["uidvalidity"], src, dst)
        if move:
            self.send(("* OK [%s] Moved\r\n" % code).encode() + out +
                      tag.encode() + b" OK Success\r\n")
        else:
            self.send("%s OK [%s] Success\r\n" % (tag, code))

    def do_UID_COPY(self, tag, rest):
        self._copy(tag, rest, False)

    def do_UID_MOVE(self, tag, rest):
        self._copy(tag, rest, True)

    def do_CREATE(self, tag, rest):
        toks = _tokens(rest)
        with self.srv._lock:
            if not toks or toks[0] in self.srv.folders:
                self.send("%s NO [ALREADYEXISTS] Duplicate folder name\r\n"
                          % tag)
                return
            self.srv._new_folder(toks[0])
        self.send("%s OK Success\r\n" % tag)

    def do_DELETE(self, tag, rest):
        toks = _tokens(rest)
        with self.srv._lock:
            name = toks[0] if toks else None
            if name not in self.srv.folders or name in SYSTEM or \
                    name.startswith(b"[Gmail]"):
                self.send("%s NO [CANNOT] Cannot delete that folder\r\n"
                          % tag)
                return
            lab = name.decode("ascii")
            for g in self.srv.store.values():
                g.labels.discard(lab)       # the messages stay
            del self.srv.folders[name]
        self.send("%s OK Success\r\n" % tag)

    def do_RENAME(self, tag, rest):
        toks = _tokens(rest)
        with self.srv._lock:
            if len(toks) < 2 or toks[0] not in self.srv.folders or \
                    toks[0] in SYSTEM or toks[1] in self.srv.folders:
                self.send("%s NO [CANNOT] Cannot rename\r\n" % tag)
                return
            old, new = toks[0].decode("ascii"), toks[1].decode("ascii")
            for g in self.srv.store.values():
                if old in g.labels:
                    g.labels.discard(old)
                    g.labels.add(new)
            self.srv.folders[toks[1]] = self.srv.folders.pop(toks[0])
        self.send("%s OK Success\r\n" % tag)

    def do_APPEND(self, tag, rest):
        toks = _tokens(rest)
        with self.srv._lock:
            dest = toks[0] if toks else None
            if dest not in self.srv.folders or len(toks) < 2:
                self.send("%s NO [TRYCREATE] no such folder\r\n" % tag)
                return
            flags = []
            if len(toks) > 2 and toks[1].startswith(b"("):
                flags = toks[1][1:-1].decode("latin-1").split()
            lab = self.srv._label_of(dest)
            mid = self.srv._next_msgid
            self.srv._next_msgid += 1000003
            self.srv.store[mid] = GMsg(mid, toks[-1],
                                       [lab] if lab else [], flags, mid)
            self.srv._sync()
            f = self.srv.folders[dest]
            self.srv.appended.append((dest, toks[-1]))
            self.send("%s OK [APPENDUID %d %d] (Success)\r\n"
                      % (tag, f["uidvalidity"], f["uids"][mid]))
