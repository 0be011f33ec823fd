/* SPDX-License-Identifier: MIT */
/* Pure parsers of the scan and kill scripts' output: no I/O, no globals.  The formats
 * are described at the top of src/scan/scan_collect.sh and src/scan/scan_kill.sh. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/scan/scanparse.h"
#include "src/util/hex.h"
#include "src/util/xmalloc.h"

/* The scripts themselves, generated from src/scan/scan_collect.sh and src/scan/scan_kill.sh. */
#include "scan/scan_collect.sh.h"
#include "scan/scan_kill.sh.h"

#define MAXLINE 65536
#define MAXSERVERS 4096
#define MAXRECORDS 65536
#define MAXWARNINGS 32
#define MAXTOKEN 128

struct pidport {
	long pid;
	int port;
};

struct sockinode {
	long pid;
	unsigned long inode;
};

struct inodeport {
	unsigned long inode;
	int port;
};

struct child {
	long ppid;
	long pid;
	char *tty;
};

/* Everything gathered before the records are joined up. */
struct collect {
	struct scan_result *r;
	struct pidport *pp;
	size_t npp;
	struct sockinode *si;
	size_t nsi;
	struct inodeport *ip;
	size_t nip;
	struct child *ch;
	size_t nch;
	struct scan_who *who;
	size_t nwho;
	long lsof_pid;
	int warned_more;
	int seen_me;
};

/* Remote text is shown on a terminal later: control bytes, DEL and non-ASCII become
 * \xHH so that no escape sequence survives, and a backslash is doubled. */
static char *
escape(const char *s, size_t n, int backslash)
{
	char *out, *o;
	size_t i;

	out = o = xmalloc(n * 4 + 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\' && backslash) {
			*o++ = '\\';
			*o++ = '\\';
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(o, 5, "\\x%02x", c);
			o += 4;
		} else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

static char *
printable(const char *s, size_t n)
{
	return escape(s, n, 1);
}

static void warn(struct collect *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
warn(struct collect *c, const char *fmt, ...)
{
	struct scan_result *r = c->r;
	va_list ap;
	char *s = NULL, *p = NULL;

	if (r->nwarnings >= MAXWARNINGS) {
		if (!c->warned_more) {
			c->warned_more = 1;
			r->warnings =
			    xreallocarray(r->warnings, r->nwarnings + 1, sizeof *r->warnings);
			r->warnings[r->nwarnings++] = xstrdup("more warnings left out");
		}
		return;
	}
	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	/* Values already made printable keep their backslashes as they are. */
	p = escape(s, strlen(s), 0);
	free(s);
	r->warnings = xreallocarray(r->warnings, r->nwarnings + 1, sizeof *r->warnings);
	r->warnings[r->nwarnings++] = p;
}

/* A decimal number of at most 10 digits, nothing else. */
static int
number(const char *s, long *out)
{
	long v = 0;
	size_t i;

	if (*s == '\0' || strlen(s) > 10)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
pid_ok(long pid)
{
	return pid > 0 && pid <= INT_MAX;
}

int
scanparse_token_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > MAXTOKEN || strcmp(s, "-") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && strchr(":_.-", s[i]) == NULL)
			return 0;
	}
	return 1;
}

static int
tty_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && strchr("/._:-", s[i]) == NULL)
			return 0;
	}
	return 1;
}

static int
unhex(const char *s, char **out, size_t *outlen)
{
	size_t i, n = strlen(s);
	char *b;

	if (n % 2 != 0)
		return -1;
	b = xmalloc(n / 2 + 1);
	for (i = 0; i < n; i += 2) {
		int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
		if (hi < 0 || lo < 0) {
			free(b);
			return -1;
		}
		b[i / 2] = (char)(hi << 4 | lo);
	}
	b[n / 2] = '\0';
	*out = b;
	*outlen = n / 2;
	return 0;
}

long
scanparse_etime(const char *s)
{
	long part[4], days = 0, v;
	size_t n = 0;
	char buf[32], *p, *dash, *colon;

	if (number(s, &v) == 0)
		return v;
	if (strlen(s) >= sizeof buf)
		return -1;
	snprintf(buf, sizeof buf, "%s", s);
	p = buf;
	if ((dash = strchr(p, '-')) != NULL) {
		*dash = '\0';
		if (number(p, &days) != 0)
			return -1;
		p = dash + 1;
	}
	for (;;) {
		if (n == 3)
			return -1;
		if ((colon = strchr(p, ':')) != NULL)
			*colon = '\0';
		if (number(p, &part[n]) != 0 || strlen(p) > 2)
			return -1;
		n++;
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	if (n < 2 || (dash != NULL && n != 3))
		return -1;
	if (n == 2)
		return part[0] * 60 + part[1];
	return days * 86400 + part[0] * 3600 + part[1] * 60 + part[2];
}

/* Split a record of the script's own into exactly nf single-space-separated fields;
 * the line is modified. */
static int
fields(char *line, char **f, size_t nf)
{
	size_t i;
	char *p = line;

	for (i = 0; i < nf; i++) {
		f[i] = p;
		p = strchr(p, ' ');
		if (i + 1 < nf) {
			if (p == NULL)
				return -1;
			*p++ = '\0';
		} else if (p != NULL)
			return -1;
		if (*f[i] == '\0')
			return -1;
	}
	return 0;
}

/* Whitespace-separated words of a raw tool line, at most max; the line is modified. */
static size_t
words(char *line, char **w, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		w[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p == '\0')
			break;
		*p++ = '\0';
	}
	return n;
}

static const char *
base(const char *s, size_t n, size_t *outn)
{
	const char *slash = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '/')
			slash = s + i;
	if (slash == NULL) {
		*outn = n;
		return s;
	}
	*outn = n - (size_t)(slash + 1 - s);
	return slash + 1;
}

static int
names_mosh_server(const char *s, size_t n)
{
	size_t bn;
	const char *b = base(s, n, &bn);

	return bn == strlen("mosh-server") && memcmp(b, "mosh-server", bn) == 0;
}

/* The port after the last ':' of an address such as 127.0.0.1:60001, [::]:60001 or
 * *:60001; -1 for "*" or anything else. */
static int
addr_port(const char *a)
{
	const char *colon = strrchr(a, ':');
	long v;

	if (colon == NULL || number(colon + 1, &v) != 0 || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

int
scanparse_ss_line(const char *line, int *port, long *pids, size_t maxpids, size_t *npids)
{
	char *copy = NULL, *w[16], *users, *p;
	size_t nw, i;
	int rc = -1;

	*npids = 0;
	*port = -1;
	copy = xstrdup(line);
	nw = words(copy, w, 16);
	/* The first word with a numeric port is the local address; the peer is "*". */
	for (i = 1; i < nw && *port == -1; i++) {
		if (strncmp(w[i], "users:", 6) == 0)
			break;
		*port = addr_port(w[i]);
	}
	if (*port == -1)
		goto out;
	for (users = NULL, i = 0; i < nw; i++) {
		if (strncmp(w[i], "users:((", 8) == 0)
			users = w[i];
	}
	if (users == NULL)
		goto out;
	/* users:(("name",pid=N,fd=N),("name",pid=N,fd=N)) exactly; a process name
	 * that holds quotes or parentheses breaks the grammar and the line is dropped. */
	p = users + 7;
	for (;;) {
		char *q, *end;
		long pid, fd;

		if (strncmp(p, "(\"", 2) != 0)
			goto out;
		p += 2;
		if ((q = strchr(p, '"')) == NULL)
			goto out;
		*q = '\0';
		if (strncmp(q + 1, ",pid=", 5) != 0)
			goto out;
		end = q + 6;
		pid = strtol(end, &end, 10);
		if (strncmp(end, ",fd=", 4) != 0)
			goto out;
		fd = strtol(end + 4, &end, 10);
		if (*end != ')' || !pid_ok(pid) || fd < 0)
			goto out;
		if (strcmp(p, "mosh-server") == 0 && *npids < maxpids)
			pids[(*npids)++] = pid;
		p = end + 1;
		if (strcmp(p, ")") == 0)
			break;
		if (*p != ',')
			goto out;
		p++;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

int
scanparse_netstat_line(const char *line, int *port, long *pid)
{
	char *copy = NULL, *w[8], *slash;
	size_t nw, i;
	int rc = -1;

	copy = xstrdup(line);
	nw = words(copy, w, 8);
	if (nw < 6 || strncmp(w[0], "udp", 3) != 0)
		goto out;
	if ((*port = addr_port(w[3])) == -1)
		goto out;
	/* PID/Program is the last column; a state column may come before it. */
	for (i = 5; i < nw; i++) {
		if ((slash = strchr(w[i], '/')) == NULL)
			continue;
		*slash = '\0';
		if (number(w[i], pid) != 0 || !pid_ok(*pid))
			goto out;
		if (strcmp(slash + 1, "mosh-server") != 0 || i + 1 != nw)
			goto out;
		rc = 0;
		break;
	}
out:
	free(copy);
	return rc;
}

int
scanparse_procnet_line(const char *line, int *port, unsigned long *inode)
{
	char *copy = NULL, *w[12], *colon, *end;
	size_t nw;
	unsigned long v;
	int rc = -1;

	copy = xstrdup(line);
	nw = words(copy, w, 12);
	if (nw < 10 || (colon = strrchr(w[1], ':')) == NULL || strlen(colon + 1) != 4)
		goto out;
	v = strtoul(colon + 1, &end, 16);
	if (*end != '\0' || v == 0)
		goto out;
	*port = (int)v;
	if (w[9][0] < '0' || w[9][0] > '9')
		goto out;
	*inode = strtoul(w[9], &end, 10);
	if (*end != '\0' || *inode == 0)
		goto out;
	rc = 0;
out:
	free(copy);
	return rc;
}

void
scanparse_who_free(struct scan_who *w)
{
	free(w->user);
	free(w->tty);
	free(w->host);
	memset(w, 0, sizeof *w);
}

/* The mark at the end of a host field: "mosh [PID]" or "ADDR via mosh [PID]". s..e is
 * the field (without parentheses); in BusyBox's layout, where the field is not
 * delimited, s is the start of the line and the field starts after the last blank
 * before the mark.  Returns 1 and fills w, 0 if the field is not a mark. */
static int
who_mark(const char *s, const char *e, int delimited, struct scan_who *w)
{
	const char *m, *p, *hs;
	long pid = 0;
	size_t nd = 0;

	if (e - s < 8 || e[-1] != ']')
		return 0;
	for (p = e - 2; p > s && *p >= '0' && *p <= '9'; p--)
		nd++;
	if (nd == 0 || nd > 10 || *p != '[')
		return 0;
	for (m = p + 1; m < e - 1; m++)
		pid = pid * 10 + (*m - '0');
	if (p - s < 5 || memcmp(p - 5, "mosh ", 5) != 0 || !pid_ok(pid))
		return 0;
	m = p - 5; /* "mosh [" */
	if (m - s >= 5 && memcmp(m - 5, " via ", 5) == 0) {
		/* The client's address: one word before " via ". */
		for (hs = m - 5; hs > s && hs[-1] != ' ' && hs[-1] != '\t'; hs--)
			;
		if (hs == m - 5 || (delimited && hs != s))
			return 0;
		w->state = SCAN_UTMP_ATTACHED;
	} else {
		hs = m;
		if (delimited ? hs != s : (hs == s || (hs[-1] != ' ' && hs[-1] != '\t')))
			return 0;
		w->state = SCAN_UTMP_DETACHED;
	}
	w->pid = pid;
	w->host = printable(hs, (size_t)(e - hs));
	return 1;
}

int
scanparse_who_line(const char *line, struct scan_who *w)
{
	const char *p, *e, *open = NULL;
	char *copy = NULL, *wd[2];
	int depth = 0, rc = -1;

	memset(w, 0, sizeof *w);
	for (p = line; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return -1;
		if ((unsigned char)*p >= 0x7f)
			return -1;
		if (*p == '(' && depth++ == 0)
			open = p;
		if (*p == ')' && --depth < 0)
			return -1;
	}
	/* Unbalanced parentheses: a host name with a newline split this line. */
	if (depth != 0)
		return -1;
	copy = xstrdup(line);
	if (words(copy, wd, 2) < 2)
		goto out;
	for (e = line + strlen(line); e > line && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	rc = 0;
	if (e > line && e[-1] == ')' && open != NULL && open > line && open[-1] == ' ') {
		/* GNU and BSD: the host field is the last "(...)". */
		if (who_mark(open + 1, e - 1, 1, w) != 1)
			goto out;
	} else if (who_mark(line, e, 0, w) != 1)
		goto out;
	w->user = xstrdup(wd[0]);
	w->tty = xstrdup(wd[1]);
	rc = 1;
out:
	if (rc != 1) {
		free(w->host);
		w->host = NULL;
	}
	free(copy);
	return rc;
}

const char *
scanparse_collect_script(void)
{
	return scan_collect_sh;
}

const char *
scanparse_kill_script(void)
{
	return scan_kill_sh;
}

static struct scan_server *
find(struct scan_result *r, long pid)
{
	size_t i;

	for (i = 0; i < r->nservers; i++) {
		if (r->servers[i].pid == pid)
			return &r->servers[i];
	}
	return NULL;
}

const struct scan_server *
scanparse_find(const struct scan_result *r, long pid)
{
	size_t i;

	for (i = 0; i < r->nservers; i++) {
		if (r->servers[i].pid == pid)
			return &r->servers[i];
	}
	return NULL;
}

static void
add_port(struct collect *c, long pid, int port)
{
	c->pp = xreallocarray(c->pp, c->npp + 1, sizeof *c->pp);
	c->pp[c->npp].pid = pid;
	c->pp[c->npp].port = port;
	c->npp++;
}

/* proc PID PPID UID START ELAPSED TTY COMMHEX ARGSHEX */
static int
rec_proc(struct collect *c, char *rest)
{
	struct scan_result *r = c->r;
	struct scan_server s, *dup;
	char *f[8], *comm = NULL, *args = NULL, *argv0end;
	size_t ncomm = 0, nargs = 0, i, n0;
	int rc = -1;

	memset(&s, 0, sizeof s);
	s.elapsed = -1;
	if (fields(rest, f, 8) != 0 || number(f[0], &s.pid) != 0 || !pid_ok(s.pid) ||
	    number(f[1], &s.ppid) != 0 || number(f[2], &s.uid) != 0)
		goto out;
	if (strcmp(f[3], "-") != 0) {
		if (!scanparse_token_ok(f[3]))
			goto out;
		s.start = xstrdup(f[3]);
	}
	if (strcmp(f[4], "-") != 0 && (s.elapsed = scanparse_etime(f[4])) < 0)
		goto out;
	if (strcmp(f[5], "-") != 0) {
		if (!tty_ok(f[5]))
			goto out;
		s.tty = xstrdup(f[5]);
	}
	if (strcmp(f[6], "-") != 0 && unhex(f[6], &comm, &ncomm) != 0)
		goto out;
	if (strcmp(f[7], "-") != 0 && unhex(f[7], &args, &nargs) != 0)
		goto out;
	/* ps adds a newline; /proc ends argv with a NUL. */
	if (ncomm > 0 && comm[ncomm - 1] == '\n')
		ncomm--;
	if (nargs > 0 && (args[nargs - 1] == '\n' || args[nargs - 1] == '\0'))
		nargs--;
	if (comm != NULL)
		s.comm = printable(comm, ncomm);
	if (args != NULL) {
		/* From /proc argv is NUL-separated; from ps it is one line of text. */
		argv0end = memchr(args, '\0', nargs);
		if (argv0end == NULL)
			argv0end = memchr(args, ' ', nargs);
		n0 = argv0end != NULL ? (size_t)(argv0end - args) : nargs;
		s.is_mosh =
		    comm != NULL && names_mosh_server(comm, ncomm) && names_mosh_server(args, n0);
		for (i = 0; i < nargs; i++) {
			if (args[i] == '\0')
				args[i] = ' ';
		}
		s.cmdline = printable(args, nargs);
	}
	if (!s.is_mosh) {
		/* ps mode lists anything that mentions mosh-server, "vim mosh-server.c"
		 * too; comm and argv[0] must both name it. */
		warn(c, "pid %ld (%s) is not a mosh-server; left out", s.pid,
		    s.cmdline != NULL ? s.cmdline : "?");
		rc = 0;
		goto out;
	}
	if ((dup = find(r, s.pid)) != NULL) {
		warn(c, "pid %ld listed twice", s.pid);
		dup->tainted = 1;
		rc = 0;
		goto out;
	}
	if (r->nservers >= MAXSERVERS) {
		warn(c, "too many servers; the rest left out");
		r->suspect = 1;
		rc = 0;
		goto out;
	}
	r->servers = xreallocarray(r->servers, r->nservers + 1, sizeof *r->servers);
	r->servers[r->nservers++] = s;
	memset(&s, 0, sizeof s);
	rc = 0;
out:
	free(s.start);
	free(s.tty);
	free(s.comm);
	free(s.cmdline);
	free(comm);
	free(args);
	return rc;
}

static int
rec_child(struct collect *c, char *rest)
{
	char *f[3];
	long ppid, pid;

	if (fields(rest, f, 3) != 0 || number(f[0], &ppid) != 0 || number(f[1], &pid) != 0 ||
	    (strcmp(f[2], "-") != 0 && !tty_ok(f[2])))
		return -1;
	if (c->nch >= MAXRECORDS)
		return 0;
	c->ch = xreallocarray(c->ch, c->nch + 1, sizeof *c->ch);
	c->ch[c->nch].ppid = ppid;
	c->ch[c->nch].pid = pid;
	c->ch[c->nch].tty = strcmp(f[2], "-") == 0 ? NULL : xstrdup(f[2]);
	c->nch++;
	return 0;
}

static void
raw_ss(struct collect *c, const char *rest)
{
	long pids[8];
	size_t npids, i;
	int port;

	if (scanparse_ss_line(rest, &port, pids, 8, &npids) != 0) {
		warn(c, "ss line not understood: %s", rest);
		return;
	}
	for (i = 0; i < npids; i++)
		add_port(c, pids[i], port);
}

static void
raw_netstat(struct collect *c, const char *rest)
{
	long pid;
	int port;

	if (scanparse_netstat_line(rest, &port, &pid) != 0) {
		warn(c, "netstat line not understood: %s", rest);
		return;
	}
	add_port(c, pid, port);
}

static void
raw_procnet(struct collect *c, const char *rest)
{
	unsigned long inode;
	int port;

	/* The header lines of /proc/net/udp are filtered out by the script. */
	if (scanparse_procnet_line(rest, &port, &inode) != 0) {
		warn(c, "/proc/net/udp line not understood: %s", rest);
		return;
	}
	if (c->nip >= MAXRECORDS)
		return;
	c->ip = xreallocarray(c->ip, c->nip + 1, sizeof *c->ip);
	c->ip[c->nip].inode = inode;
	c->ip[c->nip].port = port;
	c->nip++;
}

static int
rec_sock(struct collect *c, char *rest)
{
	char *f[2];
	long pid, inode;

	if (fields(rest, f, 2) != 0 || number(f[0], &pid) != 0 || number(f[1], &inode) != 0)
		return -1;
	if (c->nsi >= MAXRECORDS)
		return 0;
	c->si = xreallocarray(c->si, c->nsi + 1, sizeof *c->si);
	c->si[c->nsi].pid = pid;
	c->si[c->nsi].inode = (unsigned long)inode;
	c->nsi++;
	return 0;
}

/* lsof -F output: "pPID" starts a process, "nADDR" names one of its files. */
static void
raw_lsof(struct collect *c, const char *rest)
{
	char *copy = NULL, *arrow;
	long pid;
	int port;

	if (rest[0] == 'p') {
		if (number(rest + 1, &pid) != 0 || !pid_ok(pid)) {
			warn(c, "lsof line not understood: %s", rest);
			c->lsof_pid = 0;
		} else
			c->lsof_pid = pid;
		return;
	}
	if (rest[0] != 'n' || c->lsof_pid == 0)
		return;
	copy = xstrdup(rest + 1);
	if ((arrow = strstr(copy, "->")) != NULL)
		*arrow = '\0';
	if ((port = addr_port(copy)) > 0)
		add_port(c, c->lsof_pid, port);
	free(copy);
}

static void
raw_who(struct collect *c, const char *rest)
{
	struct scan_who w;
	int rc;

	c->r->utmp_seen = 1;
	rc = scanparse_who_line(rest, &w);
	if (rc == -1) {
		warn(c, "malformed utmp line: %s", rest);
		c->r->utmp_damaged = 1;
		return;
	}
	if (rc == 0)
		return;
	if (c->nwho >= MAXRECORDS) {
		scanparse_who_free(&w);
		return;
	}
	c->who = xreallocarray(c->who, c->nwho + 1, sizeof *c->who);
	c->who[c->nwho++] = w;
}

static void
set_once(struct collect *c, char **field, const char *tag, const char *v)
{
	if (*field != NULL) {
		warn(c, "'%s' given twice", tag);
		c->r->suspect = 1;
		return;
	}
	*field = printable(v, strlen(v));
}

/* One line after the header.  Returns -1 if a record of the script's own format was
 * malformed. */
static int
record(struct collect *c, char *line)
{
	struct scan_result *r = c->r;
	char *sp, *rest, *f[3];
	long v;

	if ((sp = strchr(line, ' ')) != NULL) {
		*sp = '\0';
		rest = sp + 1;
	} else
		rest = line + strlen(line);

	if (strcmp(line, "proc") == 0)
		return rec_proc(c, rest);
	if (strcmp(line, "child") == 0)
		return rec_child(c, rest);
	if (strcmp(line, "sock") == 0)
		return rec_sock(c, rest);
	if (strcmp(line, "ss") == 0)
		raw_ss(c, rest);
	else if (strcmp(line, "netstat") == 0)
		raw_netstat(c, rest);
	else if (strcmp(line, "procnet") == 0)
		raw_procnet(c, rest);
	else if (strcmp(line, "lsof") == 0)
		raw_lsof(c, rest);
	else if (strcmp(line, "who") == 0)
		raw_who(c, rest);
	else if (strcmp(line, "me") == 0) {
		char *name = NULL;
		size_t n;

		/* A second "me" is malformed whatever it holds: with uid "-" the first
		 * one left r->uid at -1, and its user would be overwritten (and leaked). */
		if (fields(rest, f, 2) != 0 || c->seen_me)
			return -1;
		c->seen_me = 1;
		if (strcmp(f[0], "-") != 0 && number(f[0], &r->uid) != 0)
			return -1;
		if (strcmp(f[1], "-") != 0) {
			if (unhex(f[1], &name, &n) != 0)
				return -1;
			r->user = printable(name, n);
			free(name);
		}
	} else if (strcmp(line, "os") == 0)
		set_once(c, &r->os, "os", rest);
	else if (strcmp(line, "boot") == 0)
		set_once(c, &r->boot, "boot", rest);
	else if (strcmp(line, "mode") == 0)
		set_once(c, &r->mode, "mode", rest);
	else if (strcmp(line, "ports") == 0)
		set_once(c, &r->ports_from, "ports", rest);
	else if (strcmp(line, "clock") == 0) {
		if (fields(rest, f, 2) != 0)
			return -1;
		if (strcmp(f[0], "-") != 0 && number(f[0], &v) == 0)
			r->now = v;
		if (strcmp(f[1], "-") != 0 && number(f[1], &v) == 0)
			r->uptime = v;
	} else if (strcmp(line, "missing") == 0) {
		if (!scanparse_token_ok(rest) || r->nmissing >= MAXWARNINGS)
			return -1;
		r->missing = xreallocarray(r->missing, r->nmissing + 1, sizeof *r->missing);
		r->missing[r->nmissing++] = xstrdup(rest);
	} else if (strcmp(line, "warn") == 0)
		warn(c, "host: %s", rest);
	else
		warn(c, "unknown record '%s'", line);
	return 0;
}

/* Join ports, children and utmp marks onto the servers. */
static void
join(struct collect *c)
{
	struct scan_result *r = c->r;
	struct scan_server *s, *o;
	size_t i, j, k;

	for (i = 0; i < c->nsi; i++) {
		for (j = 0; j < c->nip; j++) {
			if (c->ip[j].inode == c->si[i].inode)
				add_port(c, c->si[i].pid, c->ip[j].port);
		}
	}
	for (i = 0; i < c->npp; i++) {
		if ((s = find(r, c->pp[i].pid)) == NULL)
			continue;
		for (k = 0; k < s->nports; k++) {
			if (s->ports[k] == c->pp[i].port)
				break;
		}
		if (k == s->nports && s->nports < SCANPARSE_MAXPORTS)
			s->ports[s->nports++] = c->pp[i].port;
	}
	for (i = 0; i < r->nservers; i++) {
		s = &r->servers[i];
		if ((o = find(r, s->ppid)) != NULL && o->is_mosh && s->is_mosh) {
			s->twin_of = o->pid;
			o->has_twin = 1;
		}
	}
	for (i = 0; i < c->nch; i++) {
		if ((s = find(r, c->ch[i].ppid)) == NULL || c->ch[i].tty == NULL)
			continue;
		if (s->child_tty == NULL)
			s->child_tty = xstrdup(c->ch[i].tty);
		else if (strcmp(s->child_tty, c->ch[i].tty) != 0)
			s->child_ttys_differ = 1;
	}
	for (i = 0; i < c->nwho; i++) {
		struct scan_who *w = &c->who[i];

		if ((s = find(r, w->pid)) == NULL)
			continue;
		if (r->user == NULL || strcmp(w->user, r->user) != 0) {
			s->utmp_foreign = 1;
			continue;
		}
		s->utmp_marks++;
		if (s->utmp == SCAN_UTMP_NONE) {
			s->utmp = w->state;
			s->utmp_host = xstrdup(w->host);
			s->utmp_tty = printable(w->tty, strlen(w->tty));
		}
	}
}

static void
collect_free(struct collect *c)
{
	size_t i;

	free(c->pp);
	free(c->si);
	free(c->ip);
	for (i = 0; i < c->nch; i++)
		free(c->ch[i].tty);
	free(c->ch);
	for (i = 0; i < c->nwho; i++)
		scanparse_who_free(&c->who[i]);
	free(c->who);
}

int
scanparse_collect(const char *buf, size_t len, struct scan_result *r, char **error)
{
	struct collect c;
	const char *p = buf, *end = buf + len, *nl;
	char *line = NULL;
	size_t n, skipped = 0, nrec = 0;
	int header = 0, trailer = 0, after = 0, rc = -1;

	memset(r, 0, sizeof *r);
	memset(&c, 0, sizeof c);
	r->uid = r->now = r->uptime = -1;
	c.r = r;
	*error = NULL;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			/* A last line without its newline was cut off. */
			warn(&c, "output cut off in the middle of a line");
			after |= trailer;
			break;
		}
		n = (size_t)(nl - p);
		free(line);
		line = NULL;
		if (n > MAXLINE || memchr(p, '\0', n) != NULL) {
			if (header) {
				warn(&c, "overlong or binary line left out");
				r->suspect = 1;
			} else
				skipped++;
			p = nl + 1;
			continue;
		}
		line = xstrndup(p, n);
		p = nl + 1;
		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		if (!header) {
			/* Shell start-up files may print before the script runs. */
			if (strncmp(line, "moshman-scan ", 13) == 0) {
				if (strcmp(line + 13, "1") != 0) {
					char *v = printable(line + 13, strlen(line + 13));
					xasprintf(error,
					    "scan output has format version %s; "
					    "this moshman reads version 1",
					    v);
					free(v);
					goto out;
				}
				header = 1;
			} else
				skipped++;
			continue;
		}
		if (trailer) {
			if (line[0] != '\0')
				after = 1;
			continue;
		}
		if (line[0] == '\0')
			continue;
		if (strcmp(line, "end") == 0) {
			trailer = 1;
			continue;
		}
		if (++nrec > MAXRECORDS) {
			warn(&c, "too many records; the rest left out");
			r->suspect = 1;
			break;
		}
		if (record(&c, line) != 0) {
			warn(&c, "malformed record '%s'", line);
			r->suspect = 1;
		}
	}
	if (!header) {
		*error = xstrdup("no moshman scan output (the remote shell printed "
		                 "something else)");
		goto out;
	}
	if (skipped > 0)
		warn(&c, "%zu lines before the scan output left out", skipped);
	if (!trailer)
		warn(&c, "scan output ends early: nothing will be killed");
	if (after) {
		warn(&c, "data after the end of the scan output");
		r->suspect = 1;
	}
	r->complete = trailer && !after;
	join(&c);
	rc = 0;
out:
	free(line);
	collect_free(&c);
	return rc;
}

void
scanparse_free(struct scan_result *r)
{
	size_t i;

	for (i = 0; i < r->nservers; i++) {
		struct scan_server *s = &r->servers[i];
		free(s->start);
		free(s->tty);
		free(s->comm);
		free(s->cmdline);
		free(s->utmp_host);
		free(s->utmp_tty);
		free(s->child_tty);
	}
	free(r->servers);
	for (i = 0; i < r->nmissing; i++)
		free(r->missing[i]);
	free(r->missing);
	for (i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	free(r->user);
	free(r->os);
	free(r->boot);
	free(r->mode);
	free(r->ports_from);
	memset(r, 0, sizeof *r);
}

/* ---- the kill script ------------------------------------------------------------------ */

static const char *kill_names[] = {
	[SCAN_KILL_GONE] = "gone",
	[SCAN_KILL_NOT_MOSH] = "not-mosh",
	[SCAN_KILL_NOT_OWNER] = "not-owner",
	[SCAN_KILL_START_CHANGED] = "start-changed",
	[SCAN_KILL_BAD_REQUEST] = "bad-request",
	[SCAN_KILL_EXITED] = "exited",
	[SCAN_KILL_KILLED] = "killed",
	[SCAN_KILL_ALIVE] = "alive",
	[SCAN_KILL_FAILED] = "failed",
};

const char *
scanparse_kill_status_name(enum scan_kill_status st)
{
	if ((size_t)st >= sizeof kill_names / sizeof kill_names[0])
		return "?";
	return kill_names[st];
}

int
scanparse_kill_gone(enum scan_kill_status st)
{
	return st == SCAN_KILL_GONE || st == SCAN_KILL_START_CHANGED || st == SCAN_KILL_EXITED ||
	    st == SCAN_KILL_KILLED;
}

int
scanparse_kill_args(const struct scan_kill_req *reqs, size_t n, int usr1, int force, char **out,
    char **error)
{
	char *s = NULL, *t = NULL;
	size_t i;

	*out = NULL;
	*error = NULL;
	if (n == 0) {
		*error = xstrdup("nothing to kill");
		return -1;
	}
	xasprintf(&s, "-s %s%s", usr1 ? "USR1" : "TERM", force ? " -f" : "");
	for (i = 0; i < n; i++) {
		if (!pid_ok(reqs[i].pid) || reqs[i].pid == 1 || reqs[i].start == NULL ||
		    !scanparse_token_ok(reqs[i].start)) {
			xasprintf(error, "pid %ld has no usable start time; not killing it",
			    reqs[i].pid);
			free(s);
			return -1;
		}
		xasprintf(&t, "%s %ld:%s", s, reqs[i].pid, reqs[i].start);
		free(s);
		s = t;
	}
	*out = s;
	return 0;
}

int
scanparse_kill(const char *buf, size_t len, struct scan_kill_result *r, char **error)
{
	const char *p = buf, *end = buf + len, *nl;
	char *line = NULL, *f[4];
	size_t n, i, nnames = sizeof kill_names / sizeof kill_names[0];
	int header = 0, trailer = 0, damaged = 0, rc = -1;

	memset(r, 0, sizeof *r);
	r->uid = -1;
	*error = NULL;
	while (p < end) {
		struct scan_kill_report k;
		long w;

		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			damaged = 1; /* cut off */
			break;
		}
		n = (size_t)(nl - p);
		free(line);
		line = NULL;
		if (n > 1024 || memchr(p, '\0', n) != NULL) {
			p = nl + 1;
			damaged |= header;
			continue;
		}
		line = xstrndup(p, n);
		p = nl + 1;
		if (!header) {
			if (strcmp(line, "moshman-kill 1") == 0)
				header = 1;
			continue;
		}
		if (trailer) {
			damaged |= line[0] != '\0';
			continue;
		}
		if (strcmp(line, "end") == 0) {
			trailer = 1;
			continue;
		}
		if (strncmp(line, "me ", 3) == 0) {
			if (number(line + 3, &r->uid) != 0)
				r->uid = -1;
			continue;
		}
		/* A report we cannot read means we do not know what happened to it. */
		if (strncmp(line, "kill ", 5) != 0 || fields(line + 5, f, 4) != 0) {
			damaged = 1;
			continue;
		}
		memset(&k, 0, sizeof k);
		for (i = 0; i < nnames; i++) {
			if (strcmp(f[1], kill_names[i]) == 0)
				break;
		}
		if (number(f[0], &k.pid) != 0 || i == nnames || strlen(f[2]) >= sizeof k.signals ||
		    number(f[3], &w) != 0 || w > 3600) {
			damaged = 1;
			continue;
		}
		k.status = (enum scan_kill_status)i;
		if (strcmp(f[2], "-") != 0)
			snprintf(k.signals, sizeof k.signals, "%s", f[2]);
		k.waited = (int)w;
		r->reports = xreallocarray(r->reports, r->nreports + 1, sizeof *r->reports);
		r->reports[r->nreports++] = k;
	}
	if (!header) {
		*error = xstrdup("no output from the kill script");
		goto out;
	}
	r->complete = trailer && !damaged;
	rc = 0;
out:
	free(line);
	return rc;
}

void
scanparse_kill_free(struct scan_kill_result *r)
{
	free(r->reports);
	memset(r, 0, sizeof *r);
}
