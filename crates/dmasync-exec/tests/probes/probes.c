/* Probes run under `dmasync exec` by tests/exec.rs: each subcommand checks
 * one behaviour of the virtual fds and exits 0 when it holds, printing what
 * failed otherwise. Written against the UAPI only (no dmasync headers). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sw_sync_create_fence_data { uint32_t value; char name[32]; int32_t fence; };
struct sw_sync_get_deadline { uint64_t deadline_ns; uint32_t pad; int32_t fence_fd; };
struct sync_merge_data { char name[32]; int32_t fd2; int32_t fence; uint32_t flags; uint32_t pad; };
struct sync_fence_info { char obj_name[32]; char driver_name[32]; int32_t status; uint32_t flags; uint64_t timestamp_ns; };
struct sync_file_info { char name[32]; int32_t status; uint32_t flags; uint32_t num_fences; uint32_t pad; uint64_t sync_fence_info; };
struct sync_set_deadline { uint64_t deadline_ns; uint64_t pad; };

#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW('W', 1, uint32_t)
#define SW_SYNC_GET_DEADLINE _IOWR('W', 2, struct sw_sync_get_deadline)
#define SYNC_IOC_MERGE _IOWR('>', 3, struct sync_merge_data)
#define SYNC_IOC_FILE_INFO _IOWR('>', 4, struct sync_file_info)
#define SYNC_IOC_SET_DEADLINE _IOW('>', 5, struct sync_set_deadline)
#define SYNC_IOC_LEGACY_FENCE_INFO _IOWR('>', 2, char[40])

#define SW_SYNC "/sys/kernel/debug/sync/sw_sync"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "%s:%d: %s: ", __func__, __LINE__, #cond); fprintf(stderr, __VA_ARGS__); fprintf(stderr, " (errno %d)\n", errno); } } while (0)

static int timeline(void)
{
	int fd = open(SW_SYNC, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("open " SW_SYNC);
		exit(2);
	}
	return fd;
}

static int fence(int tl, uint32_t value)
{
	struct sw_sync_create_fence_data d = { .value = value };
	if (ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &d)) {
		perror("SW_SYNC_IOC_CREATE_FENCE");
		exit(2);
	}
	return d.fence;
}

static int inc(int tl, uint32_t by)
{
	return ioctl(tl, SW_SYNC_IOC_INC, &by);
}

static int file_status(int fd, uint32_t *count, char *name)
{
	struct sync_file_info info;
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, SYNC_IOC_FILE_INFO, &info))
		return -1000 - errno;
	if (count)
		*count = info.num_fences;
	if (name)
		memcpy(name, info.name, 32);
	return info.status;
}

static short poll_once(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, timeout_ms);
	return r <= 0 ? 0 : p.revents;
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* stat, access, open of the virtual paths. */
static void probe_paths(void)
{
	struct stat st;
	int fd, dfd;

	CHECK(stat(SW_SYNC, &st) == 0 && st.st_mode == (S_IFREG | 0644), "stat sw_sync mode %o", st.st_mode);
	CHECK(stat("/sys/kernel/debug/sync", &st) == 0 && S_ISDIR(st.st_mode), "stat sync dir");
	CHECK(lstat(SW_SYNC, &st) == 0 && S_ISREG(st.st_mode), "lstat");
	CHECK(fstatat(AT_FDCWD, "/sys/kernel/debug/sync/nope", &st, 0) == -1 && errno == ENOENT, "missing name");
	CHECK(stat(SW_SYNC "/", &st) == -1 && errno == ENOTDIR, "trailing slash");
	CHECK(access(SW_SYNC, R_OK | W_OK) == 0, "access rw");
	CHECK(access(SW_SYNC, X_OK) == -1 && errno == EACCES, "access x");
	CHECK(faccessat(AT_FDCWD, "/sys/kernel/debug/sync/../sync/sw_sync", F_OK, 0) == 0, "dot-dot");
	CHECK(open(SW_SYNC, O_RDONLY | O_DIRECTORY) == -1 && errno == ENOTDIR, "O_DIRECTORY");
	CHECK(open(SW_SYNC, O_RDWR | O_CREAT | O_EXCL, 0600) == -1 && errno == EEXIST, "O_EXCL");
	CHECK(open("/sys/kernel/debug/sync/new", O_RDWR | O_CREAT, 0600) == -1, "create in sync dir");
	CHECK(stat("/etc/passwd", &st) == 0, "a real path still works");

	fd = open(SW_SYNC, O_PATH);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode), "O_PATH open");
	/* Kernel: EBADF (O_PATH); here a plain file that is no timeline. */
	CHECK(inc(fd, 1) == -1 && (errno == EBADF || errno == ENOTTY), "no timeline from an O_PATH open");
	close(fd);

	dfd = open("/sys/kernel/debug/sync", O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open sync dir");
	fd = openat(dfd, "sw_sync", O_RDWR);
	CHECK(fd >= 0, "openat relative to the sync dir");
	CHECK(fstatat(dfd, "sw_sync", &st, 0) == 0 && S_ISREG(st.st_mode), "fstatat relative");
	CHECK(inc(fd, 1) == 0, "INC on a timeline opened relatively");
	close(fd);
	close(dfd);

	/* The timeline fd itself: a regular 0644 file, no seek (kernel: ESPIPE,
	 * here the memfd's offset), always ready for poll. */
	fd = timeline();
	CHECK(fstat(fd, &st) == 0 && st.st_mode == (S_IFREG | 0644), "fstat timeline %o", st.st_mode);
	CHECK(poll_once(fd, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT), "timeline polls ready");
	CHECK(!(fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0, "O_CLOEXEC honoured on open");
	close(fd);
	fd = open(SW_SYNC, O_RDWR);
	CHECK(!(fcntl(fd, F_GETFD) & FD_CLOEXEC), "no O_CLOEXEC, no FD_CLOEXEC");
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "access mode kept");
	close(fd);
}

/* Poll, epoll, status and names of sync files. */
static void probe_sync_file(void)
{
	int tl = timeline(), f, f2, ep;
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct stat st;
	char name[32];
	uint32_t count = 0;

	f = fence(tl, 5);
	CHECK(fcntl(f, F_GETFD) & FD_CLOEXEC, "sync file is close-on-exec");
	CHECK((fcntl(f, F_GETFL) & O_ACCMODE) == O_RDONLY, "sync file is read-only");
	CHECK(lseek(f, 0, SEEK_SET) == -1 && errno == ESPIPE, "lseek -> ESPIPE");
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, f, 0) == MAP_FAILED && errno == ENODEV, "mmap -> ENODEV");
	CHECK(fstat(f, &st) == 0 && st.st_size == 0, "size 0");
	CHECK(file_status(f, &count, name) == 0 && count == 1, "pending, one fence");
	CHECK(strncmp(name, "sw_sync-probes", 14) == 0 && strcmp(name + strlen(name) - 2, "-5") == 0, "name %s", name);
	CHECK(poll_once(f, POLLIN | POLLOUT, 0) == 0, "pending: nothing");

	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = f;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev) == 0, "epoll add");
	CHECK(epoll_wait(ep, &out, 1, 0) == 0, "epoll: pending");

	CHECK(inc(tl, 4) == 0, "inc 4");
	CHECK(file_status(f, NULL, NULL) == 0, "still pending at 4");
	CHECK(inc(tl, 1) == 0, "inc 1");
	CHECK(poll_once(f, POLLIN | POLLOUT, -1) == POLLIN, "signalled: POLLIN only");
	CHECK(poll_once(f, POLLOUT, 0) == 0, "never POLLOUT");
	CHECK(epoll_wait(ep, &out, 1, -1) == 1 && out.events == EPOLLIN, "epoll: EPOLLIN");
	CHECK(file_status(f, NULL, NULL) == 1, "status 1");

	f2 = fence(tl, 3);
	CHECK(poll_once(f2, POLLIN, 0) == POLLIN, "born signalled");
	close(f2);
	close(ep);
	close(f);
	close(tl);
}

/* SYNC_IOC_* and SW_SYNC_* rules: errno values and two-call FILE_INFO. */
static void probe_errors(void)
{
	int tl = timeline(), tl2 = timeline(), a = fence(tl, 1), b = fence(tl2, 1), p[2];
	struct sync_merge_data m;
	struct sync_file_info info;
	struct sync_fence_info fi[3];
	struct sw_sync_get_deadline gd;
	struct sync_set_deadline sd;
	char legacy[40];

	CHECK(ioctl(a, SYNC_IOC_LEGACY_FENCE_INFO, legacy) == -1 && errno == ENOTTY, "legacy FENCE_INFO");
	CHECK(ioctl(a, _IO('>', 9)) == -1 && errno == ENOTTY, "unknown '>'");
	CHECK(ioctl(a, SW_SYNC_IOC_INC, &(uint32_t){ 1 }) == -1 && errno == ENOTTY, "INC on a sync file");
	CHECK(ioctl(tl, SYNC_IOC_FILE_INFO, &info) == -1 && errno == ENOTTY, "FILE_INFO on a timeline");
	CHECK(pipe(p) == 0, "pipe");
	memset(&info, 0, sizeof(info));
	CHECK(ioctl(p[0], SYNC_IOC_FILE_INFO, &info) == -1 && errno == ENOTTY, "FILE_INFO on a pipe");
	CHECK(ioctl(12345, SYNC_IOC_FILE_INFO, &info) == -1 && errno == EBADF, "FILE_INFO on a closed fd");
	CHECK(ioctl(a, SYNC_IOC_FILE_INFO, (void *)8) == -1 && errno == EFAULT, "bad pointer");

	memset(&m, 0, sizeof(m));
	m.fd2 = p[0];
	CHECK(ioctl(a, SYNC_IOC_MERGE, &m) == -1 && errno == ENOENT, "merge with a pipe");
	m.fd2 = 12345;
	CHECK(ioctl(a, SYNC_IOC_MERGE, &m) == -1 && errno == ENOENT, "merge with a closed fd");
	m.fd2 = b;
	m.flags = 1;
	CHECK(ioctl(a, SYNC_IOC_MERGE, &m) == -1 && errno == EINVAL, "merge flags");
	m.flags = 0;
	memset(m.name, 'x', 32);
	CHECK(ioctl(a, SYNC_IOC_MERGE, &m) == 0, "merge");
	memset(&info, 0, sizeof(info));
	CHECK(ioctl(m.fence, SYNC_IOC_FILE_INFO, &info) == 0 && info.num_fences == 2 && info.status == 0, "query call");
	CHECK(strlen(info.name) == 31, "unterminated name cut to 31: %zu", strlen(info.name));
	CHECK(fcntl(m.fence, F_GETFD) & FD_CLOEXEC, "merged file is close-on-exec");
	info.num_fences = 1;
	info.sync_fence_info = (uintptr_t)fi;
	CHECK(ioctl(m.fence, SYNC_IOC_FILE_INFO, &info) == -1 && errno == EINVAL, "too few entries");
	info.num_fences = 3;
	info.flags = 1;
	CHECK(ioctl(m.fence, SYNC_IOC_FILE_INFO, &info) == -1 && errno == EINVAL, "flags");
	info.flags = 0;
	CHECK(inc(tl, 1) == 0, "inc");
	CHECK(ioctl(m.fence, SYNC_IOC_FILE_INFO, &info) == 0 && info.num_fences == 2, "fetch call");
	CHECK(info.status == 0 && fi[0].status == 1 && fi[1].status == 0, "statuses %d %d %d", info.status, fi[0].status, fi[1].status);
	CHECK(strcmp(fi[0].driver_name, "sw_sync") == 0 && strncmp(fi[0].obj_name, "probes", 6) == 0, "names %s %s", fi[0].driver_name, fi[0].obj_name);
	CHECK(fi[0].timestamp_ns != 0 && fi[1].timestamp_ns == 0, "timestamps");

	memset(&gd, 0, sizeof(gd));
	gd.fence_fd = b;
	CHECK(ioctl(tl2, SW_SYNC_GET_DEADLINE, &gd) == -1 && errno == ENOENT, "no deadline");
	sd.deadline_ns = 2000;
	sd.pad = 1;
	CHECK(ioctl(b, SYNC_IOC_SET_DEADLINE, &sd) == -1 && errno == EINVAL, "set deadline pad");
	sd.pad = 0;
	CHECK(ioctl(b, SYNC_IOC_SET_DEADLINE, &sd) == 0, "set deadline");
	sd.deadline_ns = 3000;
	CHECK(ioctl(b, SYNC_IOC_SET_DEADLINE, &sd) == 0, "later deadline");
	CHECK(ioctl(tl2, SW_SYNC_GET_DEADLINE, &gd) == 0 && gd.deadline_ns == 2000, "earliest kept: %llu", (unsigned long long)gd.deadline_ns);
	gd.deadline_ns = 0;
	gd.fence_fd = m.fence;
	CHECK(ioctl(tl2, SW_SYNC_GET_DEADLINE, &gd) == -1 && errno == EINVAL, "deadline of an array");
	gd.fence_fd = p[0];
	CHECK(ioctl(tl2, SW_SYNC_GET_DEADLINE, &gd) == -1 && errno == EINVAL, "deadline of a pipe");
	gd.fence_fd = b;
	gd.pad = 1;
	CHECK(ioctl(tl2, SW_SYNC_GET_DEADLINE, &gd) == -1 && errno == EINVAL, "get deadline pad");

	close(m.fence);
	close(a);
	close(b);
	close(p[0]);
	close(p[1]);
	close(tl);
	close(tl2);
}

/* dup, fork and SCM_RIGHTS: the kernel's own fd handling applies. */
static void probe_fork(void)
{
	int tl = timeline(), f = fence(tl, 1), d = dup(f), sv[2], status = 0;
	pid_t pid;

	CHECK(file_status(d, NULL, NULL) == 0, "FILE_INFO through a dup");
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	pid = fork();
	if (pid == 0) {
		char byte;
		int got = -1, child_tl, cf;
		struct msghdr msg = { 0 };
		struct iovec iov = { &byte, 1 };
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr *c;

		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		if (recvmsg(sv[1], &msg, 0) != 1)
			_exit(10);
		c = CMSG_FIRSTHDR(&msg);
		memcpy(&got, CMSG_DATA(c), sizeof(int));
		/* A forked child is served too: its own timeline and fences. */
		child_tl = timeline();
		cf = fence(child_tl, 2);
		if (inc(child_tl, 2) || file_status(cf, NULL, NULL) != 1)
			_exit(11);
		/* Wait, in this process, for the fence the parent signals. */
		if (poll_once(got, POLLIN, -1) != POLLIN || file_status(got, NULL, NULL) != 1)
			_exit(12);
		if (poll_once(f, POLLIN, 0) != POLLIN)
			_exit(13);
		_exit(0);
	}
	{
		int g = fence(tl, 2);
		char byte = 0;
		struct msghdr msg = { 0 };
		struct iovec iov = { &byte, 1 };
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr *c;

		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &g, sizeof(int));
		CHECK(sendmsg(sv[0], &msg, 0) == 1, "sendmsg");
		close(g);
		CHECK(inc(tl, 2) == 0, "inc");
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	close(sv[0]);
	close(sv[1]);
	close(d);
	close(f);
	close(tl);
}

/* Closing the timeline signals its pending points with -ENOENT. */
static void probe_release(void)
{
	int tl = timeline(), f = fence(tl, 10), d = dup(tl);
	struct sync_file_info info;
	struct sync_fence_info fi;

	close(tl);
	CHECK(inc(d, 1) == 0, "the dup keeps the timeline open");
	CHECK(poll_once(f, POLLIN, 0) == 0, "still pending");
	close(d);
	CHECK(poll_once(f, POLLIN, 10000) == POLLIN, "signalled on close");
	memset(&info, 0, sizeof(info));
	info.num_fences = 1;
	info.sync_fence_info = (uintptr_t)&fi;
	CHECK(ioctl(f, SYNC_IOC_FILE_INFO, &info) == 0 && info.status == -ENOENT && fi.status == -ENOENT, "status %d", info.status);
	CHECK(fi.timestamp_ns != 0, "timestamp set");
	close(f);
}

/* An ioctl from a second thread (the notification carries its thread id). */
static void *thread_main(void *arg)
{
	int tl = *(int *)arg;
	int f = fence(tl, 1);
	long ok = inc(tl, 1) == 0 && file_status(f, NULL, NULL) == 1;
	close(f);
	return (void *)ok;
}

static void probe_thread(void)
{
	int tl = timeline();
	pthread_t t;
	void *ok = NULL;
	CHECK(pthread_create(&t, NULL, thread_main, &tl) == 0, "pthread_create");
	pthread_join(t, &ok);
	CHECK(ok == (void *)1, "served on a thread");
	close(tl);
}

/* The supervisor releases what the program closed: its fd count returns to
 * where it was. */
static void probe_leaks(void)
{
	pid_t sup = getppid();
	int before, after = -1, mine = count_fds(getpid()), i, tries;
	int tl = timeline();

	/* One served call first: the supervisor keeps a pidfd per calling
	 * thread. Then let earlier releases settle. */
	inc(tl, 0);
	usleep(100000);
	before = count_fds(sup);
	for (i = 0; i < 50; i++) {
		int a = fence(tl, i + 1), b = fence(tl, i + 2);
		struct sync_merge_data m = { .fd2 = b };
		if (ioctl(a, SYNC_IOC_MERGE, &m) == 0)
			close(m.fence);
		close(a);
		close(b);
	}
	inc(tl, 100);
	for (tries = 0; tries < 200; tries++) {
		after = count_fds(sup);
		if (after <= before)
			break;
		usleep(50000);
	}
	printf("supervisor fds %d -> %d after %d waits\n", before, after, tries);
	CHECK(before > 0 && after == before, "supervisor fds %d -> %d", before, after);
	close(tl);
	CHECK(count_fds(getpid()) == mine, "own fds %d -> %d", mine, count_fds(getpid()));
}

/* Close-on-exec: re-executes itself to look at the fds. */
static void probe_cloexec(const char *self)
{
	int tl_keep = open(SW_SYNC, O_RDWR), f = fence(tl_keep, 1);
	char a[16], b[16];
	pid_t pid;
	int status = 0;

	snprintf(a, sizeof(a), "%d", tl_keep);
	snprintf(b, sizeof(b), "%d", f);
	pid = fork();
	if (pid == 0) {
		execl(self, self, "after-exec", a, b, (char *)NULL);
		_exit(20);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "after exec: %#x", status);
	close(f);
	close(tl_keep);
}

static int after_exec(int tl, int f)
{
	/* The timeline (no O_CLOEXEC) survives exec and is still served; the
	 * sync file (O_CLOEXEC, as the kernel creates it) is gone. */
	if (fcntl(f, F_GETFD) != -1 || errno != EBADF)
		return 1;
	f = fence(tl, 1);
	if (inc(tl, 1) || file_status(f, NULL, NULL) != 1)
		return 2;
	return 0;
}

/* <debugfs>/sync/info lists the open timelines and their pending points. */
static void probe_info(void)
{
	int tl = timeline(), a = fence(tl, 3), b = fence(tl, 5), fd;
	char buf[4096], want[128], comm[32] = "";
	ssize_t n;
	struct stat st;
	FILE *f = fopen("/proc/self/comm", "r");

	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
	CHECK(inc(tl, 1) == 0, "inc");
	CHECK(stat("/sys/kernel/debug/sync/info", &st) == 0 && st.st_mode == (S_IFREG | 0444), "mode %o", st.st_mode);
	fd = open("/sys/kernel/debug/sync/info", O_RDONLY);
	CHECK(fd >= 0, "open info");
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	CHECK(strncmp(buf, "objs:\n--------------\n", 21) == 0, "header: %s", buf);
	snprintf(want, sizeof(want), "%s: 1\n  fence active: 3 / 1\n  fence active: 5 / 1\n\n", comm);
	CHECK(strstr(buf, want) != NULL, "want %s in %s", want, buf);
	CHECK(strstr(buf, "fences:\n--------------\n") != NULL, "fences section");
	close(fd);
	close(a);
	close(b);
	close(tl);
}

/* Two programs started separately in one session share the objects: the
 * server hands a sync file to the client over a Unix socket, and the
 * client's ioctls on it are answered (exit 3 when they are not). */
static int share(const char *path, int server)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char byte = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	int s = socket(AF_UNIX, SOCK_STREAM, 0), conn, tl, f, i;

	strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	if (server) {
		tl = timeline();
		f = fence(tl, 1);
		unlink(path);
		if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) || listen(s, 1))
			return 10;
		conn = accept(s, NULL, NULL);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &f, sizeof(int));
		if (sendmsg(conn, &msg, 0) != 1 || read(conn, &byte, 1) != 1)
			return 11;
		inc(tl, 1);
		if (read(conn, &byte, 1) != 1)
			return 12;
		unlink(path);
		return byte;
	}
	for (i = 0; connect(s, (struct sockaddr *)&addr, sizeof(addr)); i++) {
		if (i > 500)
			return 20;
		usleep(10000);
	}
	if (recvmsg(s, &msg, 0) != 1 || !(c = CMSG_FIRSTHDR(&msg)))
		return 21;
	memcpy(&f, CMSG_DATA(c), sizeof(int));
	byte = file_status(f, NULL, NULL) == 0 ? 0 : 3;
	if (write(s, &byte, 1) != 1)
		return 22;
	if (!byte && (poll_once(f, POLLIN, -1) != POLLIN || file_status(f, NULL, NULL) != 1))
		byte = 4;
	if (write(s, &byte, 1) != 1)
		return 23;
	return byte;
}

static volatile int alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* Signals arriving while calls are served: each call takes effect once
 * (no INC applied twice, no fd installed twice). */
static void probe_signals(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 50 }, { 0, 50 } };
	int before = count_fds(getpid()), tl = timeline(), i, n = 3000, f;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (i = 0; i < n; i++) {
		CHECK(inc(tl, 1) == 0, "inc");
		f = fence(tl, n + 5);
		close(f);
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	f = fence(tl, n);
	CHECK(file_status(f, NULL, NULL) == 1, "value reached %d", n);
	close(f);
	f = fence(tl, n + 1);
	CHECK(file_status(f, NULL, NULL) == 0, "value not past %d", n);
	close(f);
	close(tl);
	CHECK(count_fds(getpid()) == before, "fds %d -> %d", before, count_fds(getpid()));
	CHECK(alarms > 0, "the timer fired");
}

static void on_term(int sig)
{
	(void)sig;
	_exit(42);
}

/* Waits for SIGTERM, passed on by the supervisor: exits 42 then. */
static int wait_term(void)
{
	signal(SIGTERM, on_term);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
	return 1;
}

/* The program inherits nothing of the supervisor's: no listener, no
 * template or object of its own that it did not open. */
static void probe_clean_start(void)
{
	char path[300], link[256];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	ssize_t n;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = 0;
		CHECK(!strstr(link, "seccomp") && !strstr(link, "memfd:") && !strstr(link, "dmasync"), "fd %s -> %s", e->d_name, link);
	}
	if (d)
		closedir(d);
}

/* dma-buf devices. */
struct dma_buf_sync { uint64_t flags; };
struct dma_buf_export_sync_file { uint32_t flags; int32_t fd; };
struct dma_buf_import_sync_file { uint32_t flags; int32_t fd; };
#define DMA_BUF_SYNC_READ 1
#define DMA_BUF_SYNC_WRITE 2
#define DMA_BUF_SYNC_END 4
#define DMA_BUF_IOCTL_SYNC _IOW('b', 0, struct dma_buf_sync)
#define DMA_BUF_SET_NAME_B _IOW('b', 1, uint64_t)
#define DMA_BUF_IOCTL_EXPORT_SYNC_FILE _IOWR('b', 2, struct dma_buf_export_sync_file)
#define DMA_BUF_IOCTL_IMPORT_SYNC_FILE _IOW('b', 3, struct dma_buf_import_sync_file)
struct dma_heap_allocation_data { uint64_t len; uint32_t fd; uint32_t fd_flags; uint64_t heap_flags; };
#define DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0, struct dma_heap_allocation_data)
struct udmabuf_create { uint32_t memfd; uint32_t flags; uint64_t offset; uint64_t size; };
struct udmabuf_create_item { uint32_t memfd; uint32_t pad; uint64_t offset; uint64_t size; };
struct udmabuf_create_list { uint32_t flags; uint32_t count; struct udmabuf_create_item list[]; };
#define UDMABUF_CREATE _IOW('u', 0x42, struct udmabuf_create)
#define UDMABUF_CREATE_LIST _IOW('u', 0x43, struct udmabuf_create_list)
struct drm_mode_create_dumb { uint32_t height, width, bpp, flags, handle, pitch; uint64_t size; };
struct drm_prime_handle { uint32_t handle, flags; int32_t fd; };
struct drm_vgem_fence_attach { uint32_t handle, flags, out_fence, pad; };
struct drm_vgem_fence_signal { uint32_t fence, flags; };
#define DRM_IOCTL_MODE_CREATE_DUMB _IOWR('d', 0xB2, struct drm_mode_create_dumb)
#define DRM_IOCTL_PRIME_HANDLE_TO_FD _IOWR('d', 0x2d, struct drm_prime_handle)
#define DRM_IOCTL_PRIME_FD_TO_HANDLE _IOWR('d', 0x2e, struct drm_prime_handle)
#define DRM_IOCTL_VGEM_FENCE_ATTACH _IOWR('d', 0x41, struct drm_vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL _IOW('d', 0x42, struct drm_vgem_fence_signal)

static int heap_alloc(uint64_t len, uint32_t fd_flags)
{
	int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = fd_flags };
	int r;
	if (heap < 0) {
		perror("open /dev/dma_heap/system");
		exit(2);
	}
	r = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d);
	close(heap);
	return r ? -errno : (int)d.fd;
}

static void probe_heap(void)
{
	struct stat st;
	struct dma_buf_sync sync = { 0 };
	struct dma_heap_allocation_data d = { 0 };
	char *a, *b, longname[40];
	int heap, buf;

	CHECK(stat("/dev/dma_heap", &st) == 0 && S_ISDIR(st.st_mode), "stat dir");
	CHECK(stat("/dev/dma_heap/system", &st) == 0, "stat system");
	CHECK(access("/dev/dma_heap/system", R_OK) == 0, "access");
	CHECK(stat("/dev/dma_heap/cma", &st) < 0 && errno == ENOENT, "cma");
	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	CHECK(heap >= 0, "open heap");
	d.len = 5000;
	d.fd_flags = O_RDWR | O_CLOEXEC;
	CHECK(ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) == 0, "alloc");
	buf = d.fd;
	CHECK(fcntl(buf, F_GETFD) == FD_CLOEXEC, "cloexec");
	CHECK(fstat(buf, &st) == 0 && st.st_size == 8192, "size %ld", (long)st.st_size);
	CHECK(lseek(buf, 0, SEEK_END) == 8192, "seek end");
	d.fd = 3;
	CHECK(ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) < 0 && errno == EINVAL, "fd not 0");
	d.fd = 0;
	d.len = 0;
	CHECK(ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) < 0 && errno == EINVAL, "len 0");
	d.len = 4096;
	d.fd_flags = O_NONBLOCK;
	CHECK(ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) < 0 && errno == EINVAL, "fd_flags");
	CHECK(ioctl(heap, _IOWR('H', 1, struct dma_heap_allocation_data), &d) < 0 && errno == EINVAL, "nr 1");
	a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	b = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	CHECK(a != MAP_FAILED && b != MAP_FAILED, "mmap");
	if (a != MAP_FAILED && b != MAP_FAILED) {
		sync.flags = DMA_BUF_SYNC_WRITE;
		CHECK(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) == 0, "sync start");
		strcpy(a + 4100, "through a");
		sync.flags = DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END;
		CHECK(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) == 0, "sync end");
		CHECK(!strcmp(b + 4100, "through a"), "second mapping");
		munmap(a, 8192);
		munmap(b, 8192);
	}
	sync.flags = 0;
	CHECK(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) < 0 && errno == EINVAL, "no direction");
	sync.flags = 8;
	CHECK(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) < 0 && errno == EINVAL, "bad flag");
	CHECK(ioctl(buf, DMA_BUF_IOCTL_SYNC, (void *)8) < 0 && errno == EFAULT, "sync fault");
	CHECK(ioctl(buf, DMA_BUF_SET_NAME_B, "hello") == 0, "set name");
	CHECK(ioctl(buf, _IOW('b', 1, uint32_t), "") == 0, "set name A");
	memset(longname, 'x', sizeof(longname));
	longname[39] = 0;
	CHECK(ioctl(buf, DMA_BUF_SET_NAME_B, longname) < 0 && errno == EINVAL, "long name");
	CHECK(ioctl(buf, DMA_BUF_SET_NAME_B, (void *)8) < 0 && errno == EFAULT, "name fault");
	CHECK(ioctl(buf, _IO('b', 9)) < 0 && errno == ENOTTY, "enotty");
	CHECK(ioctl(buf, SYNC_IOC_FILE_INFO, &d) < 0 && errno == ENOTTY, "sync_file ioctl");
	close(buf);
	close(heap);
}

static int sealed_memfd(size_t size, int seals)
{
	int fd = memfd_create("probe", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	CHECK(fd >= 0 && ftruncate(fd, size) == 0, "memfd");
	if (seals)
		CHECK(fcntl(fd, F_ADD_SEALS, seals) == 0, "seals");
	return fd;
}

static void probe_udmabuf(void)
{
	struct { struct udmabuf_create_list h; struct udmabuf_create_item it[2]; } l = { 0 };
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	int unsealed = sealed_memfd(8192, 0), shrink = sealed_memfd(8192, F_SEAL_SHRINK);
	int wsealed = sealed_memfd(8192, F_SEAL_SHRINK | F_SEAL_WRITE);
	struct udmabuf_create c = { .memfd = shrink, .flags = 1, .offset = 0, .size = 8192 };
	struct stat st;
	int buf;

	CHECK(dev >= 0, "open /dev/udmabuf");
	buf = ioctl(dev, UDMABUF_CREATE, &c);
	CHECK(buf >= 0, "create");
	CHECK(fcntl(buf, F_GETFD) == FD_CLOEXEC, "cloexec flag");
	CHECK(fstat(buf, &st) == 0 && st.st_size == 8192, "size");
	CHECK(ioctl(buf, DMA_BUF_SET_NAME_B, "u") == 0, "a dma-buf");
	close(buf);
	c.memfd = unsealed;
	CHECK(ioctl(dev, UDMABUF_CREATE, &c) < 0 && errno == EINVAL, "no SEAL_SHRINK");
	c.memfd = wsealed;
	CHECK(ioctl(dev, UDMABUF_CREATE, &c) < 0 && errno == EINVAL, "SEAL_WRITE");
	c.memfd = shrink;
	c.offset = 100;
	CHECK(ioctl(dev, UDMABUF_CREATE, &c) < 0 && errno == EINVAL, "unaligned offset");
	c.offset = 4096;
	CHECK(ioctl(dev, UDMABUF_CREATE, &c) < 0 && errno == EINVAL, "past the end");
	c.offset = 0;
	c.size = 0;
	CHECK(ioctl(dev, UDMABUF_CREATE, &c) < 0 && errno == EINVAL, "size 0");
	c.size = 4096;
	c.memfd = 999;
	CHECK(ioctl(dev, UDMABUF_CREATE, &c) < 0 && errno == EBADFD, "closed fd");
	c.memfd = 0;
	CHECK(ioctl(dev, UDMABUF_CREATE, (void *)8) < 0 && errno == EFAULT, "fault");
	l.h.count = 2;
	l.it[0] = (struct udmabuf_create_item){ .memfd = shrink, .offset = 0, .size = 4096 };
	l.it[1] = (struct udmabuf_create_item){ .memfd = shrink, .offset = 4096, .size = 4096 };
	buf = ioctl(dev, UDMABUF_CREATE_LIST, &l);
	CHECK(buf >= 0 && fstat(buf, &st) == 0 && st.st_size == 8192, "list");
	CHECK(fcntl(buf, F_GETFD) == 0, "no cloexec");
	close(buf);
	l.h.count = 0;
	CHECK(ioctl(dev, UDMABUF_CREATE_LIST, &l) < 0 && errno == EINVAL, "empty list");
	CHECK(ioctl(dev, _IO('u', 0x44)) < 0 && errno == ENOTTY, "enotty");
	close(unsealed);
	close(shrink);
	close(wsealed);
	close(dev);
}

static volatile int sync_done;
static void *sync_thread(void *arg)
{
	struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_READ };
	int r = ioctl(*(int *)arg, DMA_BUF_IOCTL_SYNC, &s);
	sync_done = r == 0 ? 1 : -errno;
	return NULL;
}

static void probe_vgem(void)
{
	struct drm_mode_create_dumb dumb = { .width = 64, .height = 64, .bpp = 32 };
	struct drm_prime_handle prime = { 0 };
	struct drm_vgem_fence_attach att = { 0 };
	struct drm_vgem_fence_signal sig = { 0 };
	struct dma_buf_export_sync_file ex = { .flags = DMA_BUF_SYNC_READ };
	struct stat st;
	pthread_t t;
	char *p;
	int card, render, buf, i;

	CHECK(stat("/dev/dri", &st) == 0 && S_ISDIR(st.st_mode), "dri dir");
	CHECK(access("/dev/dri/renderD128", R_OK | W_OK) == 0, "access render");
	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	render = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	CHECK(card >= 0 && render >= 0, "open");
	CHECK(ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &dumb) == 0, "dumb");
	CHECK(dumb.handle == 1 && dumb.pitch == 256 && dumb.size == 16384, "dumb %u %u", dumb.handle, dumb.pitch);
	CHECK(ioctl(render, DRM_IOCTL_MODE_CREATE_DUMB, &dumb) < 0 && errno == EACCES, "dumb on render");
	CHECK(ioctl(card, _IOWR('d', 0x4f, struct drm_prime_handle), &prime) < 0 && errno == EINVAL, "no vgem nr");
	prime.handle = 1;
	prime.flags = O_CLOEXEC | O_RDWR;
	CHECK(ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime) == 0, "prime");
	buf = prime.fd;
	CHECK(fstat(buf, &st) == 0 && st.st_size == 16384, "prime size");
	p = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	CHECK(p != MAP_FAILED, "mmap prime");
	if (p != MAP_FAILED) {
		p[10] = 42;
		munmap(p, 16384);
	}
	prime.handle = 0;
	CHECK(ioctl(render, DRM_IOCTL_PRIME_FD_TO_HANDLE, &prime) == 0 && prime.handle == 1, "import %u", prime.handle);
	att.handle = 1;
	att.flags = 1;
	CHECK(ioctl(card, DRM_IOCTL_VGEM_FENCE_ATTACH, &att) == 0, "attach");
	CHECK(ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &ex) == 0, "export");
	CHECK(fcntl(ex.fd, F_GETFD) == FD_CLOEXEC, "export cloexec");
	CHECK(poll_once(ex.fd, POLLIN, 0) == 0, "export pending");
	sync_done = 0;
	pthread_create(&t, NULL, sync_thread, &buf);
	usleep(100000);
	CHECK(sync_done == 0, "sync did not wait");
	sig.fence = att.out_fence;
	CHECK(ioctl(card, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig) == 0, "signal");
	pthread_join(t, NULL);
	CHECK(sync_done == 1, "sync %d", sync_done);
	CHECK(poll_once(ex.fd, POLLIN, 1000) == POLLIN, "export signalled");
	close(ex.fd);
	CHECK(ioctl(card, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig) < 0 && errno == ENOENT, "signal twice");
	/* Import a sw_sync fence: the buffer's READ export waits for it. */
	{
		int tl = timeline(), f = fence(tl, 1);
		struct dma_buf_import_sync_file im = { .flags = DMA_BUF_SYNC_WRITE, .fd = f };
		CHECK(ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &im) == 0, "import");
		ex.flags = DMA_BUF_SYNC_READ;
		CHECK(ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &ex) == 0, "export 2");
		CHECK(poll_once(ex.fd, POLLIN, 0) == 0, "imported fence pending");
		inc(tl, 1);
		CHECK(poll_once(ex.fd, POLLIN, 1000) == POLLIN, "imported fence signalled");
		im.fd = tl;
		CHECK(ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &im) < 0 && errno == EINVAL, "not a sync file");
		im.fd = 999;
		CHECK(ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &im) < 0 && errno == EINVAL, "bad fd");
		im.fd = f;
		im.flags = 0;
		CHECK(ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &im) < 0 && errno == EINVAL, "flags 0");
		ex.flags = 4;
		CHECK(ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &ex) < 0 && errno == EINVAL, "export flags");
		close(ex.fd);
		close(f);
		close(tl);
	}
	for (i = 0; i < 3; i++) {
		prime.handle = 1;
		CHECK(ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime) == 0, "prime again");
		close(prime.fd);
	}
	close(buf);
	close(render);
	close(card);
}

/* DRM files opened and closed in a row: each new one is served, whichever
 * thread of the supervisor sees the previous one's release first (its
 * pipe's write end may be given the same fd number). */
static void probe_drm_churn(void)
{
	int bad = 0;
	for (int i = 0; i < 300; i++) {
		struct drm_mode_create_dumb dumb = { .width = 16, .height = 16, .bpp = 32 };
		struct drm_prime_handle prime = { .flags = O_RDWR, .fd = -1 };
		int card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
		int r1 = ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &dumb), r2;
		prime.handle = dumb.handle;
		r2 = ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime);
		if (card < 0 || r1 || r2) {
			fprintf(stderr, "round %d: open %d, CREATE_DUMB %d, PRIME %d (errno %d)\n", i, card, r1, r2, errno);
			bad++;
		}
		close(card);
		if (prime.fd >= 0)
			close(prime.fd);
	}
	CHECK(bad == 0, "%d rounds failed", bad);
}

static void probe_buf_leaks(void)
{
	pid_t sup = getppid();
	int before, after = -1, mine, i, tries, card;
	int buf = heap_alloc(4096, O_RDWR);

	close(buf);
	usleep(100000);
	mine = count_fds(getpid());
	before = count_fds(sup);
	for (i = 0; i < 30; i++) {
		struct drm_mode_create_dumb dumb = { .width = 16, .height = 16, .bpp = 32 };
		struct drm_prime_handle prime = { .flags = O_RDWR };
		int dev = open("/dev/udmabuf", O_RDWR), m = sealed_memfd(4096, F_SEAL_SHRINK);
		struct udmabuf_create c = { .memfd = m, .size = 4096 };
		close(ioctl(dev, UDMABUF_CREATE, &c));
		close(m);
		close(dev);
		buf = heap_alloc(4096, O_RDWR);
		CHECK(buf >= 0, "alloc");
		close(dup(buf));
		close(buf);
		card = open("/dev/dri/card0", O_RDWR);
		ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &dumb);
		prime.handle = dumb.handle;
		ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime);
		close(card);
		close(prime.fd);
	}
	for (tries = 0; tries < 200; tries++) {
		after = count_fds(sup);
		if (after <= before)
			break;
		usleep(50000);
	}
	printf("supervisor fds %d -> %d after %d waits\n", before, after, tries);
	CHECK(before > 0 && after == before, "supervisor fds %d -> %d", before, after);
	CHECK(count_fds(getpid()) == mine, "own fds %d -> %d", mine, count_fds(getpid()));
}

/* poll and ppoll on a dma-buf follow its fences: POLLIN waits for the
 * WRITE fences, POLLOUT for every fence. */
static int import_fence(int buf, int tl, uint32_t value, uint32_t flags)
{
	int f = fence(tl, value);
	struct dma_buf_import_sync_file im = { .flags = flags, .fd = f };
	int r = ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &im);
	CHECK(r == 0, "import %u", flags);
	close(f);
	return r;
}

struct delayed { int tl; pthread_t target; int sig; };
static void *delayed_main(void *arg)
{
	struct delayed *d = arg;
	usleep(100 * 1000);
	if (d->sig)
		pthread_kill(d->target, d->sig);
	else
		inc(d->tl, 1);
	return NULL;
}

static volatile int usr1_seen;
static void on_usr1(int sig)
{
	(void)sig;
	usr1_seen++;
}

static void probe_poll(void)
{
	int buf = heap_alloc(4096, O_RDWR | O_CLOEXEC), tl = timeline(), p[2];
	struct pollfd fds[4];
	struct timespec ts = { 0, 0 }, long_ts = { 5, 0 };
	struct delayed d = { .tl = tl };
	struct sigaction sa;
	sigset_t mask;
	pthread_t t;
	int r;

	CHECK(buf >= 0, "alloc");
	CHECK(pipe(p) == 0, "pipe");
	CHECK(poll_once(buf, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT), "idle buffer");

	/* A pending WRITE fence: neither IN nor OUT. */
	import_fence(buf, tl, 1, DMA_BUF_SYNC_WRITE);
	CHECK(poll_once(buf, POLLIN | POLLOUT, 0) == 0, "write fence, poll");
	fds[0] = (struct pollfd){ .fd = buf, .events = POLLIN | POLLOUT };
	CHECK(ppoll(fds, 1, &ts, NULL) == 0 && fds[0].revents == 0, "write fence, ppoll");
	CHECK(poll_once(buf, POLLIN, 20) == 0, "timed out");

	/* Mixed with a pipe and a closed fd. */
	CHECK(write(p[1], "x", 1) == 1, "write");
	fds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = buf, .events = POLLIN };
	fds[2] = (struct pollfd){ .fd = 999, .events = POLLIN };
	fds[3] = (struct pollfd){ .fd = -1, .events = POLLIN, .revents = 0x7 };
	r = poll(fds, 4, 1000);
	CHECK(r == 2 && fds[0].revents == POLLIN && fds[1].revents == 0 && fds[2].revents == POLLNVAL && fds[3].revents == 0,
	      "mixed: %d %x %x %x %x", r, fds[0].revents, fds[1].revents, fds[2].revents, fds[3].revents);
	CHECK(read(p[0], &r, 1) == 1, "read");

	/* A blocking poll woken by another thread's signal of the fence. */
	CHECK(pthread_create(&t, NULL, delayed_main, &d) == 0, "thread");
	fds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = buf, .events = POLLIN };
	r = poll(fds, 2, 10000);
	CHECK(r == 1 && fds[0].revents == 0 && fds[1].revents == POLLIN, "woken: %d %x %x", r, fds[0].revents, fds[1].revents);
	pthread_join(t, NULL);
	CHECK(poll_once(buf, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT), "signalled");

	/* A READ fence: IN yes, OUT no; ppoll's remaining time written back. */
	import_fence(buf, tl, 2, DMA_BUF_SYNC_READ);
	CHECK(poll_once(buf, POLLIN | POLLOUT, 0) == POLLIN, "read fence");
	fds[0] = (struct pollfd){ .fd = buf, .events = POLLOUT };
	CHECK(ppoll(fds, 1, &ts, NULL) == 0, "read fence, OUT");
	CHECK(pthread_create(&t, NULL, delayed_main, &d) == 0, "thread");
	r = syscall(SYS_ppoll, fds, 1, &long_ts, NULL, 8);
	CHECK(r == 1 && fds[0].revents == POLLOUT, "read fence woken: %d %x", r, fds[0].revents);
	CHECK(long_ts.tv_sec < 5 && long_ts.tv_sec >= 0, "remaining %ld", (long)long_ts.tv_sec);
	pthread_join(t, NULL);

	/* Bad ppoll arguments. */
	import_fence(buf, tl, 3, DMA_BUF_SYNC_WRITE);
	ts.tv_nsec = 1000000000;
	CHECK(ppoll(fds, 1, &ts, NULL) < 0 && errno == EINVAL, "bad timespec");
	ts.tv_nsec = 0;
	CHECK(syscall(SYS_ppoll, fds, 1, &ts, &mask, 4) < 0 && errno == EINVAL, "sigsetsize");

	/* A caught signal interrupts a blocking poll with EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	d.target = pthread_self();
	d.sig = SIGUSR1;
	CHECK(pthread_create(&t, NULL, delayed_main, &d) == 0, "thread");
	r = poll_once(buf, POLLIN, -1);
	fds[0] = (struct pollfd){ .fd = buf, .events = POLLIN };
	CHECK(usr1_seen == 1, "handler ran");
	pthread_join(t, NULL);
	/* Blocked by ppoll's mask: the signal stays pending, the call times out. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	raise(SIGUSR1);
	ts.tv_nsec = 100 * 1000 * 1000;
	CHECK(ppoll(fds, 1, &ts, &mask) == 0, "masked");
	sigemptyset(&mask);
	errno = 0;
	ts = (struct timespec){ 5, 0 };
	CHECK(ppoll(fds, 1, &ts, &mask) < 0 && errno == EINTR, "unmasked by ppoll");
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	inc(tl, 1);
	CHECK(poll_once(buf, POLLIN, 0) == POLLIN, "last signalled");
	signal(SIGUSR1, SIG_DFL);
	close(p[0]);
	close(p[1]);
	close(buf);
	close(tl);
}

/* epoll of a dma-buf follows its fences; level- and edge-triggered. */
static int epoll_ready(int ep, struct epoll_event *ev, int timeout_ms)
{
	memset(ev, 0, sizeof(*ev));
	return epoll_wait(ep, ev, 1, timeout_ms);
}

static void probe_epoll(void)
{
	int buf = heap_alloc(4096, O_RDWR | O_CLOEXEC), tl = timeline();
	int lt = epoll_create1(EPOLL_CLOEXEC), et = epoll_create1(EPOLL_CLOEXEC), out = epoll_create1(EPOLL_CLOEXEC);
	int dup_buf = dup(buf), p[2];
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, got;
	struct delayed d = { .tl = tl };
	pthread_t t;

	CHECK(buf >= 0 && lt >= 0 && et >= 0 && out >= 0 && pipe(p) == 0, "setup");
	import_fence(buf, tl, 1, DMA_BUF_SYNC_WRITE);
	CHECK(epoll_ctl(lt, EPOLL_CTL_ADD, buf, &ev) == 0, "add lt");
	CHECK(epoll_ctl(lt, EPOLL_CTL_ADD, buf, &ev) < 0 && errno == EEXIST, "add twice");
	CHECK(epoll_ctl(lt, EPOLL_CTL_MOD, dup_buf, &ev) < 0 && errno == ENOENT, "mod of another fd");
	CHECK(epoll_ctl(lt, EPOLL_CTL_ADD, buf, (void *)8) < 0 && errno == EFAULT, "fault");
	CHECK(epoll_ctl(p[0], EPOLL_CTL_ADD, buf, &ev) < 0 && errno == EINVAL, "not an epoll");
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = 7 };
	CHECK(epoll_ctl(et, EPOLL_CTL_ADD, dup_buf, &ev) == 0, "add et");
	CHECK(epoll_ready(lt, &got, 0) == 0, "write fence: not ready (lt)");
	CHECK(epoll_ready(et, &got, 0) == 0, "write fence: not ready (et)");

	/* Woken by another thread's signal. */
	CHECK(pthread_create(&t, NULL, delayed_main, &d) == 0, "thread");
	CHECK(epoll_ready(lt, &got, 10000) == 1 && got.events == EPOLLIN && got.data.u64 == 42, "lt woken %x", got.events);
	pthread_join(t, NULL);
	CHECK(epoll_ready(lt, &got, 0) == 1 && got.events == EPOLLIN, "lt reports again");
	CHECK(epoll_ready(et, &got, 10000) == 1 && got.events == EPOLLIN && got.data.u64 == 7, "et woken %x", got.events);
	CHECK(epoll_ready(et, &got, 0) == 1 && got.events == EPOLLIN, "et reports again while ready, as the kernel's dma-buf");

	/* A READ fence: OUT waits for it, IN does not. */
	import_fence(buf, tl, 2, DMA_BUF_SYNC_READ);
	ev = (struct epoll_event){ .events = EPOLLOUT, .data.u64 = 9 };
	CHECK(epoll_ctl(out, EPOLL_CTL_ADD, buf, &ev) == 0, "add out");
	CHECK(epoll_ready(out, &got, 0) == 0, "read fence: OUT not ready");
	ev.events = EPOLLIN;
	CHECK(epoll_ctl(out, EPOLL_CTL_MOD, buf, &ev) == 0, "mod to IN");
	CHECK(epoll_ready(out, &got, 0) == 1 && got.events == EPOLLIN && got.data.u64 == 9, "read fence: IN ready");
	ev.events = EPOLLOUT;
	CHECK(epoll_ctl(out, EPOLL_CTL_MOD, buf, &ev) == 0, "mod to OUT");
	CHECK(epoll_ready(out, &got, 0) == 0, "OUT again not ready");
	CHECK(pthread_create(&t, NULL, delayed_main, &d) == 0, "thread");
	CHECK(epoll_ready(out, &got, 10000) == 1 && got.events == EPOLLOUT, "OUT woken %x", got.events);
	pthread_join(t, NULL);

	CHECK(epoll_ctl(out, EPOLL_CTL_DEL, buf, NULL) == 0, "del");
	CHECK(epoll_ctl(out, EPOLL_CTL_DEL, buf, NULL) < 0 && errno == ENOENT, "del twice");
	CHECK(epoll_ready(out, &got, 0) == 0, "deleted");
	/* A pipe still goes to the kernel. */
	ev.events = EPOLLIN;
	CHECK(epoll_ctl(out, EPOLL_CTL_ADD, p[0], &ev) == 0 && write(p[1], "x", 1) == 1, "pipe");
	CHECK(epoll_ready(out, &got, 0) == 1 && got.events == EPOLLIN, "pipe ready");
	close(p[0]);
	close(p[1]);
	close(lt);
	close(et);
	close(out);
	close(dup_buf);
	close(buf);
	close(tl);
}

/* select and pselect on a dma-buf follow its fences as poll does. */
static void probe_select(void)
{
	int buf = heap_alloc(4096, O_RDWR | O_CLOEXEC), tl = timeline(), p[2], n, closed;
	struct timeval tv = { 0, 0 };
	struct timespec ts = { 0, 0 };
	struct delayed d = { .tl = tl };
	fd_set r, w;
	pthread_t t;

	CHECK(buf >= 0 && pipe(p) == 0, "setup");
	n = (buf > p[1] ? buf : p[1]) + 1;
	import_fence(buf, tl, 1, DMA_BUF_SYNC_WRITE);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(buf, &r);
	FD_SET(buf, &w);
	CHECK(select(n, &r, &w, NULL, &tv) == 0 && !FD_ISSET(buf, &r) && !FD_ISSET(buf, &w), "write fence");

	/* Mixed with a readable pipe. */
	CHECK(write(p[1], "x", 1) == 1, "write");
	FD_ZERO(&r);
	FD_SET(buf, &r);
	FD_SET(p[0], &r);
	CHECK(pselect(n, &r, NULL, NULL, &ts, NULL) == 1 && FD_ISSET(p[0], &r) && !FD_ISSET(buf, &r), "mixed");
	CHECK(read(p[0], &n, 1) == 1, "read");
	n = (buf > p[1] ? buf : p[1]) + 1;

	/* A closed fd in a set. */
	closed = dup(buf);
	close(closed);
	FD_ZERO(&r);
	FD_SET(buf, &r);
	FD_SET(closed, &r);
	tv = (struct timeval){ 0, 0 };
	CHECK(select(closed + 1, &r, NULL, NULL, &tv) < 0 && errno == EBADF, "closed fd");

	/* Woken by another thread's signal; the timeval is updated. */
	CHECK(pthread_create(&t, NULL, delayed_main, &d) == 0, "thread");
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(buf, &r);
	FD_SET(p[0], &r);
	tv = (struct timeval){ 10, 0 };
	CHECK(select(n, &r, NULL, NULL, &tv) == 1 && FD_ISSET(buf, &r) && !FD_ISSET(p[0], &r), "woken");
	CHECK(tv.tv_sec < 10, "remaining %ld", (long)tv.tv_sec);
	pthread_join(t, NULL);

	/* A READ fence: readable, not writable. */
	import_fence(buf, tl, 2, DMA_BUF_SYNC_READ);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(buf, &r);
	FD_SET(buf, &w);
	ts = (struct timespec){ 0, 0 };
	CHECK(pselect(n, &r, &w, NULL, &ts, NULL) == 1 && FD_ISSET(buf, &r) && !FD_ISSET(buf, &w), "read fence");
	inc(tl, 1);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(buf, &r);
	FD_SET(buf, &w);
	CHECK(pselect(n, &r, &w, NULL, &ts, NULL) == 2 && FD_ISSET(buf, &r) && FD_ISSET(buf, &w), "signalled");
	close(p[0]);
	close(p[1]);
	close(buf);
	close(tl);
}

/* /proc/<pid>/fd links and fdinfo of our fds: bad inputs, threads, and
 * processes that are not ours (the supervisor's own fds stay its own). */
/* mmap of a DRM file at a MAP_DUMB offset and of a udmabuf: the program's
 * own thread maps the object's memory, so every mapping shares pages. */
struct drm_mode_map_dumb { uint32_t handle, pad; uint64_t offset; };
#define DRM_IOCTL_MODE_MAP_DUMB _IOWR('d', 0xB3, struct drm_mode_map_dumb)

struct mmap_ctx {
	int card, ubuf, memfd;
	uint64_t off, size;
	char *mem;
};

/* Maps both objects again and checks they share pages with the first
 * mappings; returns the number of failures. */
static int mmap_round(struct mmap_ctx *c, int i)
{
	int bad = 0;
	char *d = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, c->card, c->off);
	char *u = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, c->ubuf, 0);
	if (d == MAP_FAILED || u == MAP_FAILED)
		return 1;
	d[i % c->size] = (char)i;
	bad += d[i % c->size] != (char)i;
	/* Each round its own byte: the rounds of two threads run at once. */
	c->mem[2 * 4096 * 3 + i % 4096] = (char)(i + 1);
	bad += u[4096 * 3 + i % 4096] != (char)(i + 1);
	munmap(d, c->size);
	munmap(u, 4 * 4096);
	return bad;
}

static void *mmap_thread(void *arg)
{
	struct mmap_ctx *c = arg;
	int bad = 0;
	for (int i = 0; i < 50; i++)
		bad += mmap_round(c, i);
	return (void *)(long)bad;
}

static void probe_mmap(void)
{
	struct mmap_ctx c;
	struct drm_mode_create_dumb d = { .height = 4, .width = 1024, .bpp = 32 };
	struct drm_mode_map_dumb m = { 0 };
	struct drm_prime_handle ph = { .flags = O_CLOEXEC | O_RDWR };
	struct { struct udmabuf_create_list h; struct udmabuf_create_item it[4]; } l = { 0 };
	struct itimerval it = { { 0, 500 }, { 0, 500 } };
	char *p, *q, *u, *fixed;
	int udev, ro, bad = 0;
	pthread_t t;
	void *tbad;
	pid_t pid;
	int status;

	c.card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	CHECK(c.card >= 0, "open card0");
	CHECK(ioctl(c.card, DRM_IOCTL_MODE_CREATE_DUMB, &d) == 0, "create dumb");
	m.handle = d.handle;
	CHECK(ioctl(c.card, DRM_IOCTL_MODE_MAP_DUMB, &m) == 0 && m.offset != 0, "map dumb");
	c.off = m.offset;
	c.size = d.size;
	p = mmap(NULL, d.size, PROT_READ | PROT_WRITE, MAP_SHARED, c.card, m.offset);
	CHECK(p != MAP_FAILED, "mmap of the DRM fd");
	if (p == MAP_FAILED)
		return;
	strcpy(p, "through the DRM file");
	ph.handle = d.handle;
	CHECK(ioctl(c.card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph) == 0, "export");
	q = mmap(NULL, d.size, PROT_READ | PROT_WRITE, MAP_SHARED, ph.fd, 0);
	CHECK(q != MAP_FAILED && !strcmp(q, "through the DRM file"), "the dma-buf sees the DRM mapping");
	strcpy(q + 4096, "through the dma-buf");
	CHECK(!strcmp(p + 4096, "through the dma-buf"), "the DRM mapping sees the dma-buf");
	/* Part of the object, from its second page. */
	u = mmap(NULL, 4096, PROT_READ, MAP_SHARED, c.card, m.offset + 4096);
	CHECK(u != MAP_FAILED && !strcmp(u, "through the dma-buf"), "mmap from the second page");
	munmap(u, 4096);
	/* The kernel's refusals. */
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, c.card, m.offset) == MAP_FAILED && errno == EINVAL,
	      "private");
	CHECK(mmap(NULL, d.size + 4096, PROT_READ, MAP_SHARED, c.card, m.offset) == MAP_FAILED && errno == EINVAL,
	      "past the object");
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, c.card, 0) == MAP_FAILED && errno == EINVAL, "offset 0");
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, c.card, m.offset + 1) == MAP_FAILED && errno == EINVAL,
	      "unaligned");
	CHECK(mmap(NULL, 0, PROT_READ, MAP_SHARED, c.card, m.offset) == MAP_FAILED && errno == EINVAL, "length 0");
	ro = open("/dev/dri/card0", O_RDONLY | O_CLOEXEC);
	CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, m.offset) == MAP_FAILED && errno == EACCES,
	      "writable mapping of a read-only file");
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, m.offset) == MAP_FAILED && errno == EACCES,
	      "a file without a handle to the object");
	close(ro);

	/* udmabuf of four ranges of a memfd, a page each, 2 pages apart. */
	udev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	c.memfd = memfd_create("probe", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	CHECK(ftruncate(c.memfd, 8 * 4096) == 0 && fcntl(c.memfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0, "memfd");
	c.mem = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, c.memfd, 0);
	l.h.count = 4;
	l.h.flags = 1;
	for (int i = 0; i < 4; i++)
		l.it[i] = (struct udmabuf_create_item){ .memfd = c.memfd, .offset = 2 * 4096 * i, .size = 4096 };
	c.ubuf = ioctl(udev, UDMABUF_CREATE_LIST, &l);
	CHECK(c.ubuf >= 0, "udmabuf");
	u = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, c.ubuf, 0);
	CHECK(u != MAP_FAILED, "mmap of the udmabuf");
	for (int i = 0; i < 4; i++)
		c.mem[2 * 4096 * i] = 'a' + i;
	CHECK(u[0] == 'a' && u[4096] == 'b' && u[2 * 4096] == 'c' && u[3 * 4096] == 'd', "memfd writes seen");
	u[4096 + 1] = 'Z';
	CHECK(c.mem[2 * 4096 + 1] == 'Z', "udmabuf writes seen");
	/* Part of it, and at a fixed address. */
	q = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, c.ubuf, 4096);
	CHECK(q != MAP_FAILED && q[0] == 'b' && q[4096] == 'c', "from the second page");
	fixed = mmap(NULL, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	q = mmap(fixed, 4 * 4096, PROT_READ, MAP_SHARED | MAP_FIXED, c.ubuf, 0);
	CHECK(q == fixed && q[3 * 4096] == 'd', "MAP_FIXED");
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, c.ubuf, 0) == MAP_FAILED && errno == EINVAL, "udmabuf private");
	CHECK(mmap(NULL, 5 * 4096, PROT_READ, MAP_SHARED, c.ubuf, 0) == MAP_FAILED && errno == EINVAL,
	      "udmabuf past the end");
	close(c.memfd);
	CHECK(c.mem[0] == 'a' && u[0] == 'a', "the memfd closed, the mappings stay");
	/* Only the new mappings' fds were installed, and closed again. */
	CHECK(fcntl(c.ubuf + 1, F_GETFD) < 0 || c.ubuf + 1 == ph.fd || c.ubuf + 1 == udev, "no fd left behind");

	/* Many rounds, from two threads, with a signal every 0.5 ms. */
	signal(SIGALRM, on_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK(pthread_create(&t, NULL, mmap_thread, &c) == 0, "thread");
	for (int i = 0; i < 50; i++)
		bad += mmap_round(&c, i + 1000);
	pthread_join(t, &tbad);
	it = (struct itimerval){ 0 };
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK(bad == 0 && tbad == NULL, "rounds: %d and %ld failed", bad, (long)tbad);
	CHECK(alarms > 0, "signals were delivered");

	/* A child maps them too. */
	pid = fork();
	if (pid == 0)
		_exit(mmap_round(&c, 7) ? 1 : 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child");

	/* mmap of files that are not ours is the kernel's. */
	{
		int f = memfd_create("plain", MFD_CLOEXEC);
		char *x;
		ftruncate(f, 4096);
		x = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, f, 0);
		CHECK(x != MAP_FAILED, "a plain memfd");
		CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, 9999, 0) == MAP_FAILED && errno == EBADF, "closed fd");
		close(f);
	}
	close(ph.fd);
	close(c.ubuf);
	close(udev);
	close(c.card);
}

static void *procfd_thread(void *arg)
{
	char path[64], buf[64];
	long r;
	snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", *(int *)arg);
	r = readlink(path, buf, sizeof(buf));
	return (void *)(intptr_t)(r == 20 && !memcmp(buf, "anon_inode:sync_file", 20));
}

static void probe_procfd(void)
{
	int tl = timeline(), f = fence(tl, 1), buf = heap_alloc(8192, O_RDWR | O_CLOEXEC), sup_seen = 0;
	char path[96], b[256], text[1024];
	long r;
	pthread_t t;
	void *ok = NULL;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", f);
	errno = 0;
	CHECK(syscall(SYS_readlink, path, b, 0) < 0 && errno == EINVAL, "bufsiz 0");
	CHECK(syscall(SYS_readlinkat, AT_FDCWD, path, b, -5) < 0 && errno == EINVAL, "bufsiz < 0");
	memset(b, '#', sizeof(b));
	r = syscall(SYS_readlink, path, b, 1L << 30);
	CHECK(r == 20 && !memcmp(b, "anon_inode:sync_file", 20) && b[20] == '#', "huge bufsiz: %ld", r);
	memset(b, '#', sizeof(b));
	r = syscall(SYS_readlink, path, b, 4);
	CHECK(r == 4 && !memcmp(b, "anon", 4) && b[4] == '#', "bufsiz 4: %ld", r);
	/* bufsiz is an int: the upper half is ignored. */
	memset(b, '#', sizeof(b));
	r = syscall(SYS_readlink, path, b, (1L << 32) + 5);
	CHECK(r == 5 && !memcmp(b, "anon_", 5) && b[5] == '#', "bufsiz 2^32 + 5: %ld", r);
	CHECK(syscall(SYS_readlink, path, b, 1L << 32) < 0 && errno == EINVAL, "bufsiz 2^32");
	CHECK(syscall(SYS_readlink, path, (void *)8, 64) < 0 && errno == EFAULT, "bad pointer");
	CHECK(syscall(SYS_readlink, path, NULL, 0) < 0 && errno == EINVAL, "NULL and bufsiz 0");
	CHECK(syscall(SYS_readlink, (void *)8, b, 64) < 0 && errno == EFAULT, "bad path pointer");
	CHECK(readlink("/proc/self/fd/4000", b, 64) < 0 && errno == ENOENT, "fd not open");
	CHECK(readlink("/proc/999999999/fd/3", b, 64) < 0 && errno == ENOENT, "no such pid");
	CHECK(readlink("/proc/self/fdinfo/3", b, 64) < 0 && errno == EINVAL, "fdinfo is no link");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", buf);
	r = readlink(path, b, sizeof(b));
	CHECK(r == 8 && !memcmp(b, "/dmabuf:", 8), "dma-buf link: %ld", r);
	CHECK(pthread_create(&t, NULL, procfd_thread, &f) == 0, "thread");
	pthread_join(t, &ok);
	CHECK(ok != NULL, "thread-self in a thread");

	/* fdinfo of our dma-buf, then of fds that are not ours. */
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", buf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	CHECK(r > 0 && (text[r] = 0, strstr(text, "\nsize:\t8192\ncount:\t1\nexp_name:\tsystem\n")), "fdinfo");
	CHECK(fd < 0 || (fcntl(fd, F_GETFD) & FD_CLOEXEC), "fdinfo cloexec");
	close(fd);
	fd = open("/proc/self/fdinfo/0", O_RDONLY);
	r = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	CHECK(r > 0 && (text[r] = 0, !strstr(text, "exp_name")), "fdinfo of stdin");
	close(fd);

	/* The supervisor (the parent) holds the files standing for our
	 * objects: through its pid they are what they are. */
	for (int n = 0; n < 256; n++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", getppid(), n);
		r = readlink(path, b, sizeof(b) - 1);
		if (r < 0)
			continue;
		b[r] = 0;
		CHECK(strcmp(b, "/sys/kernel/debug/sync/sw_sync") && strcmp(b, "anon_inode:sync_file") &&
			      strncmp(b, "/dmabuf:", 8),
		      "the supervisor's fd %d reads %s", n, b);
		sup_seen += !strncmp(b, "/memfd:", 7);
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", getppid(), n);
		fd = open(path, O_RDONLY);
		r = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
		CHECK(r < 0 || (text[r] = 0, !strstr(text, "exp_name")), "the supervisor's fdinfo %d", n);
		if (fd >= 0)
			close(fd);
	}
	CHECK(sup_seen > 0, "no memfd among the supervisor's fds");
	close(buf);
	close(f);
	close(tl);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (!strcmp(what, "after-exec") && argc == 4)
		return after_exec(atoi(argv[2]), atoi(argv[3]));
	if (!strcmp(what, "paths"))
		probe_paths();
	else if (!strcmp(what, "sync-file"))
		probe_sync_file();
	else if (!strcmp(what, "errors"))
		probe_errors();
	else if (!strcmp(what, "fork"))
		probe_fork();
	else if (!strcmp(what, "release"))
		probe_release();
	else if (!strcmp(what, "thread"))
		probe_thread();
	else if (!strcmp(what, "leaks"))
		probe_leaks();
	else if (!strcmp(what, "cloexec"))
		probe_cloexec(argv[0]);
	else if (!strcmp(what, "clean-start"))
		probe_clean_start();
	else if (!strcmp(what, "info"))
		probe_info();
	else if (!strcmp(what, "heap"))
		probe_heap();
	else if (!strcmp(what, "udmabuf"))
		probe_udmabuf();
	else if (!strcmp(what, "vgem"))
		probe_vgem();
	else if (!strcmp(what, "buf-leaks"))
		probe_buf_leaks();
	else if (!strcmp(what, "procfd"))
		probe_procfd();
	else if (!strcmp(what, "mmap"))
		probe_mmap();
	else if (!strcmp(what, "drm-churn"))
		probe_drm_churn();
	else if (!strcmp(what, "poll"))
		probe_poll();
	else if (!strcmp(what, "epoll"))
		probe_epoll();
	else if (!strcmp(what, "select"))
		probe_select();
	else if (!strcmp(what, "share-server") && argc == 3)
		return share(argv[2], 1);
	else if (!strcmp(what, "share-client") && argc == 3)
		return share(argv[2], 0);
	else if (!strcmp(what, "signals"))
		probe_signals();
	else if (!strcmp(what, "wait-term"))
		return wait_term();
	else if (!strcmp(what, "exit"))
		return atoi(argv[2]);
	else if (!strcmp(what, "kill"))
		raise(atoi(argv[2]));
	else {
		fprintf(stderr, "unknown probe %s\n", what);
		return 2;
	}
	if (failures)
		fprintf(stderr, "%s: %d failed\n", what, failures);
	return failures ? 1 : 0;
}
