/*
 * kh_catalog.h — the report model: organisation units with validity dates, the levels
 * and what they are called, who reports, reorganisations, the programmes with their
 * indicators, validation rules, rate targets and reporting calendar, all loaded from the
 * data files (data/, CSV) that a deployment can replace without recompiling; and the
 * lookups the services and tools make in it.
 *
 * A report is checked against it by kh_validate (kh_validate.h), in kh-node (before
 * sending, offline) and in the validator (authoritative), so a district officer sees
 * exactly what the province will say.  Its pieces have modules of their own: an indicator's
 * type (kh_indicator.h), periods (kh_period.h), values (kh_value.h), rules
 * (kh_rules.h), findings (kh_findings.h).
 *
 * kh_catalog_from_config loads the catalogue a configuration names ([general] data_dir,
 * [calendar]), for the services and the tools alike.
 *
 * Loading (kh_catalog_load.c) checks the files: a rule naming an unknown indicator, a
 * unit whose parent is unknown, a cycle in the tree, two rows of one code with
 * overlapping validity, a target naming an unknown indicator, a reporters.csv row naming
 * an unknown level or unit or overlapping another row: each is a load error with file
 * and line.
 *
 * Dates are integers yyyymmdd (20200201).  Periods are "YYYYS1" / "YYYYS2"
 * (half-years), "YYYY" (a year) and "YYYY-YYYY" (a programme) for roll-ups.
 */
#ifndef KH_CATALOG_H
#define KH_CATALOG_H

#include <stddef.h>
#include <stdint.h>
#include "kh_indicator.h"
#include "kh_period.h"

/* Levels are numbers: 1 is the root of the tree (the province), each child one deeper.
 * What a level is called (tỉnh / huyện / xã, or tỉnh / xã) is data: levels.csv. */
#define KH_MAX_LEVELS 9

typedef struct {
    char code[KH_CODE_MAX];
    char *name;                        /* UTF-8 official name */
    char type[16];                     /* free word from the file (tinh, huyen, xa, phuong …) */
    int level;                         /* 1 = root; may differ between rows of one code */
    char parent[KH_CODE_MAX];          /* "" for the province */
    int32_t valid_from, valid_to;      /* yyyymmdd inclusive; 0 = open */
    char merged_into[KH_CODE_MAX];     /* "" unless the unit ceased to exist */
} kh_unit_t;

typedef struct {
    char code[KH_CODE_MAX];            /* TL.GDHT */
    char *name_vi, *name_en;
    char numerator[KH_CODE_MAX], denominator[KH_CODE_MAX];
    int milestone;                     /* the year the target is for (2020, 2025); 0 none */
    double target;                     /* < 0: no target */
    double target_difficult;           /* < 0: none */
    char *source;
} kh_target_t;

typedef struct kh_catalog kh_catalog_t;

/* Loads units.csv, levels.csv, who reports (reporters.csv), indicators.csv,
 * rules.csv and targets.csv from `data_dir`.  Returns NULL and writes a one-line reason
 * ("rules.csv:7: unknown indicator X.Y") into err on failure.  s1_due/s2_due are the
 * calendar's due dates as mmdd (620, 1205). */
kh_catalog_t *kh_catalog_load(const char *data_dir, int s1_due_mmdd, int s2_due_mmdd,
                              char *err, size_t errlen);
void kh_catalog_destroy(kh_catalog_t **self_p);
/* The catalogue a configuration names: [general] data_dir (default "data") with the
 * due dates [calendar] s1_due / s2_due (default 620 / 1205).  Returns NULL and a
 * one-line reason in err (a bad setting, or kh_catalog_load's reason with the folder). */
struct kh_config;
kh_catalog_t *kh_catalog_from_config(const struct kh_config *cfg, char *err, size_t errlen);

/* ---- reorganisations (reorg.csv, optional) --------------------------------------------
 * old_province,old_code,old_name,new_code,new_name,whole,date: each unit that ceased on
 * a reorganisation → the new unit(s) that took it over from `date`, whole (one row,
 * whole = yes) or in part (one row per part, whole = no).  The new units must be in
 * units.csv on that day; the old ones need not be (another province's communes).  Used
 * to name the unit to report under, and for series across the reorganisation. */
typedef struct {
    char old_province[KH_CODE_MAX], old_code[KH_CODE_MAX], new_code[KH_CODE_MAX];
    char *old_name;
    int whole;
    int32_t date;
    int line;                /* its line in reorg.csv */
} kh_reorg_t;
/* The rows of the latest reorganisation of `old_code` on or before `date`.  Fills out[]
 * up to cap, returns the count (0: none). */
size_t kh_catalog_reorg_of(const kh_catalog_t *c, const char *old_code, int32_t date,
                           const kh_reorg_t **out, size_t cap);
/* When `code` is no unit on `date` because it was reorganised (reorg.csv) or merged
 * (units.csv merged_into): writes what became of it and the code(s) to report under into
 * vi / en and returns 1; else 0. */
int kh_catalog_explain_gone(const kh_catalog_t *c, const char *code, int32_t date, char *vi,
                            size_t vcap, char *en, size_t ecap);
/* Every row of reorg.csv, in file order. */
size_t kh_catalog_reorg_count(const kh_catalog_t *c);
const kh_reorg_t *kh_catalog_reorg_at(const kh_catalog_t *c, size_t i);
/* The rows of the reorganisation of `date` into `new_code` (the old units it took over). */
size_t kh_catalog_reorg_into(const kh_catalog_t *c, const char *new_code, int32_t date,
                             const kh_reorg_t **out, size_t cap);

/* ---- programmes ------------------------------------------------------------------------
 * programmes.csv (code,name_vi,name_en,valid_from,valid_to,folder,source[,s1_due,s2_due])
 * lists the programmes, each in force over a range of days, with its own calendar (the
 * half-years' due dates as mmdd; empty: [calendar] of the configuration), holding its
 * own files in `folder` (relative to the data folder; empty: programmes/<code>/):
 * indicators.csv, rules.csv, targets.csv and (optional) sections.csv and options.csv.
 * A data folder without programmes.csv holds one programme itself, files at its top, on
 * every day.
 * The catalogue kh_catalog_load returns owns the units, levels and reporters; each
 * programme is a view of it (a const kh_catalog_t * that every function here accepts,
 * owned by the catalogue: never destroyed on its own).  A report is checked against the
 * programme in force on the last day of its period. */
/* The programme in force on `date`, or NULL when none is.  Without programmes.csv: the
 * catalogue itself. */
const kh_catalog_t *kh_catalog_for(const kh_catalog_t *c, int32_t date);
/* The programme in force on the last day of `period` (half-year, year or "YYYY-YYYY"), or
 * NULL (no programme then, or a malformed period). */
const kh_catalog_t *kh_catalog_for_period(const kh_catalog_t *c, const char *period);
/* The programmes in date order of programmes.csv rows (1 without the file). */
size_t kh_catalog_programme_count(const kh_catalog_t *c);
const kh_catalog_t *kh_catalog_programme_at(const kh_catalog_t *c, size_t i);
/* A programme's code ("2021-2030"), name and days; "" / 0 without programmes.csv. */
const char *kh_catalog_programme_code(const kh_catalog_t *c);
const char *kh_catalog_programme_name(const kh_catalog_t *c, int en);
void kh_catalog_programme_range(const kh_catalog_t *c, int32_t *from, int32_t *to);
/* The label of option number `option` of indicator `ind` (of programme c), from the
 * programme's options.csv (indicator,option,label_vi,label_en: "TOT" → "Tốt"; TT 25's
 * "MUC2" → "Mức độ 2 (Tốt)"), or NULL when none is given. */
const char *kh_catalog_option_label(const kh_catalog_t *c, const kh_indicator_t *ind,
                                    int option, int en);
/* The title of a section of the programme's indicators (sections.csv), or NULL. */
const char *kh_catalog_section_title(const kh_catalog_t *c, int section, int en);

/* Lookups (of the programme c is, for indicators and targets).  Return NULL when absent. */
const kh_indicator_t *kh_catalog_indicator(const kh_catalog_t *c, const char *code);
size_t kh_catalog_indicator_count(const kh_catalog_t *c);
/* catalogue order */
const kh_indicator_t *kh_catalog_indicator_at(const kh_catalog_t *c, size_t i);
size_t kh_catalog_target_count(const kh_catalog_t *c);
const kh_target_t *kh_catalog_target_at(const kh_catalog_t *c, size_t i);

/* The unit `code` in force on `date` (yyyymmdd), or NULL. */
const kh_unit_t *kh_catalog_unit_on(const kh_catalog_t *c, const char *code, int32_t date);
/* Any row of `code` (latest valid_from first), or NULL: for messages about merged units. */
const kh_unit_t *kh_catalog_unit_any(const kh_catalog_t *c, const char *code);
/* Units of `level` (0: any level) whose parent is `parent` ("" for any) and in force on
 * `date`, in file order.  Fills out[] up to cap, returns the total count. */
size_t kh_catalog_units_on(const kh_catalog_t *c, int level, const char *parent,
                           int32_t date, const kh_unit_t **out, size_t cap);
/* The unit `code` and all its descendants in force on `date`, depth first, each unit
 * before its children, children in file order.  Fills out[] up to cap, returns the
 * total count (0 when `code` is not in force that day). */
size_t kh_catalog_subtree_on(const kh_catalog_t *c, const char *code, int32_t date,
                             const kh_unit_t **out, size_t cap);
/* The parent in force on `date` of unit u (a row in force that day), or NULL. */
const kh_unit_t *kh_catalog_parent_on(const kh_catalog_t *c, const kh_unit_t *u, int32_t date);
/* The deepest level of any unit row. */
int kh_catalog_depth(const kh_catalog_t *c);

/* ---- level names (levels.csv) ---------------------------------------------------------
 * level,name_vi,name_en,valid_from,valid_to: what the units of a level are called on a
 * day ("Huyện/Thành phố" / "District/City" until 2025-06-30; "Xã/Phường" / "Commune/Ward"
 * for level 2 from 2025-07-01).  Every level a unit has must be named on every day a unit
 * of that level exists (a load error otherwise). */
/* The name of `level` on `date`, Vietnamese (en = 0) or English (en = 1); when no row
 * covers the day, the latest row of that level; NULL for a level nobody named. */
const char *kh_catalog_level_name(const kh_catalog_t *c, int level, int32_t date, int en);
/* The same name for running text: lower case in Vietnamese ("huyện/thành phố"), as
 * written in English ("District/City"); "cấp N" / "level N" when the level is unnamed.
 * Always writes a terminated string into out (cap > 0). */
void kh_catalog_level_word(const kh_catalog_t *c, int level, int32_t date, int en, char *out,
                           size_t cap);

/* ---- who reports ----------------------------------------------------------------------
 * reporters.csv says which units send reports, per range of days (issue 12, item 2):
 * each row names a level of the unit tree (every unit of that level in force on the day
 * reports) or one unit code, with valid_from / valid_to like the units file.  The day
 * that counts is the end of the period a report covers, not the day it arrives: a late
 * report for 2019S2 sent in 2027 is judged by 31 December 2019.  A reporting unit
 * reports for itself and every unit below it in force at the period's end
 * (kh_catalog_subtree_on), unless the row's optional `scope` column says "self": then
 * for itself alone.  Loading refuses a reporting unit below another one whose scope is
 * its subtree (its values would count twice). */

/* The units a report of `code` covers on `date` (the period's end): the unit and every
 * unit below it (kh_catalog_subtree_on), or the unit alone when its reporters.csv row has
 * scope "self" (a province reporting its own departments' work while its communes report
 * for themselves).  Fills out[] up to cap, returns the total count (0: not in force). */
size_t kh_catalog_report_units(const kh_catalog_t *c, const char *code, int32_t date,
                               const kh_unit_t **out, size_t cap);
/* 1 when `code` reports its own work only on `date` (scope self), else 0. */
int kh_catalog_reports_self(const kh_catalog_t *c, const char *code, int32_t date);
/* 1 when `unit` is a reporting unit in force on `yyyymmdd` (the unit exists that day and
 * a row of reporters.csv covering that day names it or its level), 0 when it is not
 * (unknown code, not in force, or not a reporter that day), -1 when c or unit is NULL. */
int kh_catalog_reports(const kh_catalog_t *c, const char *unit, int32_t yyyymmdd);
/* 1 when `unit` reports on at least one day, past or future (a key may be registered for
 * it: it may send late reports for past periods, or reports from a coming one), 0 when it
 * never does, -1 when c or unit is NULL. */
int kh_catalog_reports_ever(const kh_catalog_t *c, const char *unit);
/* Every unit code that reports on some day (kh_catalog_reports_ever), once each (its first
 * row), in unit-file order.  Fills out[] up to cap, returns the total count. */
size_t kh_catalog_reporters_ever(const kh_catalog_t *c, const kh_unit_t **out, size_t cap);
/* The reporting units in force on `yyyymmdd`, in unit-file order.  Fills out[] up to cap,
 * returns the total count. */
size_t kh_catalog_reporters_on(const kh_catalog_t *c, int32_t yyyymmdd, const kh_unit_t **out,
                               size_t cap);

/* ---- report periods (the periods themselves: kh_period.h) -----------------------------
 * What a programme reports for and when it is due: the calendar is the catalogue's, so
 * these stay here (kh_period_due too, named for what it gives). */
/* How often the programme `c` (a view: kh_catalog_for) is reported: KH_P_HALF (a report
 * per half-year, "2026S1") or KH_P_YEAR (one per year, "2026": report_period of
 * programmes.csv). */
kh_pkind_t kh_catalog_report_kind(const kh_catalog_t *c);
/* 1 when p is a period a report is made for: a half-year or a year, as the programme in
 * force at its end reports (a half-year when no programme is: NO_PROGRAMME then says
 * why); 0 otherwise. */
int kh_catalog_is_report_period(const kh_catalog_t *c, const kh_period_t *p);
/* The due date (yyyymmdd) of report period p by the calendar of the programme in force at
 * its end (a yearly programme's report is due on its s2_due); 0 when p is no report
 * period. */
int32_t kh_period_due(const kh_catalog_t *c, const kh_period_t *p);
/* Whether `period` names a report period (kh_catalog_is_report_period): 0 and *out set
 * (out may be NULL), or -1 with what to send instead in vi and en ("…chương trình … báo
 * cáo mỗi năm một lần, kỳ báo cáo là năm, ví dụ 2026" / "…expected a half-year such as
 * 2018S1").  The validator's PERIOD_MALFORMED and the node's template say the same. */
int kh_catalog_check_period(const kh_catalog_t *c, const char *period, kh_period_t *out,
                            char *vi, size_t vcap, char *en, size_t ecap);
/* The report period that ends with half-year `half`: the half-year itself, or its year
 * when the programme in force at its end reports yearly and `half` is its S2.  Returns 1
 * and sets *out, or 0 when none ends then (the S1 of a yearly programme). */
int kh_catalog_period_closing(const kh_catalog_t *c, const kh_period_t *half,
                              kh_period_t *out);
/* The report periods p covers, in time order, as strings into out (cap entries of 8
 * bytes): its half-years, each replaced by its year when the programme in force at the
 * half-year's end reports yearly (the year's report counted once, at its S2).  A
 * half-year of a yearly programme covers none (the year is not within it).  Returns the
 * count. */
size_t kh_catalog_report_periods(const kh_catalog_t *c, const kh_period_t *p,
                                 char (*out)[8], size_t cap);

#endif
