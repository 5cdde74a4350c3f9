#!/usr/bin/env python3
"""Sanity check for testdata/gold/own.jsonl and config/samples/stories.jsonl.

Checks that every line is JSON, that ids are unique, that every gold id exists in
the taxonomy (config/taxonomy.yaml, or the path given as the first argument),
and the length rules (samples 1-5 KB of UTF-8; short gold stories 400-1500 chars).
No third-party modules: the taxonomy is read with a tiny indentation parser.
Exit status 1 on any error.
"""
import json, os, re, sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
tax = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "config", "taxonomy.yaml")

SECTIONS = {"topics": "topics", "people": "people", "organizations": "organizations",
            "media": "media", "countries": "countries"}
ids = {k: set() for k in SECTIONS}
cur = None
for line in open(tax, encoding="utf-8"):
    m = re.match(r"^([a-z_]+):", line)
    if m:
        cur = m.group(1) if m.group(1) in ids else None
        continue
    m = re.match(r"^  ([a-z0-9_]+):", line)
    if cur and m:
        ids[cur].add(m.group(1))

errors = []
def err(msg):
    errors.append(msg)

def load(path):
    out = []
    for i, line in enumerate(open(path, encoding="utf-8"), 1):
        try:
            out.append(json.loads(line))
        except ValueError as e:
            err(f"{path}:{i}: bad JSON: {e}")
    return out

samples = load(os.path.join(ROOT, "config", "samples", "stories.jsonl"))
gold = load(os.path.join(HERE, "own.jsonl"))

for name, recs in (("samples", samples), ("gold", gold)):
    dup = [k for k, v in Counter(r["id"] for r in recs).items() if v > 1]
    if dup:
        err(f"{name}: duplicate ids {dup}")

for r in samples:
    n = len((r["headline"] + r["body"]).encode("utf-8"))
    if not 1000 <= n <= 5000:
        err(f"{r['id']}: {n} bytes, want 1000-5000")
    for k in ("id", "headline", "body", "language", "published", "source", "url"):
        if not r.get(k):
            err(f"{r['id']}: missing {k}")

sample_bodies = {r["body"] for r in samples}
for r in gold:
    for k, allowed in ids.items():
        for x in r["gold"].get(k, []):
            if x not in allowed:
                err(f"{r['id']}: unknown {k} id {x!r}")
        if len(set(r["gold"].get(k, []))) != len(r["gold"].get(k, [])):
            err(f"{r['id']}: repeated id in {k}")
    if r["body"] not in sample_bodies and not 400 <= len(r["body"]) <= 1500:
        err(f"{r['id']}: body {len(r['body'])} chars, want 400-1500")

langs = Counter(r["lang"] for r in gold)
topics = Counter(t for r in gold for t in r["gold"]["topics"])
print("samples:", len(samples), dict(Counter(r["language"] for r in samples)))
print("gold:", len(gold), dict(langs), "negatives:", sum(1 for r in gold if not r["gold"]["topics"]))
print("topics:", dict(topics.most_common()))
print("unused topics:", sorted(ids["topics"] - set(topics)))
for e in errors:
    print("ERROR", e)
sys.exit(1 if errors else 0)
