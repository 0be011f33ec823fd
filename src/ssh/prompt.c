/* SPDX-License-Identifier: MIT */
#include "src/ssh/prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "src/util/xmalloc.h"

#define PROMPT_MAX 1024

static volatile sig_atomic_t prompt_interrupted;

static void
prompt_sigint(int sig)
{
	prompt_interrupted = 1;
}

static int
prompt_open(void)
{
	return open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
}

int
prompt_available(void)
{
	int fd = prompt_open();

	if (fd == -1)
		return 0;
	close(fd);
	return 1;
}

static void
prompt_write(int fd, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;

	while (len > 0) {
		n = write(fd, s, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

int
prompt_say(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int fd;

	if ((fd = prompt_open()) == -1)
		return -1;
	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	prompt_write(fd, s);
	free(s);
	close(fd);
	return 0;
}

/* Reads a line from fd into buf; Ctrl-C (SIGINT) aborts the read without killing us
 * while the terminal may have echo off.  Returns the length or -1. */
static ssize_t
prompt_read(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	char c;

	while (len + 1 < size) {
		n = read(fd, &c, 1);
		if (n == -1 && errno == EINTR && !prompt_interrupted)
			continue;
		if (n <= 0 || prompt_interrupted)
			return -1;
		if (c == '\n' || c == '\r')
			break;
		buf[len++] = c;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

char *
prompt_line(const char *prompt, int echo)
{
	struct sigaction sa, oint, oquit;
	struct termios saved, t;
	char *line = NULL, buf[PROMPT_MAX];
	int fd, restore = 0;
	ssize_t n;

	if ((fd = prompt_open()) == -1)
		return NULL;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = prompt_sigint;
	sigemptyset(&sa.sa_mask);
	prompt_interrupted = 0;
	sigaction(SIGINT, &sa, &oint);
	sigaction(SIGQUIT, &sa, &oquit);
	if (!echo && tcgetattr(fd, &saved) == 0) {
		t = saved;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		t.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &t) == 0)
			restore = 1;
	}
	prompt_write(fd, prompt);
	n = prompt_read(fd, buf, sizeof buf);
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &saved);
		prompt_write(fd, "\n");
	}
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	if (n >= 0)
		line = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	close(fd);
	return line;
}

int
prompt_yesno(const char *question)
{
	char *answer;
	int rc = -1;

	if (!prompt_available())
		return -1;
	for (;;) {
		if ((answer = prompt_line(question, 1)) == NULL)
			return 0;
		if (strcasecmp(answer, "yes") == 0)
			rc = 1;
		else if (strcasecmp(answer, "no") == 0)
			rc = 0;
		free(answer);
		if (rc != -1)
			return rc;
		question = "Please type 'yes' or 'no': ";
	}
}
