/* What a device enumerator (systemd's sd-device, behind libudev; IGT's
 * lsgpu) needs from /sys to find the vgem device: the host directories
 * that hold it list it (/sys/class lists "drm", /sys/devices/platform and
 * /sys/bus/platform/devices "vgem", /sys/dev/char its two minors) at the
 * kernfs position of their name, however small the getdents buffer and
 * after a seek; a path walk opens each component with O_PATH|O_NOFOLLOW
 * and reads the links it meets through those fds; statfs and fstatfs say
 * which file system each file is on (sd-device refuses a device directory
 * that is not on sysfs). Only the served names are printed: the host's
 * other entries differ from the oracle's. Golden: golden/udev.txt. */
#include "probe.h"
#include <dirent.h>
#include <limits.h>
#include <sys/statfs.h>

struct d64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static int ours(const char *dir, const char *name)
{
	if (!strcmp(dir, "/sys/class"))
		return !strcmp(name, "drm");
	if (!strcmp(dir, "/sys/dev/char"))
		return !strncmp(name, "226:", 4);
	return !strcmp(name, "vgem");
}

/* The served names of `dir` as getdents64 lists them with a buffer of
 * `room` bytes: the position each one is listed at, its type, and whether
 * positions only grow and no name comes twice. */
static void listing(const char *dir, size_t room)
{
	char buf[65536], line[512], seen[4096];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;
	int64_t pos = 0, last = -1;
	int ordered = 1, twice = 0;
	size_t at = 0;
	line[0] = seen[0] = 0;
	if (fd < 0) {
		out("%s: open %s", dir, errname(errno));
		return;
	}
	while ((n = syscall(SYS_getdents64, fd, buf, room)) > 0) {
		for (long i = 0; i < n;) {
			struct d64 *d = (void *)(buf + i);
			char key[300];
			if (pos < last)
				ordered = 0;
			last = pos;
			snprintf(key, sizeof(key), "/%s/", d->name);
			if (strstr(seen, key))
				twice = 1;
			else if (strlen(seen) + strlen(key) < sizeof(seen))
				strcat(seen, key);
			if (ours(dir, d->name) && at < sizeof(line) - 64)
				at += snprintf(line + at, sizeof(line) - at, " %s@%lld(type %d)", d->name, (long long)pos,
					       d->type);
			pos = d->off;
			i += d->reclen;
		}
	}
	out("%s (buffer %zu): served:%s; ordered %s; a name twice %s; ends %s, position %lld", dir, room,
	    line[0] ? line : " none", yesno(ordered), yesno(twice), n < 0 ? errname(errno) : "ok",
	    (long long)lseek(fd, 0, SEEK_CUR));
	close(fd);
}

/* getdents64 from a position set with lseek to an entry's own position
 * (seekdir to a telldir value; kernfs resumes a position that is no
 * entry's from wherever its tree search ended, which is not emulated). */
static void from_position(const char *dir, int64_t at)
{
	char buf[4096];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;
	if (fd < 0)
		return;
	out("%s: lseek to %lld %s", dir, (long long)at, rc(lseek(fd, at, SEEK_SET) == at ? 0 : -1));
	n = syscall(SYS_getdents64, fd, buf, 8);
	out("%s: getdents64 with 8 bytes %s", dir, n < 0 ? errname(errno) : n ? "ok" : "empty");
	n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
	if (n > 0) {
		struct d64 *d = (void *)buf;
		out("%s: first entry from there %s", dir, ours(dir, d->name) ? d->name : "(a host entry)");
	} else {
		out("%s: getdents64 from there %s", dir, n < 0 ? errname(errno) : "empty");
	}
	close(fd);
}

static const char *fs_name(long t)
{
	switch (t) {
	case 0x62656572:
		return "sysfs";
	case 0x64626720:
		return "debugfs";
	case 0x01021994:
		return "tmpfs";
	case 0x444d4142:
		return "dmabuf";
	case 0x09041934:
		return "anon_inode";
	default:
		return "other";
	}
}

static void show_statfs(const char *p)
{
	struct statfs s;
	if (statfs(p, &s))
		out("statfs %s: %s", p, errname(errno));
	else
		out("statfs %s: %s", p, fs_name(s.f_type));
}

static void show_fstatfs(const char *label, int fd)
{
	struct statfs s;
	if (fstatfs(fd, &s))
		out("fstatfs %s: %s", label, errname(errno));
	else
		out("fstatfs %s: %s", label, fs_name(s.f_type));
}

/* A path walk as systemd's chase() makes it: O_PATH|O_NOFOLLOW opens of
 * each component from the previous one's fd, links read through the fd
 * of their directory and through their own fd. */
static void walk(void)
{
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), sys, cls, drm, link, x;
	struct stat st;
	char t[PATH_MAX];
	ssize_t n;
	sys = openat(root, "sys", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	cls = openat(sys, "class", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	drm = openat(cls, "drm", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	out("walk: /sys/class/drm %s", drm < 0 ? errname(errno) : "ok");
	out("walk: fstat of it %s", fstatat(drm, "", &st, AT_EMPTY_PATH) ? errname(errno)
				     : S_ISDIR(st.st_mode)	     ? "dir"
									     : "not a dir");
	show_fstatfs("/sys/class/drm (O_PATH)", drm);
	link = openat(drm, "card0", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	out("walk: card0 O_PATH|O_NOFOLLOW %s", link < 0 ? errname(errno) : "ok");
	if (link >= 0) {
		if (fstatat(link, "", &st, AT_EMPTY_PATH))
			out("walk: fstat of the link %s", errname(errno));
		else
			out("walk: fstat of the link %s perm %o", S_ISLNK(st.st_mode) ? "link" : "not a link",
			    st.st_mode & 07777);
		n = readlinkat(link, "", t, sizeof(t) - 1);
		if (n >= 0)
			t[n] = 0;
		out("walk: readlinkat(link fd, \"\") %s", n < 0 ? errname(errno) : t);
		x = openat(link, "dev", O_RDONLY | O_CLOEXEC);
		out("walk: openat(link fd, \"dev\") %s", rc(x));
		out("walk: ioctl on the link fd %s", rc(ioctl(link, DRM_IOCTL_VERSION, 0)));
		show_fstatfs("card0 link (O_PATH)", link);
		close(link);
	}
	n = readlinkat(drm, "renderD128", t, sizeof(t) - 1);
	if (n >= 0)
		t[n] = 0;
	out("walk: readlinkat(drm, \"renderD128\") %s", n < 0 ? errname(errno) : t);
	x = openat(drm, "card0", O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	out("walk: card0 O_PATH|O_NOFOLLOW|O_DIRECTORY %s", rc(x));
	x = openat(drm, "card0", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	out("walk: card0 O_RDONLY|O_NOFOLLOW %s", rc(x));
	x = openat(drm, "card0", O_PATH | O_CLOEXEC);
	out("walk: card0 O_PATH (followed) %s", x < 0 ? errname(errno) : "ok");
	if (x >= 0) {
		out("walk: followed is a dir %s", yesno(!fstatat(x, "", &st, AT_EMPTY_PATH) && S_ISDIR(st.st_mode)));
		out("walk: faccessat(\"uevent\") %s", rc(faccessat(x, "uevent", F_OK, 0)));
		show_fstatfs("card0 directory (O_PATH)", x);
		close(x);
	}
	close(drm);
	close(cls);
	close(sys);
	close(root);
}

int main(void)
{
	static const char *const dirs[] = { "/sys/class", "/sys/devices/platform", "/sys/bus/platform/devices",
					    "/sys/dev/char" };
	probe_init();
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		listing(dirs[i], 65536);
		listing(dirs[i], 40);
	}
	from_position("/sys/class", 2128581942);
	from_position("/sys/dev/char", 1609872069);
	{
		char t[PATH_MAX];
		struct stat st;
		ssize_t n = readlink("/sys/bus/platform/devices/vgem", t, sizeof(t) - 1);
		if (n >= 0)
			t[n] = 0;
		out("readlink /sys/bus/platform/devices/vgem: %s", n < 0 ? errname(errno) : t);
		out("stat /sys/bus/platform/devices/vgem/drm/card0/dev: %s",
		    rc(stat("/sys/bus/platform/devices/vgem/drm/card0/dev", &st)));
	}
	walk();
	show_statfs("/sys/class/drm");
	show_statfs("/sys/class/drm/card0");
	show_statfs("/sys/devices/platform/vgem/drm/renderD128/uevent");
	show_statfs("/sys/kernel/debug/dri/vgem");
	show_statfs("/sys/kernel/debug/dri/0/name");
	show_statfs("/sys/kernel/debug/sync/sw_sync");
	show_statfs("/dev/dri/card0");
	show_statfs("/dev/dri");
	show_statfs("/dev/dma_heap/system");
	show_statfs("/sys/class/drm/nothing");
	show_statfs("/sys/class/drm/card0/dev/x");
	{
		int card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC), tl = open_timeline(), f = create_fence(tl, 1);
		int dir = open("/sys/class/drm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
		struct dma_heap_allocation_data a = { .len = 4096, .fd_flags = O_RDWR | O_CLOEXEC };
		show_fstatfs("card0", card);
		show_fstatfs("timeline", tl);
		show_fstatfs("sync file", f);
		show_fstatfs("/sys/class/drm directory", dir);
		show_fstatfs("heap", heap);
		if (!ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &a)) {
			show_fstatfs("dma-buf", a.fd);
			close(a.fd);
		}
		show_fstatfs("bad fd", 999);
		close(heap);
		close(dir);
		close(f);
		close(tl);
		close(card);
	}
	out("end");
	return 0;
}
