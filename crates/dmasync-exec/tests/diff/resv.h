/* The implicit-synchronisation checks of the "dma-buf" section of
 * kernel-behaviour.md, run on any dma-buf (udmabuf, system heap, vgem
 * PRIME behave identically). Included by dmabuf.c and vgem.c. */
#include "probe.h"

/* Makes a new idle buffer of the kind under test. */
typedef int (*new_buf_fn)(void);

/* EXPORT_SYNC_FILE: the sync file, or -errno. */
static int export_sf(int buf, uint32_t flags)
{
	struct dma_buf_export_sync_file e = { .flags = flags, .fd = -1 };
	if (ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e))
		return -errno;
	return e.fd;
}

static const char *import_sf(int buf, uint32_t flags, int fd)
{
	struct dma_buf_import_sync_file i = { .flags = flags, .fd = fd };
	return rc(ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &i));
}

/* Exports with `flags` and prints the sync file. */
static void show_export(const char *label, int buf, uint32_t flags)
{
	int f = export_sf(buf, flags);
	if (f < 0) {
		out("%s: EXPORT %s", label, errname(-f));
		return;
	}
	show_file(label, f);
	close(f);
}

static int export_count(int buf, uint32_t flags)
{
	int f = export_sf(buf, flags), n;
	if (f < 0)
		return -1000 + f;
	n = file_count(f);
	close(f);
	return n;
}

static void resv_suite(const char *k, new_buf_fn new_buf)
{
	int buf = new_buf(), a = open_timeline(), b = open_timeline(), c = open_timeline();
	int fa, fb, m, s, p[2];
	char l[160];

	/* idle */
	out("%s: idle: poll IN|OUT %s", k, poll_now(buf, POLLIN | POLLOUT, 0));
	snprintf(l, sizeof(l), "%s: idle: EXPORT READ", k);
	show_export(l, buf, DMA_BUF_SYNC_READ);
	snprintf(l, sizeof(l), "%s: idle: EXPORT WRITE", k);
	show_export(l, buf, DMA_BUF_SYNC_WRITE);
	snprintf(l, sizeof(l), "%s: idle: EXPORT RW", k);
	show_export(l, buf, DMA_BUF_SYNC_RW);

	/* flags and fds */
	out("%s: EXPORT flags 0 %s", k, errname(-export_sf(buf, 0)));
	out("%s: EXPORT flags READ|4 %s", k, errname(-export_sf(buf, DMA_BUF_SYNC_READ | 4)));
	out("%s: EXPORT flags READ|END %s", k, errname(-export_sf(buf, DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END)));
	out("%s: EXPORT flags READ|1<<31 %s", k, errname(-export_sf(buf, DMA_BUF_SYNC_READ | 0x80000000u)));
	fa = create_fence(a, 1);
	out("%s: IMPORT flags 0 %s", k, import_sf(buf, 0, fa));
	out("%s: IMPORT flags WRITE|4 %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE | 4, fa));
	pipe(p);
	out("%s: IMPORT of a pipe %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, p[0]));
	out("%s: IMPORT of a timeline %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, a));
	out("%s: IMPORT of fd -1 %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, -1));
	out("%s: IMPORT of a closed fd %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, next_fd()));
	out("%s: IMPORT of the buffer itself %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, buf));
	out("%s: after the rejected imports: poll IN|OUT %s", k, poll_now(buf, POLLIN | POLLOUT, 0));
	close(p[0]);
	close(p[1]);

	/* a pending writer */
	out("%s: IMPORT WRITE of a pending fence %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, fa));
	out("%s: writer: poll IN %s, OUT %s", k, poll_now(buf, POLLIN, 0), poll_now(buf, POLLOUT, 0));
	snprintf(l, sizeof(l), "%s: writer: EXPORT READ", k);
	show_export(l, buf, DMA_BUF_SYNC_READ);
	snprintf(l, sizeof(l), "%s: writer: EXPORT WRITE", k);
	show_export(l, buf, DMA_BUF_SYNC_WRITE);

	/* a reader beside it */
	fb = create_fence(b, 1);
	out("%s: IMPORT READ of a pending fence %s", k, import_sf(buf, DMA_BUF_SYNC_READ, fb));
	snprintf(l, sizeof(l), "%s: writer+reader: EXPORT READ", k);
	show_export(l, buf, DMA_BUF_SYNC_READ);
	snprintf(l, sizeof(l), "%s: writer+reader: EXPORT WRITE", k);
	show_export(l, buf, DMA_BUF_SYNC_WRITE);
	inc(a, 1);
	out("%s: writer signalled: poll IN %s, OUT %s", k, poll_now(buf, POLLIN, 0), poll_now(buf, POLLOUT, 0));
	snprintf(l, sizeof(l), "%s: writer signalled: EXPORT READ", k);
	show_export(l, buf, DMA_BUF_SYNC_READ);
	snprintf(l, sizeof(l), "%s: writer signalled: EXPORT WRITE", k);
	show_export(l, buf, DMA_BUF_SYNC_WRITE);
	inc(b, 1);
	out("%s: all signalled: poll IN|OUT %s", k, poll_now(buf, POLLIN | POLLOUT, 0));
	close(fa);
	close(fb);
	close(buf);

	/* merged files are unwrapped; re-imports do not grow the count */
	buf = new_buf();
	fa = create_fence(a, 2);
	fb = create_fence(b, 2);
	s = create_fence(c, 1);
	m = merge("abc", fa, fb);
	{
		int m3 = merge("abc", m, s);
		close(m);
		m = m3;
	}
	out("%s: IMPORT WRITE of a merge of 3 %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, m));
	out("%s: merge of 3: EXPORT WRITE count %d", k, export_count(buf, DMA_BUF_SYNC_WRITE));
	out("%s: IMPORT WRITE of the same merge %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, m));
	out("%s: same again: EXPORT WRITE count %d", k, export_count(buf, DMA_BUF_SYNC_WRITE));
	{
		int a3 = create_fence(a, 3);
		out("%s: IMPORT WRITE of a later point %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, a3));
		out("%s: later point: EXPORT WRITE count %d", k, export_count(buf, DMA_BUF_SYNC_WRITE));
		snprintf(l, sizeof(l), "%s: later point: EXPORT WRITE", k);
		show_export(l, buf, DMA_BUF_SYNC_WRITE);
		close(a3);
	}
	close(m);
	close(fa);
	close(fb);
	close(s);
	close(buf);
	inc(a, 3);
	inc(b, 2);
	inc(c, 1);

	/* READ on a context already present as WRITE */
	buf = new_buf();
	{
		int a5 = create_fence(a, 5), b4 = create_fence(b, 4), a6 = create_fence(a, 6);
		int w = merge("w", a5, b4);
		out("%s: IMPORT WRITE {a5,b4} %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, w));
		out("%s: IMPORT READ {a6} %s", k, import_sf(buf, DMA_BUF_SYNC_READ, a6));
		out("%s: WRITE{a5,b4}+READ{a6}: EXPORT WRITE count %d, EXPORT READ count %d", k,
		    export_count(buf, DMA_BUF_SYNC_WRITE), export_count(buf, DMA_BUF_SYNC_READ));
		inc(a, 3);
		inc(b, 2);
		close(w);
		close(a5);
		close(b4);
		close(a6);
	}
	close(buf);

	/* signalled and errored fences */
	buf = new_buf();
	s = create_fence(a, 1);
	out("%s: IMPORT WRITE of a signalled fence %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, s));
	out("%s: signalled import: poll IN|OUT %s", k, poll_now(buf, POLLIN | POLLOUT, 0));
	snprintf(l, sizeof(l), "%s: signalled import: EXPORT WRITE", k);
	show_export(l, buf, DMA_BUF_SYNC_WRITE);
	close(s);
	{
		int t = open_timeline(), e = create_fence(t, 1);
		out("%s: IMPORT WRITE of a fence to be errored %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, e));
		close(t);
		out("%s: errored writer: poll IN (blocking) %s", k, poll_now(buf, POLLIN, -1));
		out("%s: errored writer: sync file status %d", k, file_status(e));
		snprintf(l, sizeof(l), "%s: errored writer: EXPORT READ", k);
		show_export(l, buf, DMA_BUF_SYNC_READ);
		close(e);
	}
	close(buf);

	/* another process signals; epoll */
	buf = new_buf();
	{
		int f = create_fence(c, 5), ep = epoll_create1(EPOLL_CLOEXEC), et = epoll_create1(EPOLL_CLOEXEC),
		    sp = epoll_create1(EPOLL_CLOEXEC), status;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
		pid_t pid;
		out("%s: IMPORT READ %s", k, import_sf(buf, DMA_BUF_SYNC_READ, f));
		out("%s: epoll ADD %s", k, rc(epoll_ctl(ep, EPOLL_CTL_ADD, buf, &ev)));
		out("%s: epoll ADD sync file %s", k, rc(epoll_ctl(sp, EPOLL_CTL_ADD, f, &ev)));
		ev.events |= EPOLLET;
		out("%s: epoll ADD edge-triggered %s", k, rc(epoll_ctl(et, EPOLL_CTL_ADD, buf, &ev)));
		out("%s: pending reader: epoll %s, edge %s, sync file %s", k, epoll_now(ep, 0), epoll_now(et, 0),
		    epoll_now(sp, 0));
		out("%s: pending reader: edge again %s", k, epoll_now(et, 0));
		pid = fork();
		if (pid == 0)
			exit(inc(c, 4) ? 1 : 0);
		out("%s: poll OUT (blocking) while a child signals %s", k, poll_now(buf, POLLOUT, -1));
		waitpid(pid, &status, 0);
		out("%s: child exit %d", k, WEXITSTATUS(status));
		out("%s: signalled: epoll %s, again %s", k, epoll_now(ep, 0), epoll_now(ep, 0));
		out("%s: signalled: edge %s, again %s", k, epoll_now(et, 0), epoll_now(et, 0));
		out("%s: signalled: sync file epoll %s", k, epoll_now(sp, 0));
		{
			int t = open_timeline(), r = create_fence(t, 1), w = create_fence(t, 2);
			out("%s: IMPORT READ after ready %s", k, import_sf(buf, DMA_BUF_SYNC_READ, r));
			out("%s: new reader: epoll %s, edge %s", k, epoll_now(ep, 0), epoll_now(et, 0));
			out("%s: IMPORT WRITE %s", k, import_sf(buf, DMA_BUF_SYNC_WRITE, w));
			out("%s: new writer: epoll %s, edge %s", k, epoll_now(ep, 0), epoll_now(et, 0));
			inc(t, 1);
			out("%s: reader signalled: epoll %s, edge %s", k, epoll_now(ep, 0), epoll_now(et, 0));
			inc(t, 1);
			out("%s: writer signalled: epoll %s, edge %s", k, epoll_now(ep, 0), epoll_now(et, 0));
			close(w);
			close(r);
			close(t);
		}
		close(sp);
		close(et);
		close(ep);
		close(f);
	}
	close(buf);

	/* 16 writers */
	buf = new_buf();
	{
		int t[16];
		for (int i = 0; i < 16; i++) {
			int f;
			t[i] = open_timeline();
			f = create_fence(t[i], 1);
			import_sf(buf, DMA_BUF_SYNC_WRITE, f);
			close(f);
		}
		out("%s: 16 writers: EXPORT WRITE count %d, EXPORT READ count %d", k,
		    export_count(buf, DMA_BUF_SYNC_WRITE), export_count(buf, DMA_BUF_SYNC_READ));
		for (int i = 0; i < 15; i++)
			inc(t[i], 1);
		out("%s: 15 of 16 signalled: EXPORT WRITE count %d, poll IN %s", k, export_count(buf, DMA_BUF_SYNC_WRITE),
		    poll_now(buf, POLLIN, 0));
		inc(t[15], 1);
		out("%s: 16 of 16 signalled: poll IN|OUT %s", k, poll_now(buf, POLLIN | POLLOUT, 0));
		for (int i = 0; i < 16; i++)
			close(t[i]);
	}
	close(buf);

	/* DMA_BUF_IOCTL_SYNC and SET_NAME on an idle buffer */
	buf = new_buf();
	{
		static const uint64_t flags[] = { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW,
						  DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW, 0, DMA_BUF_SYNC_END, 8 | DMA_BUF_SYNC_READ,
						  1ull << 32 | DMA_BUF_SYNC_READ };
		for (unsigned i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
			struct dma_buf_sync sy = { flags[i] };
			out("%s: DMA_BUF_IOCTL_SYNC %#llx %s", k, (unsigned long long)flags[i],
			    rc(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sy)));
		}
		out("%s: SET_NAME_B \"probe-name\" %s", k, rc(ioctl(buf, DMA_BUF_SET_NAME_B, "probe-name")));
		out("%s: SET_NAME_A \"other\" %s", k, rc(ioctl(buf, DMA_BUF_SET_NAME_A, "other")));
		out("%s: SET_NAME of 40 bytes %s", k,
		    rc(ioctl(buf, DMA_BUF_SET_NAME_B, "0123456789012345678901234567890123456789")));
		out("%s: SET_NAME of 31 bytes %s", k,
		    rc(ioctl(buf, DMA_BUF_SET_NAME_B, "0123456789012345678901234567890")));
		out("%s: SET_NAME of 32 bytes %s", k,
		    rc(ioctl(buf, DMA_BUF_SET_NAME_B, "01234567890123456789012345678901")));
		out("%s: SET_NAME empty %s", k, rc(ioctl(buf, DMA_BUF_SET_NAME_B, "")));
	}
	close(buf);
	close(a);
	close(b);
	close(c);
}

/* fdinfo lines of a dma-buf that do not depend on the run. */
static void show_fdinfo(const char *label, int fd)
{
	char path[64], line[256];
	FILE *f;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f) {
		out("%s: fdinfo %s", label, errname(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "size:", 5) || !strncmp(line, "exp_name:", 9) || !strncmp(line, "name:", 5) ||
		    !strncmp(line, "flags:", 6) || !strncmp(line, "count:", 6))
			out("%s: fdinfo %s", label, line);
	}
	fclose(f);
}
