/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "src/session/liveness.h"
#include "src/util/proc.h"
#include "tests/unit/unit.h"

static char dir[] = "/tmp/moshman-liveness.XXXXXX";

static int64_t
add_session(struct db *db, const char *state, pid_t sup, uint64_t start, const char *boot,
    int mosh_port)
{
	struct db_session s;

	memset(&s, 0, sizeof s);
	s.host_name = (char *)(uintptr_t) "h";
	s.state = (char *)(uintptr_t)state;
	s.supervisor_pid = sup;
	s.supervisor_start = start;
	s.boot_id = (char *)(uintptr_t)boot;
	s.mosh_port = mosh_port;
	s.started_at = db_now_ms();
	s.session_key = (char *)(uintptr_t) "AAAAAAAAAAAAAAAAAAAAAA";
	if (db_session_insert(db, &s) != DB_OK)
		return 0;
	return s.id;
}

static void
state_is(struct db *db, int64_t id, const char *want, int key_wiped)
{
	struct db_session s;

	memset(&s, 0, sizeof s);
	CHECK_INT(db_session_get(db, id, &s), DB_OK);
	CHECK_STR(s.state, want);
	CHECK_INT(s.session_key == NULL, key_wiped);
	db_session_clear(&s);
}

static void
reap(void)
{
	char path[256], err[256], boot[PROC_BOOT_ID_LEN];
	struct db *db = NULL;
	int64_t alive, dead, reused, otherboot, early, ended;
	uint64_t me = proc_start_time(getpid());
	pid_t child;
	int st;

	snprintf(path, sizeof path, "%s/m.db", dir);
	CHECK_INT(db_open(path, &db, err, sizeof err), DB_OK);
	if (db == NULL)
		return;
	proc_boot_id(boot, sizeof boot);
	/* A pid that existed and is gone. */
	if ((child = fork()) == 0)
		_exit(0);
	waitpid(child, &st, 0);

	alive = add_session(db, "up", getpid(), me, boot, 60001);
	dead = add_session(db, "up", child, 12345, boot, 60002);
	reused = add_session(db, "degraded", getpid(), me + 7, boot, 60003);
	otherboot =
	    add_session(db, "up", getpid(), me, "11111111-2222-3333-4444-555555555555", 60004);
	early = add_session(db, "starting", child, 12345, boot, 0);
	ended = add_session(db, "closed", child, 12345, boot, 60005);
	CHECK(alive && dead && reused && otherboot && early && ended);

	CHECK_INT(liveness_reap(db), 4);
	state_is(db, alive, "up", 0);
	state_is(db, dead, "orphaned", 1);
	state_is(db, reused, "orphaned", 1);
	state_is(db, otherboot, "orphaned", 1);
	state_is(db, early, "failed", 1);
	state_is(db, ended, "closed", 0);
	/* Idempotent: nothing left to mark. */
	CHECK_INT(liveness_reap(db), 0);
	db_close(db);
	unlink(path);
	snprintf(path, sizeof path, "%s/m.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/m.db-shm", dir);
	unlink(path);
}

int
main(void)
{
	UNIT_BEGIN("test_liveness");
	if (mkdtemp(dir) == NULL) {
		printf("not ok - test_liveness: mkdtemp\n");
		return 1;
	}
	RUN(reap);
	rmdir(dir);
	UNIT_END();
}
