#!/usr/bin/python3
"""Derive's quality benchmark: leadq derive (defaults) against scikit-learn on
the same held-out rows.

For each data set and seed: numbers the rows (row_id, which derive leaves out as
an identifier), runs `leadq derive --holdout 30 --seed S` with its defaults,
backtests the proposal on the rows it held out, and fits scikit-learn's
LogisticRegression (one-hot, scaled) and HistGradientBoostingClassifier on the
training rows derive used, with the same columns, scoring the same held-out rows.
Prints one table. Needs Debian's python3-sklearn; run from the repository root:

    /usr/bin/python3 bench/derive/quality.py [--seeds 1,2,3] [--leadq PATH]
"""
import argparse, csv, json, os, subprocess, sys, tempfile

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

DATA = os.environ.get("LEADQ_DATASETS", os.path.join(os.path.dirname(__file__), "../../../shared/datasets"))

SETS = [
    {
        "name": "X Education (pre-contact)",
        "file": "x-education-leads/Leads.csv",
        "outcome": "Converted", "positive": "1",
        # filled in after contact (the data set's README), and its identifiers
        "drop": ["Prospect ID", "Lead Number", "Tags", "Lead Quality", "Lead Profile", "Last Activity",
                 "Last Notable Activity", "Asymmetrique Activity Index", "Asymmetrique Profile Index",
                 "Asymmetrique Activity Score", "Asymmetrique Profile Score"],
        "missing": ["Select"],
    },
    {
        "name": "UCI bank marketing (no duration)",
        "file": "uci-bank-marketing/bank.csv",
        "outcome": "y", "positive": "yes",
        "drop": ["duration"],
        "missing": [],
    },
]


def read_csv(path):
    with open(path, newline="") as f:
        sample = f.read(4096)
        f.seek(0)
        delim = ";" if sample.count(";") > sample.count(",") else ","
        rows = list(csv.reader(f, delimiter=delim))
    return rows[0], rows[1:]


def is_number(v):
    try:
        float(v)
        return True
    except ValueError:
        return False


def baselines(header, rows, train_ids, hold_ids, outcome, positive, missing):
    cols = [c for c in header if c not in (outcome, "row_id")]
    idx = {c: i for i, c in enumerate(header)}
    def val(r, c):
        v = r[idx[c]].strip()
        return "" if v in missing else v
    numeric = [c for c in cols if all(val(r, c) == "" or is_number(val(r, c)) for r in rows)]
    cats = [c for c in cols if c not in numeric]
    by_id = {r[idx["row_id"]]: r for r in rows}
    def matrix(ids):
        num = np.array([[float(val(by_id[i], c)) if val(by_id[i], c) != "" else np.nan for c in numeric] for i in ids])
        cat = np.array([[val(by_id[i], c) or "(missing)" for c in cats] for i in ids], dtype=object)
        y = np.array([1 if by_id[i][idx[outcome]].strip() == positive else 0 for i in ids])
        return num, cat, y
    ntr, ctr, ytr = matrix(train_ids)
    nte, cte, yte = matrix(hold_ids)
    Xtr = np.concatenate([ntr, ctr], axis=1).astype(object)
    Xte = np.concatenate([nte, cte], axis=1).astype(object)
    nn = len(numeric)
    num_idx, cat_idx = list(range(nn)), list(range(nn, nn + len(cats)))
    lr = make_pipeline(
        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), num_idx),
            ("cat", OneHotEncoder(handle_unknown="ignore"), cat_idx),
        ]),
        LogisticRegression(max_iter=5000),
    )
    hgb = make_pipeline(
        ColumnTransformer([
            ("num", "passthrough", num_idx),
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), cat_idx),
        ]),
        HistGradientBoostingClassifier(categorical_features=list(range(nn, nn + len(cats))), random_state=0),
    )
    out = {}
    for name, model in (("LogisticRegression", lr), ("HistGradientBoosting", hgb)):
        model.fit(Xtr, ytr)
        p = model.predict_proba(Xte)[:, 1]
        out[name] = (roc_auc_score(yte, p), p, yte)
    return out


def top_rate(p, y, share):
    k = max(1, round(share * len(p)))
    order = np.argsort(-p, kind="stable")[:k]
    return y[order].mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--leadq", default="")
    ap.add_argument("--only", default="", help="only the data sets whose name contains this")
    ap.add_argument("--derive-args", default="", help="more flags for leadq derive, space-separated (to compare settings)")
    ap.add_argument("--no-baselines", action="store_true", help="leadq derive only")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="leadq-derive-bench-")
    leadq = a.leadq
    if not leadq:
        leadq = os.path.join(tmp, "leadq")
        subprocess.run(["go", "build", "-o", leadq, "./cmd/leadq"], check=True)
    print("| data | seed | method | held-out ROC AUC | top tier converts |")
    print("|---|---|---|---|---|")
    for s in SETS:
        if a.only not in s["name"]:
            continue
        header, rows = read_csv(os.path.join(DATA, s["file"]))
        keep = [i for i, c in enumerate(header) if c not in s["drop"]]
        header = ["row_id"] + [header[i] for i in keep]
        rows = [[str(n + 1)] + [r[i] for i in keep] for n, r in enumerate(rows)]
        data = os.path.join(tmp, "data.csv")
        with open(data, "w", newline="") as f:
            csv.writer(f).writerows([header] + rows)
        for seed in a.seeds.split(","):
            hold, rules, mp = (os.path.join(tmp, n) for n in ("hold.csv", "rules.yaml", "map.yaml"))
            cmd = [leadq, "derive", "--data", data, "--outcome", s["outcome"] + "=" + s["positive"],
                   "--holdout", "30", "--seed", seed, "--holdout-out", hold, "--map-out", mp, "-o", rules, "--name", "bench"]
            if s["missing"]:
                cmd += ["--missing", ",".join(s["missing"])]
            cmd += a.derive_args.split()
            subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
            rep = json.loads(subprocess.run([leadq, "backtest", "--rules", rules, "--data", hold, "--map", mp, "--format", "json"],
                                            check=True, capture_output=True).stdout)
            tiers = [t for t in rep["tiers"] if t["leads"] > 0]
            top = tiers[0]
            share = top["leads"] / rep["rows"]["scored"]
            print(f"| {s['name']} | {seed} | leadq derive, defaults | {rep['auc']:.3f} | {top['rate']*100:.1f}% of the top {share*100:.0f}% (tier {top['name']}) |")
            if a.no_baselines:
                continue
            _, hrows = read_csv(hold)
            hh, _ = read_csv(hold)
            hold_ids = [r[hh.index("row_id")] for r in hrows]
            held = set(hold_ids)
            train_ids = [r[0] for r in rows if r[0] not in held]
            for name, (auc, p, y) in baselines(header, rows, train_ids, hold_ids, s["outcome"], s["positive"], set(s["missing"]) | {""}).items():
                print(f"| {s['name']} | {seed} | scikit-learn {name} | {auc:.3f} | {top_rate(p, y, share)*100:.1f}% of the top {share*100:.0f}% |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
