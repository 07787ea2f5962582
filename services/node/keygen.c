/*
 * keygen.c — `kh-node keygen`; see keygen.h.
 *
 * Nothing secret is printed or logged: the message names the files, the key's id (to
 * compare over the telephone with what `kh-admin keys register` prints at the province)
 * and its fingerprint.
 */
#include "keygen.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kh_catalog.h"
#include "kh_keys.h"
#include "kh_service.h"
#include "kh_util.h"

static const char keygen_usage[] =
    "usage: kh-node keygen --district CODE [--output DIR] [--force]\n"
    "  makes this district's key pair on this host: the secret key where the node reads\n"
    "  it ([node] key; with --output, in DIR), mode 0600, and the public key FILE.pub\n"
    "  beside it, to send to the province's administrator, who runs\n"
    "  `kh-admin keys register FILE.pub`.  An existing key is never replaced without\n"
    "  --force.  Options: --config FILE, --log-level LEVEL.\n";

/* Splits path into its folder (dir, "." when none) and its last name.  0, or -1 when
 * the folder does not fit in cap. */
static int split_path(const char *path, char *dir, size_t cap, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!slash)
        return kh_strlcpy(dir, ".", cap);
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n + 1 > cap)
        return -1;
    memcpy(dir, path, n);
    dir[n] = '\0';
    return 0;
}

/* Run as root: the files belong to the owner of the keys folder (the node's user), or the
 * node could not read its own key.  0, or -1 with errno. */
static int give_to_folder_owner(const char *dir, const char *key_path, const char *pub_path,
                                int *given)
{
    struct stat st;
    *given = 0;
    if (geteuid() != 0 || stat(dir, &st) < 0 || st.st_uid == 0)
        return 0;
    if (chown(key_path, st.st_uid, st.st_gid) < 0 || chown(pub_path, st.st_uid, st.st_gid) < 0)
        return -1;
    *given = 1;
    return 0;
}

/* The code is a unit that reports on some day: otherwise the province would refuse the
 * key anyway (kh-admin keys register); say so here, with what to use instead.  1 yes,
 * 0 no (message printed). */
static int reports_ever(const kh_catalog_t *cat, const char *district)
{
    if (kh_catalog_reports_ever(cat, district) == 1)
        return 1;
    char vi[1024], en[1024];
    if (kh_catalog_explain_gone(cat, district, kh_today(), vi, sizeof vi, en, sizeof en))
        fprintf(stderr, "kh-node: %s / %s\n", vi, en);
    else
        fprintf(stderr, "kh-node: mã %s không phải là đơn vị báo cáo trong danh mục "
                "(reporters.csv): hãy kiểm tra lại mã; không tạo khóa / %s is not a reporting "
                "unit of the catalogue (reporters.csv): check the code; no key made\n",
                district, district);
    return 0;
}

/* The key's id: CODE-YYYYMMDD-FP (keygen.h).  0, or -1 when it does not fit. */
static int key_id(const char *district, const uint8_t ed_pk[32], char *out, size_t cap)
{
    char fp[17];
    kh_key_fingerprint(ed_pk, fp);
    time_t now = (time_t)(kh_real_ms() / 1000);
    struct tm tm;
    if (!localtime_r(&now, &tm))
        return -1;
    int n = snprintf(out, cap, "%s-%04d%02d%02d-%.8s", district, tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, fp);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* What to do next, in Vietnamese and English. */
static void print_next(const kh_key_t *k, const char *key_path, const char *pub_path,
                       const char *conf_key, const char *server_key, const char *config_path,
                       int replaced)
{
    char fp[17];
    kh_key_fingerprint(k->ed_pk, fp);
    const char *base = strrchr(pub_path, '/');
    base = base ? base + 1 : pub_path;
    printf("Đã tạo khóa của đơn vị %s / key pair made for unit %s:\n"
           "  khóa bí mật / secret key:    %s (0600: giữ trên máy này, không gửi đi / keep it "
           "on this host, never send it)\n"
           "  khóa công khai / public key: %s\n"
           "  mã khóa / key id: %s; dấu vân tay / fingerprint: %s\n\n",
           k->unit, k->unit, key_path, pub_path, k->id, fp);
    printf("Việc tiếp theo:\n"
           "  1. Gửi tệp %s cho quản trị viên của tỉnh; họ chạy\n"
           "     `kh-admin keys %s %s`, đọc lại mã khóa %s với anh/chị,\n"
           "     rồi gửi lại tệp server.pub của tỉnh.\n"
           "  2. Đặt server.pub vào %s ([node] server_key).\n"
           "  3. Trong %s: [node] collector = địa chỉ tỉnh cho (tcp://MÁY_TỈNH:CỔNG)%s%s.\n"
           "  4. kh-node check --district %s; systemctl enable --now kh-node@%s\n",
           pub_path, replaced ? "rotate --old MÃ_KHÓA_CŨ --new" : "register", base, k->id,
           server_key, config_path, strcmp(conf_key, key_path) ? ", [node] key = " : "",
           strcmp(conf_key, key_path) ? key_path : "", k->unit, k->unit);
    printf("Next:\n"
           "  1. Send %s to the province's administrator, who runs\n"
           "     `kh-admin keys %s %s`, reads the key id %s back to you,\n"
           "     and sends back the province's server.pub.\n"
           "  2. Put server.pub at %s ([node] server_key).\n"
           "  3. In %s: [node] collector = the address the province gives "
           "(tcp://PROVINCE_HOST:PORT)%s%s.\n"
           "  4. kh-node check --district %s; systemctl enable --now kh-node@%s\n",
           pub_path, replaced ? "rotate --old OLD_KEY_ID --new" : "register", base, k->id,
           server_key, config_path, strcmp(conf_key, key_path) ? ", [node] key = " : "",
           strcmp(conf_key, key_path) ? key_path : "", k->unit, k->unit);
}

int node_keygen_main(int argc, char **argv)
{
    const char *district = NULL, *outdir = NULL, *cfg = NULL, *level = "warn";
    int force = 0;
    static const struct option opts[] = {{"district", required_argument, 0, 'd'},
                                         {"output", required_argument, 0, 'o'},
                                         {"force", no_argument, 0, 'f'},
                                         {"config", required_argument, 0, 'c'},
                                         {"log-level", required_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "d:o:fc:l:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': district = optarg; break;
        case 'o': outdir = optarg; break;
        case 'f': force = 1; break;
        case 'c': cfg = optarg; break;
        case 'l': level = optarg; break;
        case 'h': fputs(keygen_usage, stdout); return 0;
        default: fprintf(stderr, "kh-node: bad option; see kh-node keygen --help\n"); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kh-node: unexpected argument '%s'; see kh-node keygen --help\n",
                argv[optind]);
        return 2;
    }
    if (!district || !*district || strlen(district) >= KH_CODE_MAX) {
        fprintf(stderr, "kh-node: cần --district MÃ (mã đơn vị báo cáo trong units.csv) / "
                        "--district CODE is required (the reporting unit's code in units.csv)\n");
        return 2;
    }
    kh_service_t s;
    memset(&s, 0, sizeof s);
    if (kh_service_start(&s, "node", "node-cli", cfg, level, district) < 0)
        return 1;
    int rc = 1;
    kh_key_t k;
    memset(&k, 0, sizeof k);
    kh_catalog_t *cat = kh_service_catalog(&s);
    char conf_key[PATH_MAX], server_key[PATH_MAX], key_path[PATH_MAX], pub_path[PATH_MAX];
    char dir[PATH_MAX];
    const char *base;
    if (!cat || !reports_ever(cat, district) ||
        kh_service_str(&s, "node", "key", conf_key, sizeof conf_key) < 0 ||
        kh_service_str(&s, "node", "server_key", server_key, sizeof server_key) < 0)
        goto out;
    if (split_path(conf_key, dir, sizeof dir, &base) < 0 || !*base) {
        fprintf(stderr, "kh-node: [node] key = %s in %s is not a file path: set it to "
                "e.g. %%RUN%%/keys/node-%%DISTRICT%%.key\n", conf_key, s.config_path);
        goto out;
    }
    if (outdir && kh_strlcpy(dir, outdir, sizeof dir) < 0)
        goto out;
    if (snprintf(key_path, sizeof key_path, "%s/%s", dir, base) >= (int)sizeof key_path ||
        kh_key_pub_path(key_path, pub_path, sizeof pub_path) < 0) {
        fprintf(stderr, "kh-node: [node] key = %s in %s must name a file ending in .key\n",
                conf_key, s.config_path);
        goto out;
    }
    struct stat st;
    int have_key = lstat(key_path, &st) == 0, have_pub = lstat(pub_path, &st) == 0;
    if ((have_key || have_pub) && !force) {
        fprintf(stderr, "kh-node: đã có khóa %s: đó là danh tính của đơn vị đã đăng ký với "
                "tỉnh, không ghi đè; chỉ dùng --force khi thật sự cần khóa mới (rồi tỉnh chạy "
                "kh-admin keys rotate) / a key exists already at %s: it is the unit's identity "
                "registered at the province and is not overwritten; use --force only if a new "
                "key is really needed (then the province runs kh-admin keys rotate)\n",
                have_key ? key_path : pub_path, have_key ? key_path : pub_path);
        goto out;
    }
    if (kh_mkdirs(dir, 0700) < 0) {
        fprintf(stderr, "kh-node: không tạo được thư mục %s / cannot make the folder %s: %s\n",
                dir, dir, strerror(errno));
        goto out;
    }
    char id[KH_KEY_ID_MAX];
    if (kh_key_generate(district, "district", district, &k) < 0 ||
        key_id(district, k.ed_pk, id, sizeof id) < 0 || kh_strlcpy(k.id, id, sizeof k.id) < 0) {
        fprintf(stderr, "kh-node: không tạo được khóa cho mã '%s' (chỉ chữ, số, - _ .) / "
                "cannot make a key for code '%s' (letters, digits, - _ . only)\n", district,
                district);
        goto out;
    }
    int given = 0;
    if (kh_key_write_as(&k, key_path, pub_path, force) < 0 ||
        give_to_folder_owner(dir, key_path, pub_path, &given) < 0) {
        fprintf(stderr, "kh-node: không ghi được %s và %s / cannot write %s and %s: %s\n",
                key_path, pub_path, key_path, pub_path, strerror(errno));
        goto out;
    }
    KH_INFO("key.generated", "the district's key pair was made on this host", "district",
            district, "key_id", k.id, "pub", pub_path);
    print_next(&k, key_path, pub_path, conf_key, server_key, s.config_path,
               have_key || have_pub);
    if (given)
        printf("(%s, %s: chủ sở hữu là chủ thư mục %s / owned by the owner of %s)\n", key_path,
               pub_path, dir, dir);
    rc = 0;
out:
    sodium_memzero(&k, sizeof k);
    kh_catalog_destroy(&cat);
    kh_service_fini(&s);
    return rc;
}
