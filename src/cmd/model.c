/* SPDX-License-Identifier: MIT */
#include "src/cmd/model.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "src/session/liveness.h"
#include "src/ssh/profile.h"
#include "src/util/clock.h"
#include "src/util/xmalloc.h"

#define RECENT_MS (3600 * 1000)
#define MAX_SESSIONS 200

void
model_init(struct model *m, struct db *db)
{
	memset(m, 0, sizeof *m);
	m->db = db;
	m->version = -1;
}

static void
free_hosts(struct model *m)
{
	for (size_t i = 0; i < m->nhosts; i++) {
		db_host_clear(&m->hosts[i].h);
		free(m->hosts[i].route);
	}
	free(m->hosts);
	m->hosts = NULL;
	m->nhosts = 0;
}

void
model_free(struct model *m)
{
	free_hosts(m);
	db_session_list_free(m->sessions, m->nsessions);
	m->sessions = NULL;
	m->nsessions = 0;
}

const char *
model_sort_name(enum model_sort s)
{
	switch (s) {
	case MODEL_SORT_NAME:
		return "name";
	case MODEL_SORT_TAG:
		return "tag";
	default:
		return "recent";
	}
}

static enum model_sort sort_key;

static int
cmp_hosts(const void *a, const void *b)
{
	const struct model_host *x = a, *y = b;
	const char *tx, *ty;
	int c;

	if (x->h.pinned != y->h.pinned)
		return y->h.pinned - x->h.pinned;
	switch (sort_key) {
	case MODEL_SORT_TAG:
		tx = x->h.ntags ? x->h.tags[0] : NULL;
		ty = y->h.ntags ? y->h.tags[0] : NULL;
		if (tx == NULL || ty == NULL) {
			if (tx != ty)
				return tx == NULL ? 1 : -1; /* untagged last */
		} else if ((c = strcasecmp(tx, ty)) != 0)
			return c;
		break;
	case MODEL_SORT_RECENT:
		if (x->h.last_used_at != y->h.last_used_at)
			return x->h.last_used_at < y->h.last_used_at ? 1 : -1;
		break;
	default:
		break;
	}
	return strcasecmp(x->h.name, y->h.name);
}

void
model_set_sort(struct model *m, enum model_sort s)
{
	m->sort = s;
	sort_key = s;
	if (m->nhosts > 1)
		qsort(m->hosts, m->nhosts, sizeof *m->hosts, cmp_hosts);
}

static const char *
route_kind(const struct db_host *h)
{
	if (h->proxy_type != NULL && strcmp(h->proxy_type, "none") != 0)
		return strcmp(h->proxy_type, "http") == 0 ? "http" : "socks5";
	if (h->jump != NULL)
		return "jump";
	if (h->proxy_command != NULL)
		return "command";
	return "direct";
}

int
model_refresh(struct model *m, int force, char **err)
{
	struct db_host *hosts = NULL;
	struct db_host_stats *st = NULL;
	struct db_session *sess = NULL;
	size_t nh = 0, ns = 0, nst = 0;
	int64_t version;

	*err = NULL;
	/* Notice dead supervisors first: their sessions become orphaned.  data_version
	 * only counts other connections' commits, so our own marks force the reload. */
	if (liveness_reap(m->db) > 0)
		force = 1;
	version = db_data_version(m->db);
	if (!force && version >= 0 && version == m->version)
		return 0;
	/* One snapshot, one lock, for the three reads. */
	if (db_begin_read(m->db) != DB_OK || db_host_list(m->db, &hosts, &nh) != DB_OK ||
	    db_host_stats(m->db, &st, &nst) != DB_OK ||
	    db_session_recent(m->db, clock_epoch_ms() - RECENT_MS, MAX_SESSIONS, &sess, &ns) !=
	        DB_OK) {
		*err = xstrdup(db_error(m->db));
		db_rollback(m->db);
		db_host_list_free(hosts, nh);
		db_free(st);
		return -1;
	}
	db_commit(m->db);
	model_free(m);
	m->hosts = xcalloc(nh, sizeof *m->hosts);
	m->nhosts = nh;
	for (size_t i = 0; i < nh; i++) {
		struct model_host *mh = &m->hosts[i];

		mh->h = hosts[i]; /* take ownership of the strings */
		mh->route = profile_route(&mh->h);
		mh->kind = route_kind(&mh->h);
		for (size_t j = 0; j < nst; j++) {
			if (st[j].host_id != mh->h.id)
				continue;
			mh->live = st[j].live;
			mh->scanned_at = st[j].scanned_at;
			mh->detached = st[j].scan_detached;
			mh->orphans = st[j].scanned_at ? st[j].scan_orphans : st[j].orphaned;
			break;
		}
	}
	db_free(hosts); /* the array only: its strings now belong to m->hosts */
	db_free(st);
	m->sessions = sess;
	m->nsessions = ns;
	m->nlive = m->norphaned = 0;
	for (size_t i = 0; i < ns; i++) {
		if (db_session_is_live_state(sess[i].state))
			m->nlive++;
		else if (strcmp(sess[i].state, "orphaned") == 0)
			m->norphaned++;
	}
	model_set_sort(m, m->sort);
	m->version = version;
	return 1;
}

int
model_host_matches(const struct model_host *mh, const char *filter)
{
	if (filter == NULL || *filter == '\0')
		return 1;
	if (strcasestr(mh->h.name, filter) || strcasestr(mh->h.hostname, filter) ||
	    (mh->h.user && strcasestr(mh->h.user, filter)) || strcasestr(mh->route, filter))
		return 1;
	for (size_t i = 0; i < mh->h.ntags; i++) {
		if (strcasestr(mh->h.tags[i], filter))
			return 1;
	}
	return 0;
}

int
model_scan(struct model *m, int64_t host_id, struct db_scan *scan, struct db_scan_server **v,
    size_t *n)
{
	return db_scan_get(m->db, host_id, scan, v, n);
}

int
model_pin(struct model *m, int64_t host_id, int pinned, char **err)
{
	if (db_host_set_pinned(m->db, host_id, pinned) != DB_OK) {
		*err = xstrdup(db_error(m->db));
		return -1;
	}
	return 0;
}

int
model_delete(struct model *m, const char *name, char **err)
{
	if (db_host_delete(m->db, name) != DB_OK) {
		*err = xstrdup(db_error(m->db));
		return -1;
	}
	return 0;
}

int
model_save(struct model *m, struct db_host *h, int insert, char **err)
{
	int rc;

	if (profile_check(h, err) == -1)
		return -1;
	rc = insert ? db_host_insert(m->db, h) : db_host_update(m->db, h);
	if (rc != DB_OK) {
		*err = xstrdup(db_error(m->db));
		return rc == DB_EXISTS ? DB_EXISTS : -1;
	}
	return 0;
}

int
model_host_get(struct model *m, const char *name, struct db_host *h, char **err)
{
	if (db_host_get(m->db, name, h) != DB_OK) {
		*err = xstrdup(db_error(m->db));
		return -1;
	}
	return 0;
}
