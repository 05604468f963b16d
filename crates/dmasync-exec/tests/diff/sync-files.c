/* File-level behaviour of sync files and sw_sync timelines: what programs
 * rely on besides the ioctls (fstat, lseek, read, mmap, fcntl, poll, epoll,
 * fork, SCM_RIGHTS, the ioctls an fd does not know). The "File-level
 * behaviour" section of kernel-behaviour.md. Golden: golden/sync-files.txt. */
#include "probe.h"
#include <sys/eventfd.h>

static const char *mode_of(int fd)
{
	static char buf[4][32];
	static int slot;
	struct stat st;
	if (fstat(fd, &st))
		return errname(errno);
	slot = (slot + 1) % 4;
	snprintf(buf[slot], 32, "mode=%o size=%lld", st.st_mode, (long long)st.st_size);
	return buf[slot];
}

static const char *same_inode(int a, int b)
{
	struct stat x, y;
	if (fstat(a, &x) || fstat(b, &y))
		return errname(errno);
	return yesno(x.st_dev == y.st_dev && x.st_ino == y.st_ino);
}

static const char *rw_of(int fd)
{
	static const char *modes[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "?" };
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? errname(errno) : modes[fl & O_ACCMODE];
}

static const char *cloexec_of(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	return fl < 0 ? errname(errno) : yesno(fl & FD_CLOEXEC);
}

static const char *mmap_of(int fd, int prot, int flags)
{
	void *p = mmap(NULL, PAGE, prot, flags, fd, 0);
	if (p == MAP_FAILED)
		return errname(errno);
	munmap(p, PAGE);
	return "ok";
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* read() of one byte, interrupted after 2 s should it block (the kernel
 * answers at once). */
static const char *read_guarded(int fd)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	char byte;
	long r;
	int e;
	sigaction(SIGALRM, &sa, NULL);
	alarm(2);
	r = read(fd, &byte, 1);
	e = errno;
	alarm(0);
	errno = e;
	return rc(r);
}

static void sync_file_fd(void)
{
	int tl = open_timeline(), f = create_fence(tl, 1), g = create_fence(tl, 2), d, m;
	struct stat st;

	out("sync file: FD_CLOEXEC %s", cloexec_of(f));
	out("sync file: access mode %s", rw_of(f));
	out("sync file: F_GETFL 0%o, F_GET_SEALS %s", fcntl(f, F_GETFL), rc(fcntl(f, F_GET_SEALS)));
	out("sync file: F_SETFL O_NONBLOCK %s", rc(fcntl(f, F_SETFL, O_NONBLOCK)));
	out("sync file: then F_GETFL 0%o", fcntl(f, F_GETFL));
	out("sync file: F_ADD_SEALS %s", rc(fcntl(f, F_ADD_SEALS, F_SEAL_WRITE)));
	out("sync file: F_SETFL 0 %s", rc(fcntl(f, F_SETFL, 0)));
	out("sync file: then F_GETFL 0%o", fcntl(f, F_GETFL));
	out("sync file: fstat %s", mode_of(f));
	out("sync file: lseek 0 SEEK_SET %s", rc(lseek(f, 0, SEEK_SET)));
	out("sync file: lseek 0 SEEK_END %s", rc(lseek(f, 0, SEEK_END)));
	{
		int n = -1;
		out("sync file: FIONREAD %s", rc(ioctl(f, FIONREAD, &n)));
	}
	out("sync file: read %s", read_guarded(f));
	out("sync file: write %s", rc(write(f, "x", 1)));
	out("sync file: mmap shared %s", mmap_of(f, PROT_READ, MAP_SHARED));
	out("sync file: mmap private %s", mmap_of(f, PROT_READ, MAP_PRIVATE));
	out("sync file: two sync files share an inode %s", same_inode(f, g));
	d = dup(f);
	out("sync file: dup has the same inode %s", same_inode(f, d));
	out("sync file: dup FD_CLOEXEC %s", cloexec_of(d));
	out("sync file: FILE_INFO through the dup: status %d", file_status(d));
	inc(tl, 1);
	out("sync file: signalled, through the dup: status %d", file_status(d));
	out("sync file: signalled: poll IN|OUT %s", poll_now(f, POLLIN | POLLOUT, 0));
	out("sync file: signalled: read %s", read_guarded(f));
	out("sync file: signalled: poll IN after read %s", poll_now(f, POLLIN, 0));
	out("sync file: signalled: fstat %s", mode_of(f));
	close(d);
	m = merge("m", f, g);
	out("merged file: FD_CLOEXEC %s", cloexec_of(m));
	out("merged file: access mode %s", rw_of(m));
	out("merged file: fstat %s", mode_of(m));
	d = fcntl(m, F_DUPFD, 100);
	out("merged file: F_DUPFD copy status %d", file_status(d));
	close(d);
	close(m);
	/* O_PATH opens through /proc of a sync file. */
	{
		char path[64];
		int r;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", g);
		r = open(path, O_RDONLY);
		out("sync file: reopen through /proc/self/fd %s", rc(r));
		if (r >= 0)
			close(r);
	}
	out("sync file: fstatat AT_EMPTY_PATH %s", rc(fstatat(f, "", &st, AT_EMPTY_PATH)));
	close(f);
	close(g);
	close(tl);
}

static void timeline_fd(void)
{
	int tl = open_timeline(), tl2 = open_timeline(), ro, nocloexec, ep;
	struct stat st;
	struct epoll_event ev = { .events = EPOLLIN };

	out("timeline: FD_CLOEXEC with O_CLOEXEC %s", cloexec_of(tl));
	nocloexec = open(SW_SYNC, O_RDWR);
	out("timeline: FD_CLOEXEC without O_CLOEXEC %s", cloexec_of(nocloexec));
	out("timeline: access mode %s", rw_of(tl));
	out("timeline: F_GETFL 0%o, F_GET_SEALS %s, F_ADD_SEALS %s", fcntl(tl, F_GETFL), rc(fcntl(tl, F_GET_SEALS)),
	    rc(fcntl(tl, F_ADD_SEALS, F_SEAL_WRITE)));
	out("timeline: fstat %s", mode_of(tl));
	out("timeline: stat path %s", rc(stat(SW_SYNC, &st)));
	out("timeline: stat path mode=%o size=%lld", st.st_mode, (long long)st.st_size);
	out("timeline: access R|W %s", rc(access(SW_SYNC, R_OK | W_OK)));
	out("timeline: two timelines share an inode %s", same_inode(tl, tl2));
	{
		/* Through /proc the debugfs file is opened again: a new timeline. */
		char path[64];
		int r, pt;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", tl);
		r = open(path, O_RDWR | O_CLOEXEC);
		out("timeline: reopen through /proc/self/fd %s", rc(r));
		pt = r < 0 ? -1 : create_fence(r, 1);
		inc(tl, 1);
		out("timeline: a point of the reopened one after INC of the first: status %d", file_status(pt));
		inc(r, 1);
		out("timeline: after INC of the reopened one: status %d", file_status(pt));
		close(pt);
		close(r);
	}
	out("timeline: lseek 0 SEEK_SET %s", rc(lseek(tl, 0, SEEK_SET)));
	out("timeline: lseek 0 SEEK_END %s", rc(lseek(tl, 0, SEEK_END)));
	out("timeline: lseek 5 SEEK_CUR %s", rc(lseek(tl, 5, SEEK_CUR)));
	out("timeline: fallocate %s", rc(fallocate(tl, 0, 0, 4096)));
	out("sync file: fallocate %s", rc(fallocate(tl2 >= 0 ? create_fence(tl2, 9) : -1, 0, 0, 4096)));
	{
		int n = -1;
		out("timeline: FIONREAD %s", rc(ioctl(tl, FIONREAD, &n)));
	}
	out("timeline: read %s", read_guarded(tl));
	out("timeline: write %s", rc(write(tl, "x", 1)));
	out("timeline: mmap shared %s", mmap_of(tl, PROT_READ, MAP_SHARED));
	out("timeline: poll IN|OUT %s", poll_now(tl, POLLIN | POLLOUT, 0));
	ep = epoll_create1(EPOLL_CLOEXEC);
	out("timeline: epoll_ctl ADD %s", rc(epoll_ctl(ep, EPOLL_CTL_ADD, tl, &ev)));
	close(ep);
	ro = open(SW_SYNC, O_RDONLY | O_CLOEXEC);
	out("timeline: open O_RDONLY %s", rc(ro));
	out("timeline: O_RDONLY access mode %s", rw_of(ro));
	{
		int f = create_fence(ro, 1);
		out("timeline: CREATE_FENCE on O_RDONLY %s", f >= 0 ? "ok" : errname(-f));
		out("timeline: INC on O_RDONLY %s", rc(inc(ro, 1)));
		if (f >= 0) {
			out("timeline: O_RDONLY fence status %d", file_status(f));
			close(f);
		}
	}
	close(ro);
	close(nocloexec);
	close(tl2);
	close(tl);
}

static void not_known(void)
{
	int tl = open_timeline(), f = create_fence(tl, 1), p[2], efd, mfd;
	char legacy[40] = { 0 };
	struct sync_file_info info;
	struct dma_buf_export_sync_file ex = { .flags = DMA_BUF_SYNC_READ };
	uint32_t one = 1;
	static const int nrs[] = { 0, 1, 2, 6, 7, 0x40, 0xff };

	memset(&info, 0, sizeof(info));
	out("ENOTTY: legacy FENCE_INFO on a sync file %s", rc(ioctl(f, SYNC_IOC_LEGACY_FENCE_INFO, legacy)));
	out("ENOTTY: EXPORT_SYNC_FILE on a sync file %s", rc(ioctl(f, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &ex)));
	out("ENOTTY: DMA_BUF_IOCTL_SYNC on a sync file %s",
	    rc(ioctl(f, DMA_BUF_IOCTL_SYNC, &(struct dma_buf_sync){ DMA_BUF_SYNC_READ })));
	out("ENOTTY: SW_SYNC_IOC_INC on a sync file %s", rc(ioctl(f, SW_SYNC_IOC_INC, &one)));
	for (unsigned i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		out("ENOTTY: _IO('>', %#x) on a sync file %s", nrs[i], rc(ioctl(f, _IO('>', nrs[i]))));
		out("ENOTTY: _IOWR('>', %#x, 56 bytes) on a sync file %s", nrs[i],
		    rc(ioctl(f, _IOWR('>', nrs[i], struct sync_file_info), &info)));
	}
	out("ENOTTY: FILE_INFO on a timeline %s", rc(ioctl(tl, SYNC_IOC_FILE_INFO, &info)));
	out("ENOTTY: MERGE on a timeline %s", rc(ioctl(tl, SYNC_IOC_MERGE, &info)));
	out("ENOTTY: legacy FENCE_INFO on a timeline %s", rc(ioctl(tl, SYNC_IOC_LEGACY_FENCE_INFO, legacy)));
	out("ENOTTY: _IO('W', 3) on a timeline %s", rc(ioctl(tl, _IO('W', 3))));
	out("ENOTTY: FIONREAD on a timeline %s", rc(ioctl(tl, FIONREAD, &one)));
	pipe(p);
	out("ENOTTY: FILE_INFO on a pipe %s", rc(ioctl(p[0], SYNC_IOC_FILE_INFO, &info)));
	out("ENOTTY: EXPORT_SYNC_FILE on a pipe %s", rc(ioctl(p[0], DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &ex)));
	out("ENOTTY: INC on a pipe %s", rc(ioctl(p[0], SW_SYNC_IOC_INC, &one)));
	efd = eventfd(0, EFD_CLOEXEC);
	out("ENOTTY: FILE_INFO on an eventfd %s", rc(ioctl(efd, SYNC_IOC_FILE_INFO, &info)));
	mfd = memfd_create("probe", MFD_CLOEXEC);
	out("ENOTTY: FILE_INFO on a memfd %s", rc(ioctl(mfd, SYNC_IOC_FILE_INFO, &info)));
	out("ENOTTY: CREATE_FENCE on a memfd %s", rc(ioctl(mfd, SW_SYNC_IOC_CREATE_FENCE, legacy)));
	close(mfd);
	close(efd);
	close(p[0]);
	close(p[1]);
	close(f);
	close(tl);
}

static void epolls(void)
{
	int tl = open_timeline(), f = create_fence(tl, 1), lt = epoll_create1(EPOLL_CLOEXEC),
	    et = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };

	out("epoll: ADD level-triggered %s", rc(epoll_ctl(lt, EPOLL_CTL_ADD, f, &ev)));
	ev.events |= EPOLLET;
	out("epoll: ADD edge-triggered %s", rc(epoll_ctl(et, EPOLL_CTL_ADD, f, &ev)));
	out("epoll: pending: level %s edge %s", epoll_now(lt, 0), epoll_now(et, 0));
	inc(tl, 1);
	out("epoll: signalled: level %s", epoll_now(lt, -1));
	out("epoll: signalled: edge %s", epoll_now(et, -1));
	out("epoll: again: level %s edge %s", epoll_now(lt, 0), epoll_now(et, 0));
	ev.events = EPOLLIN | EPOLLET;
	out("epoll: MOD edge-triggered %s", rc(epoll_ctl(et, EPOLL_CTL_MOD, f, &ev)));
	out("epoll: after MOD: edge %s", epoll_now(et, 0));
	close(f);
	out("epoll: after close: level %s", epoll_now(lt, 0));
	close(lt);
	close(et);
	close(tl);
}

static int send_fd(int sock, int fd)
{
	char byte = 'f', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	int fd = -1;
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1 || !CMSG_FIRSTHDR(&msg))
		return -1;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	return fd;
}

static void other_processes(void)
{
	int tl = open_timeline(), f = create_fence(tl, 1), inherited = create_fence(tl, 2), sv[2], ready[2], status;
	char byte;
	pid_t pid;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	pipe(ready);
	pid = fork();
	if (pid == 0) {
		int got = recv_fd(sv[1]), ctl, cf;
		out("child: received a sync file %s", yesno(got >= 0));
		out("child: received fd FD_CLOEXEC %s", cloexec_of(got));
		out("child: status before %d", file_status(got));
		/* The child's own timeline and fence. */
		ctl = open_timeline();
		cf = create_fence(ctl, 1);
		out("child: own fence: %s", rc(inc(ctl, 1)));
		out("child: own fence status %d", file_status(cf));
		write(ready[1], "r", 1);
		out("child: poll IN (blocking) on the received file %s", poll_now(got, POLLIN, -1));
		out("child: received file status %d", file_status(got));
		out("child: poll IN (blocking) on the inherited file %s", poll_now(inherited, POLLIN, -1));
		out("child: inherited file status %d", file_status(inherited));
		exit(0);
	}
	send_fd(sv[0], f);
	read(ready[0], &byte, 1);
	inc(tl, 2);
	waitpid(pid, &status, 0);
	out("parent: child exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	out("parent: status %d", file_status(f));
	close(sv[0]);
	close(sv[1]);
	close(ready[0]);
	close(ready[1]);
	close(f);
	close(inherited);

	/* A timeline passed to a child: its fences signal from there. */
	f = create_fence(tl, 3);
	pid = fork();
	if (pid == 0)
		exit(inc(tl, 1) ? 1 : 0);
	waitpid(pid, &status, 0);
	out("parent: child INC on the inherited timeline: exit %d", WEXITSTATUS(status));
	out("parent: fence at 3 status %d", file_status(f));
	close(f);
	close(tl);
}

/* A timeline's release signals its pending points with -ENOENT within the
 * close(): the very next poll, ppoll or select that does not wait sees
 * their sync files ready (tried many times, as a late release is a race). */
static int ready_after_close(int how)
{
	int tl = open_timeline(), f = create_fence(tl, 1), r;
	struct pollfd p = { .fd = f, .events = POLLIN };
	struct timespec zero = { 0, 0 };
	struct timeval tv = { 0, 0 };
	fd_set rd;

	close(tl);
	if (how == 0) {
		r = poll(&p, 1, 0);
	} else if (how == 1) {
		r = ppoll(&p, 1, &zero, NULL);
	} else {
		FD_ZERO(&rd);
		FD_SET(f, &rd);
		r = select(f + 1, &rd, NULL, NULL, &tv);
	}
	if (r == 1 && how < 2 && p.revents != POLLIN)
		r = -1;
	if (r == 1 && file_status(f) != -ENOENT)
		r = -1;
	close(f);
	return r == 1;
}

static void closed_timeline(void)
{
	static const char *const name[] = { "poll", "ppoll", "select" };
	for (int how = 0; how < 3; how++) {
		int ready = 0;
		for (int i = 0; i < 100; i++)
			ready += ready_after_close(how);
		out("closed timeline: %s at once, ready -ENOENT %d/100", name[how], ready);
	}
}

int main(void)
{
	probe_init();
	sync_file_fd();
	timeline_fd();
	not_known();
	epolls();
	closed_timeline();
	other_processes();
	out("end");
	return 0;
}
