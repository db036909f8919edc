#!/usr/bin/python3
"""check_man_pages.py - every command line program of precis against its man page.

For each program (precisctl, precis-bridge, tools/precis-sim) this runs
`--help`, then `<command> --help` for every command its help lists under
"commands:" or "subcommands:", recursively, and checks that:

  - each --help exits 0, prints its usage on stdout and nothing on stderr;
  - `--version` exits 0 and prints something (for the C programs: the
    project version CMake passes with --version);
  - docs/<program>.1 exists, and every command path ("device add") and every
    flag (--role, -c) that any of the help texts shows appears in it.

For precisctl and precis-bridge (whose flags are ours) it also checks, for every
command, that an unknown flag and every flag that takes a value, given without
it, exit 2 with a message on stderr naming the flag; and that each bad value in
BAD_VALUES does the same.

Needs no services: nothing here gets past argument parsing. Exit status 0 when
all holds, 1 with one line per failure otherwise. Run by ctest (docs_man_pages).
"""
import argparse
import os
import re
import subprocess
import sys

# Flags as the help texts write them: --long-name or -x, not part of a word.
FLAG = re.compile(r"(?<![\w-])(--[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]|-[A-Za-z])(?![\w-])")
# A flag followed by exactly one space and a value name (two spaces: a description).
VALUE_FLAG = re.compile(r"(?<![\w-])(--[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]|-[A-Za-z]) "
                        r"(?=[A-Za-z0-9<{])")
LIST_HEAD = re.compile(r"^(commands|subcommands):\s*$")

# A bad value per flag that has one (arguments after the program, the flag the
# message must name). Each fails before any backend is contacted.
BAD_VALUES = {
    "precisctl": [
        (["--timeout", "0", "ping"], "--timeout"),
        (["--redis-port", "70000", "ping"], "--redis-port"),
        (["--redis-db", "x", "ping"], "--redis-db"),
        (["device", "add", "d1", "--role", "device", "--meta", "notjson"], "--meta"),
        (["device", "add", "d1", "--role", "device", "--meta", '{"a.b": 1}'], "--meta"),
        (["device", "add", "d1", "--role", "wizard"], "--role"),
        (["device", "add", "d1", "--role", "device", "--tag", ""], "--tag"),
        (["device", "add", "d1", "--role", "device", "--iterations", "0"], "--iterations"),
        (["device", "add", "d1", "--role", "device", "--password", ""], "--password"),
        (["device", "add", "d1", "--role", "device", "--password", "x", "--generate"],
         "--generate"),
        (["device", "passwd", "d1", "--iterations", "many"], "--iterations"),
        (["device", "list", "--role", "wizard"], "--role"),
        (["device", "list", "--enabled", "--disabled"], "--disabled"),
        (["device", "import", "-", "--format", "xml"], "--format"),
        (["device", "import", "-", "--iterations", "-1"], "--iterations"),
        (["cmd", "send", "d1", "op", "--priority", "10"], "--priority"),
        (["cmd", "send", "d1", "op", "--ttl", "5 parsecs"], "--ttl"),
        (["cmd", "send", "d1", "op", "--timeout", "1ms"], "--timeout"),
        (["cmd", "send", "d1", "op", "--attempts", "0"], "--attempts"),
        (["cmd", "send", "d1", "op", "--delay", "-1s"], "--delay"),
        (["cmd", "send", "d1", "op", "--supersede", "k" * 65], "--supersede"),
        (["cmd", "list", "d1", "--prefix", ""], "--prefix"),
        (["cmd", "history", "d1", "--limit", "0"], "--limit"),
        (["data", "d1", "--from", "yesterday"], "--from"),
        (["data", "d1", "--to", "soon"], "--to"),
        (["data", "d1", "--slot", "7s"], "--slot"),
        (["data", "d1", "--limit", "0"], "--limit"),
        (["data", "d1", "--collection", "$x"], "--collection"),
    ],
    "precis-bridge": [
        (["--mqtt-port", "abc"], "--mqtt-port"),
        (["--algo", "magic"], "--algo"),
        (["--debounce", "5 parsecs"], "--debounce"),
        (["--weight-cart", "heavy"], "--weight-cart"),
        (["--segment.vip", "rfm.r >="], "--segment.vip"),
        (["eval", "--ratings", "r.csv", "--k", "0"], "--k"),
    ],
}


def programs(top, bindir):
    """(name, argv prefix, man page, whether its version must be the project's,
    whether the flag-error checks apply)."""
    return [
        ("precisctl", [os.path.join(bindir, "precisctl")], True, True),
        ("precis-bridge", [os.path.join(bindir, "precis-bridge")], True, True),
        ("precis-sim", [sys.executable, os.path.join(top, "tools", "precis-sim")], False, False),
    ]


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def listed_commands(help_text, words):
    """Names listed under a "commands:" or "subcommands:" heading (up to the next
    blank line), or named by a usage line "<words> <name> ..." (words: the
    program and the command path so far)."""
    names, inside = [], False
    usage = re.compile(r"^\s*(?:usage:\s*)?%s(?: \[[^]]*\])? ([a-z][a-z0-9-]*)\b" %
                       re.escape(" ".join(words)))
    for line in help_text.splitlines():
        if LIST_HEAD.match(line):
            inside = True
        elif inside and not line.strip():
            inside = False
        elif inside:
            m = re.match(r"^  (\S+)", line)
            if m:
                names.append(m.group(1))
        m = usage.match(line)
        if m and m.group(1) not in names:
            names.append(m.group(1))
    return names


def roff_args(rest):
    """The arguments of a macro line: blank-separated, "double quotes" group."""
    args, cur, quoted, i = [], "", False, 0
    while i < len(rest):
        ch = rest[i]
        if quoted and ch == '"' and rest[i + 1:i + 2] == '"':
            cur += '"'
            i += 1
        elif ch == '"':
            quoted = not quoted
        elif ch in " \t" and not quoted:
            if cur:
                args.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    if cur:
        args.append(cur)
    return args


def man_text(path):
    """The text of a man page as it reads: macros applied the way roff joins
    their arguments (.BR a b is "ab"), escapes and font changes taken out,
    blanks collapsed."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        if line.startswith(('.\\"', "'\\\"")):
            continue  # a comment
        m = re.match(r"^[.']([A-Za-z]+)\s*(.*)$", line)
        if m:
            macro, args = m.group(1), roff_args(m.group(2))
            # The font-alternating macros join their arguments; the others separate them.
            line = ("" if macro in ("BI", "BR", "IB", "IR", "RB", "RI") else " ").join(args)
        out.append(line)
    t = "\n".join(out)
    t = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", t)  # font changes
    t = t.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\").replace("\\ ", " ")
    t = re.sub(r"\\\(\w\w", " ", t)  # special characters
    return " ".join(t.split())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--top", required=True, help="source tree")
    ap.add_argument("--bin", required=True, help="directory of the built programs")
    ap.add_argument("--version", required=True, help="the project version (CMake)")
    a = ap.parse_args()
    failures = []

    def fail(msg):
        failures.append(msg)

    for name, prog, own_version, flag_errors in programs(a.top, a.bin):
        man_path = os.path.join(a.top, "docs", name + ".1")
        man = man_text(man_path) if os.path.exists(man_path) else None
        if man is None:
            fail("%s: no man page %s" % (name, os.path.relpath(man_path, a.top)))
        v = run(prog + ["--version"])
        if v.returncode != 0 or not v.stdout.strip():
            fail("%s --version: exit %d, stdout %r, stderr %r" % (name, v.returncode, v.stdout,
                                                                  v.stderr.strip()[:200]))
        elif own_version and a.version not in v.stdout:
            fail("%s --version: %r does not name version %s" % (name, v.stdout.strip(),
                                                                a.version))
        todo, seen_flags = [[]], {}
        while todo:
            path = todo.pop(0)
            label = " ".join([name] + path)
            for h in ("--help", "-h"):
                p = run(prog + path + [h])
                if p.returncode != 0:
                    fail("%s %s: exit %d (stderr %r)" % (label, h, p.returncode,
                                                         p.stderr.strip()[:200]))
                elif "usage" not in p.stdout.lower():
                    fail("%s %s: no usage on stdout" % (label, h))
                elif p.stderr.strip():
                    fail("%s %s: wrote to stderr: %r" % (label, h, p.stderr.strip()[:200]))
            p = run(prog + path + ["--help"])
            text = p.stdout if p.returncode == 0 else ""
            for sub in listed_commands(text, [name] + path):
                if sub not in path:
                    todo.append(path + [sub])
            if path and man is not None and " ".join(path) not in man:
                fail("%s: the man page does not mention %r" % (name, " ".join(path)))
            flags = sorted(set(FLAG.findall(text)))
            for flag in flags:
                seen_flags.setdefault(flag, label)
            if not flag_errors or not text:
                continue
            bad = run(prog + path + ["--no-such-flag"])
            if bad.returncode != 2 or "--no-such-flag" not in bad.stderr:
                fail("%s --no-such-flag: exit %d, stderr %r (want 2, naming the flag)" % (
                    label, bad.returncode, bad.stderr.strip()[:200]))
            for flag in sorted(set(VALUE_FLAG.findall(text))):
                if flag in ("-h", "--help", "--version"):
                    continue
                p = run(prog + path + [flag])
                if p.returncode != 2 or flag not in p.stderr:
                    fail("%s %s (no value): exit %d, stderr %r (want 2, naming %s)" % (
                        label, flag, p.returncode, p.stderr.strip()[:200], flag))
        for args, flag in BAD_VALUES.get(name, []):
            p = run(prog + args)
            if p.returncode != 2 or flag not in p.stderr:
                fail("%s %s: exit %d, stderr %r (want 2, naming %s)" % (
                    name, " ".join(args), p.returncode, p.stderr.strip()[:200], flag))
        if man is not None:
            for flag, where in sorted(seen_flags.items()):
                if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(flag), man):
                    fail("%s: flag %s (from `%s --help`) is not in its man page" % (
                        name, flag, where))
    for f in failures:
        print("FAIL", f)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
