#!/usr/bin/env python3
"""gen-demo-data.py — realistic, deterministic demo reports for the Bến Tre pipeline.

Usage:  scripts/gen-demo-data.py OUTDIR [--seed N] [--data DIR]

Writes one half-yearly report per district (829, 831-838) and half-year
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

Standard library only.  Prints one summary line to stderr on success.
"""
import argparse
import csv
import os
import random
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


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Write the Bến Tre demo reports (72 files).")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--data", default=os.path.join(here, "..", "data"),
                    help="directory of units.csv and indicators.csv (default: data/)")
    a = ap.parse_args()

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


if __name__ == "__main__":
    main()
