#!/usr/bin/env python3
"""gen-demo-data.py — deterministic demo reports: realistic ones for the Bến Tre seed,
valid ones for any unit tree and programme.

Usage:  scripts/gen-demo-data.py OUTDIR [--seed N] [--data DIR]
                                 [--periods LIST] [--generic]

Two paths.  The Bến Tre seed (data/ as shipped: its indicators, rules and districts,
the districts reporting) takes the first, described below; any other data folder
(other indicators or rules, another tree, other reporters), or --periods, or
--generic, takes the generic path (see "Any tree, any programme" below).

The seed path writes one half-yearly report per district (829, 831-838) and half-year
(2017S1 … 2020S2): OUTDIR/<district>/<district>-<period>.csv, 72 files, long
form, UTF-8, header `period,orgunit,indicator,value`.  Each report has one row
per (commune in force at the period's end date, commune-level indicator) and one
row per district-level indicator (orgunit = the district code); indicators not
reported in that half (`periods` of indicators.csv) are left out.

Also writes two revisions of 829-2020S2 into OUTDIR/extra/:
  829-2020S2-rev-bad.csv    one deliberate R02 error: GDHT.CONG_NHAN of commune
                            28789 (Xã Bình Phú) = its GDHT.DANG_KY + 37
  829-2020S2-rev-fixed.csv  the original with QUY.VAN_DONG raised by
                            12 500 000 đồng for 28756 (Phường Phú Khương) and
                            7 000 000 đồng for 28783 (Xã Sơn Đông); nothing else
                            differs.
(The codes and amounts are constants, whatever the seed: see FIXED_CHANGES.)

The tree, the indicators and the rules come from data/ (units.csv,
indicators.csv); every rule of rules.csv holds in the 72 reports, warnings
included.  The numbers follow the magnitudes of the shared README: about 365 000
households and 1.29 million people in 164 communes, association members ≈ 18-20 %
of the population, ≈ 87 billion đồng raised per year, Learning-Family recognition
rising from ≈ 30 % (city ≈ 42 %) in 2017 to ≈ 72 % (city ≈ 88 %) in 2020.

The commune merger of 1 February 2020 (164 → 157 communes): every pre-merger
commune is simulated through all eight half-years; a post-merger commune reports
the sum of its predecessors (counts, money), the maximum of their flags, the
household-weighted mean of their scores, so district and province series are
continuous.  The absorbed communes are small (together ≈ 15-18 % of the absorbing
commune's households), so R16 ("HO.TONG within 25 % of previous") holds across the
merger whether the previous value is taken from the same code alone or from the sum
of the predecessors.

Any tree, any programme (the generic path; issue 12: "make valid reports for any tree
and programme, so anyone can test a new deployment").  For each half-year of
--periods and each reporting unit in force at its end (reporters.csv; without that
file, the level-2 units), writes OUTDIR/<unit>/<unit>-<period>.csv with a value for
every unit of the unit's subtree in force at the period's end and every indicator
of that unit's level reported in that half-year.  Where the programme in force
reports once a year (programmes.csv report_period "year"), a year of --periods
makes one report, <unit>-YYYY.csv, with every indicator of the level, and a
half-year S1 none.  Units merged away or not yet
created at the period's end are left out.  Values are plausible (stocks drift
slowly from one half-year to the next, flows are drawn afresh, a count bounded by
another is a share of it) and every rule of rules.csv holds, errors and warnings,
"within N% of previous" included (against the values written for the previous
report period when it is one of --periods): each rule bounds one of its indicators,
drawn after the indicators it reads; the whole unit is drawn again (at most 200
times) when a bound cannot be met or a rule still fails, and the script dies
naming the rule, the unit and the period when it never holds.

  --periods LIST   half-years, comma-separated: 2025S2,2026S1; a range 2025S1..2026S2
                   (or 2025S1-2026S2); a year 2026 (S1 and S2); a programme 2021-2025.
                   Default: the two half-years that ended last before today.
  --generic        the generic path even for the seed data folder
  --seed N         the random seed (default 2020); the same seed, data and periods
                   give the same files

Standard library only.  Prints one summary line to stderr on success.
"""
import argparse
import csv
import datetime
import math
import os
import random
import re
import sys

DISTRICTS = ["829", "831", "832", "833", "834", "835", "836", "837", "838"]
PERIODS = ["%dS%d" % (y, h) for y in range(2017, 2021) for h in (1, 2)]
CITY = "829"
OPTS = ("TOT", "KHA", "TB", "CHUA")

# The revisions of 829-2020S2 written into OUTDIR/extra/.
BAD_COMMUNE, BAD_EXCESS = "28789", 37                       # GDHT.CONG_NHAN = DANG_KY + 37
FIXED_CHANGES = [("28756", "QUY.VAN_DONG", 12500000),        # added to the original value
                 ("28783", "QUY.VAN_DONG", 7000000)]

# Learning-title recognition rates by year (share of the total), province / city.
REC = {
    "GDHT": ({2017: .30, 2018: .45, 2019: .59, 2020: .72}, {2017: .42, 2018: .63, 2019: .86, 2020: .88}),
    "DHHT": ({2017: .25, 2018: .35, 2019: .45, 2020: .55}, {2017: .35, 2018: .45, 2019: .57, 2020: .66}),
    "CDHT": ({2017: .30, 2018: .42, 2019: .55, 2020: .65}, {2017: .40, 2018: .55, 2019: .70, 2020: .80}),
    "DVHT": ({2017: .35, 2018: .45, 2019: .55, 2020: .62}, {2017: .45, 2018: .55, 2019: .65, 2020: .72}),
}
FUND_2017 = 86.9e9            # đồng raised province-wide in 2017
FUND_GROWTH = 1.03            # per year
FUND_SHARE = {1: .42, 2: .58}  # S1 / S2 share of a year's fund
HOUSEHOLDS_2017 = 365000
POPULATION_2017 = 1288000

KNOWN = {
    "TT.TIN_BAI", "TT.HOI_NGHI", "TT.AN_PHAM", "TT.TUAN_LE", "TT.NGAY_SACH", "TT.LUOT_NGUOI",
    "CS.THAM_MUU", "CS.KIEM_TRA", "TTHTCD.CO", "TTHTCD.HO_TRO", "TTHTCD.KINH_PHI", "TTHTCD.LOP",
    "TTHTCD.LUOT_HOC", "TTHTCD.XEP_LOAI", "HO.TONG", "GDHT.DANG_KY", "GDHT.CONG_NHAN", "DH.TONG",
    "DHHT.DANG_KY", "DHHT.CONG_NHAN", "AP.TONG", "CDHT.DANG_KY", "CDHT.CONG_NHAN", "DV.TONG",
    "DVHT.DANG_KY", "DVHT.CONG_NHAN", "CDX.DIEM", "CDX.XEP_LOAI", "DS.TONG", "HKH.HOI_VIEN",
    "HKH.HOI_VIEN_MOI", "HKH.CHI_HOI", "HKH.TO_HOI", "HKH.BAN_KH", "QUY.VAN_DONG", "QUY.CHI",
    "QUY.SUAT", "TH.TO_CHUC_KH", "TH.DVHT",
}


def die(msg):
    print("gen-demo-data: " + msg, file=sys.stderr)
    sys.exit(1)


def end_date(period):
    return "%s-%s" % (period[:4], "06-30" if period.endswith("S1") else "12-31")


def clamp(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def rng_for(seed, *key):
    return random.Random("%s/%s" % (seed, "/".join(str(k) for k in key)))


def round_to(x, step):
    return int(step * round(x / step))


def rating(score):
    if score >= 85:
        return "TOT"
    if score >= 70:
        return "KHA"
    if score >= 50:
        return "TB"
    return "CHUA"


def fmt_score(x):
    s = "%.1f" % x
    return s[:-2] if s.endswith(".0") else s


# ---- reference data --------------------------------------------------------------------

def load_units(data):
    with open(os.path.join(data, "units.csv"), encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def load_indicators(data):
    with open(os.path.join(data, "indicators.csv"), encoding="utf-8-sig", newline="") as f:
        inds = list(csv.DictReader(f))
    unknown = [i["code"] for i in inds if i["code"] not in KNOWN]
    if unknown:
        die("indicators.csv has indicators this generator does not know: " + " ".join(unknown))
    return inds


def communes_on(units, district, date):
    return [u for u in units if u["level"] == "3" and u["parent_code"] == district
            and (u["valid_from"] == "" or u["valid_from"] <= date)
            and (u["valid_to"] == "" or date <= u["valid_to"])]


# ---- the latent model: every pre-merger commune through all eight half-years -------------

class Commune:
    """One pre-merger commune (in force on 2019-12-31) and its simulated values."""

    def __init__(self, unit):
        self.code = unit["code"]
        self.name = unit["name"]
        self.type = unit["type"]
        self.district = unit["parent_code"]
        self.merged_into = unit["merged_into"]
        self.absorber = False        # absorbs other communes on 2020-02-01
        self.n_absorbed = 0
        self.vals = []               # per period index: {indicator: number or str}


def build_communes(units, seed):
    pre = {}
    for d in DISTRICTS:
        for u in communes_on(units, d, "2019-12-31"):
            pre[u["code"]] = Commune(u)
    for c in pre.values():
        if c.merged_into:
            if c.merged_into not in pre:
                die("unit %s merged into %s, which is not a commune before the merger"
                    % (c.code, c.merged_into))
            pre[c.merged_into].absorber = True
            pre[c.merged_into].n_absorbed += 1

    # Households at 2017S1: absorbers first, then the units they absorb (sized from them).
    hh = {}
    for c in pre.values():
        if c.merged_into:
            continue
        r = rng_for(seed, c.code, "size")
        hh[c.code] = r.uniform(2700, 3600) if c.absorber else r.triangular(1450, 3700, 1750)
    for c in pre.values():
        if c.merged_into:
            r = rng_for(seed, c.code, "size")
            share = 0.165 * r.uniform(0.9, 1.05) / pre[c.merged_into].n_absorbed
            hh[c.code] = hh[c.merged_into] * share
    scale_h = HOUSEHOLDS_2017 * rng_for(seed, "province").uniform(0.99, 1.01) / sum(hh.values())
    hsize = {}
    for c in pre.values():
        r = rng_for(seed, c.code, "hsize")
        hsize[c.code] = r.uniform(3.35, 3.65) if c.type == "phuong" else r.uniform(3.35, 3.85)
    pop0 = sum(hh[k] * scale_h * hsize[k] for k in hh)
    scale_p = POPULATION_2017 * rng_for(seed, "province", "pop").uniform(0.99, 1.01) / pop0

    # Fund weights: population, a local factor, urban wards somewhat richer.
    wfund = {}
    for c in pre.values():
        r = rng_for(seed, c.code, "fundw")
        wfund[c.code] = hh[c.code] * hsize[c.code] * r.uniform(0.6, 1.5) * \
            (1.3 if c.type in ("phuong", "thi_tran") else 1.0)
    wsum = sum(wfund.values())

    for c in pre.values():
        simulate(c, seed, hh[c.code] * scale_h, hsize[c.code] * scale_p, wfund[c.code] / wsum, pre)
    return pre


def simulate(c, seed, ho0, hs0, fund_w, pre):
    r = rng_for(seed, c.code, "sim")
    city = c.district == CITY
    urban = c.type in ("phuong", "thi_tran")

    # Constant or slowly moving structure.
    if c.merged_into:
        ap = 2 if pre[c.merged_into].n_absorbed >= 2 else r.randint(2, 3)
    else:
        ap = clamp(int(round(ho0 / r.uniform(300, 420))), 4, 10)
        if c.absorber:
            ap = min(ap, 10 - 3 * c.n_absorbed)
    dh0 = max(4.0, ho0 / r.uniform(45, 80))
    dv0 = max(3.0, 5 + ho0 / r.uniform(150, 260) + (r.uniform(4, 14) if urban else 0))
    chi_hoi = ap + r.randint(2, 7)
    to_hoi = int(round(chi_hoi * r.uniform(2.2, 3.8)))
    ban0 = dh0 * r.uniform(0.3, 0.6) + r.randint(1, 5)
    member0 = r.uniform(0.16, 0.21)
    mu = r.uniform(0.001, 0.006)             # household growth per half-year
    offs = {k: r.uniform(-0.07, 0.07) for k in REC}
    quality = r.gauss(0, 1)
    # Community learning centre: almost every commune has one; a few open one later.
    # Absorbing communes always have one (the merged commune's rating comes from it).
    opens = 0
    if not c.absorber and r.random() < 0.04:
        opens = r.randint(1, 6)

    ho, dh, dv, ban = ho0, dh0, dv0, ban0
    for t, period in enumerate(PERIODS):
        year, half = int(period[:4]), int(period[-1])
        if t > 0:
            ho *= 1 + clamp(r.gauss(mu, 0.002), -0.02, 0.02)
            dh *= 1 + r.uniform(0, 0.008)
            dv *= 1 + r.uniform(-0.005, 0.01)
            ban *= 1 + r.uniform(0, 0.02)
        hs = hs0 * (1 - 0.0018 * t)
        v = {}
        v["HO.TONG"] = int(round(ho))
        v["DS.TONG"] = int(round(ho * hs))
        v["AP.TONG"] = ap
        v["DH.TONG"] = int(round(dh))
        v["DV.TONG"] = int(round(dv))

        # Learning titles: registered (S1, S2) and recognised (S2) as a share of the total.
        yr = rng_for(seed, c.code, "titles", year)
        for key, total_code in (("GDHT", "HO.TONG"), ("DHHT", "DH.TONG"),
                                ("CDHT", "AP.TONG"), ("DVHT", "DV.TONG")):
            total = v[total_code]
            rec = clamp(REC[key][1 if city else 0][year] + offs[key] + yr.uniform(-0.02, 0.02), 0.05, 0.95)
            reg = min(0.98, rec + yr.uniform(0.06, 0.14))
            if half == 1:
                reg *= 0.97
            reg_n = min(total, int(round(reg * total)))
            v[key + ".DANG_KY"] = reg_n
            if half == 2:
                v[key + ".CONG_NHAN"] = min(reg_n, int(round(rec * total)))

        # Association and fund.
        members = int(round(v["DS.TONG"] * (member0 + 0.0025 * t)))
        v["HKH.HOI_VIEN"] = members
        v["HKH.HOI_VIEN_MOI"] = int(round(members * r.uniform(0.025, 0.05)))
        v["HKH.CHI_HOI"] = chi_hoi
        v["HKH.TO_HOI"] = to_hoi
        v["HKH.BAN_KH"] = int(round(ban))
        raised = FUND_2017 * FUND_GROWTH ** (year - 2017) * FUND_SHARE[half] * fund_w * r.gauss(1, 0.08)
        raised = max(5000000, round_to(raised, 1000))
        spent = round_to(raised * r.uniform(0.6, 1.25), 1000)
        v["QUY.VAN_DONG"] = raised
        v["QUY.CHI"] = spent
        v["QUY.SUAT"] = int(round(spent / r.uniform(400000, 900000)))

        # Community learning centre.
        co = 1 if t >= opens else 0
        v["TTHTCD.CO"] = co
        funded = 1 if co and r.random() < 0.55 else 0
        v["TTHTCD.HO_TRO"] = funded
        v["TTHTCD.KINH_PHI"] = round_to(r.uniform(5e6, 40e6), 100000) if funded else 0
        lop = int(round(ho / 100 * r.uniform(0.5, 1.5))) if co else 0
        v["TTHTCD.LOP"] = lop
        v["TTHTCD.LUOT_HOC"] = int(round(lop * r.uniform(25, 60)))

        # Year-end assessments.
        if half == 2:
            score = clamp(64 + 5 * (year - 2017) + 8 * quality + r.gauss(0, 3), 30, 98)
            v["CDX.DIEM"] = round(score * 2) / 2
            # A few communes not yet rated in the first two years (option left empty).
            v["CDX.XEP_LOAI"] = "" if year <= 2018 and r.random() < 0.05 else rating(v["CDX.DIEM"])
            v["TTHTCD.XEP_LOAI"] = rating(clamp(score + r.gauss(0, 6), 0, 100)) if co else ""
        c.vals.append(v)


def merged_values(preds, t):
    """The values of a post-merger commune from its predecessors (preds[0] keeps the code)."""
    vs = [p.vals[t] for p in preds]
    if len(vs) == 1:
        return dict(vs[0])
    out = {}
    for k in vs[0]:
        if k in ("TTHTCD.CO", "TTHTCD.HO_TRO"):
            out[k] = max(v[k] for v in vs)
        elif k == "CDX.DIEM":
            w = sum(v["HO.TONG"] for v in vs)
            out[k] = round(2 * sum(v[k] * v["HO.TONG"] for v in vs) / w) / 2
        elif k == "CDX.XEP_LOAI":
            out[k] = rating(out["CDX.DIEM"])
        elif k == "TTHTCD.XEP_LOAI":
            # the first predecessor with a rated centre (the absorbing commune always has one)
            out[k] = next((v[k] for v in vs if v[k]), "")
        else:
            out[k] = sum(v[k] for v in vs)
    return out


def district_values(d, seed, t, period, n_communes, n_communes_2017):
    half = int(period[-1])
    r = rng_for(seed, d, "district", period)
    rs = rng_for(seed, d, "schools")
    schools = int(round(n_communes_2017 * rs.uniform(2.8, 3.8)))   # not changed by the merger
    share_org = rs.uniform(0.80, 0.88) + (1 - 0.84) * t / 7
    share_dvht = rs.uniform(0.25, 0.35) + 0.05 * t
    org = min(schools, int(round(schools * share_org)))
    v = {
        "TT.TIN_BAI": r.randint(15, 60),
        "TT.HOI_NGHI": r.randint(2, 8),
        "TT.AN_PHAM": r.randint(1, 6),
        "TT.TUAN_LE": r.randint(0, 2) if half == 1 else r.randint(8, 25),
        "TT.NGAY_SACH": r.randint(5, 20) if half == 1 else r.randint(0, 3),
        "TT.LUOT_NGUOI": r.randint(3000, 9000) if half == 1 else r.randint(6000, 15000),
        "CS.THAM_MUU": r.randint(1, 6),
        "CS.KIEM_TRA": r.randint(n_communes // 2, 2 * n_communes),   # visits, not communes
        "TH.TO_CHUC_KH": org,
        "TH.DVHT": min(org, int(round(org * share_dvht))),
    }
    if d == CITY:
        v["TT.TIN_BAI"] += 20
    return v


# ---- output --------------------------------------------------------------------------------

def fmt(ind, x):
    if ind["value_type"] == "option":
        return x
    if ind["value_type"] == "score":
        return fmt_score(x)
    return str(int(x))


def write_report(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["period", "orgunit", "indicator", "value"])
        w.writerows(rows)


def seed_main(a):
    """The Bến Tre seed: 72 realistic reports and the two revisions of 829-2020S2."""
    units = load_units(a.data)
    inds = load_indicators(a.data)
    commune_inds = [i for i in inds if i["level"] == "3"]
    district_inds = [i for i in inds if i["level"] == "2"]
    pre = build_communes(units, a.seed)

    n_reports = n_values = 0
    reports = {}
    for d in DISTRICTS:
        os.makedirs(os.path.join(a.outdir, d), exist_ok=True)
        for t, period in enumerate(PERIODS):
            half = period[-2:]
            rows = []
            communes = communes_on(units, d, end_date(period))
            for u in communes:
                preds = [pre[u["code"]]] if u["code"] in pre else []
                preds += [p for p in pre.values() if p.merged_into == u["code"]
                          and end_date(period) > "2020-01-31"]
                if not preds:
                    die("commune %s (%s) has no simulated predecessor" % (u["code"], u["name"]))
                v = merged_values(preds, t)
                for ind in commune_inds:
                    if half in ind["periods"].split():
                        rows.append([period, u["code"], ind["code"], fmt(ind, v[ind["code"]])])
            dv = district_values(d, a.seed, t, period, len(communes),
                                 len(communes_on(units, d, end_date(PERIODS[0]))))
            for ind in district_inds:
                if half in ind["periods"].split():
                    rows.append([period, d, ind["code"], fmt(ind, dv[ind["code"]])])
            write_report(os.path.join(a.outdir, d, "%s-%s.csv" % (d, period)), rows)
            reports[(d, period)] = rows
            n_reports += 1
            n_values += len(rows)

    # The two revisions of 829-2020S2.
    extra = os.path.join(a.outdir, "extra")
    os.makedirs(extra, exist_ok=True)
    orig = reports[(CITY, "2020S2")]
    reg = {r[1]: int(r[3]) for r in orig if r[2] == "GDHT.DANG_KY"}
    if BAD_COMMUNE not in reg:
        die("commune %s is not in the 829-2020S2 report" % BAD_COMMUNE)
    bad = [list(r) for r in orig]
    for r in bad:
        if r[1] == BAD_COMMUNE and r[2] == "GDHT.CONG_NHAN":
            r[3] = str(reg[BAD_COMMUNE] + BAD_EXCESS)
    write_report(os.path.join(extra, "829-2020S2-rev-bad.csv"), bad)
    fixed = [list(r) for r in orig]
    for code, ind, delta in FIXED_CHANGES:
        hit = [r for r in fixed if r[1] == code and r[2] == ind]
        if len(hit) != 1:
            die("no single %s row for %s in the 829-2020S2 report" % (ind, code))
        hit[0][3] = str(int(hit[0][3]) + delta)
    write_report(os.path.join(extra, "829-2020S2-rev-fixed.csv"), fixed)

    print("%d reports, %d values in %s" % (n_reports, n_values, a.outdir), file=sys.stderr)


# ==== the generic path: any tree, any programme =============================================

# The seed's catalogue as the seed path knows it: indicator -> level, value type, options,
# half-years; and its rules (level, half-years, text).  Data that differ take the generic path.
SEED_INDICATORS = """
TT.TIN_BAI 2 count - S1/S2;TT.HOI_NGHI 2 count - S1/S2;TT.AN_PHAM 2 count - S1/S2
TT.TUAN_LE 2 count - S2;TT.NGAY_SACH 2 count - S1;TT.LUOT_NGUOI 2 count - S1/S2
CS.THAM_MUU 2 count - S1/S2;CS.KIEM_TRA 2 count - S1/S2;TTHTCD.CO 3 flag - S1/S2
TTHTCD.HO_TRO 3 flag - S1/S2;TTHTCD.KINH_PHI 3 money - S1/S2;TTHTCD.LOP 3 count - S1/S2
TTHTCD.LUOT_HOC 3 count - S1/S2;TTHTCD.XEP_LOAI 3 option TOT/KHA/TB/CHUA S2
HO.TONG 3 count - S1/S2;GDHT.DANG_KY 3 count - S1/S2;GDHT.CONG_NHAN 3 count - S2
DH.TONG 3 count - S1/S2;DHHT.DANG_KY 3 count - S1/S2;DHHT.CONG_NHAN 3 count - S2
AP.TONG 3 count - S1/S2;CDHT.DANG_KY 3 count - S1/S2;CDHT.CONG_NHAN 3 count - S2
DV.TONG 3 count - S1/S2;DVHT.DANG_KY 3 count - S1/S2;DVHT.CONG_NHAN 3 count - S2
CDX.DIEM 3 score 0-100 S2;CDX.XEP_LOAI 3 option TOT/KHA/TB/CHUA S2;DS.TONG 3 count - S1/S2
HKH.HOI_VIEN 3 count - S1/S2;HKH.HOI_VIEN_MOI 3 count - S1/S2;HKH.CHI_HOI 3 count - S1/S2
HKH.TO_HOI 3 count - S1/S2;HKH.BAN_KH 3 count - S1/S2;QUY.VAN_DONG 3 money - S1/S2
QUY.CHI 3 money - S1/S2;QUY.SUAT 3 count - S1/S2;TH.TO_CHUC_KH 2 count - S1/S2
TH.DVHT 2 count - S2
"""
SEED_RULES = """
3|S1 S2|GDHT.DANG_KY <= HO.TONG
3|S2|GDHT.CONG_NHAN <= GDHT.DANG_KY
3|S1 S2|DHHT.DANG_KY <= DH.TONG
3|S2|DHHT.CONG_NHAN <= DHHT.DANG_KY
3|S1 S2|CDHT.DANG_KY <= AP.TONG
3|S2|CDHT.CONG_NHAN <= CDHT.DANG_KY
3|S1 S2|DVHT.DANG_KY <= DV.TONG
3|S2|DVHT.CONG_NHAN <= DVHT.DANG_KY
3|S1 S2|TTHTCD.HO_TRO <= TTHTCD.CO
3|S1 S2|TTHTCD.KINH_PHI > 0 => TTHTCD.HO_TRO == 1
3|S1 S2|HKH.HOI_VIEN <= DS.TONG
3|S1 S2|HKH.HOI_VIEN_MOI <= HKH.HOI_VIEN
3|S1 S2|HO.TONG > 0
3|S1 S2|QUY.CHI <= QUY.VAN_DONG * 2
3|S2|TTHTCD.CO == 1 => TTHTCD.XEP_LOAI != NONE
3|S1 S2|HO.TONG within 25% of previous
2|S2|TH.DVHT <= TH.TO_CHUC_KH
"""


def halves_key(text):
    return " ".join(sorted(text.split()))


def read_rows(data, name, required=True):
    path = os.path.join(data, name)
    if not os.path.exists(path):
        if required:
            die("%s: no such file" % path)
        return None
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def is_seed(data):
    """True when the data folder is the one the seed path was written for."""
    seed_inds = {}
    for item in SEED_INDICATORS.replace("\n", ";").split(";"):
        if item.strip():
            code, level, vt, opts, halves = item.split()
            seed_inds[code] = (level, vt, "" if opts == "-" else opts.replace("/", " "),
                               halves_key(halves.replace("/", " ")))
    seed_rules = set()
    for line in SEED_RULES.strip().splitlines():
        level, halves, text = line.split("|")
        seed_rules.add((level, halves_key(halves), " ".join(text.split())))
    for i in read_rows(data, "indicators.csv"):
        if seed_inds.get(i["code"]) != (i["level"], i["value_type"], " ".join(i["options"].split()),
                                        halves_key(i["periods"])):
            return False
    for r in read_rows(data, "rules.csv"):
        if (r["level"], halves_key(r["periods"]), " ".join(r["rule"].split())) not in seed_rules:
            return False
    reporters = read_rows(data, "reporters.csv", required=False)
    if reporters is not None and any(r["level"] != "2" or r["unit"] for r in reporters):
        return False
    units = read_rows(data, "units.csv")
    by_code = {}
    for u in units:
        by_code.setdefault(u["code"], []).append(u)
        if u["level"] not in ("1", "2", "3"):
            return False
    for d in DISTRICTS:
        rows = by_code.get(d, [])
        if len(rows) != 1 or rows[0]["level"] != "2":
            return False
    return True


# ---- half-years -------------------------------------------------------------------------------

HALF_RE = re.compile(r"^(\d{4})S([12])$")


def half_index(p):
    m = HALF_RE.match(p)
    return 2 * int(m.group(1)) + int(m.group(2)) - 1


def half_name(i):
    return "%dS%d" % (i // 2, i % 2 + 1)


def half_end(i):
    return "%d-%s" % (i // 2, "06-30" if i % 2 == 0 else "12-31")


def parse_periods(spec):
    """'2025S2,2026S1', '2025S1..2026S2', '2025S1-2026S2', '2026', '2021-2025' -> indices."""
    out = set()
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        m = re.match(r"^(\d{4}S[12])(?:\.\.|-)(\d{4}S[12])$", item)
        if HALF_RE.match(item):
            out.add(half_index(item))
        elif m:
            a, b = half_index(m.group(1)), half_index(m.group(2))
            if a > b:
                die("--periods: %s: the range ends before it begins" % item)
            out.update(range(a, b + 1))
        elif re.match(r"^\d{4}$", item):
            out.update((2 * int(item), 2 * int(item) + 1))
        elif re.match(r"^\d{4}-\d{4}$", item):
            a, b = int(item[:4]), int(item[5:])
            if a > b:
                die("--periods: %s: the programme ends before it begins" % item)
            out.update(range(2 * a, 2 * b + 2))
        else:
            die("--periods: %r is not a half-year (2026S1), a range (2025S1..2026S2), a year "
                "(2026) or a programme (2021-2025)" % item)
    if not out:
        die("--periods: no half-year given")
    return sorted(out)


# ---- the rule language (lib/model/kh_rules.c, kh_rules.h) ------------------------------------------
#
#   rule    := cond [ "=>" cond ]
#   cond    := sum cmp sum  |  INDICATOR "within" NUMBER "%" "of" "previous"
#   sum     := term { ("+" | "-") term }
#   term    := unary { "*" unary }
#   unary   := "-" unary | primary
#   primary := NUMBER | INDICATOR | OPTION | "NONE" | "(" sum ")"
#
# Nodes: ("num", x) ("ind", code, is_option) ("opt", code) ("none",) ("neg", a) ("add", a, b)
# ("sub", a, b) ("mul", a, b) ("cmp", op, a, b) ("impl", a, b) ("within", code, pct).

PASS, FAIL, SKIP = "pass", "fail", "skip"
NEGATE = {"<=": ">", "<": ">=", ">=": "<", ">": "<=", "==": "!=", "!=": "=="}
FLIP = {"<=": ">=", "<": ">", ">=": "<=", ">": "<", "==": "==", "!=": "!="}
TOKEN_RE = re.compile(r"\s*(?:(\d+(?:\.\d+)?)(?![A-Za-z0-9_.])|([A-Za-z_][A-Za-z0-9_.]*)"
                      r"|(<=|>=|==|!=|=>|<|>|\+|-|\*|\(|\)|%))")


class RuleError(Exception):
    pass


def tokenize(text):
    toks, pos = [], 0
    text = text.rstrip(" \t")
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise RuleError("unexpected character at column %d" % (pos + 1))
        if m.group(1) is not None:
            toks.append(("num", float(m.group(1))))
        elif m.group(2) is not None:
            toks.append(("id", m.group(2)))
        else:
            toks.append(("op", m.group(3)))
        pos = m.end()
    toks.append(("eof", None))
    return toks


class RuleParser:
    def __init__(self, text, inds):
        self.toks, self.i, self.inds = tokenize(text), 0, inds

    def peek(self):
        return self.toks[self.i]

    def take(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, kind, value=None):
        t = self.take()
        if t[0] != kind or (value is not None and t[1] != value):
            raise RuleError("expected %s, found %s" % (value or kind, t[1]))
        return t

    def rule(self):
        a = self.cond()
        if self.peek() == ("op", "=>"):
            self.take()
            a = ("impl", a, self.cond())
        if self.peek()[0] != "eof":
            raise RuleError("unexpected %s" % (self.peek()[1],))
        return a

    def cond(self):
        left = self.sum()
        t = self.peek()
        if t == ("id", "within"):
            if left[0] != "ind" or left[2]:
                raise RuleError("'within' needs a numeric indicator on its left")
            self.take()
            pct = self.expect("num")[1]
            self.expect("op", "%")
            self.expect("id", "of")
            self.expect("id", "previous")
            return ("within", left[1], pct)
        if t[0] == "op" and t[1] in NEGATE:
            self.take()
            return ("cmp", t[1], left, self.sum())
        raise RuleError("expected a comparison, found %s" % (t[1],))

    def sum(self):
        a = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            a = ("add" if op == "+" else "sub", a, self.term())
        return a

    def term(self):
        a = self.unary()
        while self.peek() == ("op", "*"):
            self.take()
            a = ("mul", a, self.unary())
        return a

    def unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            return ("neg", self.unary())
        return self.primary()

    def primary(self):
        t = self.take()
        if t[0] == "num":
            return ("num", t[1])
        if t == ("op", "("):
            a = self.sum()
            self.expect("op", ")")
            return a
        if t[0] == "id":
            if t[1] in ("within", "of", "previous"):
                raise RuleError("unexpected '%s'" % t[1])
            if t[1] == "NONE":
                return ("none",)
            if t[1] in self.inds:
                return ("ind", t[1], self.inds[t[1]]["value_type"] == "option")
            if "." in t[1]:
                raise RuleError("unknown indicator %s" % t[1])
            return ("opt", t[1])
        raise RuleError("expected a number, an indicator or '(', found %s" % (t[1],))


def rule_vars(node, out=None):
    """The indicator codes a node reads, in order of first appearance."""
    out = [] if out is None else out
    if node[0] == "ind" or node[0] == "within":
        if node[1] not in out:
            out.append(node[1])
    elif node[0] in ("neg",):
        rule_vars(node[1], out)
    elif node[0] in ("add", "sub", "mul", "impl"):
        rule_vars(node[1], out)
        rule_vars(node[2], out)
    elif node[0] == "cmp":
        rule_vars(node[2], out)
        rule_vars(node[3], out)
    return out


def operand(node, vals):
    k = node[0]
    if k == "num":
        return node[1]
    if k == "none":
        return ""
    if k == "opt":
        return node[1]
    if k == "ind":
        return vals[node[1]]
    if k == "neg":
        return -operand(node[1], vals)
    a, b = operand(node[1], vals), operand(node[2], vals)
    return a + b if k == "add" else a - b if k == "sub" else a * b


def compare(op, a, b):
    if isinstance(a, str) or isinstance(b, str):
        eq = str(a) == str(b)
        return eq if op == "==" else not eq
    return {"<=": a <= b, "<": a < b, ">=": a >= b, ">": a > b, "==": a == b, "!=": a != b}[op]


def eval_cond(node, vals, prev):
    """kh_rules.c's eval_cond: PASS, FAIL or SKIP; prev(code) is the previous value or None."""
    k = node[0]
    if k == "cmp":
        return PASS if compare(node[1], operand(node[2], vals), operand(node[3], vals)) else FAIL
    if k == "impl":
        a = eval_cond(node[1], vals, prev)
        if a != PASS:
            return PASS if a == FAIL else SKIP
        return eval_cond(node[2], vals, prev)
    if k == "within":
        p = prev(node[1])
        if p is None or not p > 0:
            return SKIP
        change = (vals[node[1]] - p) / p * 100.0
        return PASS if abs(change) <= node[2] + 1e-9 else FAIL
    return SKIP


def eval_rule(rule, vals, prev):
    """SKIP when a value the rule reads is missing, as kh_expr_eval."""
    if any(v not in vals for v in rule["vars"]):
        return SKIP
    return eval_cond(rule["expr"], vals, prev)


def linear(node):
    """A numeric node as ({code: coefficient}, constant), or None when not linear."""
    k = node[0]
    if k == "num":
        return {}, node[1]
    if k == "ind":
        return (None if node[2] else ({node[1]: 1.0}, 0.0))
    if k == "neg":
        a = linear(node[1])
        return None if a is None else ({c: -x for c, x in a[0].items()}, -a[1])
    if k in ("add", "sub", "mul"):
        a, b = linear(node[1]), linear(node[2])
        if a is None or b is None:
            return None
        if k == "mul":
            if a[0] and b[0]:
                return None
            if not a[0]:
                a, b = b, a
            return {c: x * b[1] for c, x in a[0].items()}, a[1] * b[1]
        sign = 1 if k == "add" else -1
        co = dict(a[0])
        for c, x in b[0].items():
            co[c] = co.get(c, 0.0) + sign * x
        return co, a[1] + sign * b[1]
    return None


def primitives(node, negate=False):
    """A condition (or its negation) as constraints the drawing can narrow values with:
    ("lin", {code: coefficient}, constant, op) for sum(c x) + k op 0, ("optlit", code, op,
    option or "" for NONE), ("optvar", code, op, other code), ("within", code, pct).
    None when it has no such form (a product of indicators): only checked at the end."""
    if node[0] == "within":
        return None if negate else [("within", node[1], node[2])]
    if node[0] != "cmp":
        return None
    op = NEGATE[node[1]] if negate else node[1]
    a, b = node[2], node[3]
    la, lb = linear(a), linear(b)
    if la is not None and lb is not None:
        co = dict(la[0])
        for c, x in lb[0].items():
            co[c] = co.get(c, 0.0) - x
        return [("lin", {c: x for c, x in co.items() if x != 0}, la[1] - lb[1], op)]
    for me, other in ((a, b), (b, a)):
        if me[0] == "ind" and me[2]:
            if other[0] == "ind":
                return [("optvar", me[1], op, other[1])]
            return [("optlit", me[1], op, "" if other[0] == "none" else other[1])]
    return None


# ---- the drawing order: each rule bounds one of its indicators, drawn after the others --------

# how freely an indicator's value can move: the freest of a rule's indicators is the one drawn
# last and bounded by it (the funding amount rather than the "funded" flag)
FREEDOM = {"money": 5, "count": 4, "score": 3, "option": 2, "flag": 1}


def cond_targets(node, negate):
    """The indicators one condition could bound: dicts with target, deps (the other
    indicators it reads) and upper (bounded from above by other indicators: a subset)."""
    out = []
    for prim in primitives(node, negate) or ():
        if prim[0] in ("within", "optlit"):
            out.append({"target": prim[1], "deps": set(), "upper": False})
        elif prim[0] == "optvar":
            out.append({"target": prim[1], "deps": {prim[3]}, "upper": False})
            out.append({"target": prim[3], "deps": {prim[1]}, "upper": False})
        else:
            co, op = prim[1], prim[3]
            for t, c in co.items():
                rest = set(co) - {t}
                top = op if c > 0 else FLIP[op]         # t top -(const + rest) / c
                out.append({"target": t, "deps": rest, "upper": top in ("<=", "<") and bool(rest)})
    return out


class Plan:
    """For one level and half-year: the indicators, the rules, the order in which the
    indicators are drawn, and the constraints that narrow them while they are drawn."""

    def __init__(self, inds, rules):
        self.inds = inds                          # indicator rows, catalogue order
        self.rules = rules                        # the rules that apply
        vt = {i["code"]: i["value_type"] for i in inds}
        order_ix = {i["code"]: n for n, i in enumerate(inds)}
        edges = {c: set() for c in vt}            # dep -> targets

        def reaches(src, dst):
            seen, stack = set(), [src]
            while stack:
                x = stack.pop()
                if x == dst:
                    return True
                if x not in seen:
                    seen.add(x)
                    stack.extend(edges[x])
            return False

        # drawn as a share of its upper bound: the subset of a total ("registered <= total")
        self.subset = set()
        for rule in rules:
            e = rule["expr"]
            if e[0] == "impl":         # B when A holds, or not A when B fails
                cands = [dict(c, deps=c["deps"] | set(rule_vars(e[1])))
                         for c in cond_targets(e[2], False)]
                cands += [dict(c, deps=c["deps"] | set(rule_vars(e[2])))
                          for c in cond_targets(e[1], True)]
            else:
                cands = cond_targets(e, False)
            cands = [c for c in cands if c["target"] in vt]
            for c in cands:
                c["deps"].discard(c["target"])
            cands.sort(key=lambda c: (-FREEDOM[vt[c["target"]]], not c["upper"],
                                      order_ix[c["target"]]))
            for c in cands:
                if not any(reaches(c["target"], d) for d in c["deps"]):
                    for d in c["deps"]:
                        edges[d].add(c["target"])
                    if c["upper"]:
                        self.subset.add(c["target"])
                    break
        # drawing order: a topological order of the edges, catalogue order among equals
        indeg = {c: 0 for c in vt}
        for d, ts in edges.items():
            for t in ts:
                indeg[t] += 1
        ready = sorted((c for c in vt if indeg[c] == 0), key=order_ix.get)
        self.order = []
        while ready:
            c = ready.pop(0)
            self.order.append(c)
            for t in edges[c]:
                indeg[t] -= 1
                if indeg[t] == 0:
                    ready.append(t)
            ready.sort(key=order_ix.get)
        assert len(self.order) == len(vt), "cycle in the drawing order"
        # the constraints that narrow the values while they are drawn
        self.prims, self.conds = [], []
        for rule in rules:
            e = rule["expr"]
            if e[0] == "impl":
                self.conds.append((rule["id"], e[1], e[2], rule_vars(e[1]), rule_vars(e[2]),
                                   primitives(e[2]), primitives(e[1], negate=True)))
            else:
                self.prims.extend((rule["id"], x) for x in primitives(e) or ())


# ---- drawing values ----------------------------------------------------------------------------

class Infeasible(Exception):
    pass


def grid(ind):
    """(step, lowest, highest) of an indicator's values, in grid units (tenths for scores)."""
    vt = ind["value_type"]
    if vt == "flag":
        return 1.0, 0, 1
    if vt == "score":
        lo, hi = (float(x) for x in ind["options"].split("-"))
        return 0.1, int(math.ceil(lo * 10 - 1e-9)), int(math.floor(hi * 10 + 1e-9))
    return 1.0, 0, 10 ** 14


class NumDomain:
    """The values an indicator may still take: grid points lo..hi but the excluded ones."""

    def __init__(self, ind):
        self.step, self.lo, self.hi = grid(ind)
        self.top = self.hi
        self.excluded = set()


class Domains:
    """One unit's values while they are drawn: each indicator's domain, narrowed by the
    rules (bounds propagation over the linear ones) each time a value is fixed."""

    def __init__(self, gen, plan, prev):
        self.gen, self.plan, self.prev = gen, plan, prev
        self.num, self.opt, self.fixed = {}, {}, {}
        for ind in plan.inds:
            if ind["value_type"] == "option":
                self.opt[ind["code"]] = [""] + ind["options"].split()
            else:
                self.num[ind["code"]] = NumDomain(ind)
        self.active = list(plan.prims)
        self.fired = set()

    def tighten(self, code, op, x, rule):
        d = self.num[code]
        g = x / d.step
        eps = 1e-9 * max(1.0, abs(g))
        changed = False
        if op in ("<=", "<", "=="):
            v = int(math.floor(g + eps)) if op != "<" else int(math.ceil(g - eps)) - 1
            if v < d.hi:
                d.hi, changed = v, True
        if op in (">=", ">", "=="):
            v = int(math.ceil(g - eps)) if op != ">" else int(math.floor(g + eps)) + 1
            if v > d.lo:
                d.lo, changed = v, True
        if op == "==" and abs(g - round(g)) > eps:
            raise Infeasible("no value of %s meets rule %s" % (code, rule))
        if op == "!=" and abs(g - round(g)) <= eps and int(round(g)) not in d.excluded:
            d.excluded.add(int(round(g)))
            changed = True
        while d.lo <= d.hi and d.lo in d.excluded:
            d.lo += 1
        while d.lo <= d.hi and d.hi in d.excluded:
            d.hi -= 1
        if d.lo > d.hi:
            raise Infeasible("no value of %s meets rule %s" % (code, rule))
        return changed

    def restrict(self, code, keep, rule):
        before = self.opt[code]
        after = [o for o in before if keep(o)]
        if not after:
            raise Infeasible("no value of %s meets rule %s" % (code, rule))
        self.opt[code] = after
        return len(after) != len(before)

    def value(self, code):
        if code in self.opt:
            a = self.opt[code]
            return a[0] if len(a) == 1 else None
        d = self.num[code]
        return d.lo * d.step if d.lo == d.hi else None

    def apply(self, rule, prim):
        """Narrows the domains with one constraint; True when something changed."""
        kind = prim[0]
        if kind == "within":
            p = self.prev(prim[1])
            if p is None or not p > 0:
                return False
            a = self.tighten(prim[1], ">=", p * (1 - prim[2] / 100.0), rule)
            return self.tighten(prim[1], "<=", p * (1 + prim[2] / 100.0), rule) or a
        if kind == "optlit":
            lit, eq = prim[3], prim[2] == "=="
            return self.restrict(prim[1], lambda o: (o == lit) == eq, rule)
        if kind == "optvar":
            eq, changed = prim[2] == "==", False
            for me, other in ((prim[1], prim[3]), (prim[3], prim[1])):
                v = self.value(other)
                if v is not None:
                    changed |= self.restrict(me, lambda o: (o == v) == eq, rule)
            return changed
        co, k, op = prim[1], prim[2], prim[3]
        if op == "!=":
            free = [c for c in co if self.value(c) is None]
            if len(free) == 1:
                t = free[0]
                rest = sum(c * self.value(v) for v, c in co.items() if v != t)
                return self.tighten(t, "!=", -(k + rest) / co[t], rule)
            if not free and sum(c * self.value(v) for v, c in co.items()) + k == 0:
                raise Infeasible("rule %s fails" % rule)
            return False
        forms = []
        if op in ("<=", "<", "=="):
            forms.append((co, k, op == "<"))
        if op in (">=", ">", "=="):
            forms.append(({c: -x for c, x in co.items()}, -k, op == ">"))
        changed = False
        for cf, kf, strict in forms:            # sum(c x) + k (< or <=) 0
            lows = {}
            for v, c in cf.items():
                d = self.num[v]
                lows[v] = c * (d.lo if c > 0 else d.hi) * d.step
            total = sum(lows.values())
            for t, c in cf.items():
                bound = -(kf + total - lows[t]) / c
                if c > 0:
                    changed |= self.tighten(t, "<" if strict else "<=", bound, rule)
                else:
                    changed |= self.tighten(t, ">" if strict else ">=", bound, rule)
        return changed

    def propagate(self):
        for _ in range(50):
            changed = False
            for rid, a_node, b_node, a_vars, b_vars, b_prims, not_a_prims in self.plan.conds:
                if rid in self.fired:
                    continue
                vals = {c: self.value(c) for c in set(a_vars) | set(b_vars)}
                known = {c: v for c, v in vals.items() if v is not None}
                if all(c in known for c in a_vars) and \
                        eval_cond(a_node, known, self.prev) == PASS:
                    self.fired.add(rid)
                    self.active.extend((rid, x) for x in b_prims or ())
                    changed = True
                elif all(c in known for c in b_vars) and \
                        eval_cond(b_node, known, self.prev) == FAIL:
                    self.fired.add(rid)
                    self.active.extend((rid, x) for x in not_a_prims or ())
                    changed = True
            for rid, prim in self.active:
                changed |= self.apply(rid, prim)
            if not changed:
                return
        return

    def draw_all(self, unit, t, r, attempt):
        g = self.gen
        self.propagate()
        for code in self.plan.order:
            ind = g.ind[code]
            stock = ind["time_aggregation"] in ("last", "max")
            latest = g.latest(unit, code, t)
            if code in self.opt:
                v = g.draw_option(ind, self.opt[code], latest, stock, r)
                self.opt[code] = [v]
            else:
                d = self.num[code]
                share_of = d.hi * d.step if code in self.plan.subset and d.hi < d.top else None
                x = g.base_number(ind, unit, latest, share_of, stock, r, attempt)
                nice = 5 if ind["value_type"] == "score" else \
                    1000 if ind["value_type"] == "money" and x >= 1e6 else 1
                v = int(round(x / d.step / nice)) * nice
                v = min(max(v, d.lo), d.hi)
                if v in d.excluded:
                    near = [c for k in range(1, 60) for c in (v + k, v - k)
                            if d.lo <= c <= d.hi and c not in d.excluded]
                    if not near:
                        raise Infeasible("every value of %s left is excluded" % code)
                    v = near[0]
                d.lo = d.hi = v
            self.propagate()
        out = {}
        for code in self.plan.order:
            v = self.value(code)
            out[code] = v if code in self.opt else (round(v, 1) if g.ind[code]["value_type"]
                                                    == "score" else int(v))
        return out


class Generic:
    def __init__(self, data, seed):
        self.seed = seed
        self.units = read_rows(data, "units.csv")
        for u in self.units:
            u["lv"] = int(u["level"])
        # the programmes (programmes.csv: each in force over a range of days, its files in
        # its folder), or the data folder itself as the one programme
        rows = read_rows(data, "programmes.csv", required=False)
        if rows is None:
            rows = [{"code": "", "valid_from": "", "valid_to": "", "folder": "."}]
        self.progs = []
        for row in rows:
            folder = os.path.join(data, row["folder"] or os.path.join("programmes", row["code"]))
            self.progs.append(dict(row, **self.load_programme(folder)))
        self.reporters = read_rows(data, "reporters.csv", required=False)
        if self.reporters is None:         # the first behaviour: the level-2 units report
            self.reporters = [{"level": "2", "unit": "", "valid_from": "", "valid_to": ""}]
        self.hist = {}                     # (unit, indicator) -> {half index: value}
        self.use(self.progs[0])

    @staticmethod
    def load_programme(folder):
        inds = read_rows(folder, "indicators.csv")
        ind = {i["code"]: i for i in inds}
        for i in inds:
            i["lv"] = int(i["level"])
            i["halves"] = set(i["periods"].split())
        rules = []
        for r in read_rows(folder, "rules.csv"):
            try:
                expr = RuleParser(r["rule"], ind).rule()
            except RuleError as e:
                die("%s/rules.csv: rule %s: %s" % (folder, r["id"], e))
            rules.append({"id": r["id"], "error": r["severity"] == "error",
                          "lv": int(r["level"]), "halves": set(r["periods"].split()),
                          "expr": expr, "vars": rule_vars(expr), "text": r["rule"]})
        return {"inds": inds, "ind": ind, "rules": rules, "plans": {}}

    def use(self, prog):
        """Makes `prog` the programme the values are drawn for."""
        self.inds, self.ind, self.rules, self.plans = (prog["inds"], prog["ind"],
                                                       prog["rules"], prog["plans"])

    def programme_on(self, date):
        for p in self.progs:
            if self.covers(p, date):
                return p
        return None

    # the tree on a day
    @staticmethod
    def covers(row, date):
        return ((row["valid_from"] == "" or row["valid_from"] <= date)
                and (row["valid_to"] == "" or date <= row["valid_to"]))

    def units_on(self, date):
        return [u for u in self.units if self.covers(u, date)]

    def reporters_on(self, date):
        rows = [r for r in self.reporters if self.covers(r, date)]
        levels = {int(r["level"]) for r in rows if r["level"]}
        codes = {r["unit"] for r in rows if r["unit"]}
        return [u for u in self.units_on(date) if u["lv"] in levels or u["code"] in codes]

    def self_scope(self, unit, date):
        """True when the unit's reporters.csv row says scope "self" (its own work only)."""
        for r in self.reporters:
            if (self.covers(r, date) and r.get("scope") == "self" and
                    (r["unit"] == unit["code"] or (r["level"] and int(r["level"]) == unit["lv"]))):
                return True
        return False

    def subtree(self, unit, date):
        kids = {}
        for u in self.units_on(date):
            kids.setdefault(u["parent_code"], []).append(u)
        out, stack = [], [(unit, 0)]
        while stack:
            u, depth = stack.pop()
            if depth > 9:
                die("units.csv: a cycle under %s on %s" % (unit["code"], date))
            out.append(u)
            stack.extend((k, depth + 1) for k in reversed(kids.get(u["code"], [])))
        return out

    def report_period(self, t):
        """Half-year index t as the programme in force at its end reports it: (period,
        half key, index of the previous report), or None when nothing is reported for it
        (the S1 of a programme reported once a year: programmes.csv report_period)."""
        prog = self.programme_on(half_end(t))
        if prog is not None and prog.get("report_period") == "year":
            if t % 2 == 0:
                return None
            return str(t // 2), "Y", t - 2
        return half_name(t), "S%d" % (t % 2 + 1), t - 1

    def plan(self, level, half):
        """The indicators and rules of a level in a half-year (S1, S2) or a year (Y: all)."""
        key = (level, half)
        if key not in self.plans:
            inds = [i for i in self.inds if i["lv"] == level and (half == "Y" or half in i["halves"])]
            rules = [r for r in self.rules
                     if r["lv"] == level and (half == "Y" or half in r["halves"])]
            self.plans[key] = Plan(inds, rules)
        return self.plans[key]

    # stable traits of a unit and an indicator
    def trait(self, *key):
        return rng_for(self.seed, "generic", *key)

    def size(self, unit):
        return math.exp(self.trait(unit, "size").gauss(0, 0.35))

    def magnitude(self, ind):
        r = self.trait(ind["code"], "magnitude")
        if ind["value_type"] == "money":
            return math.exp(r.uniform(math.log(1e7), math.log(5e8)))
        return math.exp(r.uniform(math.log(5), math.log(800)))

    def latest(self, unit, code, t):
        h = self.hist.get((unit, code), {})
        earlier = [k for k in h if k < t]
        return h[max(earlier)] if earlier else None

    def previous(self, unit, code, t):
        rp = self.report_period(t)
        return self.hist.get((unit, code), {}).get(rp[2] if rp else t - 1)

    def draw_unit(self, unit, level, t):
        """The values of one unit for half-year index t, every rule holding."""
        half = self.report_period(t)[1]
        plan = self.plan(level, half)
        if not plan.inds:
            return {}
        prev = lambda code: self.previous(unit, code, t)   # noqa: E731
        why = {}
        for attempt in range(200):
            r = rng_for(self.seed, "generic", unit, t, attempt)
            try:
                vals = Domains(self, plan, prev).draw_all(unit, t, r, attempt)
            except Infeasible as e:
                why[str(e)] = why.get(str(e), 0) + 1
                continue
            failed = [rule for rule in plan.rules if eval_rule(rule, vals, prev) == FAIL]
            if not failed:
                return vals
            for rule in failed:
                key = "rule %s (%s) fails" % (rule["id"], rule["text"])
                why[key] = why.get(key, 0) + 1
        worst = max(why, key=why.get)
        texts = ["%s: %s" % (rule["id"], rule["text"]) for rule in plan.rules
                 if re.search(r"(?<![\w.-])%s(?![\w.-])" % re.escape(rule["id"]), worst)]
        die("cannot satisfy the rules for unit %s in %s after 200 attempts: %s (%d times)%s"
            % (unit, half_name(t), worst, why[worst],
               "; " + "; ".join(texts) if texts and "fails" not in worst else ""))

    def base_number(self, ind, unit, latest, share_of, stock, r, attempt):
        """A plausible number for `ind` before the bounds (None: the bounds decide)."""
        code, vt = ind["code"], ind["value_type"]
        wide = r.uniform(0.3, 3) if attempt >= 20 else 1      # later attempts: anything
        if vt == "flag":
            if latest is not None and stock and r.random() < 0.93:
                return latest
            return 1 if r.random() < self.trait(unit, code, "flag").uniform(0.6, 0.95) else 0
        if vt == "score":
            a, b = (float(v) for v in ind["options"].split("-"))
            if latest is not None and r.random() < 0.9:
                return latest + r.gauss(0.5, 2.5)
            return a + (b - a) * self.trait(unit, code, "score").uniform(0.55, 0.9) + \
                r.gauss(0, (b - a) * 0.04)
        if latest is not None and stock and attempt < 20:
            return latest * (1 + r.gauss(0.004, 0.012))
        if share_of is not None:
            share = self.trait(unit, code, "share").uniform(*((0.3, 0.9) if stock else (0.1, 0.6)))
            return share_of * min(1.0, share * r.uniform(0.95, 1.05) * wide)
        return self.magnitude(ind) * self.size(unit) * (1 if stock else r.uniform(0.75, 1.25)) * wide

    def draw_option(self, ind, allowed, latest, stock, r):
        if latest is not None and stock and latest in allowed and r.random() < 0.75:
            return latest
        tw = self.trait(ind["code"], "option-weights")
        weights = {o: tw.uniform(0.2, 1.0) for o in ind["options"].split()}
        weights[""] = 0.02
        return r.choices(allowed, weights=[weights[o] for o in allowed])[0]

    def value_text(self, ind, x):
        if ind["value_type"] == "option":
            return x
        if ind["value_type"] == "score":
            return fmt_score(x)
        return str(int(x))

    def report(self, reporter, t):
        """The rows of one report (subtree order, catalogue order within a unit), under
        the programme in force at the period's end."""
        date, (period, half, _) = half_end(t), self.report_period(t)
        prog = self.programme_on(date)
        if prog is None:
            die("no programme (programmes.csv) is in force on %s, the end of %s" % (date, period))
        self.use(prog)
        rows = []
        units = [reporter] if self.self_scope(reporter, date) else self.subtree(reporter, date)
        for u in units:
            vals = self.draw_unit(u["code"], u["lv"], t)
            plan = self.plan(u["lv"], half)
            for ind in plan.inds:
                self.hist.setdefault((u["code"], ind["code"]), {})[t] = vals[ind["code"]]
                rows.append([period, u["code"], ind["code"], self.value_text(ind, vals[ind["code"]])])
        return rows


def default_periods():
    today = datetime.date.today()
    current = 2 * today.year + (0 if today.month <= 6 else 1)
    return [current - 2, current - 1]


def generic_main(a):
    g = Generic(a.data, a.seed)
    periods = parse_periods(a.periods) if a.periods else default_periods()
    if a.baseline:
        # stocks continue from these values, as if reported in the half-year before the
        # first one generated (e.g. the 2020 figures of the old units a new unit took over)
        n = 0
        with open(a.baseline, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                if row.get("comparable", "yes") != "yes" or not row.get("before"):
                    continue
                ind = next((p["ind"].get(row["indicator"]) for p in g.progs
                            if row["indicator"] in p["ind"]), None)
                if ind is None or ind["value_type"] not in ("count", "money"):
                    continue
                g.hist.setdefault((row["orgunit"], row["indicator"]), {})[min(periods) - 1] = \
                    float(row["before"])
                n += 1
        print("gen-demo-data: %d baseline values from %s" % (n, a.baseline), file=sys.stderr)
    n_reports = n_values = 0
    names = []
    for t in periods:
        rp = g.report_period(t)
        if rp is None:
            continue               # a yearly programme: the year's report is made at its S2
        names.append(rp[0])
        reporters = g.reporters_on(half_end(t))
        if not reporters:
            print("gen-demo-data: note: no unit reports for %s (reporters.csv)" % rp[0],
                  file=sys.stderr)
        for rep in reporters:
            rows = g.report(rep, t)
            if not rows:
                continue           # nothing to report at these levels in this half-year
            d = os.path.join(a.outdir, rep["code"])
            os.makedirs(d, exist_ok=True)
            write_report(os.path.join(d, "%s-%s.csv" % (rep["code"], rp[0])), rows)
            n_reports += 1
            n_values += len(rows)
    print("%d reports, %d values in %s (%s)" % (n_reports, n_values, a.outdir,
                                               " ".join(names)),
          file=sys.stderr)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Write demo reports: the Bến Tre seed's 72, or "
                                 "valid reports for any tree and programme.")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--data", default=os.path.join(here, "..", "data"),
                    help="the catalogue folder: units.csv, reporters.csv, indicators.csv, "
                    "rules.csv (default: data/)")
    ap.add_argument("--periods", help="half-years: 2025S2,2026S1, 2025S1..2026S2, 2026 or "
                    "2021-2025 (default: the seed's 2017S1-2020S2 for the seed, else the two "
                    "half-years that ended last)")
    ap.add_argument("--baseline", help="CSV with orgunit,indicator,before[,comparable] "
                    "(kh-feed series --format csv): stocks of the generic path continue from "
                    "these values")
    ap.add_argument("--generic", action="store_true",
                    help="the generic path even for the seed data folder")
    a = ap.parse_args()
    if a.periods or a.generic or a.baseline or not is_seed(a.data):
        generic_main(a)
    else:
        seed_main(a)

if __name__ == "__main__":
    main()
