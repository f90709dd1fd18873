"""Benchmarks of ``tap | target-gateway`` against the emulators (issue #7). Prints figures.

Per platform and catalog size it runs three syncs into a fresh Gateway emulator:

1. **first**: empty Gateway, no state;
2. **unchanged**: the same shop again, with the STATE the first run's target emitted;
3. **1% changed**: after ``catalog.mutate(0.01)`` (price +1.00 and stock +1 on 1% of the
   products, their edit time moved to now), with the second run's STATE.

Both emulators run in this process (threads), with ``--latency`` on every request and the
platform's documented rate limit on, so their request logs can be read directly. Tap and
target are two real processes joined by an OS pipe, as in production; their peak RSS comes
from ``os.wait4``. Nothing here is a test: no figure is asserted, they are printed (and with
``--json`` saved) for ``bench/RESULTS.md``.

Adding a platform: one :class:`Platform` entry in :data:`PLATFORMS` (how to start its
emulator on a catalog, its tap executable, its tap config, its documented rate limit, which
paths are its API).

    .venv/bin/python bench/run.py --sizes 1000,10000 --latency 0.05 --platforms shoper
    .venv/bin/python bench/run.py --quick          # a 100-product smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import os
import platform as pyplatform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.catalog import Catalog, generate_catalog
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY, GatewayEmulator
from sandbox.server import Emulator, RateLimit, Switches

import sandbox

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
SEED = 42
CHANGED_FRACTION = 0.01
#: extra target settings (``--target-config``), e.g. {"max_workers": 8}; defaults otherwise
TARGET_EXTRA: dict[str, Any] = {}


# -- the platform registry ------------------------------------------------------------------
@dataclass(frozen=True)
class Platform:
    """What the bench needs to know about one platform's tap and emulator."""

    name: str
    tap: str  # executable in .venv/bin
    make_emulator: Callable[[Catalog, Switches], Emulator]
    tap_config: Callable[[Emulator], dict[str, Any]]
    api_path: str  # regex: requests counted as platform API calls (not image files)
    #: the documented limit as a leaky bucket (capacity, drained per second); None: unlimited
    rate_limit: tuple[float, float] | None
    reload: Callable[[Emulator], None] = lambda emulator: None  # after mutating the catalog


def _shoper_emulator(catalog: Catalog, switches: Switches) -> Emulator:
    from sandbox.shoper import ShoperEmulator

    return ShoperEmulator(catalog, switches=switches)


PLATFORMS: dict[str, Platform] = {
    # shoper.md section 4: leaky bucket of 10 calls, draining 2 per second
    "shoper": Platform(
        name="shoper", tap="tap-shoper", make_emulator=_shoper_emulator,
        tap_config=lambda emu: {"shop_url": emu.url, "username": "demo",
                                "password": "demo-password"},
        api_path=r"^/webapi/rest/", rate_limit=(10, 2),
        reload=lambda emu: emu.reload()),  # type: ignore[attr-defined]
    # idosell.md section 4: no published per-second limit (a CLOUD quota per month): none
    "idosell": Platform(
        name="idosell", tap="tap-iai",
        make_emulator=lambda catalog, switches: __import__(
            "sandbox.idosell", fromlist=["IdoSellEmulator"]).IdoSellEmulator(
                catalog, switches=switches),
        tap_config=lambda emu: {"shop_url": emu.url, "api_key": "demo-idosell-api-key"},
        api_path=r"^/api/admin/", rate_limit=None,
        reload=lambda emu: emu.reload()),  # type: ignore[attr-defined]
    # prestashop.md section 4: no built-in rate limit (429/403 only from a host's WAF): none
    "prestashop": Platform(
        name="prestashop", tap="tap-prestashop",
        make_emulator=lambda catalog, switches: __import__(
            "sandbox.prestashop", fromlist=["PrestaShopEmulator"]).PrestaShopEmulator(
                catalog, switches=switches),
        tap_config=lambda emu: {"shop_url": emu.url,
                                "api_key": "DEMO0PRESTASHOP0WEBSERVICE0KEY01"},
        api_path=r"^/api/", rate_limit=None,
        reload=lambda emu: emu.reload()),  # type: ignore[attr-defined]
    # feeds.md: one conditional GET per run, whatever the catalog's size; no rate limit
    "feed": Platform(
        name="feed", tap="tap-feed",
        make_emulator=lambda catalog, switches: __import__(
            "sandbox.feeds", fromlist=["FeedEmulator"]).FeedEmulator(
                catalog, switches=switches),
        tap_config=lambda emu: {"feed_url": f"{emu.url}/feeds/google.xml",
                                "default_vat_rate": 23, "allow_loopback_feed": True},
        api_path=r"^/feeds/", rate_limit=None,
        reload=lambda emu: emu.bump()),  # type: ignore[attr-defined]
    # subiektgt.md: a SQL Server database, no API and no rate limit; here a SQLite file (the
    # tap's own log line counts its SQL statements; no HTTP requests to the platform exist)
    "subiektgt": Platform(
        name="subiektgt", tap="tap-subiektgt",
        make_emulator=lambda catalog, switches: __import__(
            "sandbox.subiektgt", fromlist=["SubiektDatabase"]).SubiektDatabase(
                catalog, switches=switches),
        tap_config=lambda emu: {"sqlalchemy_url": emu.database_url,  # type: ignore[attr-defined]
                                "warehouse_ids": [1, 2]},
        api_path=r"^/$", rate_limit=None,
        reload=lambda emu: emu.reload()),  # type: ignore[attr-defined]
    # magento.md section 4: no general REST rate limit in Open Source (429 only from the
    # 2.4.7 payment limiter or a WAF): none; OAuth 1.0a integration keys, page size 300
    "magento": Platform(
        name="magento", tap="tap-magento",
        make_emulator=lambda catalog, switches: __import__(
            "sandbox.magento", fromlist=["MagentoEmulator"]).MagentoEmulator(
                catalog, switches=switches),
        tap_config=lambda emu: {"store_url": emu.url, "consumer_key": "demo-consumer-key",
                                "consumer_secret": "demo-consumer-secret",
                                "access_token": "demo-access-token",
                                "access_token_secret": "demo-access-token-secret",
                                "page_size": 300},
        api_path=r"^/rest/", rate_limit=None,
        reload=lambda emu: emu.reload()),  # type: ignore[attr-defined]
}


# -- Gateway request classes ------------------------------------------------------------------
GATEWAY_ROUTES: list[tuple[str, str, str]] = [
    # (class, method, path regex)
    ("product_create", "POST", r"^/dashboard/webshops?/[0-9a-f-]{36}/products$"),
    ("product_update", "POST", r"^/organizations/[0-9a-f-]{36}/products/[0-9a-f-]{36}$"),
    ("product_delete", "DELETE", r"/products/[0-9a-f-]{36}/?$"),
    ("tag_write", "POST", r"^/webshops/[0-9a-f-]{36}/tags/?$"),
    ("tag_write", "DELETE", r"^/webshops/[0-9a-f-]{36}/tags/"),
    ("tag_write", "PUT", r"^/product_tags/"),
    ("image_write", "POST", r"^/downloads/?$"),
    ("image_write", "POST", r"^/uploads/?$"),
    ("image_write", "POST", r"^/bucket/?$"),
    ("read", "POST", r"^/dashboard/webshop_products/_query$"),
    ("read", "GET", r"."),
]


def classify_gateway(emulator: GatewayEmulator) -> dict[str, int]:
    """Requests the Gateway received, per class; ``products_created`` counts batch items."""
    counts = dict.fromkeys(["product_create", "products_created", "product_update",
                            "product_delete", "tag_write", "image_write", "read", "other"], 0)
    for request in emulator.requests_to():
        kind = next((k for k, m, p in GATEWAY_ROUTES
                     if request.method == m and re.search(p, request.path)), "other")
        counts[kind] += 1
        if kind == "product_create":
            with contextlib.suppress(ValueError, KeyError, TypeError):
                counts["products_created"] += len(request.json()["products"])
    return counts


# -- one run ----------------------------------------------------------------------------------
@dataclass
class RunFigures:
    """Everything measured in one ``tap | target`` run."""

    label: str
    wall: float  # start of both processes until the target exited
    tap_wall: float
    tap_exit: int
    target_exit: int
    tap_rss_mib: float
    target_rss_mib: float
    api_requests: int  # platform API calls, 429s included
    throttled: int  # of those, answered 429
    api_window: float  # seconds from the first to the last API call
    bucket_idle: float  # of the window, seconds the platform's bucket stood empty
    shop_files: int  # image files fetched from the shop (by the Gateway), not API calls
    gateway: dict[str, int] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)


def _last_state(path: Path) -> dict[str, Any] | None:
    state = None
    for line in path.read_text().splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            if message.get("type") == "STATE":
                message = message.get("value")
            if isinstance(message, dict):
                state = message
    return state


#: Started between this process and each measured one. Linux's ``ru_maxrss`` of a child
#: includes the peak RSS of the memory image it had *before* ``exec``: with vfork (what
#: ``subprocess`` uses) that is this process, emulators and request logs included (a bare
#: ``/bin/true`` started from a 300 MiB parent reports 300 MiB). The launcher, started with
#: ``-S`` (no site-packages), is ~10 MiB, so the ``wait4`` it does reports the measured
#: program's own peak; it writes it (KiB) to argv[1] and exits with the program's status.
_LAUNCHER = (
    "import os,sys\n"
    "pid=os.posix_spawn(sys.argv[2],sys.argv[2:],os.environ)\n"
    "_,status,usage=os.wait4(pid,0)\n"
    "open(sys.argv[1],'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)\n")


def _launch(command: list[str], rss_file: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start ``command`` under the launcher, in a process group of its own (see _stop)."""
    return subprocess.Popen([sys.executable, "-S", "-c", _LAUNCHER, str(rss_file), *command],
                            start_new_session=True, **kwargs)


def _stop(*procs: subprocess.Popen[bytes] | None) -> None:
    """Interrupted: stop the launchers and what they started (their process groups)."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait(proc: subprocess.Popen[bytes], rss_file: Path) -> tuple[int, float, float]:
    """Exit code, when it exited (monotonic), peak RSS in MiB (``ru_maxrss`` is KiB)."""
    returncode = proc.wait()
    ended = time.monotonic()
    try:
        rss_kib = int(rss_file.read_text())
    except (OSError, ValueError):
        rss_kib = 0
    return returncode, ended, rss_kib / 1024


def run_pipeline(label: str, platform: Platform, shop: Emulator, gateway: GatewayEmulator,
                 work: Path, state: dict[str, Any] | None, *, with_target: bool = True
                 ) -> tuple[RunFigures, dict | None]:
    """One ``tap | target`` run; returns its figures and the target's last STATE.

    Without ``with_target`` the tap writes to /dev/null: its own pace, with no consumer
    that can hold it back.
    """
    tag = label.replace(" ", "-").replace("%", "pct")
    tap_config = work / "tap.json"
    tap_config.write_text(json.dumps(platform.tap_config(shop)))
    target_config = work / "target.json"
    report_file = work / f"report-{tag}.json"
    target_config.write_text(json.dumps({
        "api_url": gateway.url, "shop_guid": DEMO_SHOP_GUID, "signing_key": DEMO_SIGNING_KEY,
        "allow_private_image_hosts": True, "report_file": str(report_file),
        **TARGET_EXTRA}))
    tap_cmd = [str(BIN / platform.tap), "--config", str(tap_config)]
    if state is not None:
        state_file = work / f"state-in-{tag}.json"
        state_file.write_text(json.dumps(state))
        tap_cmd += ["--state", str(state_file)]
    target_cmd = [str(BIN / "target-gateway"), "--config", str(target_config)]
    limit = shop.switches.rate_limit
    if limit is not None:  # every run starts as a first call of the day would: bucket empty
        time.sleep(limit.level / limit.leak_per_second + 0.1)
    shop.clear_requests()
    gateway.clear_requests()
    refused_before = limit.refused if limit else 0
    out = work / f"target-{tag}.out"
    with (open(work / f"tap-{tag}.log", "wb") as tap_log,
          open(work / f"target-{tag}.log", "wb") as target_log,
          open(out, "wb") as target_out):
        started = time.monotonic()
        tap = target = None
        try:
            tap = _launch(tap_cmd, work / "tap.rss", stdout=subprocess.PIPE, stderr=tap_log,
                          stdin=subprocess.DEVNULL)
            assert tap.stdout is not None
            if with_target:
                target = _launch(target_cmd, work / "target.rss", stdin=tap.stdout,
                                 stdout=target_out, stderr=target_log)
                tap.stdout.close()  # the target holds the pipe's read end now
                tap_exit, tap_end, tap_rss = _wait(tap, work / "tap.rss")
                target_exit, target_end, target_rss = _wait(target, work / "target.rss")
            else:
                while tap.stdout.read(1 << 16):
                    pass
                tap_exit, tap_end, tap_rss = _wait(tap, work / "tap.rss")
                target_exit, target_end, target_rss = 0, tap_end, 0.0
        finally:
            _stop(tap, target)  # only does something when interrupted
    api = shop.requests_to(pattern=platform.api_path)
    window = api[-1].at - api[0].at if len(api) > 1 else 0.0
    idle = bucket_idle([r.at for r in api], platform.rate_limit)
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    figures = RunFigures(
        label=label, wall=target_end - started, tap_wall=tap_end - started,
        tap_exit=tap_exit, target_exit=target_exit, tap_rss_mib=tap_rss,
        target_rss_mib=target_rss, api_requests=len(api),
        throttled=(limit.refused if limit else 0) - refused_before, api_window=window,
        bucket_idle=idle,
        shop_files=len(shop.requests_to()) - len(api), gateway=classify_gateway(gateway),
        report={"status": report.get("status"), "counts": report.get("counts"),
                "images": report.get("images")},
        records=_count_records(work / f"tap-{tag}.log"))
    if tap_exit or target_exit:
        for name in (f"tap-{tag}.log", f"target-{tag}.log")[:2 if with_target else 1]:
            lines = (work / name).read_text(errors="replace").splitlines()
            tail = [x for x in lines if "METRIC" not in x][-15:]
            print(f"--- {name} (last lines) ---", *tail, sep="\n", file=sys.stderr)
    return figures, _last_state(out)


def bucket_idle(arrivals: list[float], rate_limit: tuple[float, float] | None) -> float:
    """Seconds between the first and last call during which the leaky bucket was empty.

    Replays the calls through the bucket: capacity the tap left unused that it can never
    get back. The shortfall of the sustained rate from the leak rate is this over the
    window (the pacer otherwise keeps the bucket near full, where it drains at full speed).
    """
    if not rate_limit or len(arrivals) < 2:
        return 0.0
    _, leak = rate_limit
    level, idle = 0.0, 0.0
    for before, after in itertools.pairwise(arrivals):
        level += 1
        gap = after - before
        if gap * leak > level:
            idle += gap - level / leak
        level = max(0.0, level - gap * leak)
    return idle


def _count_records(tap_log: Path) -> dict[str, int]:
    """Records per stream from singer-sdk's ``record_count`` metrics in the tap's log."""
    counts: dict[str, int] = {}
    for line in tap_log.read_text(errors="replace").splitlines():
        if "METRIC" not in line or '"record_count"' not in line:
            continue
        try:
            metric = json.loads(line[line.index("{"):])
        except ValueError:
            continue
        stream = (metric.get("tags") or {}).get("stream")
        if stream and not stream.startswith("_"):
            counts[stream] = counts.get(stream, 0) + int(metric.get("value") or 0)
    return counts


# -- one size -------------------------------------------------------------------------------
@dataclass
class SizeResult:
    """The three runs of one platform at one catalog size."""

    platform: str
    products: int
    variants: int
    images: int
    latency: float
    rate_limit: tuple[float, float] | None
    runs: list[RunFigures]
    changed_products: int
    changed_variants: int
    tap_alone: RunFigures | None = None


def bench_size(platform: Platform, n_products: int, latency: float, *, tap_alone: bool = False
               ) -> SizeResult:
    """Generate the catalog, start both emulators, run first / unchanged / 1% changed
    (with ``tap_alone``, first a full read by the tap into /dev/null)."""
    catalog = generate_catalog(n_products, SEED)
    limit = RateLimit(*platform.rate_limit) if platform.rate_limit else None
    shop = platform.make_emulator(catalog, Switches(latency=latency, rate_limit=limit))
    shop.record_bodies = False
    gateway = GatewayEmulator(switches=Switches(latency=latency))  # no documented limit
    runs: list[RunFigures] = []
    changed: list[int] = []
    alone: RunFigures | None = None
    shop.start()
    gateway.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            work = Path(tmp)
            if tap_alone:
                alone, _ = run_pipeline("first, tap alone", platform, shop, gateway, work,
                                        None, with_target=False)
                _progress(platform, n_products, alone)
            first, state = run_pipeline("first", platform, shop, gateway, work, None)
            runs.append(first)
            _progress(platform, n_products, first)
            again, state2 = run_pipeline("unchanged", platform, shop, gateway, work, state)
            runs.append(again)
            _progress(platform, n_products, again)
            # a real shop stamps an edited product with the time of the edit, after the bookmark
            changed = catalog.mutate(CHANGED_FRACTION, now=dt.datetime.now(dt.timezone.utc)
                                     .replace(microsecond=0))
            platform.reload(shop)
            third, _ = run_pipeline("1% changed", platform, shop, gateway, work,
                                    state2 or state)
            runs.append(third)
            _progress(platform, n_products, third)
    finally:
        shop.stop()
        gateway.stop()
    changed_set = set(changed)
    return SizeResult(
        platform=platform.name, products=n_products, variants=catalog.variant_count(),
        images=sum(1 for _ in catalog.images()), latency=latency,
        rate_limit=platform.rate_limit, runs=runs, changed_products=len(changed),
        changed_variants=sum(len(p.variants) for p in catalog.products
                             if p.id in changed_set), tap_alone=alone)


def _progress(platform: Platform, n: int, run: RunFigures) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {platform.name} {n}: {run.label} done in "
          f"{run.wall:.1f} s (tap {run.tap_wall:.1f} s, exits {run.tap_exit}/"
          f"{run.target_exit}, {run.api_requests} API calls, {run.throttled} x 429, "
          f"gateway {run.gateway})", file=sys.stderr, flush=True)


# -- figures ----------------------------------------------------------------------------------
def derived(size: SizeResult, run: RunFigures) -> dict[str, Any]:
    """The figures of issue #7 for one run."""
    ok = run.api_requests - run.throttled
    figures: dict[str, Any] = {
        "products_per_s": size.products / run.wall if run.wall else None,
        "variants_per_s": size.variants / run.wall if run.wall else None,
        "api_per_100_products": 100 * run.api_requests / size.products,
        "rate_tap_wall": ok / run.tap_wall if run.tap_wall else None,
    }
    g = run.gateway
    writes = g["products_created"] + g["product_update"]
    figures.update({
        "product_writes_per_variant": writes / size.variants,
        "create_requests_per_variant": g["product_create"] / size.variants,
        "tag_writes_per_variant": g["tag_write"] / size.variants,
        "image_writes_per_variant": g["image_write"] / size.variants,
    })
    if size.rate_limit:
        capacity, leak = size.rate_limit
        figures["ratio_tap_wall"] = ok / run.tap_wall / leak if run.tap_wall else None
        # the most the bucket lets through between the first and the last call
        physical_max = capacity + leak * run.api_window
        figures["ratio_bucket"] = ok / physical_max if physical_max else None
        figures["ratio_sustained"] = ((ok - capacity) / (leak * run.api_window)
                                      if run.api_window else None)
    return figures


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_tables(results: list[SizeResult]) -> None:
    """The one table of issue #7 (markdown), then per-run details."""
    print("\n## Summary\n")
    print("| platform | products | variants | first sync wall s | products/s | variants/s "
          "| API req / 100 products | rate / ceiling (tap wall) | of bucket max (API window) "
          "| GW product writes / variant | GW create req / variant | GW tag writes / variant "
          "| GW image writes / variant | unchanged: wall s / GW writes "
          "| 1% changed: wall s / GW writes | peak RSS tap MiB | peak RSS target MiB |")
    print("|" + "---|" * 17)
    for size in results:
        first, again, changed = size.runs
        d = derived(size, first)
        writes = [sum(r.gateway[k] for k in ("product_create", "product_update",
                                              "product_delete", "tag_write", "image_write"))
                  for r in (again, changed)]
        print(f"| {size.platform} | {size.products} | {size.variants} | {first.wall:.1f} "
              f"| {_f(d['products_per_s'])} | {_f(d['variants_per_s'])} "
              f"| {_f(d['api_per_100_products'], 1)} | {_f(d.get('ratio_tap_wall'))} "
              f"| {_f(d.get('ratio_bucket'))} | {_f(d['product_writes_per_variant'], 3)} "
              f"| {_f(d['create_requests_per_variant'], 3)} "
              f"| {_f(d['tag_writes_per_variant'], 3)} | {_f(d['image_writes_per_variant'], 3)} "
              f"| {again.wall:.1f} / {writes[0]} | {changed.wall:.1f} / {writes[1]} "
              f"| {max(r.tap_rss_mib for r in size.runs):.0f} "
              f"| {max(r.target_rss_mib for r in size.runs):.0f} |")
    print("\n## Every run\n")
    print("| platform | products | run | wall s | tap wall s | exits tap/target | API req "
          "| 429 | API window s | bucket empty s | req/s (tap wall) | sustained / leak "
          "| of bucket max "
          "| GW create req (products) | GW updates | GW tag writes | GW image writes "
          "| GW reads | target counts | RSS tap / target MiB |")
    print("|" + "---|" * 20)
    for size in results:
        for run in [*([size.tap_alone] if size.tap_alone else []), *size.runs]:
            d = derived(size, run)
            g = run.gateway
            counts = run.report.get("counts") or {}
            summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
            print(f"| {size.platform} | {size.products} | {run.label} | {run.wall:.1f} "
                  f"| {run.tap_wall:.1f} | {run.tap_exit}/{run.target_exit} "
                  f"| {run.api_requests} | {run.throttled} | {run.api_window:.1f} "
                  f"| {run.bucket_idle:.1f} "
                  f"| {_f(d['rate_tap_wall'])} | {_f(d.get('ratio_sustained'))} "
                  f"| {_f(d.get('ratio_bucket'))} "
                  f"| {g['product_create']} ({g['products_created']}) | {g['product_update']} "
                  f"| {g['tag_write']} | {g['image_write']} | {g['read']} | {summary} "
                  f"| {run.tap_rss_mib:.0f} / {run.target_rss_mib:.0f} |")
    for size in results:
        print(f"\n{size.platform} {size.products}: {size.variants} variants, {size.images} "
              f"images; 1% changed = {size.changed_products} products "
              f"({size.changed_variants} variants)")


def machine() -> dict[str, Any]:
    """Where the figures came from."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        mem_kib = int(info.readline().split()[1])
    return {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "nproc": os.cpu_count(), "memory_gib": round(mem_kib / 1024 / 1024, 1),
            "cpu": cpu, "python": pyplatform.python_version(),
            "kernel": pyplatform.release()}


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run every platform at every size, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000",
                        help="catalog sizes in products, comma-separated")
    parser.add_argument("--latency", type=float, default=0.05,
                        help="seconds added to every emulator request")
    parser.add_argument("--platforms", default="shoper",
                        help=f"comma-separated, of: {', '.join(PLATFORMS)}")
    parser.add_argument("--quick", action="store_true",
                        help="one small catalog (100 products): a smoke run")
    parser.add_argument("--tap-alone", action="store_true",
                        help="also time a first read by the tap alone (output to /dev/null), "
                             "to tell its own pace from the pipeline's")
    parser.add_argument("--target-config", type=json.loads, default={},
                        help='extra target-gateway settings as JSON, e.g. \'{"max_workers": 8}\'')
    parser.add_argument("--json", type=Path, help="also save every figure to this file")
    args = parser.parse_args(argv)
    sizes = [100] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    names = [p.strip() for p in args.platforms.split(",") if p.strip()]
    unknown = [n for n in names if n not in PLATFORMS]
    if unknown:
        parser.error(f"unknown platform(s) {', '.join(unknown)}; known: {', '.join(PLATFORMS)}")
    for tool in ["target-gateway", *(PLATFORMS[n].tap for n in names)]:
        if not (BIN / tool).exists():
            parser.error(f"{BIN / tool} is missing: run 'make setup' first")
    # SIGTERM unwinds like Ctrl-C: children stopped, temporary configs removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    TARGET_EXTRA.update(args.target_config)
    info = machine()
    print(f"machine: {info}", flush=True)
    print(f"settings: sizes {sizes}, latency {args.latency} s per request (both emulators), "
          f"platforms {names}, seed {SEED}, emulators from "
          f"{Path(sandbox.__file__).parent}, extra target settings {TARGET_EXTRA}", flush=True)
    results = []
    for name in names:
        for n in sizes:
            results.append(bench_size(PLATFORMS[name], n, args.latency,
                                      tap_alone=args.tap_alone))
    print_tables(results)
    if args.json:
        args.json.write_text(json.dumps({
            "machine": info, "latency": args.latency,
            "results": [{**dataclasses.asdict(r),
                         "derived": [derived(r, run) for run in r.runs]} for r in results]},
            indent=2))
    failed = any(run.tap_exit or run.target_exit for r in results for run in r.runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
