"""Independent computation of the flight-delays example and comparison with Sluice's output.

The example job (examples/flight-delays.yaml) keys flights by origin and aggregates 1-hour
tumbling event-time windows [start, start + 1 h) over `date`:
    origin,window_start,window_end,flights,avg_delay,max_delay
flights = count, avg_delay = sum(delay) / count as a double, max_delay = max(delay).

This module computes that result with the csv module alone (no Sluice code), and compares it
with a file sink's output directory (all part-*.csv files, header lines skipped) as a multiset of
rows: exact on every column except avg_delay, which is compared as a float (rel tol 1e-12).
"""

import collections
import csv
import datetime
import glob
import gzip
import io
import math
import os

OUTPUT_HEADER = ["origin", "window_start", "window_end", "flights", "avg_delay", "max_delay"]
AVG_REL_TOL = 1e-12


def _open_text(path):
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _format_ts(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hour_of(date):
    """The 1-hour window start of an ISO-8601 UTC timestamp, as a datetime (UTC)."""
    dt = datetime.datetime.fromisoformat(date.replace("Z", "+00:00"))
    dt = dt.astimezone(datetime.timezone.utc)
    return dt.replace(minute=0, second=0, microsecond=0)


def flight_delays(csv_path, keep=None):
    """Returns the expected rows: list of (origin, window_start, window_end, flights, avg, max).

    flights and max are ints, avg a float; timestamps are strings like 2001-01-01T05:00:00Z.
    `keep(delay)`, if given, selects the flights that count (a filter before the window).
    """
    # (origin, hour prefix "YYYY-MM-DDTHH") -> [count, sum, max]
    acc = {}
    windows = {}  # hour prefix -> (window_start, window_end) strings
    with _open_text(csv_path) as f:
        reader = csv.reader(f)
        header = next(reader)
        i_date = header.index("date")
        i_delay = header.index("delay")
        i_origin = header.index("origin")
        for row in reader:
            date = row[i_date]
            # Fast path for the data set's shape "YYYY-MM-DDTHH:MM:SSZ"; anything else is parsed.
            if len(date) == 20 and date[13] == ":" and date[19] == "Z":
                hour = date[:13]
            else:
                hour = _format_ts(_hour_of(date))[:13]
            if hour not in windows:
                start = _hour_of(hour + ":00:00Z")
                windows[hour] = (_format_ts(start),
                                 _format_ts(start + datetime.timedelta(hours=1)))
            delay = int(row[i_delay])
            if keep is not None and not keep(delay):
                continue
            key = (row[i_origin], hour)
            a = acc.get(key)
            if a is None:
                acc[key] = [1, delay, delay]
            else:
                a[0] += 1
                a[1] += delay
                if delay > a[2]:
                    a[2] = delay
    rows = []
    for (origin, hour), (count, total, mx) in acc.items():
        start, end = windows[hour]
        rows.append((origin, start, end, count, total / count, mx))
    return rows


def read_output(out_dir, expected_parts=None, header=None):
    """Reads every part-*.csv of a file sink directory.

    `header`: the expected header line's fields (default OUTPUT_HEADER).

    Checks: each part file starts with the header line, no `.part-*.inprogress` file is left
    behind, and (if given) the number of part files. Returns (rows, problems): rows as parsed
    tuples like flight_delays() returns, problems as a list of strings (unparsable lines etc.).
    """
    problems = []
    parts = sorted(glob.glob(os.path.join(out_dir, "part-*.csv")))
    leftovers = sorted(glob.glob(os.path.join(out_dir, ".part-*")))
    if leftovers:
        problems.append(f"in-progress files left after the job finished: {leftovers}")
    if not parts:
        problems.append(f"no part-*.csv files in {out_dir} (found: {os.listdir(out_dir)})")
    if expected_parts is not None and len(parts) != expected_parts:
        problems.append(f"expected {expected_parts} part files (one per sink subtask), found "
                        f"{len(parts)}: {[os.path.basename(p) for p in parts]}")
    rows = []
    for path in parts:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            want = header or OUTPUT_HEADER
            got = next(reader, None)
            if got != want:
                problems.append(f"{path}:1: expected header {','.join(want)}, found {got}")
            for line_no, row in enumerate(reader, start=2):
                try:
                    rows.append(parse_row(row))
                except ValueError as e:
                    if len(problems) < 20:
                        problems.append(f"{path}:{line_no}: {e}: {row}")
    return rows, problems


def parse_row(row):
    """One output row of the flight-delays job (a list of 6 CSV fields) as flight_delays()
    returns it; ValueError if it has another shape."""
    if len(row) != 6:
        raise ValueError(f"expected 6 columns, found {len(row)}")
    return (row[0], row[1], row[2], int(row[3]), float(row[4]), int(row[5]))


def compare_rows(actual, expected, max_report=10):
    """Compares two row lists as multisets; returns a list of human-readable differences.

    Exact on all columns except avg (index 4), compared with math.isclose(rel_tol=1e-12).
    An empty list means equal.
    """
    def exact_key(r):
        return (r[0], r[1], r[2], r[3], r[5])

    exp = collections.defaultdict(list)
    for r in expected:
        exp[exact_key(r)].append(r[4])
    act = collections.defaultdict(list)
    for r in actual:
        act[exact_key(r)].append(r[4])

    missing, unexpected, avg_diff = [], [], []
    for k, avgs in exp.items():
        got = act.get(k, [])
        a_sorted, e_sorted = sorted(got), sorted(avgs)
        for e_avg in e_sorted[len(a_sorted):]:
            missing.append(k[:3] + (k[3], e_avg, k[4]))
        for a_avg in a_sorted[len(e_sorted):]:
            unexpected.append(k[:3] + (k[3], a_avg, k[4]))
        for a_avg, e_avg in zip(a_sorted, e_sorted):
            if not math.isclose(a_avg, e_avg, rel_tol=AVG_REL_TOL, abs_tol=0.0):
                avg_diff.append((k, a_avg, e_avg))
    for k, avgs in act.items():
        if k not in exp:
            for a_avg in avgs:
                unexpected.append(k[:3] + (k[3], a_avg, k[4]))

    diffs = []
    if missing or unexpected or avg_diff:
        diffs.append(f"actual {len(actual)} rows, expected {len(expected)} rows; "
                     f"{len(missing)} missing, {len(unexpected)} unexpected, "
                     f"{len(avg_diff)} with a different avg_delay")
    for r in sorted(missing)[:max_report]:
        diffs.append(f"  missing:    {_fmt(r)}")
    for r in sorted(unexpected)[:max_report]:
        diffs.append(f"  unexpected: {_fmt(r)}")
    for k, a, e in sorted(avg_diff)[:max_report]:
        diffs.append(f"  avg_delay of {k[0]},{k[1]}: actual {a!r}, expected {e!r}")
    return diffs


def _fmt(r):
    return ",".join(str(x) for x in r)


def assert_output_matches(test, out_dir, expected, expected_parts=None, header=None):
    """unittest helper: fails `test` with a readable diff unless out_dir holds exactly expected."""
    rows, problems = read_output(out_dir, expected_parts, header)
    diffs = compare_rows(rows, expected)
    if problems or diffs:
        test.fail(f"output in {out_dir} differs from the reference:\n" +
                  "\n".join(problems + diffs))
    return rows


def windowed_delays(csv_path, windows_of, key_of=None):
    """Like flight_delays() for any window kind: `windows_of(ts_ms)` lists the (start_ms,
    end_ms) windows a flight at epoch milliseconds ts_ms belongs to. Same row shape.
    `key_of(origin)`: the group key of a flight (default its origin); None drops the flight."""
    acc = {}  # (origin, start, end) -> [count, sum, max]
    with _open_text(csv_path) as f:
        reader = csv.reader(f)
        header = next(reader)
        i_date = header.index("date")
        i_delay = header.index("delay")
        i_origin = header.index("origin")
        for row in reader:
            dt = datetime.datetime.fromisoformat(row[i_date].replace("Z", "+00:00"))
            ts = int(dt.timestamp() * 1000)
            delay = int(row[i_delay])
            group = row[i_origin] if key_of is None else key_of(row[i_origin])
            if group is None:
                continue
            for start, end in windows_of(ts):
                key = (group, start, end)
                a = acc.get(key)
                if a is None:
                    acc[key] = [1, delay, delay]
                else:
                    a[0] += 1
                    a[1] += delay
                    a[2] = max(a[2], delay)

    def iso(ms):
        return _format_ts(datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc))

    return [(origin, iso(start), iso(end), count, total / count, mx)
            for (origin, start, end), (count, total, mx) in acc.items()]


def sliding_windows(size_ms, slide_ms):
    """windows_of() for sliding windows of size_ms every slide_ms (starts aligned to the epoch):
    the windows [s, s + size_ms) with s a multiple of slide_ms in (ts - size_ms, ts]."""
    def windows_of(ts):
        last = ts - ts % slide_ms
        first = last - (size_ms // slide_ms - 1) * slide_ms
        return [(s, s + size_ms) for s in range(first, last + 1, slide_ms)]
    return windows_of


def airport_states(airports_csv):
    """iata -> state of the airports table (the lookup join's table)."""
    with _open_text(airports_csv) as f:
        return {row["iata"]: row["state"] for row in csv.DictReader(f)}
