/*
 * kh_indicator.h — what an indicator of the catalogue is (its code, level, value type,
 * options or score range, how it adds up over time, the half-years it is reported in,
 * its names): the one type shared by the modules that read values and rules
 * (kh_value, kh_rules) and the catalogue that loads them (kh_catalog), so that none of
 * those headers needs another's.  Types only; indicators are made by kh_catalog_load and
 * owned by the catalogue.
 */
#ifndef KH_INDICATOR_H
#define KH_INDICATOR_H

#define KH_CODE_MAX 64          /* longest unit or indicator code accepted */
#define KH_MAX_OPTIONS 8        /* options of one indicator (the data's scales have 3 or 4) */

typedef enum { KH_VT_COUNT, KH_VT_MONEY, KH_VT_FLAG, KH_VT_SCORE, KH_VT_OPTION } kh_vtype_t;
typedef enum { KH_TA_SUM, KH_TA_LAST, KH_TA_MAX } kh_tagg_t;

typedef struct {
    char code[KH_CODE_MAX];
    int section;                       /* 1..99, the programme's area (sections.csv) */
    int level;                         /* the level of the units it is reported for */
    kh_vtype_t vtype;
    int n_options;                     /* KH_VT_OPTION: option codes */
    char options[KH_MAX_OPTIONS][16];
    double score_min, score_max;       /* KH_VT_SCORE */
    kh_tagg_t tagg;
    int in_s1, in_s2;                  /* reported in S1 / S2 */
    char *name_vi, *name_en, *unit;    /* UTF-8, owned by the catalogue */
} kh_indicator_t;

#endif
