"""datasets - public rating data for the bridge's benchmarks, fetched from a
package registry at run time and never committed.

MovieLens 100k (100,000 ratings 1-5, 943 users, 1,682 movies; F. Maxwell
Harper and Joseph A. Konstan, "The MovieLens Datasets: History and Context",
ACM TiiS 5(4), 2015) ships inside the MIT-licensed RecBole wheel on PyPI
(recbole/dataset_example/ml-100k/ml-100k.inter). GroupLens's licence forbids
redistribution, so the wheel is downloaded into .deps/datasets/ by pip and
the ratings are extracted to a temporary CSV for each run.

Online Retail (UCI, CC BY 4.0: Daqing Chen, Sai Liang Sue, Kun Guo, "Data
mining for the online retail industry", 2012) is in ../shared/data.
"""
import csv
import gzip
import os
import subprocess
import sys
import zipfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEPS = os.path.join(TOP, ".deps", "datasets")
RECBOLE = "recbole==1.2.1"
ML100K_MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"
RETAIL = os.environ.get("PRECIS_RETAIL") or os.path.join(TOP, "..", "shared", "data",
                                                         "online-retail", "online-retail.csv.gz")


def pip():
    """A pip that can download wheels (any python3 with pip will do)."""
    for py in (os.path.join(TOP, ".deps", "surprise-venv", "bin", "python"), sys.executable,
               "python3"):
        if subprocess.run([py, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return [py, "-m", "pip"]
    raise SystemExit("datasets: no pip to fetch %s with" % RECBOLE)


def ml100k(out_csv):
    """Write MovieLens 100k as user,item,rating,ts lines to out_csv; returns the count."""
    os.makedirs(DEPS, exist_ok=True)
    wheels = [f for f in os.listdir(DEPS) if f.startswith("recbole-1.2.1") and f.endswith(".whl")]
    if not wheels:
        subprocess.run(pip() + ["download", "--no-deps", "-q", "-d", DEPS, RECBOLE], check=True)
        wheels = [f for f in os.listdir(DEPS) if f.startswith("recbole-1.2.1")]
    n = 0
    with zipfile.ZipFile(os.path.join(DEPS, wheels[0])) as z, z.open(ML100K_MEMBER) as f, \
            open(out_csv, "w") as out:
        for k, line in enumerate(f):
            if k == 0:
                continue  # header
            u, i, r, t = line.decode().split("\t")
            out.write("%s,%s,%s,%s\n" % (u, i, r, t.strip()))
            n += 1
    return n


NON_PRODUCTS = {"POST", "DOT", "M", "m", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK",
                "PADS", "B"}


def retail_purchases():
    """(customer, item, quantity, unit price, ISO time) for every purchase line of
    Online Retail: a customer id, a positive quantity, not a cancellation, a
    product code (postage, fees, adjustments and vouchers left out)."""
    with gzip.open(RETAIL, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            cust, item = row["customer"].strip(), row["item"].strip()
            if not cust or row["invoice"].startswith(("C", "A")):
                continue
            if item in NON_PRODUCTS or item.startswith(("DCGS", "gift_")):
                continue
            qty = int(row["quantity"])
            if qty <= 0:
                continue
            yield cust, item, qty, float(row["unit_price"] or 0), row["ts"]
