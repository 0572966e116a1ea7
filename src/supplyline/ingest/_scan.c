/* Line scanner of the NMEA decoder (private helper of supplyline.ingest.nmea).
 *
 * Why C: every physical line needs a dozen small steps (trim, find the delimiter, tag block, its checksum
 * and fields, sentence checksum, the VDM header, $PGHP date and time, receiver suffix). As whole-array
 * NumPy steps they made about 25 passes over per-line arrays; one pass over the bytes here costs 40-60 ns a
 * line (bench/nmea_decode.py), with the GIL released so decoder threads run in parallel. What needs no per-line
 * work (context lines, multipart reassembly, the six-bit payload fields) stays vectorised in nmea.py.
 * Every read stays inside buf: at most ~20 bytes past a line's end, or a few bytes past `big`.
 *
 * scan_into(buf, n, big, out, numbers): buf holds the n input bytes followed by at least 256 zero bytes
 * (reads past a line's end land there); big is the "not found" position (inside the padding); out is a
 * writable C-contiguous int64 buffer of N_FIELDS x lines, one row per field F_* below, one column per
 * *active* line (not blank, not a '#' comment): blank lines cost nothing here, so a flood of them needs no
 * memory; numbers (int64, one per active line) receives each active line's 0-based physical line index.
 * Returns the number of active lines scanned (out may have more columns: an upper bound is enough).
 * count_lines(buf, n) gives (physical lines, active lines) to size them exactly. Lines end at LF (a last line
 * without LF counts, an empty tail does not). A line longer than MAX_LINE bytes is rejected (D_LONG)
 * unscanned, a line holding a NUL byte too (D_NUL): one bad line is quarantined, not the input.
 * A line's F_QDET is the detail code of its rejection (-1: none, see nmea._DETAILS); each rule is written
 * once, in scan_line(), and documented in nmea.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum {
    F_ST,       /* first byte of the line, leading blanks skipped */
    F_EN,       /* end of the line (exclusive), trailing blanks and CR skipped */
    F_FLAGS,    /* bit set of the FLAG_* below */
    F_QDET,     /* detail code of the line's rejection, -1 if none */
    F_D0,       /* first '\', '!' or '$' (start of the tag block or sentence), else F_ST */
    F_S0,       /* start of the sentence ('!' or '$'), after an inline tag block */
    F_STAR,     /* the sentence's '*' (big if none) */
    F_FC,       /* VDM: fragment count */
    F_FN,       /* VDM: fragment number */
    F_SEQ,      /* VDM: sequential message id (-1 if empty) */
    F_CHAN,     /* VDM: channel byte (0 if empty) */
    F_PSTART,   /* VDM: payload start */
    F_PLEN,     /* VDM: payload length */
    F_FILL,     /* VDM: fill bits */
    F_PGHP_US,  /* $PGHP: time of the next sentence, us since 1970 (NOTIME if none) */
    F_SRC_A,    /* $PGHP: source text slice (site MMSI, else country MID), -1 if none */
    F_SRC_B,
    F_TAG_C,    /* tag block c: time in us (NOTIME if none) */
    F_TAG_SA,   /* tag block s: source slice, -1 if none */
    F_TAG_SB,
    F_TAG_GA,   /* tag block g: group slice, -1 if none */
    F_TAG_GB,
    F_SUF_T,    /* receiver suffix: the first 10-digit Unix time (us; NOTIME if none) */
    F_SUF_SA,   /* receiver suffix: the first station id slice, -1 if none */
    F_SUF_SB,
    N_FIELDS
};

enum {
    FLAG_ACTIVE = 1,   /* not blank, not a '#' comment */
    FLAG_TAG_ONLY = 2, /* a tag block alone on its line (context for the next sentence) */
    FLAG_TAG_GOOD = 4, /* a well-formed tag block with a correct checksum */
    FLAG_VDM = 8,      /* a well-formed !xxVDM / !xxVDO sentence (checksum not yet considered) */
    FLAG_PGHP = 16     /* a well-formed $PGHP sentence (checksum not yet considered) */
};

/* quarantine detail codes: indices of nmea._DETAILS (100 + t: unsupported message type t) */
enum {
    D_NODELIM = 0, D_TAGNOCHK = 2, D_TAGCHK, D_NOCHK, D_CHK, D_FIELDS, D_FRAG, D_FILL, D_EMPTY, D_NONAIS,
    D_PGHP, D_ORPHAN, D_INCOMPLETE, D_CHARS, D_SHORT, D_PARTNO, D_TAGJUNK, D_LONG, D_NUL
};

#define MAX_LINE 4096 /* bytes of one NMEA line, blanks included (a sentence is at most 82, tag blocks add some) */

#define NOTIME INT64_MIN
#define PAD 256

typedef struct {
    const uint8_t *buf;
    int64_t *out;
    Py_ssize_t nl; /* row stride of out */
    int64_t big;
    int64_t en; /* end of the line being scanned */
    int64_t *numbers; /* physical line index of each active line */
} Scan;

#define OUT(s, f, i) ((s)->out[(Py_ssize_t)(f) * (s)->nl + (i)])

static int is_ws(uint8_t c) { return c == 9 || c == 10 || c == 11 || c == 12 || c == 13 || c == 32; } /* not NUL: a NUL is a bad byte */
static int is_delim(uint8_t c) { return c == '\\' || c == '!' || c == '$'; }
static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static int is_station(uint8_t c) { return is_digit(c) || ((c | 32) >= 'a' && (c | 32) <= 'z') || c == '_' || c == '-'; }

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* two hex digits at `at` as an int, -1 when not hex */
static int64_t hex2(const uint8_t *b, int64_t at) {
    int hi = hexval(b[at]), lo = hexval(b[at + 1]);
    return hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;
}

static int64_t xor_bytes(const uint8_t *b, int64_t a, int64_t e) {
    uint8_t x = 0;
    for (int64_t i = a; i < e; i++) x ^= b[i];
    return x;
}

/* first position of `c` in b[a:e], `missing` if none */
static int64_t find(const uint8_t *b, uint8_t c, int64_t a, int64_t e, int64_t missing) {
    if (e <= a) return missing;
    const uint8_t *p = memchr(b + a, c, (size_t)(e - a));
    return p ? (int64_t)(p - b) : missing;
}

/* the two bytes before `end` as a number: "dd" -> 0..99, ",d" -> 0..9, else -1 */
static int64_t pair(const uint8_t *b, int64_t end) {
    int lo = b[end - 1] - '0', hi = b[end - 2];
    if (lo < 0 || lo > 9) return -1;
    if (hi == ',') return lo;
    hi -= '0';
    return hi >= 0 && hi <= 9 ? hi * 10 + lo : -1;
}

/* unsigned decimal in b[a:e] (1..maxw digits, nothing else), -1 if not one */
static int64_t uint_field(const uint8_t *b, int64_t a, int64_t e, int64_t maxw) {
    if (e - a < 1 || e - a > maxw) return -1;
    int64_t v = 0;
    for (int64_t i = a; i < e; i++) {
        int d = b[i] - '0';
        if (d < 0 || d > 9) return -1;
        v = v * 10 + d;
    }
    return v;
}

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t month_days(int64_t y, int64_t m) {
    if (m == 2) return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : 28;
    return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
}

/* a time field b[comma + 1 : end]: 1-2 digits (ms: 1-3), its value, else -1 */
static int64_t clock_field(const uint8_t *b, int64_t comma, int64_t end, int ms) {
    int64_t w = end - comma - 1, low = pair(b, end);
    if (low < 0) return -1;
    if (ms && w == 3) {
        int hundreds = b[end - 3] - '0';
        return hundreds >= 0 && hundreds <= 9 ? low + 100 * hundreds : -1;
    }
    return w >= 1 && w <= 2 ? low : -1;
}

/* $PGHP,1,yyyy,mm,dd,HH,MM,SS,ms,country,region,site,...: time and source of line i. Year exactly 4
 * digits, month, day, hour, minute, second 1-2 digits, milliseconds 1-3; the date must exist, hour < 24,
 * minute < 60, second < 61. The source is the site MMSI, else the country MID. */
static void scan_pghp(Scan *s, Py_ssize_t i, int64_t s0, int64_t star) {
    const uint8_t *b = s->buf;
    int64_t f[12]; /* f[j]: the comma ending field j (field 0 = "$PGHP"), or the '*' if there are fewer */
    int k = 0;
    for (int64_t j = s0; j < star && k < 12; j++)
        if (b[j] == ',') f[k++] = j;
    for (; k < 12; k++) f[k] = star;
    int64_t fy = f[2], fm = f[3], fd = f[4];
    int ok = fy - f[1] - 1 == 4 && pair(b, fy - 2) >= 0 && pair(b, fy) >= 0 && b[fy - 4] != ',';
    int64_t y = pair(b, fy - 2) * 100 + pair(b, fy), mo = pair(b, fm), d = pair(b, fd);
    ok = ok && fm - fy - 1 >= 1 && fm - fy - 1 <= 2 && fd - fm - 1 >= 1 && fd - fm - 1 <= 2;
    ok = ok && mo >= 1 && mo <= 12 && d >= 1 && d <= month_days(y, mo);
    int64_t h = clock_field(b, f[4], f[5], 0), mi = clock_field(b, f[5], f[6], 0);
    int64_t sec = clock_field(b, f[6], f[7], 0), ms = clock_field(b, f[7], f[8], 1);
    if (ok && h >= 0 && h < 24 && mi >= 0 && mi < 60 && sec >= 0 && sec < 61 && ms >= 0) {
        int64_t days = days_from_civil(y, mo, d);
        OUT(s, F_PGHP_US, i) = (((days * 24 + h) * 60 + mi) * 60 + sec) * 1000000 + ms * 1000;
    } else {
        OUT(s, F_QDET, i) = D_PGHP;
    }
    if (f[11] > f[10] + 1 && f[10] < star) {
        OUT(s, F_SRC_A, i) = f[10] + 1;
        OUT(s, F_SRC_B, i) = f[11];
    } else if (f[9] > f[8] + 1) {
        OUT(s, F_SRC_A, i) = f[8] + 1;
        OUT(s, F_SRC_B, i) = f[9];
    }
}

/* fields c: (Unix s or ms), s: (source), g: (group) of the tag block b[a:e]; a repeated field: the last
 * counts (a c: only if it is 1-13 digits) */
static void scan_tag_fields(Scan *s, Py_ssize_t i, int64_t a, int64_t e) {
    const uint8_t *b = s->buf;
    int64_t start = a;
    for (;;) {
        int64_t comma = find(b, ',', start, e, -1);
        int64_t end = comma < 0 ? e : comma;
        uint8_t key = b[start + 1] == ':' ? b[start] : 0;
        if (key == 'c') {
            int64_t v = uint_field(b, start + 2, end, 13);
            if (v >= 0) OUT(s, F_TAG_C, i) = end - start - 2 >= 12 ? v * 1000 : v * 1000000;
        } else if (key == 's') {
            OUT(s, F_TAG_SA, i) = start + 2;
            OUT(s, F_TAG_SB, i) = end;
        } else if (key == 'g') {
            OUT(s, F_TAG_GA, i) = start + 2;
            OUT(s, F_TAG_GB, i) = end;
        }
        if (comma < 0) return;
        start = comma + 1;
    }
}

/* receiver metadata after the checksum, b[a:e] = ",field,field...": the time is the first field of exactly
 * 10 digits (optionally '.' and 1-6 digits), the station the first field [rb][A-Za-z0-9_-]+ of at most 32
 * bytes (USCG receiver ids such as b003669705 / r003669946) */
static void scan_suffix(Scan *s, Py_ssize_t i, int64_t a, int64_t e) {
    const uint8_t *b = s->buf;
    int have_t = 0, have_s = 0;
    for (int64_t c = find(b, ',', a, e, -1); c >= 0 && !(have_t && have_s);) {
        int64_t start = c + 1, next = find(b, ',', start, e, -1), end = next < 0 ? e : next, len = end - start;
        if (!have_t && (len == 10 || (len >= 12 && len <= 17))) {
            int64_t sec = uint_field(b, start, start + 10, 10);
            int64_t frac = len > 10 && b[start + 10] == '.' ? uint_field(b, start + 11, end, 6) : len == 10 ? 0 : -1;
            if (sec >= 0 && frac >= 0) {
                for (int64_t k = len > 10 ? len - 11 : 6; k < 6; k++) frac *= 10;
                OUT(s, F_SUF_T, i) = sec * 1000000 + frac;
                have_t = 1;
            }
        }
        if (!have_s && len >= 2 && len <= 32 && (b[start] == 'r' || b[start] == 'b')) {
            int ok = 1;
            for (int64_t k = start + 1; k < end && ok; k++) ok = is_station(b[k]);
            if (ok) {
                OUT(s, F_SUF_SA, i) = start;
                OUT(s, F_SUF_SB, i) = end;
                have_s = 1;
            }
        }
        c = next;
    }
}

/* !xxVDM,count,number,seq,channel,payload,fill*hh: header fields of line i. The header fields are single
 * characters (seq and channel may be empty; the channel may have two), the payload ends at the comma
 * before the fill digit (an empty fill counts as 0). */
static void scan_vdm(Scan *s, Py_ssize_t i, int64_t s0, int64_t star) {
    const uint8_t *b = s->buf;
    int64_t h = s0 + 6; /* the comma after the name; h + 1 = count */
    int64_t fc = b[h + 1] - '0', fn = b[h + 3] - '0';
    int seq_empty = b[h + 5] == ',';
    int64_t seq = seq_empty ? -1 : b[h + 5] - '0';
    int64_t o = seq_empty ? 5 : 6; /* offset of the comma ending the sequence id */
    int64_t chan_len = -1;
    for (int64_t k = 0; k < 3; k++) {
        int64_t at = o + 1 + k < 9 ? o + 1 + k : 9;
        if (b[h + at] == ',') {
            chan_len = k;
            break;
        }
    }
    int64_t bad = -1;
    int frag_ok = b[h + 2] == ',' && b[h + 4] == ',' && fc >= 1 && fc <= 9 && fn >= 1 && fn <= fc;
    frag_ok = frag_ok && (seq_empty || (b[h + 6] == ',' && seq >= 0 && seq <= 9));
    if (!frag_ok)
        bad = D_FRAG;
    else if (chan_len < 0)
        bad = D_FIELDS;
    int fill_comma = b[star - 2] == ',';
    int64_t pstart = h + o + chan_len + 2;
    int64_t plen = (fill_comma ? star - 2 : star - 1) - pstart;
    int64_t fill = fill_comma ? b[star - 1] - '0' : 0;
    if (bad < 0) {
        if (!fill_comma && b[star - 1] != ',')
            bad = D_FIELDS;
        else if (fill < 0 || fill > 5)
            bad = D_FILL;
        else if (plen <= 0)
            bad = D_EMPTY;
    }
    if (bad >= 0) {
        OUT(s, F_QDET, i) = bad;
        return;
    }
    OUT(s, F_FC, i) = fc;
    OUT(s, F_FN, i) = fn;
    OUT(s, F_SEQ, i) = seq;
    OUT(s, F_CHAN, i) = chan_len > 0 ? b[h + (o + 1 < 9 ? o + 1 : 9)] : 0;
    OUT(s, F_PSTART, i) = pstart;
    OUT(s, F_PLEN, i) = plen;
    OUT(s, F_FILL, i) = fill;
    if (star + 3 < s->en) scan_suffix(s, i, star + 3, s->en);
}

/* everything about one non-blank, non-comment line b[st:en]; rejections in order of precedence */
static void scan_line(Scan *s, Py_ssize_t i, int64_t st, int64_t en) {
    const uint8_t *b = s->buf;
    int64_t d0 = st;
    if (!is_delim(b[st])) { /* a receiver prefix: the sentence or tag block starts later */
        d0 = -1;
        for (int64_t j = st; j < en; j++)
            if (is_delim(b[j])) {
                d0 = j;
                break;
            }
        if (d0 < 0) {
            OUT(s, F_QDET, i) = D_NODELIM;
            return;
        }
    }
    OUT(s, F_D0, i) = d0;
    int64_t s0 = d0;
    if (b[d0] == '\\') { /* tag block \...*hh\ (a tag-only line ends in "*hh\") */
        int64_t tstar = en - 4 > d0 && b[en - 4] == '*' && b[en - 1] == '\\' ? en - 4
                                                                           : find(b, '*', d0 + 1, en, s->big);
        int64_t tclose = tstar + 3, tchk = hex2(b, tstar + 1);
        if (!(tclose < en && b[tclose] == '\\' && tchk >= 0)) {
            OUT(s, F_QDET, i) = D_TAGNOCHK;
        } else if (xor_bytes(b, d0 + 1, tstar) != tchk) {
            OUT(s, F_QDET, i) = D_TAGCHK;
        } else {
            OUT(s, F_FLAGS, i) |= FLAG_TAG_GOOD;
            scan_tag_fields(s, i, d0 + 1, tstar);
        }
        s0 = tclose + 1 < en ? tclose + 1 : en;
        OUT(s, F_S0, i) = s0;
        if (s0 >= en) {
            OUT(s, F_FLAGS, i) |= FLAG_TAG_ONLY;
            return;
        }
        if (OUT(s, F_QDET, i) >= 0) return;
        if (b[s0] != '!' && b[s0] != '$') {
            OUT(s, F_QDET, i) = D_TAGJUNK;
            return;
        }
    }
    OUT(s, F_S0, i) = s0;
    /* the sentence: "*hh" normally ends the line; lines with receiver suffixes need a search */
    int64_t star = en - 3 > s0 && b[en - 3] == '*' ? en - 3 : find(b, '*', s0, en, s->big);
    OUT(s, F_STAR, i) = star;
    int64_t chk = hex2(b, star + 1);
    if (!(star + 3 <= en && chk >= 0)) {
        OUT(s, F_QDET, i) = D_NOCHK;
        return;
    }
    int vdm = b[s0] == '!' && b[s0 + 3] == 'V' && b[s0 + 4] == 'D' && (b[s0 + 5] == 'M' || b[s0 + 5] == 'O') &&
              b[s0 + 6] == ',';
    int pghp = b[s0] == '$' && memcmp(b + s0 + 1, "PGHP,", 5) == 0;
    OUT(s, F_FLAGS, i) |= (vdm ? FLAG_VDM : 0) | (pghp ? FLAG_PGHP : 0);
    if (xor_bytes(b, s0 + 1, star) != chk)
        OUT(s, F_QDET, i) = D_CHK;
    else if (vdm)
        scan_vdm(s, i, s0, star);
    else if (pghp)
        scan_pghp(s, i, s0, star);
    else
        OUT(s, F_QDET, i) = D_NONAIS;
}

/* the bounds of the line starting at a (its end e: the LF or n), trimmed to [st, en); 1 if it is active */
static int line_at(const uint8_t *b, int64_t a, int64_t n, int64_t *e, int64_t *st, int64_t *en) {
    *e = find(b, '\n', a, n, n);
    /* trim: trailing blanks first, then leading ones (a blank line ends empty at its start) */
    int64_t x = *e, y = a;
    while (x > a && is_ws(b[x - 1])) x--;
    while (x > y && is_ws(b[y])) y++;
    *st = y;
    *en = x;
    return x > y && b[y] != '#';
}

/* scans active lines into columns 0, 1, ... until the bytes or the columns run out; returns how many */
static Py_ssize_t scan_all(Scan *s, int64_t n) {
    const uint8_t *b = s->buf;
    int64_t a = 0, physical = 0;
    Py_ssize_t i = 0;
    const int any_nul = n > 0 && memchr(b, 0, (size_t)n) != NULL; /* one fast pass; lines checked only if so */
    for (; i < s->nl; i++) {
        int64_t e = 0, st = 0, en = 0;
        for (;;) { /* blank lines and comments: no column (a run of bare LFs is skipped byte by byte) */
            while (a < n && b[a] == '\n') {
                a++;
                physical++;
            }
            if (a >= n) return i;
            if (line_at(b, a, n, &e, &st, &en)) break;
            a = e + 1;
            physical++;
        }
        s->numbers[i] = physical++;
        OUT(s, F_ST, i) = st;
        OUT(s, F_EN, i) = en;
        OUT(s, F_QDET, i) = -1;
        OUT(s, F_D0, i) = st;
        OUT(s, F_S0, i) = st;
        OUT(s, F_STAR, i) = s->big;
        for (int f = F_FC; f <= F_FILL; f++) OUT(s, f, i) = 0;
        OUT(s, F_PGHP_US, i) = NOTIME;
        OUT(s, F_TAG_C, i) = NOTIME;
        OUT(s, F_SRC_A, i) = OUT(s, F_SRC_B, i) = -1;
        OUT(s, F_TAG_SA, i) = OUT(s, F_TAG_SB, i) = OUT(s, F_TAG_GA, i) = OUT(s, F_TAG_GB, i) = -1;
        OUT(s, F_SUF_T, i) = NOTIME;
        OUT(s, F_SUF_SA, i) = OUT(s, F_SUF_SB, i) = -1;
        s->en = en;
        OUT(s, F_FLAGS, i) = FLAG_ACTIVE;
        if (e - a > MAX_LINE)
            OUT(s, F_QDET, i) = D_LONG;
        else if (any_nul && memchr(b + st, 0, (size_t)(en - st)) != NULL)
            OUT(s, F_QDET, i) = D_NUL;
        else
            scan_line(s, i, st, en);
        a = e + 1;
    }
    return i;
}

static PyObject *count_lines(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t n;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*n", &buf, &n)) return NULL;
    if (n < 0 || buf.len < n) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "count_lines: buf must hold n bytes");
        return NULL;
    }
    int64_t physical = 0, active = 0;
    Py_BEGIN_ALLOW_THREADS
    const uint8_t *b = (const uint8_t *)buf.buf;
    for (int64_t a = 0, e, st, en; a < n; a = e + 1) {
        if (b[a] == '\n') { /* a bare LF: a blank line, the common case of a flood */
            e = a;
        } else {
            active += line_at(b, a, n, &e, &st, &en);
        }
        physical++;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    return Py_BuildValue("LL", (long long)physical, (long long)active);
}

static PyObject *scan_into(PyObject *self, PyObject *args) {
    Py_buffer buf, out, numbers;
    Py_ssize_t n, big;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*nnw*w*", &buf, &n, &big, &out, &numbers)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t cells = out.len / (Py_ssize_t)sizeof(int64_t);
    if (n < 0 || buf.len < n + PAD || big < n || big + 8 > buf.len) {
        PyErr_SetString(PyExc_ValueError, "scan_into: buf must hold n bytes and 256 bytes of zero padding");
    } else if (out.len % (N_FIELDS * (Py_ssize_t)sizeof(int64_t)) != 0 || !PyBuffer_IsContiguous(&out, 'C')) {
        PyErr_SetString(PyExc_ValueError, "scan_into: out must be a C-contiguous int64 (N_FIELDS, lines) array");
    } else if (numbers.len != (cells / N_FIELDS) * (Py_ssize_t)sizeof(int64_t) ||
               !PyBuffer_IsContiguous(&numbers, 'C')) {
        PyErr_SetString(PyExc_ValueError, "scan_into: numbers must be a C-contiguous int64 array, one per line");
    } else {
        Scan s = {(const uint8_t *)buf.buf, (int64_t *)out.buf, cells / N_FIELDS, (int64_t)big, 0,
                  (int64_t *)numbers.buf};
        Py_ssize_t active = 0;
        Py_BEGIN_ALLOW_THREADS active = scan_all(&s, (int64_t)n);
        Py_END_ALLOW_THREADS result = PyLong_FromSsize_t(active);
    }
    PyBuffer_Release(&buf);
    PyBuffer_Release(&out);
    PyBuffer_Release(&numbers);
    return result;
}

static PyMethodDef methods[] = {
    {"scan_into", scan_into, METH_VARARGS,
     "scan_into(buf, n, big, out, numbers) -> active lines: scan the active lines of the n bytes of buf (zero-padded by 256) "
     "into out, (N_FIELDS, active lines) int64, and their physical line indices into numbers."},
    {"count_lines", count_lines, METH_VARARGS, "count_lines(buf, n) -> (physical lines, active lines)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "NMEA line scanner (see nmea.py).", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__scan(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    static const struct {
        const char *name;
        long long value;
    } consts[] = {
        {"F_ST", F_ST}, {"F_EN", F_EN}, {"F_FLAGS", F_FLAGS}, {"F_QDET", F_QDET}, {"F_D0", F_D0},
        {"F_S0", F_S0}, {"F_STAR", F_STAR}, {"F_FC", F_FC}, {"F_FN", F_FN}, {"F_SEQ", F_SEQ},
        {"F_CHAN", F_CHAN}, {"F_PSTART", F_PSTART}, {"F_PLEN", F_PLEN}, {"F_FILL", F_FILL},
        {"F_PGHP_US", F_PGHP_US}, {"F_SRC_A", F_SRC_A}, {"F_SRC_B", F_SRC_B}, {"F_TAG_C", F_TAG_C},
        {"F_TAG_SA", F_TAG_SA}, {"F_TAG_SB", F_TAG_SB}, {"F_TAG_GA", F_TAG_GA}, {"F_TAG_GB", F_TAG_GB}, {"F_SUF_T", F_SUF_T}, {"F_SUF_SA", F_SUF_SA}, {"F_SUF_SB", F_SUF_SB},
        {"N_FIELDS", N_FIELDS}, {"FLAG_ACTIVE", FLAG_ACTIVE}, {"FLAG_TAG_ONLY", FLAG_TAG_ONLY},
        {"FLAG_TAG_GOOD", FLAG_TAG_GOOD}, {"FLAG_VDM", FLAG_VDM}, {"FLAG_PGHP", FLAG_PGHP},
        {"D_NODELIM", D_NODELIM}, {"D_TAGNOCHK", D_TAGNOCHK}, {"D_TAGCHK", D_TAGCHK}, {"D_NOCHK", D_NOCHK},
        {"D_CHK", D_CHK}, {"D_FIELDS", D_FIELDS}, {"D_FRAG", D_FRAG}, {"D_FILL", D_FILL}, {"D_EMPTY", D_EMPTY},
        {"D_NONAIS", D_NONAIS}, {"D_PGHP", D_PGHP}, {"D_ORPHAN", D_ORPHAN}, {"D_INCOMPLETE", D_INCOMPLETE},
        {"D_CHARS", D_CHARS}, {"D_SHORT", D_SHORT}, {"D_PARTNO", D_PARTNO}, {"D_TAGJUNK", D_TAGJUNK}, {"D_LONG", D_LONG}, {"D_NUL", D_NUL}, {"MAX_LINE", MAX_LINE},
        {"PAD", PAD}, {"NOTIME", NOTIME},
    };
    for (size_t k = 0; k < sizeof consts / sizeof consts[0]; k++) {
        PyObject *v = PyLong_FromLongLong(consts[k].value);
        int failed = v == NULL || PyModule_AddObjectRef(m, consts[k].name, v) < 0;
        Py_XDECREF(v);
        if (failed) {
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
