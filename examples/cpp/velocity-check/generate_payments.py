#!/usr/bin/env python3
"""Generates payment attempts and velocity rules for the velocity-check example.

payments.csv: ts, card, amount. Ordinary cards pay now and then; some cards get bursts of
attempts within a few seconds (what a velocity check catches). Rows are in time order up to a
local shuffle of at most 3 s (the job allows 5 s of out-of-orderness, so no row is late).
rules.csv: ts, threshold: the threshold in force from ts on (event time).

Deterministic for a seed. Usage:
    generate_payments.py --out-dir DIR [--cards 200] [--minutes 10] [--seed 1]
"""

import argparse
import datetime
import os
import random

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def iso(ms):
    return (START + datetime.timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def generate(cards, minutes, seed):
    """Returns (payments as (ms, card, amount) in file order, rules as (ms, threshold))."""
    rng = random.Random(seed)
    span = minutes * 60_000
    rows = []
    for c in range(cards):
        card = f"card-{c:04d}"
        for _ in range(rng.randint(5, 30)):  # ordinary use
            rows.append((rng.randrange(span), card, rng.randint(100, 20_000)))
        if rng.random() < 0.2:  # a burst: card testing
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(span)
                for _ in range(rng.randint(3, 14)):
                    rows.append((at + rng.randrange(8_000), card, rng.randint(100, 500)))
    rows.sort()
    # Local disorder of at most 3 s: swap neighbours that are close in time.
    for i in range(1, len(rows)):
        if rng.random() < 0.3 and rows[i][0] - rows[i - 1][0] < 3_000:
            rows[i - 1], rows[i] = rows[i], rows[i - 1]
    rules = [(0, 6), (span * 4 // 10, 4), (span * 7 // 10, 9)]
    return rows, rules


def write(out_dir, rows, rules):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "payments.csv"), "w") as f:
        f.write("ts,card,amount\n")
        for ms, card, amount in rows:
            f.write(f"{iso(ms)},{card},{amount}\n")
    with open(os.path.join(out_dir, "rules.csv"), "w") as f:
        f.write("ts,threshold\n")
        for ms, threshold in rules:
            f.write(f"{iso(ms)},{threshold}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--cards", type=int, default=200)
    p.add_argument("--minutes", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rows, rules = generate(a.cards, a.minutes, a.seed)
    write(a.out_dir, rows, rules)
    print(f"{len(rows)} payments, {len(rules)} rules in {a.out_dir}")


if __name__ == "__main__":
    main()
