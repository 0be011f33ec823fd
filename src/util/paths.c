/* SPDX-License-Identifier: MIT */
#include "src/util/paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/util/xmalloc.h"

const char *
paths_home(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home != NULL && *home == '/')
		return home;
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL)
		return pw->pw_dir;
	return "/";
}

char *
paths_expand_tilde(const char *p)
{
	char *out;

	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
		xasprintf(&out, "%s%s", paths_home(), p + 1);
		return out;
	}
	return xstrdup(p);
}

char *
paths_db(const char *explicit_path)
{
	const char *env;
	char *out;

	if (explicit_path != NULL && *explicit_path != '\0')
		return paths_expand_tilde(explicit_path);
	if ((env = getenv("MOSHMAN_DB")) != NULL && *env != '\0')
		return paths_expand_tilde(env);
	if ((env = getenv("XDG_DATA_HOME")) != NULL && *env == '/')
		xasprintf(&out, "%s/moshman/moshman.db", env);
	else
		xasprintf(&out, "%s/.local/share/moshman/moshman.db", paths_home());
	return out;
}

int
paths_make_parent(const char *path)
{
	char *dir = xstrdup(path), *slash;
	int rc = -1;

	if ((slash = strrchr(dir, '/')) == NULL) {
		rc = 0;
		goto out;
	}
	*slash = '\0';
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			goto out;
		*p = '/';
	}
	if (*dir != '\0' && mkdir(dir, 0700) == -1 && errno != EEXIST)
		goto out;
	rc = 0;
out:
	free(dir);
	return rc;
}
