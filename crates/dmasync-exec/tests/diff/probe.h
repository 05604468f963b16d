/* Shared helpers of the differential probes (the .c files of tests/diff).
 *
 * Each probe prints one line per observation, "label: value", in a form
 * that does not depend on the run: fence context numbers are renumbered in
 * order of first appearance (<c0>, <c1>, ...), the program's own command
 * name (the name of its sw_sync timelines) is printed as <comm>, timestamps
 * as ts=0 / ts>0 (plus relations such as "in window"), fd and inode numbers
 * never appear (only "same"/"different"). The same lines come from the
 * real kernel (tests/diff/golden/) and from `dmasync exec`.
 *
 * Written against the UAPI only: the structs are spelled out here so that
 * the probes build with any libc headers. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-function"

/* linux/sync_file.h, sw_sync (drivers/dma-buf/sw_sync.c) */
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

/* linux/dma-buf.h */
struct dma_buf_sync { uint64_t flags; };
struct dma_buf_export_sync_file { uint32_t flags; int32_t fd; };
struct dma_buf_import_sync_file { uint32_t flags; int32_t fd; };
#define DMA_BUF_SYNC_READ (1 << 0)
#define DMA_BUF_SYNC_WRITE (2 << 0)
#define DMA_BUF_SYNC_RW (DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE)
#define DMA_BUF_SYNC_START (0 << 2)
#define DMA_BUF_SYNC_END (1 << 2)
#define DMA_BUF_IOCTL_SYNC _IOW('b', 0, struct dma_buf_sync)
#define DMA_BUF_SET_NAME_A _IOW('b', 1, uint32_t)
#define DMA_BUF_SET_NAME_B _IOW('b', 1, uint64_t)
#define DMA_BUF_IOCTL_EXPORT_SYNC_FILE _IOWR('b', 2, struct dma_buf_export_sync_file)
#define DMA_BUF_IOCTL_IMPORT_SYNC_FILE _IOW('b', 3, struct dma_buf_import_sync_file)

/* linux/udmabuf.h */
struct udmabuf_create { uint32_t memfd; uint32_t flags; uint64_t offset; uint64_t size; };
struct udmabuf_create_item { uint32_t memfd; uint32_t pad; uint64_t offset; uint64_t size; };
struct udmabuf_create_list { uint32_t flags; uint32_t count; struct udmabuf_create_item list[]; };
#define UDMABUF_FLAGS_CLOEXEC 0x01
#define UDMABUF_CREATE _IOW('u', 0x42, struct udmabuf_create)
#define UDMABUF_CREATE_LIST _IOW('u', 0x43, struct udmabuf_create_list)

/* linux/dma-heap.h */
struct dma_heap_allocation_data { uint64_t len; uint32_t fd; uint32_t fd_flags; uint64_t heap_flags; };
#define DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0x0, struct dma_heap_allocation_data)

/* drm/drm.h, drm/drm_mode.h (unless a probe has libdrm's drm.h), drm/vgem_drm.h */
#ifndef _DRM_H_
struct drm_version {
	int version_major, version_minor, version_patchlevel;
	size_t name_len; char *name; size_t date_len; char *date; size_t desc_len; char *desc;
};
struct drm_gem_close { uint32_t handle; uint32_t pad; };
struct drm_prime_handle { uint32_t handle; uint32_t flags; int32_t fd; };
struct drm_mode_create_dumb { uint32_t height, width, bpp, flags, handle, pitch; uint64_t size; };
struct drm_mode_map_dumb { uint32_t handle; uint32_t pad; uint64_t offset; };
#define DRM_IOCTL_VERSION _IOWR('d', 0x00, struct drm_version)
#define DRM_IOCTL_GEM_CLOSE _IOW('d', 0x09, struct drm_gem_close)
#define DRM_IOCTL_PRIME_HANDLE_TO_FD _IOWR('d', 0x2d, struct drm_prime_handle)
#define DRM_IOCTL_PRIME_FD_TO_HANDLE _IOWR('d', 0x2e, struct drm_prime_handle)
#define DRM_IOCTL_MODE_CREATE_DUMB _IOWR('d', 0xB2, struct drm_mode_create_dumb)
#define DRM_IOCTL_MODE_MAP_DUMB _IOWR('d', 0xB3, struct drm_mode_map_dumb)
#define DRM_COMMAND_BASE 0x40
#define DRM_CLOEXEC O_CLOEXEC
#define DRM_RDWR O_RDWR
#endif
struct vgem_fence_attach { uint32_t handle; uint32_t flags; uint32_t out_fence; uint32_t pad; };
struct vgem_fence_signal { uint32_t fence; uint32_t flags; };
#define DRM_IOCTL_VGEM_FENCE_ATTACH _IOWR('d', DRM_COMMAND_BASE + 0x1, struct vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL _IOW('d', DRM_COMMAND_BASE + 0x2, struct vgem_fence_signal)
#define VGEM_FENCE_WRITE 0x1

#define SW_SYNC "/sys/kernel/debug/sync/sw_sync"
#define PAGE 4096

static char comm[16];

static void probe_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_GET_NAME, comm, 0, 0, 0);
}

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char *errname(int e)
{
	static char buf[8][16];
	static int slot;
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ELOOP: return "ELOOP";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOVERFLOW: return "EOVERFLOW";
	case EBADFD: return "EBADFD";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIMEDOUT: return "ETIMEDOUT";
	}
	slot = (slot + 1) % 8;
	snprintf(buf[slot], sizeof(buf[slot]), "E%d", e);
	return buf[slot];
}

/* "ok" for a non-negative result, else the errno's name. Call right after
 * the system call. */
static const char *rc(long r)
{
	return r >= 0 ? "ok" : errname(errno);
}

/* Context numbers, renumbered in order of first appearance. */
static unsigned long long ctx_seen[4096];
static int ctx_count;

static int ctx_token(unsigned long long ctx)
{
	for (int i = 0; i < ctx_count; i++)
		if (ctx_seen[i] == ctx)
			return i;
	if (ctx_count < 4096)
		ctx_seen[ctx_count++] = ctx;
	return ctx_count - 1;
}

/* A timeline or driver name: the command name, as a whole, becomes
 * <comm>. */
static void norm_word(const char *in, size_t len, char *dst, size_t cap)
{
	if (len == strlen(comm) && memcmp(in, comm, len) == 0)
		snprintf(dst, cap, "<comm>");
	else
		snprintf(dst, cap, "%.*s", (int)len, in);
}

/* A sync file name: "<driver>-<timeline><context>-<seqno>" has its context
 * renumbered and <comm> substituted; any other name is printed as is
 * (escaped when not printable). */
static const char *norm_name(const char *name)
{
	static char buf[4][160];
	static int slot;
	char *o = buf[slot = (slot + 1) % 4];
	size_t n = strnlen(name, 32);
	const char *first = memchr(name, '-', n);
	const char *last = NULL;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '-')
			last = name + i;
	if (first && last && last > first + 1 && last + 1 < name + n) {
		const char *d = last;
		int seq_ok = 1;
		for (const char *p = last + 1; p < name + n; p++)
			if ((*p < '0' || *p > '9') && !(p == last + 1 && *p == '-'))
				seq_ok = 0;
		while (d > first + 1 && d[-1] >= '0' && d[-1] <= '9')
			d--;
		if (seq_ok && d < last) {
			char word[96], num[32];
			unsigned long long ctx;
			memcpy(num, d, last - d);
			num[last - d] = 0;
			ctx = strtoull(num, NULL, 10);
			norm_word(first + 1, d - first - 1, word, sizeof(word));
			snprintf(o, 160, "%.*s-%s<c%d>%.*s", (int)(first - name), name, word,
				 ctx_token(ctx), (int)(name + n - last), last);
			return o;
		}
	}
	{
		char word[96];
		size_t k = 0;
		norm_word(name, n, word, sizeof(word));
		for (size_t i = 0; word[i] && k + 5 < 160; i++) {
			unsigned char c = word[i];
			if (c >= 0x20 && c < 0x7f && c != '\\')
				o[k++] = c;
			else
				k += snprintf(o + k, 160 - k, "\\x%02x", c);
		}
		o[k] = 0;
	}
	return o;
}

/* A name printed as it is (escaped when not printable): driver names,
 * which never contain the command name even when they equal it. */
static const char *plain_name(const char *name)
{
	static char buf[4][160];
	static int slot;
	char *o = buf[slot = (slot + 1) % 4];
	size_t k = 0;
	for (size_t i = 0; i < 32 && name[i] && k + 5 < 160; i++) {
		unsigned char c = name[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			o[k++] = c;
		else
			k += snprintf(o + k, 160 - k, "\\x%02x", c);
	}
	o[k] = 0;
	return o;
}

/* A file type as the probes print it (st_mode & S_IFMT; 0 for the
 * kernel's anonymous files that have none). */
static const char *file_type(unsigned int mode)
{
	switch (mode & S_IFMT) {
	case 0:
		return "none";
	case S_IFCHR:
		return "char";
	case S_IFDIR:
		return "dir";
	case S_IFREG:
		return "reg";
	case S_IFLNK:
		return "link";
	case S_IFIFO:
		return "fifo";
	default:
		return "other";
	}
}

/* A directory entry's d_type as the probes print it. */
static const char *dtype(unsigned char t)
{
	switch (t) {
	case DT_DIR:
		return "dir";
	case DT_REG:
		return "reg";
	case DT_LNK:
		return "link";
	default:
		return "other";
	}
}

/* What readlink says of `p`. */
static void show_link(const char *p)
{
	char l[PATH_MAX];
	ssize_t n = readlink(p, l, sizeof(l) - 1);
	if (n < 0) {
		out("readlink %s: %s", p, errname(errno));
	} else {
		l[n] = 0;
		out("readlink %s: %s", p, l);
	}
}

/* The entries of a directory, in the order readdir gives them. */
static void show_dir(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *e;
	char line[1024];
	size_t at = 0;
	if (!d) {
		out("opendir %s: %s", p, errname(errno));
		return;
	}
	line[0] = 0;
	while ((e = readdir(d)) && at < sizeof(line) - 64)
		at += snprintf(line + at, sizeof(line) - at, " %s(%s)", e->d_name, dtype(e->d_type));
	out("readdir %s:%s", p, line);
	closedir(d);
}

static const char *ts(uint64_t t)
{
	return t ? "ts>0" : "ts=0";
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static int open_timeline(void)
{
	int fd = open(SW_SYNC, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		out("FATAL open sw_sync: %s", errname(errno));
		exit(2);
	}
	return fd;
}

/* A sync file of the point `value` on `tl`, or -errno. */
static int create_fence(int tl, uint32_t value)
{
	struct sw_sync_create_fence_data d;
	memset(&d, 0, sizeof(d));
	d.value = value;
	if (ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &d))
		return -errno;
	return d.fence;
}

static int inc(int tl, uint32_t by)
{
	return ioctl(tl, SW_SYNC_IOC_INC, &by);
}

/* A merge of a and b named `name`, or -errno. */
static int merge(const char *name, int a, int b)
{
	struct sync_merge_data m;
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "%s", name);
	m.fd2 = b;
	if (ioctl(a, SYNC_IOC_MERGE, &m))
		return -errno;
	return m.fence;
}

static struct sync_fence_info fence_infos[256];

/* FILE_INFO in two calls (count, then entries); fills fence_infos. Returns
 * the header, status -1000-errno on failure. */
static struct sync_file_info file_info(int fd)
{
	struct sync_file_info info;
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, SYNC_IOC_FILE_INFO, &info)) {
		info.status = -1000 - errno;
		return info;
	}
	if (info.num_fences > 256)
		info.num_fences = 256;
	info.sync_fence_info = (uintptr_t)fence_infos;
	if (ioctl(fd, SYNC_IOC_FILE_INFO, &info))
		info.status = -1000 - errno;
	return info;
}

/* Prints the header and one line per fence. */
static void show_file(const char *label, int fd)
{
	struct sync_file_info info = file_info(fd);
	if (info.status <= -1000) {
		out("%s: FILE_INFO %s", label, errname(-1000 - info.status));
		return;
	}
	out("%s: name=%s status=%d num_fences=%u flags=%u", label, norm_name(info.name), info.status,
	    info.num_fences, info.flags);
	for (uint32_t i = 0; i < info.num_fences; i++) {
		struct sync_fence_info *f = &fence_infos[i];
		out("%s[%u]: obj=%s driver=%s status=%d flags=%u %s", label, i, norm_name(f->obj_name),
		    plain_name(f->driver_name), f->status, f->flags, ts(f->timestamp_ns));
	}
}

/* The file's status, or -1000-errno. */
static int file_status(int fd)
{
	return file_info(fd).status;
}

static uint32_t file_count(int fd)
{
	return file_info(fd).num_fences;
}

static const char *revents(short r)
{
	static char buf[4][48];
	static int slot;
	char *b = buf[slot = (slot + 1) % 4];
	b[0] = 0;
	if (r == 0)
		return "none";
	if (r & POLLIN)
		strcat(b, "|IN");
	if (r & POLLOUT)
		strcat(b, "|OUT");
	if (r & POLLERR)
		strcat(b, "|ERR");
	if (r & POLLHUP)
		strcat(b, "|HUP");
	if (r & POLLNVAL)
		strcat(b, "|NVAL");
	if (r & POLLPRI)
		strcat(b, "|PRI");
	return b + 1;
}

/* poll once; "none" when nothing is ready. */
static const char *poll_now(int fd, short events, int timeout)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r = poll(&p, 1, timeout);
	if (r < 0)
		return errname(errno);
	return revents(r ? p.revents : 0);
}

static const char *epoll_events(uint32_t e)
{
	static char buf[4][48];
	static int slot;
	char *b = buf[slot = (slot + 1) % 4];
	b[0] = 0;
	if (e == 0)
		return "none";
	if (e & EPOLLIN)
		strcat(b, "|IN");
	if (e & EPOLLOUT)
		strcat(b, "|OUT");
	if (e & EPOLLERR)
		strcat(b, "|ERR");
	if (e & EPOLLHUP)
		strcat(b, "|HUP");
	return b + 1;
}

/* One epoll_wait with timeout 0 (or -1): "none" or the events. */
static const char *epoll_now(int ep, int timeout)
{
	struct epoll_event ev;
	int r = epoll_wait(ep, &ev, 1, timeout);
	if (r < 0)
		return errname(errno);
	return r ? epoll_events(ev.events) : "none";
}

static const char *yesno(int c)
{
	return c ? "yes" : "no";
}

/* The lowest free fd number: lets a probe see that a failed call did not
 * leave an fd behind. */
static int next_fd(void)
{
	int fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		close(fd);
	return fd;
}

/* A page that is no longer mapped (a dangling pointer). */
static void *dangling(void)
{
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, PAGE);
	return p;
}

/* A struct of `size` bytes ending `short_by` bytes past a mapped page:
 * reading the whole of it faults. */
static void *straddling(size_t size, size_t short_by)
{
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p + PAGE, PAGE);
	return p + PAGE - (size - short_by);
}

/* A read-only page holding a copy of `src`. */
static void *read_only(const void *src, size_t size)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(p, src, size);
	mprotect(p, PAGE, PROT_READ);
	return p;
}
