/* Concurrency stress of the served calls: NPROC processes (fork) x NTHREAD
 * threads, each doing a fixed number of random operations on timelines,
 * sync files, dma-bufs and a vgem DRM file, checking every answer against
 * the kernel's, passing fds between processes over Unix sockets and
 * waking threads blocked in poll. At the end: every process exited 0, no
 * fd of the program leaked, the supervisor still serves and holds no
 * object any more.
 *
 * Usage: stress [signals] [ops-per-thread [seed]], or stress
 * epoll-release. Built
 * by tests/exec.rs like probes.c. */
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
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sw_sync_create_fence_data { uint32_t value; char name[32]; int32_t fence; };
struct sync_merge_data { char name[32]; int32_t fd2; int32_t fence; uint32_t flags; uint32_t pad; };
struct sync_fence_info { char obj_name[32]; char driver_name[32]; int32_t status; uint32_t flags; uint64_t timestamp_ns; };
struct sync_file_info { char name[32]; int32_t status; uint32_t flags; uint32_t num_fences; uint32_t pad; uint64_t sync_fence_info; };
#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW('W', 1, uint32_t)
#define SYNC_IOC_MERGE _IOWR('>', 3, struct sync_merge_data)
#define SYNC_IOC_FILE_INFO _IOWR('>', 4, struct sync_file_info)

struct dma_buf_sync { uint64_t flags; };
struct dma_buf_export_sync_file { uint32_t flags; int32_t fd; };
struct dma_buf_import_sync_file { uint32_t flags; int32_t fd; };
#define DMA_BUF_SYNC_READ 1
#define DMA_BUF_SYNC_WRITE 2
#define DMA_BUF_SYNC_RW 3
#define DMA_BUF_SYNC_END 4
#define DMA_BUF_IOCTL_SYNC _IOW('b', 0, struct dma_buf_sync)
#define DMA_BUF_IOCTL_EXPORT_SYNC_FILE _IOWR('b', 2, struct dma_buf_export_sync_file)
#define DMA_BUF_IOCTL_IMPORT_SYNC_FILE _IOW('b', 3, struct dma_buf_import_sync_file)
struct dma_heap_allocation_data { uint64_t len; uint32_t fd; uint32_t fd_flags; uint64_t heap_flags; };
#define DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0, struct dma_heap_allocation_data)
struct drm_mode_create_dumb { uint32_t height, width, bpp, flags, handle, pitch; uint64_t size; };
struct drm_prime_handle { uint32_t handle, flags; int32_t fd; };
struct drm_gem_close { uint32_t handle, pad; };
struct drm_vgem_fence_attach { uint32_t handle, flags, out_fence, pad; };
struct drm_vgem_fence_signal { uint32_t fence, flags; };
#define DRM_IOCTL_GEM_CLOSE _IOW('d', 0x09, struct drm_gem_close)
#define DRM_IOCTL_MODE_CREATE_DUMB _IOWR('d', 0xB2, struct drm_mode_create_dumb)
#define DRM_IOCTL_PRIME_HANDLE_TO_FD _IOWR('d', 0x2d, struct drm_prime_handle)
#define DRM_IOCTL_PRIME_FD_TO_HANDLE _IOWR('d', 0x2e, struct drm_prime_handle)
#define DRM_IOCTL_VGEM_FENCE_ATTACH _IOWR('d', 0x41, struct drm_vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL _IOW('d', 0x42, struct drm_vgem_fence_signal)

#define SW_SYNC "/sys/kernel/debug/sync/sw_sync"
#define NPROC 4
#define NTHREAD 4
/* A wait that must end: long enough never to expire on a slow machine,
 * a hang guard only. */
#define LONG_MS 20000

enum kind { K_TIMELINE, K_MERGE, K_POLL, K_HEAP, K_DUP, K_VGEM, K_SEND, K_WAKE, K_EPOLL, NKINDS };
static const char *kind_names[NKINDS] = { "timeline", "merge", "poll", "heap", "dup", "vgem", "send", "wake", "shared-epoll" };

/* Counters shared by every process (an anonymous shared mapping). */
struct shared {
	long ops[NKINDS];
	long calls;
	long failures;
	long sent, send_full, received;
	long wake_expected, wake_seen, wake_by_release;
	long signals;
};
static struct shared *sh;
static int proc_index = -1;
/* This process's failed checks (the exit code). */
static int local_failures;
static __thread int thread_index = -1;

#define ADD(field, n) __atomic_fetch_add(&sh->field, (n), __ATOMIC_RELAXED)
#define CHECK(cond, ...) do { \
	ADD(calls, 1); \
	if (!(cond)) { \
		int e_ = errno; \
		__atomic_fetch_add(&local_failures, 1, __ATOMIC_RELAXED); \
		if (ADD(failures, 1) < 40) { \
			fprintf(stderr, "p%d t%d %s:%d: %s: ", proc_index, thread_index, __func__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fprintf(stderr, " (errno %d)\n", e_); \
		} \
	} \
} while (0)

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int timeline(void)
{
	int fd = open(SW_SYNC, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open " SW_SYNC);
	return fd;
}

static int fence(int tl, uint32_t value)
{
	struct sw_sync_create_fence_data d = { .value = value, .fence = -1 };
	int r = ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &d);
	CHECK(r == 0 && d.fence >= 0, "CREATE_FENCE %u", value);
	return r == 0 ? d.fence : -1;
}

static int inc(int tl, uint32_t by)
{
	int r = ioctl(tl, SW_SYNC_IOC_INC, &by);
	CHECK(r == 0, "INC %u", by);
	return r;
}

/* The file's status (1, 0 or a negative error), or -1000 - errno. */
static int file_status(int fd, uint32_t *count)
{
	struct sync_file_info info;
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, SYNC_IOC_FILE_INFO, &info))
		return -1000 - errno;
	if (count)
		*count = info.num_fences;
	return info.status;
}

/* The waits, again when a signal interrupted them (EINTR: poll, ppoll,
 * select and epoll_wait are never restarted). */
static int r_poll(struct pollfd *p, nfds_t n, int timeout_ms)
{
	int r;
	while ((r = poll(p, n, timeout_ms)) == -1 && errno == EINTR)
		;
	return r;
}

static int r_ppoll(struct pollfd *p, nfds_t n, struct timespec *ts)
{
	struct timespec t = *ts;
	int r;
	while ((r = ppoll(p, n, &t, NULL)) == -1 && errno == EINTR)
		t = *ts;
	return r;
}

static int r_epoll_wait(int ep, struct epoll_event *ev, int n, int timeout_ms)
{
	int r;
	while ((r = epoll_wait(ep, ev, n, timeout_ms)) == -1 && errno == EINTR)
		;
	return r;
}

static int r_select(int nfds, fd_set *rs, struct timeval *tv)
{
	fd_set keep = *rs;
	struct timeval t = *tv;
	int r;
	while ((r = select(nfds, rs, NULL, NULL, tv)) == -1 && errno == EINTR) {
		*rs = keep;
		*tv = t;
	}
	return r;
}

static short poll_once(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = r_poll(&p, 1, timeout_ms);
	return r <= 0 ? 0 : p.revents;
}

static int heap_alloc(uint64_t len)
{
	int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC };
	int r;
	CHECK(heap >= 0, "open heap");
	r = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d);
	CHECK(r == 0, "ALLOC %llu", (unsigned long long)len);
	close(heap);
	return r ? -1 : (int)d.fd;
}

static int import_fence(int buf, int tl, uint32_t value, uint32_t flags)
{
	int f = fence(tl, value), r;
	struct dma_buf_import_sync_file im = { .flags = flags, .fd = f };
	r = ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &im);
	CHECK(r == 0, "IMPORT %u", flags);
	close(f);
	return r;
}

static int export_fence(int buf, uint32_t flags)
{
	struct dma_buf_export_sync_file ex = { .flags = flags, .fd = -1 };
	int r = ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &ex);
	CHECK(r == 0 && ex.fd >= 0, "EXPORT %u", flags);
	return r ? -1 : ex.fd;
}

/* Fences at random values, a random INC, each fence's status; closing the
 * timeline signals the rest with -ENOENT. */
static void op_timeline(uint64_t *s)
{
	int tl = timeline(), f[4], n = 1 + rnd(s) % 4, i;
	uint32_t v[4], by = rnd(s) % 8, count = 0;
	struct sync_file_info info;

	for (i = 0; i < n; i++) {
		v[i] = 1 + rnd(s) % 8;
		f[i] = fence(tl, v[i]);
	}
	CHECK(ioctl(f[0], SW_SYNC_IOC_INC, &by) == -1 && errno == ENOTTY, "INC on a sync file");
	memset(&info, 0, sizeof(info));
	CHECK(ioctl(tl, SYNC_IOC_FILE_INFO, &info) == -1 && errno == ENOTTY, "FILE_INFO on a timeline");
	inc(tl, by);
	for (i = 0; i < n; i++) {
		int want = v[i] <= by;
		CHECK(file_status(f[i], &count) == want && count == 1, "fence %u at %u", v[i], by);
		CHECK(poll_once(f[i], POLLIN | POLLOUT, 0) == (want ? POLLIN : 0), "poll fence %u at %u", v[i], by);
	}
	close(tl);
	for (i = 0; i < n; i++) {
		int want = v[i] <= by ? 1 : -ENOENT;
		CHECK(file_status(f[i], NULL) == want, "after close: fence %u at %u: %d", v[i], by, file_status(f[i], NULL));
		close(f[i]);
	}
}

static void op_merge(uint64_t *s)
{
	int a = timeline(), b = timeline(), fa = fence(a, 1), fb = fence(b, 1 + rnd(s) % 2);
	struct sync_merge_data m = { .fd2 = fb, .fence = -1 };
	uint32_t count = 0;
	int r;

	r = ioctl(fa, SYNC_IOC_MERGE, &m);
	CHECK(r == 0 && m.fence >= 0, "merge");
	CHECK(file_status(m.fence, &count) == 0 && count == 2, "merged: 2 pending");
	{
		struct sync_merge_data self = { .fd2 = fa, .fence = -1 };
		CHECK(ioctl(fa, SYNC_IOC_MERGE, &self) == 0 && file_status(self.fence, &count) == 0 && count == 1, "merge with itself: %u", count);
		close(self.fence);
	}
	{
		struct sync_merge_data bad = { .fd2 = a };
		CHECK(ioctl(fa, SYNC_IOC_MERGE, &bad) == -1 && errno == ENOENT, "merge with a timeline");
	}
	inc(a, 1);
	CHECK(file_status(m.fence, NULL) == 0, "one of two");
	CHECK(poll_once(m.fence, POLLIN, 0) == 0, "one of two: no POLLIN");
	inc(b, 2);
	CHECK(file_status(m.fence, NULL) == 1, "both");
	CHECK(poll_once(m.fence, POLLIN, 0) == POLLIN, "both: POLLIN");
	close(m.fence);
	close(fa);
	close(fb);
	close(a);
	close(b);
}

/* poll, ppoll, select and epoll of a sync file with short timeouts while
 * pending; after INC they report it. */
static void op_poll(uint64_t *s)
{
	int tl = timeline(), f = fence(tl, 2), ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct pollfd p = { .fd = f, .events = POLLIN };
	struct timespec ts = { 0, 1000000 * (rnd(s) % 3) };
	struct timeval tv = { 0, 1000 };
	fd_set rs;

	CHECK(ep >= 0, "epoll_create1");
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev) == 0, "epoll add");
	CHECK(r_ppoll(&p, 1, &ts) == 0, "ppoll pending");
	CHECK(r_epoll_wait(ep, &out, 1, rnd(s) % 2) == 0, "epoll pending");
	FD_ZERO(&rs);
	FD_SET(f, &rs);
	CHECK(r_select(f + 1, &rs, &tv) == 0, "select pending");
	inc(tl, 2);
	if (rnd(s) % 2) {
		ts.tv_sec = LONG_MS / 1000;
		ts.tv_nsec = 0;
		p.revents = 0;
		CHECK(r_ppoll(&p, 1, &ts) == 1 && p.revents == POLLIN, "ppoll signalled %x", p.revents);
	} else {
		CHECK(poll_once(f, POLLIN, LONG_MS) == POLLIN, "poll signalled");
	}
	CHECK(r_epoll_wait(ep, &out, 1, LONG_MS) == 1 && out.events == EPOLLIN, "epoll signalled");
	FD_ZERO(&rs);
	FD_SET(f, &rs);
	tv.tv_usec = 0;
	CHECK(r_select(f + 1, &rs, &tv) == 1 && FD_ISSET(f, &rs), "select signalled");
	close(ep);
	close(f);
	close(tl);
}

/* A heap buffer: mapping, CPU access brackets, export/import of fences,
 * poll and epoll of the buffer following its fences. */
static void op_heap(uint64_t *s)
{
	size_t len = 4096 * (1 + rnd(s) % 4);
	int buf = heap_alloc(len), tl, ex, ep;
	struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_WRITE };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT }, out;
	struct stat st;
	unsigned char *p;

	if (buf < 0)
		return;
	CHECK(fstat(buf, &st) == 0 && st.st_size == (off_t)len, "size %ld", (long)st.st_size);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	CHECK(p != MAP_FAILED, "mmap");
	CHECK(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) == 0, "sync start");
	if (p != MAP_FAILED) {
		memset(p, 0x5a, len);
		munmap(p, len);
	}
	sync.flags = DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END;
	CHECK(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) == 0, "sync end");
	sync.flags = 8;
	CHECK(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) == -1 && errno == EINVAL, "sync bad flag");
	ex = export_fence(buf, DMA_BUF_SYNC_RW);
	CHECK(file_status(ex, NULL) == 1, "export of an idle buffer is signalled");
	close(ex);
	CHECK(poll_once(buf, POLLIN | POLLOUT, 0) == (POLLIN | POLLOUT), "idle buffer");
	tl = timeline();
	import_fence(buf, tl, 1, rnd(s) % 2 ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_RW);
	CHECK(poll_once(buf, POLLIN | POLLOUT, rnd(s) % 2) == 0, "busy buffer");
	ex = export_fence(buf, DMA_BUF_SYNC_READ);
	CHECK(file_status(ex, NULL) == 0, "export of a busy buffer is pending");
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, buf, &ev) == 0, "epoll add buffer");
	CHECK(r_epoll_wait(ep, &out, 1, 0) == 0, "epoll busy buffer");
	sync.flags = DMA_BUF_SYNC_READ;
	inc(tl, 1);
	CHECK(ioctl(buf, DMA_BUF_IOCTL_SYNC, &sync) == 0, "sync after signal");
	CHECK(poll_once(buf, POLLIN | POLLOUT, LONG_MS) == (POLLIN | POLLOUT), "buffer idle again");
	CHECK(file_status(ex, NULL) == 1, "export signalled");
	CHECK(r_epoll_wait(ep, &out, 1, LONG_MS) == 1 && out.events == (EPOLLIN | EPOLLOUT), "epoll idle buffer %x", out.events);
	if (rnd(s) % 2)
		CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, buf, NULL) == 0, "epoll del");
	close(ep);
	close(ex);
	close(tl);
	close(buf);
}

/* dup, dup above 100 and close: the kernel's fd handling on our files. */
static void op_dup(uint64_t *s)
{
	int tl = timeline(), f = fence(tl, 1), d = dup(f), d2;
	struct sync_file_info info;

	CHECK(d >= 0, "dup");
	close(f);
	CHECK(file_status(d, NULL) == 0, "through the dup");
	d2 = fcntl(d, F_DUPFD_CLOEXEC, 100 + rnd(s) % 100);
	CHECK(d2 >= 100, "F_DUPFD_CLOEXEC");
	close(d);
	inc(tl, 1);
	CHECK(file_status(d2, NULL) == 1, "through the second dup");
	close(d2);
	memset(&info, 0, sizeof(info));
	CHECK(ioctl(100000, SYNC_IOC_FILE_INFO, &info) == -1 && errno == EBADF, "closed fd");
	close(tl);
}

/* vgem: dumb buffer, PRIME, fence attach and signal on the process's DRM
 * file (shared by its threads) or on a DRM file of the operation's own. */
static int card = -1;
static void op_vgem(uint64_t *s)
{
	int own = rnd(s) % 2, drm = own ? open("/dev/dri/card0", O_RDWR | O_CLOEXEC) : card;
	struct drm_mode_create_dumb dumb = { .width = 16 << (rnd(s) % 3), .height = 16, .bpp = 32 };
	struct drm_prime_handle prime = { .flags = O_RDWR | O_CLOEXEC, .fd = -1 };
	struct drm_vgem_fence_attach att = { .flags = 1 };
	struct drm_vgem_fence_signal sig = { 0 };
	struct drm_gem_close gc = { 0 };
	unsigned char *p;
	int ex;

	CHECK(ioctl(drm, DRM_IOCTL_MODE_CREATE_DUMB, &dumb) == 0 && dumb.handle != 0, "CREATE_DUMB");
	prime.handle = dumb.handle;
	CHECK(drm >= 0, "open card0");
	CHECK(ioctl(drm, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime) == 0 && prime.fd >= 0, "PRIME");
	if (prime.fd < 0) {
		if (own)
			close(drm);
		return;
	}
	p = mmap(NULL, dumb.size, PROT_READ | PROT_WRITE, MAP_SHARED, prime.fd, 0);
	CHECK(p != MAP_FAILED, "mmap prime");
	if (p != MAP_FAILED) {
		CHECK(p[0] == 0, "new buffer is zeroed");
		p[1] = 7;
		munmap(p, dumb.size);
	}
	att.handle = dumb.handle;
	CHECK(ioctl(drm, DRM_IOCTL_VGEM_FENCE_ATTACH, &att) == 0, "ATTACH");
	ex = export_fence(prime.fd, DMA_BUF_SYNC_READ);
	CHECK(poll_once(ex, POLLIN, rnd(s) % 2) == 0, "attached fence pending");
	CHECK(poll_once(prime.fd, POLLIN, 0) == 0, "buffer busy");
	sig.fence = att.out_fence;
	CHECK(ioctl(drm, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig) == 0, "SIGNAL");
	CHECK(poll_once(ex, POLLIN, LONG_MS) == POLLIN, "attached fence signalled");
	CHECK(ioctl(drm, DRM_IOCTL_VGEM_FENCE_SIGNAL, &sig) == -1 && errno == ENOENT, "SIGNAL twice");
	{
		struct drm_prime_handle back = { .fd = prime.fd };
		CHECK(ioctl(drm, DRM_IOCTL_PRIME_FD_TO_HANDLE, &back) == 0 && back.handle == dumb.handle, "FD_TO_HANDLE %u", back.handle);
	}
	gc.handle = dumb.handle;
	CHECK(ioctl(drm, DRM_IOCTL_GEM_CLOSE, &gc) == 0, "GEM_CLOSE");
	/* Another thread may be given the handle at once on a shared file. */
	if (own)
		CHECK(ioctl(drm, DRM_IOCTL_GEM_CLOSE, &gc) == -1 && errno == EINVAL, "GEM_CLOSE twice");
	close(ex);
	close(prime.fd);
	if (own)
		close(drm);
}

/* Passing fds to the next process: a signalled sync file, a sync file
 * whose timeline the sender closes, a heap buffer with a pattern. */
struct msg { int kind; int value; };
static int tx = -1, rx = -1;

static void send_fd(int fd, struct msg m)
{
	struct iovec iov = { &m, sizeof(m) };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&h);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(tx, &h, MSG_DONTWAIT) == sizeof(m)) {
		ADD(sent, 1);
	} else {
		CHECK(errno == EAGAIN, "sendmsg");
		ADD(send_full, 1);
	}
}

static void op_send(uint64_t *s)
{
	int k = rnd(s) % 3;
	struct msg m = { .kind = k };
	if (k == 0) {
		int tl = timeline(), f = fence(tl, 3);
		inc(tl, 3);
		send_fd(f, m);
		close(f);
		close(tl);
	} else if (k == 1) {
		int tl = timeline(), f = fence(tl, 3);
		send_fd(f, m);
		close(f);
		if (rnd(s) % 2)
			inc(tl, 1);
		close(tl);
	} else {
		int buf = heap_alloc(8192);
		unsigned char *p;
		if (buf < 0)
			return;
		m.value = rnd(s) & 0xff;
		p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
		CHECK(p != MAP_FAILED, "mmap to send");
		if (p != MAP_FAILED) {
			p[4096] = m.value;
			munmap(p, 8192);
		}
		send_fd(buf, m);
		close(buf);
	}
}

static void check_received(int fd, struct msg m)
{
	if (m.kind == 0) {
		CHECK(file_status(fd, NULL) == 1, "received signalled file");
		CHECK(poll_once(fd, POLLIN, 0) == POLLIN, "received signalled file polls");
	} else if (m.kind == 1) {
		CHECK(poll_once(fd, POLLIN, LONG_MS) == POLLIN, "received file signals when its timeline goes");
		CHECK(file_status(fd, NULL) == -ENOENT, "received file: -ENOENT, got %d", file_status(fd, NULL));
	} else {
		struct stat st;
		unsigned char *p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
		CHECK(fstat(fd, &st) == 0 && st.st_size == 8192, "received buffer size");
		CHECK(p != MAP_FAILED && p[4096] == m.value, "received buffer pattern");
		if (p != MAP_FAILED)
			munmap(p, 8192);
		CHECK(poll_once(fd, POLLOUT, 0) == POLLOUT, "received buffer idle");
	}
}

static void *receiver(void *arg)
{
	(void)arg;
	thread_index = NTHREAD;
	for (;;) {
		struct msg m;
		struct iovec iov = { &m, sizeof(m) };
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		ssize_t n;
		int fd;

		CHECK(poll_once(rx, POLLIN, 60000) & (POLLIN | POLLHUP), "receiver waited a minute");
		n = recvmsg(rx, &h, MSG_CMSG_CLOEXEC);
		if (n == 0)
			break;
		c = CMSG_FIRSTHDR(&h);
		CHECK(n == sizeof(m) && c && c->cmsg_type == SCM_RIGHTS, "recvmsg %zd", n);
		if (n != sizeof(m) || !c)
			break;
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
		ADD(received, 1);
		check_received(fd, m);
		close(fd);
	}
	return NULL;
}

/* Threads blocked in poll, ppoll, epoll_wait or DMA_BUF_IOCTL_SYNC while
 * this one signals their fences one by one (INC, or closing the timeline):
 * each must wake. */
struct waiter {
	int n, how, fds[5];
	int buf;
	int seen;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	int done[5] = { 0 }, left = w->n, i;

	if (w->how == 3) {
		struct dma_buf_sync sync = { .flags = DMA_BUF_SYNC_RW };
		/* Blocks until every fence of the buffer signalled. */
		if (ioctl(w->buf, DMA_BUF_IOCTL_SYNC, &sync) == 0)
			w->seen = w->n;
		return NULL;
	}
	if (w->how == 2) {
		int ep = epoll_create1(EPOLL_CLOEXEC);
		for (i = 0; i < w->n; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
			epoll_ctl(ep, EPOLL_CTL_ADD, w->fds[i], &ev);
		}
		while (left > 0) {
			struct epoll_event out[5];
			int r = r_epoll_wait(ep, out, 5, LONG_MS);
			if (r <= 0)
				break;
			for (i = 0; i < r; i++) {
				int k = out[i].data.u32;
				if (!done[k]) {
					done[k] = 1;
					left--;
					w->seen++;
					epoll_ctl(ep, EPOLL_CTL_DEL, w->fds[k], NULL);
				}
			}
		}
		close(ep);
		return NULL;
	}
	while (left > 0) {
		struct pollfd p[5];
		int map[5], m = 0, r;
		for (i = 0; i < w->n; i++)
			if (!done[i]) {
				p[m] = (struct pollfd){ .fd = w->fds[i], .events = POLLIN };
				map[m++] = i;
			}
		if (w->how == 0) {
			r = r_poll(p, m, LONG_MS);
		} else {
			struct timespec ts = { LONG_MS / 1000, 0 };
			r = r_ppoll(p, m, &ts);
		}
		if (r <= 0)
			break;
		for (i = 0; i < m; i++)
			if (p[i].revents & POLLIN) {
				done[map[i]] = 1;
				left--;
				w->seen++;
			}
	}
	return NULL;
}

static void op_wake(uint64_t *s)
{
	struct waiter w = { .n = 1 + rnd(s) % 4, .how = rnd(s) % 4, .buf = -1 };
	int tls[5], order[5], i;
	pthread_t t;

	for (i = 0; i < w.n; i++) {
		tls[i] = timeline();
		order[i] = i;
	}
	if (w.how == 3) {
		w.buf = heap_alloc(4096);
		if (w.buf < 0)
			return;
		for (i = 0; i < w.n; i++)
			import_fence(w.buf, tls[i], 1, i % 2 ? DMA_BUF_SYNC_WRITE : DMA_BUF_SYNC_READ);
	} else {
		for (i = 0; i < w.n; i++)
			w.fds[i] = fence(tls[i], 1);
		/* A dma-buf among the sync files, polled for POLLIN. */
		if (w.how != 2 && w.n < 4 && rnd(s) % 2) {
			w.buf = heap_alloc(4096);
			tls[w.n] = timeline();
			order[w.n] = w.n;
			import_fence(w.buf, tls[w.n], 1, DMA_BUF_SYNC_WRITE);
			w.fds[w.n++] = w.buf;
		}
	}
	for (i = w.n - 1; i > 0; i--) {
		int j = rnd(s) % (i + 1), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	CHECK(pthread_create(&t, NULL, waiter_main, &w) == 0, "pthread_create");
	for (i = 0; i < w.n; i++) {
		usleep(rnd(s) % 400);
		/* Signalled by an INC, or by the timeline's release (-ENOENT,
		 * seen by the supervisor through inotify). */
		if (rnd(s) % 4) {
			inc(tls[order[i]], 1);
		} else {
			close(tls[order[i]]);
			tls[order[i]] = -1;
			ADD(wake_by_release, 1);
		}
	}
	pthread_join(t, NULL);
	ADD(wake_expected, w.n);
	ADD(wake_seen, w.seen);
	CHECK(w.seen == w.n, "waiter %d woke for %d of %d", w.how, w.seen, w.n);
	for (i = 0; i < w.n; i++) {
		if (tls[i] >= 0)
			close(tls[i]);
		if (w.how != 3 && w.fds[i] != w.buf)
			close(w.fds[i]);
	}
	if (w.buf >= 0)
		close(w.buf);
}

/* ADD, MOD and DEL of dma-bufs in an epoll that the process's threads
 * share, with the kernel's errnos; half the buffers are closed with no
 * DEL (the kernel drops them from the epoll). */
static int shared_ep = -1;
static void op_epoll(uint64_t *s)
{
	int buf = heap_alloc(4096), tl = timeline(), closed_early = rnd(s) % 2;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = rnd(s) };

	if (buf < 0) {
		close(tl);
		return;
	}
	import_fence(buf, tl, 1, DMA_BUF_SYNC_WRITE);
	CHECK(epoll_ctl(shared_ep, EPOLL_CTL_MOD, buf, &ev) == -1 && errno == ENOENT, "MOD before ADD");
	CHECK(epoll_ctl(shared_ep, EPOLL_CTL_DEL, buf, NULL) == -1 && errno == ENOENT, "DEL before ADD");
	CHECK(epoll_ctl(shared_ep, EPOLL_CTL_ADD, buf, &ev) == 0, "ADD");
	CHECK(epoll_ctl(shared_ep, EPOLL_CTL_ADD, buf, &ev) == -1 && errno == EEXIST, "ADD twice");
	ev.events = EPOLLOUT;
	CHECK(epoll_ctl(shared_ep, EPOLL_CTL_MOD, buf, &ev) == 0, "MOD");
	inc(tl, 1);
	if (closed_early) {
		close(buf);
	} else {
		CHECK(epoll_ctl(shared_ep, EPOLL_CTL_DEL, buf, NULL) == 0, "DEL");
		CHECK(epoll_ctl(shared_ep, EPOLL_CTL_DEL, buf, NULL) == -1 && errno == ENOENT, "DEL twice");
		close(buf);
	}
	close(tl);
}

static int ops_per_thread = 150;
static uint64_t seed = 1;

static void *worker(void *arg)
{
	uint64_t s = seed * 1000003 + (uint64_t)proc_index * 101 + (uintptr_t)arg + 1;
	int i;
	thread_index = (int)(uintptr_t)arg;
	for (i = 0; i < ops_per_thread; i++) {
		int k = rnd(&s) % NKINDS;
		switch (k) {
		case K_TIMELINE: op_timeline(&s); break;
		case K_MERGE: op_merge(&s); break;
		case K_POLL: op_poll(&s); break;
		case K_HEAP: op_heap(&s); break;
		case K_DUP: op_dup(&s); break;
		case K_VGEM: op_vgem(&s); break;
		case K_SEND: op_send(&s); break;
		case K_WAKE: op_wake(&s); break;
		case K_EPOLL: op_epoll(&s); break;
		}
		ADD(ops[k], 1);
	}
	return NULL;
}

static int count_fds(const char *dir, int skip_pidfds, int show)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], link[256];
		ssize_t l;
		if (e->d_name[0] == '.')
			continue;
		if (skip_pidfds) {
			/* Pidfds of the threads that made calls are a cache
			 * (objects.rs), not objects. */
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			l = readlink(path, link, sizeof(link) - 1);
			link[l > 0 ? l : 0] = 0;
			if (strstr(link, "pidfd"))
				continue;
			if (show)
				fprintf(stderr, "  %s -> %s\n", path, link);
		}
		n++;
	}
	closedir(d);
	return n;
}

/* The supervisor's fd count once it stops changing (releases handled). */
static int settled_fds(const char *supdir)
{
	int before = -1, tries;
	for (tries = 0; tries < 200; tries++) {
		int n = count_fds(supdir, 1, 0);
		if (n == before)
			break;
		before = n;
		usleep(20000);
	}
	return before;
}

/* Checks that the supervisor's fds come back to `before` (every object
 * released), listing them when they do not. */
static int check_fds_back(const char *supdir, int before)
{
	int after = -1, tries;
	for (tries = 0; tries < 400; tries++) {
		after = count_fds(supdir, 1, 0);
		if (after <= before)
			break;
		usleep(25000);
	}
	CHECK(before > 0 && after == before, "supervisor fds %d -> %d after %d waits", before, after, tries);
	if (after != before)
		count_fds(supdir, 1, 1);
	return after;
}

/* With `signals`: a thread of each process sends SIGUSR1 (an SA_RESTART
 * handler) to its workers all along: no served call may take effect twice
 * or fail for it, the waits are tried again. */
static int with_signals;
static volatile int workers_done;
static void on_usr1(int sig)
{
	(void)sig;
	ADD(signals, 1);
}

struct pest { pthread_t *t; };
static void *pest_main(void *arg)
{
	struct pest *p = arg;
	uint64_t s = seed + proc_index + 7;
	while (!__atomic_load_n(&workers_done, __ATOMIC_RELAXED)) {
		pthread_kill(p->t[rnd(&s) % NTHREAD], SIGUSR1);
		usleep(200 + rnd(&s) % 800);
	}
	return NULL;
}

static int child_main(int i)
{
	pthread_t t[NTHREAD], r, pt;
	struct pest pest = { t };
	int mine, k;

	proc_index = i;
	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	CHECK(card >= 0, "open card0");
	shared_ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(shared_ep >= 0, "epoll_create1");
	mine = count_fds("/proc/self/fd", 0, 0);
	CHECK(pthread_create(&r, NULL, receiver, NULL) == 0, "receiver");
	for (k = 0; k < NTHREAD; k++)
		CHECK(pthread_create(&t[k], NULL, worker, (void *)(uintptr_t)k) == 0, "worker");
	if (with_signals) {
		struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
		sigaction(SIGUSR1, &sa, NULL);
		CHECK(pthread_create(&pt, NULL, pest_main, &pest) == 0, "pest");
	}
	for (k = 0; k < NTHREAD; k++)
		pthread_join(t[k], NULL);
	if (with_signals) {
		__atomic_store_n(&workers_done, 1, __ATOMIC_RELAXED);
		pthread_join(pt, NULL);
	}
	shutdown(tx, SHUT_WR);
	pthread_join(r, NULL);
	CHECK(count_fds("/proc/self/fd", 0, 0) == mine, "process fds %d -> %d", mine, count_fds("/proc/self/fd", 0, 0));
	close(shared_ep);
	close(card);
	return local_failures ? 1 : 0;
}

/* A dma-buf added to an epoll, then the epoll and the buffer closed with
 * no EPOLL_CTL_DEL: the supervisor lets go of the buffer and its proxy
 * with no further call of the program. */
static int epoll_release(pid_t sup)
{
	char supdir[64];
	int before, buf, ep, i;
	struct epoll_event ev = { .events = EPOLLIN };

	snprintf(supdir, sizeof(supdir), "/proc/%d/fd", (int)sup);
	close(heap_alloc(4096));
	before = settled_fds(supdir);
	for (i = 0; i < 3; i++) {
		buf = heap_alloc(4096);
		ep = epoll_create1(EPOLL_CLOEXEC);
		CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, buf, &ev) == 0, "epoll add");
		if (i == 1)
			close(ep);
		close(buf);
		if (i != 1)
			close(ep);
	}
	check_fds_back(supdir, before);
	return sh->failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	int sp[NPROC][2], i, mine, before, after, bad = 0;
	pid_t sup = getppid(), pids[NPROC];
	char supdir[64];
	struct timespec t0, t1;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	if (argc > 1 && !strcmp(argv[1], "epoll-release"))
		return epoll_release(sup);
	if (argc > 1 && !strcmp(argv[1], "signals")) {
		with_signals = 1;
		argv++;
		argc--;
	}
	if (argc > 1)
		ops_per_thread = atoi(argv[1]);
	if (argc > 2)
		seed = strtoull(argv[2], NULL, 0);
	else
		seed = (uint64_t)time(NULL) ^ getpid();
	printf("stress: %d processes x %d threads x %d ops, seed %llu\n", NPROC, NTHREAD, ops_per_thread, (unsigned long long)seed);
	fflush(stdout);
	snprintf(supdir, sizeof(supdir), "/proc/%d/fd", (int)sup);

	/* One object of each kind made and released first, so the
	 * supervisor's lasting state (the devices' template files) exists. */
	{
		uint64_t s = seed | 1;
		card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
		op_vgem(&s);
		op_heap(&s);
		op_timeline(&s);
		close(card);
		card = -1;
	}
	mine = count_fds("/proc/self/fd", 0, 0);
	before = settled_fds(supdir);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < NPROC; i++)
		CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp[i]) == 0, "socketpair");
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			int j;
			/* Receives on sp[i][1], sends on sp[i+1][0]. */
			rx = sp[i][1];
			tx = sp[(i + 1) % NPROC][0];
			for (j = 0; j < NPROC; j++) {
				if (sp[j][1] != rx)
					close(sp[j][1]);
				if (sp[j][0] != tx)
					close(sp[j][0]);
			}
			_exit(child_main(i));
		}
		CHECK(pids[i] > 0, "fork");
	}
	for (i = 0; i < NPROC; i++) {
		close(sp[i][0]);
		close(sp[i][1]);
	}
	for (i = 0; i < NPROC; i++) {
		int status = 0;
		CHECK(waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %d status %#x", i, status);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	proc_index = NPROC;
	CHECK(count_fds("/proc/self/fd", 0, 0) == mine, "own fds %d -> %d", mine, count_fds("/proc/self/fd", 0, 0));
	/* Every object the processes made is released: the supervisor's fds
	 * (but its pidfd cache) return to where they were. */
	after = check_fds_back(supdir, before);
	{
		char buf[8192];
		int fd = open("/sys/kernel/debug/sync/info", O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		buf[n > 0 ? n : 0] = 0;
		CHECK(n > 0 && !strstr(buf, "fence active") && strstr(buf, "objs:\n--------------\nfences:") == buf, "sync info: %s", buf);
		close(fd);
	}
	/* Still serving. */
	{
		uint64_t s = seed;
		card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
		op_timeline(&s);
		op_vgem(&s);
		op_wake(&s);
		close(card);
	}
	for (i = 0; i < NKINDS; i++) {
		printf("%s%s %ld", i ? ", " : "ops: ", kind_names[i], sh->ops[i]);
		if (sh->ops[i] == 0)
			bad++;
	}
	printf("\nchecks %ld, failed %ld; fds sent %ld (socket full %ld), received %ld; wake-ups %ld of %ld (%ld by a release); signals %ld; supervisor fds %d -> %d; %.2f s\n",
	       sh->calls, sh->failures, sh->sent, sh->send_full, sh->received, sh->wake_seen, sh->wake_expected, sh->wake_by_release, sh->signals, before, after,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	CHECK(bad == 0, "every kind of operation ran");
	CHECK(sh->sent == sh->received && sh->sent > 0, "sent %ld, received %ld", sh->sent, sh->received);
	CHECK(sh->wake_seen == sh->wake_expected, "wake-ups");
	{
		long total = 0;
		for (i = 0; i < NKINDS; i++)
			total += sh->ops[i];
		CHECK(total == (long)NPROC * NTHREAD * ops_per_thread, "operations counted: %ld", total);
	}
	return sh->failures ? 1 : 0;
}
