"""FIT decoding speed: fitparse, fitdecode, garmin-fit-sdk and ours, same files, same run.

Datasets: the running FIT files of ../shared/corpus (by MANIFEST.tsv; the
damaged one included, it is what users upload too) and a synthetic 3-hour
1 Hz run from ``benchmarks/synth_fit.py``. Every decoder runs in its own
subprocess so that its peak RSS is its own; each reports the best of a few
passes over the dataset (one pass for the slow ones).

records/s counts the records fitdecode finds (so a decoder that drops
records is not rewarded); "records out" shows what each decoder returned.
"fast" decodes the records and leaves the other messages to be decoded when
first read (what a caller asks for); "fast-all" reads every message too.

Usage: ``python benchmarks/bench_fit.py [--quick] [--rounds 3]`` (``--quick``: synthetic run only).
"""
from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))

DECODERS = ("read", "fitparse", "fitdecode", "garmin-fit-sdk", "fast", "fast-all", "decode_fit")
PASSES = {"read": 5, "fitparse": 1, "fitdecode": 1, "garmin-fit-sdk": 1, "fast": 5, "fast-all": 5, "decode_fit": 3}


def _count_fitparse(data: bytes) -> int:
    import fitparse  # noqa: PLC0415

    fit = fitparse.FitFile(data)
    return sum(1 for _ in fit.get_messages("record"))


def _count_fitdecode(data: bytes) -> int:
    import fitdecode  # noqa: PLC0415

    n = 0
    with fitdecode.FitReader(data) as reader:
        for frame in reader:
            if frame.frame_type == fitdecode.FIT_FRAME_DATA and frame.name == "record":
                n += 1
    return n


def _count_sdk(data: bytes) -> int:
    from garmin_fit_sdk import Decoder, Stream  # noqa: PLC0415

    messages, _errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    return len(messages.get("record_mesgs", []))


def _count_fast(data: bytes) -> int:
    from ingest.fit import fast  # noqa: PLC0415

    cols = fast.read_messages(data).records()
    return len(next(iter(cols.values()))) if cols else 0


def _count_fast_all(data: bytes) -> int:
    """The fast decoder with every other message's dicts built too (what laziness saves)."""
    from ingest.fit import fast  # noqa: PLC0415

    msgs = fast.read_messages(data)
    for _ in msgs.messages.values():
        pass
    cols = msgs.records()
    return len(next(iter(cols.values()))) if cols else 0


def _count_auto(data: bytes) -> int:
    from ingest.fit import decode_fit  # noqa: PLC0415

    return sum(len(a.streams) for a in decode_fit(data))


def _worker(name: str, paths: list[str]) -> dict[str, float]:
    warnings.simplefilter("ignore")
    blobs = [Path(p).read_bytes() for p in paths]
    count: Callable[[bytes], int] = {
        "read": len,
        "fitparse": _count_fitparse,
        "fitdecode": _count_fitdecode,
        "garmin-fit-sdk": _count_sdk,
        "fast": _count_fast,
        "fast-all": _count_fast_all,
        "decode_fit": _count_auto,
    }[name]
    for blob in blobs[:1]:  # warm imports and caches outside the timing
        _safe(count, blob)
    best, best_cpu, out, failed = float("inf"), float("inf"), 0, 0
    for _ in range(PASSES[name]):
        start, start_cpu = time.perf_counter(), time.process_time()
        if name == "read":
            out = sum(len(Path(p).read_bytes()) for p in paths)
        else:
            results = [_safe(count, blob) for blob in blobs]
            out = sum(r for r in results if r >= 0)
            failed = sum(1 for r in results if r < 0)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": best, "cpu": best_cpu, "out": out, "failed": failed, "bytes": sum(map(len, blobs)), "rss_mb": rss_kb / 1024}


def _safe(count: Callable[[bytes], int], blob: bytes) -> int:
    try:
        return count(blob)
    except Exception:  # noqa: BLE001 - a decoder failing on a file is part of the result
        return -1


def _running_files() -> list[Path]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return sorted(CORPUS / r["path"] for r in rows if r["format"] == "fit" and r["sport"].startswith("running"))


def _run_dataset(label: str, paths: list[Path], rounds: int) -> None:
    """Every decoder once per round; times and ratios are medians over the rounds, each
    ratio taken within its round. Rates and the main ratio use CPU seconds: the machine is
    shared, and a decoder waiting for a core says nothing about the decoder (every one is
    single-threaded, so on an idle machine CPU and wall seconds agree); the wall ratio is
    shown next to it."""
    per_round: list[dict[str, dict[str, float]]] = []
    for _ in range(rounds):
        results = {}
        for name in DECODERS:
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", name, *map(str, paths)],
                capture_output=True, text=True, check=True,
            )
            results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        per_round.append(results)
    records = per_round[0]["fitdecode"]["out"]
    size_mb = per_round[0]["read"]["bytes"] / 1e6
    print(f"\n### {label}: {len(paths)} files, {size_mb:.1f} MB, {records} records (fitdecode); median of {rounds} rounds\n")
    print("| decoder | records/s | MB/s | x fitparse | x fitparse (wall) | records out | failed files | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")

    def times(name: str, key: str) -> str:
        if name == "read":
            return "-"
        v = statistics.median(rr["fitparse"][key] / rr[name][key] for rr in per_round)
        return f"{v:,.0f}x" if v >= 10 else f"{v:.1f}x"

    for name in DECODERS:
        r = per_round[0][name]
        secs = statistics.median(rr[name]["cpu"] for rr in per_round)
        ratio, wall = times(name, "cpu"), times(name, "seconds")
        out = "-" if name == "read" else f"{r['out']}"
        rate_s = "-" if name == "read" else f"{records / secs:,.0f}"
        rss = max(rr[name]["rss_mb"] for rr in per_round)
        print(f"| {name} | {rate_s} | {size_mb / max(secs, 1e-9):,.1f} | {ratio} | {wall} | {out} | {r['failed']} | {rss:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description="FIT decoder benchmark")
    parser.add_argument("--worker")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.paths)))
        return
    from benchmarks.synth_fit import synthetic_run  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        synth = Path(tmp) / "synthetic-3h-run.fit"
        synth.write_bytes(synthetic_run(hours=3))
        running = _running_files()
        if running and not args.quick:
            _run_dataset("Corpus running files", running, args.rounds)
        _run_dataset("Synthetic 3-hour 1 Hz run", [synth], args.rounds)
    from ingest.fit import FALLBACKS  # noqa: PLC0415

    print(f"\n(fallbacks in this process: {dict(FALLBACKS) or 'none'}; workers report their own via 'failed files')")


if __name__ == "__main__":
    main()
