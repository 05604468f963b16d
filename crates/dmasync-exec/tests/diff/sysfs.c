/* The sysfs view of the vgem device that DRM clients read: drm-rs's DrmNode,
 * libdrm's drmGetDevice2/drmGetNodeTypeFromFd/drmGet*DeviceNameFromFd and
 * Mesa's loader look up /sys/dev/char/226:N/... and /sys/class/drm/...:
 * file types, symlinks, directory listings (in the kernel's order), the
 * text of dev, uevent, device/uevent, and symlinks followed physically
 * ("..") on the way; and what an open attribute is (fstat, seeks, reads,
 * poll, mmap, its /proc/self/fd link). Golden: golden/sysfs.txt. */
#include "probe.h"
#include <dirent.h>
#include <limits.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

/* The text of a file, with newlines as "|". */
static void show_text(const char *p)
{
	char buf[512];
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	if (fd < 0) {
		out("read %s: %s", p, errname(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		out("read %s: %s", p, errname(errno));
		close(fd);
		return;
	}
	buf[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = '|';
	out("read %s: \"%s\"", p, buf);
	close(fd);
}

static void show_path(const char *p)
{
	struct stat st;
	if (lstat(p, &st)) {
		out("lstat %s: %s", p, errname(errno));
	} else {
		out("lstat %s: type %s perm %o nlink %lu size %lld", p, file_type(st.st_mode), st.st_mode & 07777,
		    (unsigned long)st.st_nlink, (long long)st.st_size);
	}
	if (stat(p, &st)) {
		out("stat %s: %s", p, errname(errno));
	} else {
		out("stat %s: type %s perm %o nlink %lu size %lld", p, file_type(st.st_mode), st.st_mode & 07777,
		    (unsigned long)st.st_nlink, (long long)st.st_size);
		if (S_ISREG(st.st_mode))
			show_text(p);
	}
	show_link(p);
}

static void show_realpath(const char *p)
{
	char r[PATH_MAX];
	if (realpath(p, r))
		out("realpath %s: %s", p, r);
	else
		out("realpath %s: %s", p, errname(errno));
}

/* Newlines as "|", in place. */
static char *bars(char *b)
{
	for (char *c = b; *c; c++)
		if (*c == '\n')
			*c = '|';
	return b;
}

/* An attribute opened read-only: what fstat, fstatfs, the seeks, reads,
 * poll, mmap, ioctl and /proc/self/fd say of it (libdrm reads uevent
 * through stdio, which fstats it first). */
static void attr_fd(const char *p)
{
	struct stat st, pst;
	struct statfs sf;
	char buf[512], l[PATH_MAX], lp[64];
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	if (fd < 0) {
		out("attr %s: open %s", p, errname(errno));
		return;
	}
	if (fstat(fd, &st) == 0)
		out("attr %s: fstat type %s perm %o nlink %lu size %lld blksize %ld, same inode as stat %s", p,
		    file_type(st.st_mode), st.st_mode & 07777, (unsigned long)st.st_nlink, (long long)st.st_size,
		    (long)st.st_blksize,
		    yesno(stat(p, &pst) == 0 && pst.st_ino == st.st_ino && pst.st_dev == st.st_dev));
	else
		out("attr %s: fstat %s", p, errname(errno));
	if (fstatfs(fd, &sf) == 0)
		out("attr %s: fstatfs type 0x%lx", p, (unsigned long)sf.f_type);
	else
		out("attr %s: fstatfs %s", p, errname(errno));
	out("attr %s: lseek END %lld", p, (long long)lseek(fd, 0, SEEK_END));
	out("attr %s: lseek END-10 %lld", p, (long long)lseek(fd, -10, SEEK_END));
	out("attr %s: lseek HOLE %lld", p, (long long)lseek(fd, 0, SEEK_HOLE));
	out("attr %s: lseek DATA 1 %lld", p, (long long)lseek(fd, 1, SEEK_DATA));
	errno = 0;
	out("attr %s: lseek END-5000 %lld %s", p, (long long)lseek(fd, -5000, SEEK_END), errno ? errname(errno) : "");
	n = lseek(fd, 0, SEEK_END) < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	out("attr %s: read at END %zd", p, n);
	n = pread(fd, buf, 3, 2);
	buf[n < 0 ? 0 : n] = 0;
	out("attr %s: pread 3 at 2 %zd \"%s\"", p, n, bars(buf));
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, 4);
	buf[n < 0 ? 0 : n] = 0;
	out("attr %s: read 4 %zd \"%s\"", p, n, bars(buf));
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = 0;
	out("attr %s: read rest %zd \"%s\", then at %lld", p, n, bars(buf), (long long)lseek(fd, 0, SEEK_CUR));
	out("attr %s: read again %zd", p, read(fd, buf, sizeof(buf)));
	out("attr %s: poll %s", p, poll_now(fd, POLLIN | POLLPRI | POLLOUT, 0));
	{
		int avail = -1;
		const char *r = rc(ioctl(fd, FIONREAD, &avail));
		out("attr %s: FIONREAD %s %d", p, r, avail);
		lseek(fd, 2, SEEK_SET);
		r = rc(ioctl(fd, FIONREAD, &avail));
		out("attr %s: FIONREAD at 2 %s %d", p, r, avail);
		out("attr %s: fallocate %s", p, rc(fallocate(fd, 0, 0, 1)));
	}
	void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	out("attr %s: mmap shared %s", p, m == MAP_FAILED ? errname(errno) : "ok");
	if (m != MAP_FAILED)
		munmap(m, 4096);
	m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	out("attr %s: mmap private %s", p, m == MAP_FAILED ? errname(errno) : "ok");
	if (m != MAP_FAILED)
		munmap(m, 4096);
	out("attr %s: write %s", p, rc(write(fd, "x", 1)));
	out("attr %s: F_GETFL access %s", p, (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : "other");
	snprintf(lp, sizeof(lp), "/proc/self/fd/%d", fd);
	n = readlink(lp, l, sizeof(l) - 1);
	l[n < 0 ? 0 : n] = 0;
	out("attr %s: /proc/self/fd link %s", p, n < 0 ? errname(errno) : l);
	close(fd);
}

/* Path resolution as systemd's chase() (libudev's sd_device) does it: one
 * component at a time with O_PATH|O_NOFOLLOW opens relative to the
 * previous one; a link (fstat says so) is read with readlinkat() from its
 * directory and its target walked in its place. */
static void chase(const char *path)
{
	char todo[PATH_MAX], done[PATH_MAX] = "", comp[NAME_MAX + 1], target[PATH_MAX / 2], l[PATH_MAX * 2], lp[64];
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), links = 0;
	struct stat st;
	snprintf(todo, sizeof(todo), "%s", path);
	while (todo[0]) {
		char *p = todo;
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		snprintf(comp, sizeof(comp), "%.*s", (int)n, p);
		memmove(todo, p + n, strlen(p + n) + 1);
		int child;
		if (strcmp(comp, "..") == 0) {
			child = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			char *last = strrchr(done, '/');
			if (last)
				*last = 0;
		} else {
			child = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (child < 0) {
			out("chase %s: openat %s %s", path, comp, errname(errno));
			close(fd);
			return;
		}
		if (fstat(child, &st)) {
			out("chase %s: fstat %s %s", path, comp, errname(errno));
			close(child);
			close(fd);
			return;
		}
		if (S_ISLNK(st.st_mode)) {
			ssize_t t = readlinkat(fd, comp, target, sizeof(target) - 1);
			if (t < 0) {
				out("chase %s: readlinkat %s %s", path, comp, errname(errno));
				close(child);
				close(fd);
				return;
			}
			target[t] = 0;
			snprintf(l, sizeof(l), "%s%s", target, todo);
			snprintf(todo, sizeof(todo), "%.*s", (int)sizeof(todo) - 1, l);
			close(child);
			links++;
			continue;
		}
		if (strcmp(comp, "..") != 0) {
			size_t d = strlen(done);
			snprintf(done + d, sizeof(done) - d, "/%s", comp);
		}
		close(fd);
		fd = child;
	}
	snprintf(lp, sizeof(lp), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(lp, l, sizeof(l) - 1);
	l[n < 0 ? 0 : n] = 0;
	out("chase %s: %s, %d links, fd link %s, type %s", path, done, links, l,
	    fstat(fd, &st) ? errname(errno) : file_type(st.st_mode));
	close(fd);
}

/* An O_PATH|O_NOFOLLOW open of a link gives the link itself. */
static void path_fd(const char *dir, const char *name, int flags)
{
	int d = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = openat(d, name, O_PATH | O_CLOEXEC | flags);
	struct stat st;
	char l[PATH_MAX], buf[8];
	if (fd < 0) {
		out("O_PATH%s %s/%s: %s", flags ? "|O_NOFOLLOW" : "", dir, name, errname(errno));
		close(d);
		return;
	}
	ssize_t n = readlinkat(fd, "", l, sizeof(l) - 1);
	const char *rl = n < 0 ? errname(errno) : l;
	l[n < 0 ? 0 : n] = 0;
	out("O_PATH%s %s/%s: fstat %s, fstatat empty %s, readlinkat empty %s, read %s, ioctl %s", flags ? "|O_NOFOLLOW" : "",
	    dir, name, fstat(fd, &st) ? errname(errno) : file_type(st.st_mode),
	    fstatat(fd, "", &st, AT_EMPTY_PATH) ? errname(errno) : file_type(st.st_mode), rl,
	    rc(read(fd, buf, sizeof(buf))), rc(ioctl(fd, FIONREAD, &n)));
	close(fd);
	close(d);
}

/* What libdrm does for a DRM fd: its device number from fstat, whether
 * /sys/dev/char/M:m/device/drm exists (drmGetNodeTypeFromFd), DEVNAME
 * from uevent (drmGetDeviceNameFromFd2), and the node of another type
 * from the device/drm listing (drmGetMinorNameForFD). */
static void libdrm_like(const char *node, const char *want_prefix)
{
	struct stat st;
	char p[PATH_MAX], buf[512], *dn;
	int fd = open(node, O_RDWR | O_CLOEXEC), u;
	ssize_t n;
	DIR *d;
	struct dirent *e;
	if (fd < 0 || fstat(fd, &st)) {
		out("libdrm %s: %s", node, errname(errno));
		return;
	}
	out("libdrm %s: fstat char %s %u:%u", node, yesno(S_ISCHR(st.st_mode)), major(st.st_rdev), minor(st.st_rdev));
	snprintf(p, sizeof(p), "/sys/dev/char/%u:%u/device/drm", major(st.st_rdev), minor(st.st_rdev));
	out("libdrm %s: access device/drm %s", node, rc(access(p, F_OK)));
	snprintf(p, sizeof(p), "/sys/dev/char/%u:%u/uevent", major(st.st_rdev), minor(st.st_rdev));
	u = open(p, O_RDONLY | O_CLOEXEC);
	n = u < 0 ? -1 : read(u, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = 0;
	dn = strstr(buf, "DEVNAME=");
	if (dn) {
		*strchrnul(dn, '\n') = 0;
		out("libdrm %s: device name /dev/%s", node, dn + 8);
	} else {
		out("libdrm %s: no DEVNAME", node);
	}
	if (u >= 0)
		close(u);
	snprintf(p, sizeof(p), "/sys/dev/char/%u:%u/device/drm", major(st.st_rdev), minor(st.st_rdev));
	d = opendir(p);
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, want_prefix, strlen(want_prefix)) == 0) {
			snprintf(p, sizeof(p), "/dev/dri/%s", e->d_name);
			out("libdrm %s: %s node %s, access %s", node, want_prefix, p, rc(access(p, R_OK | W_OK)));
		}
	}
	if (d)
		closedir(d);
	close(fd);
}

int main(void)
{
	static const char *roots[] = { "/sys/dev/char/226:0", "/sys/dev/char/226:128", "/sys/class/drm/card0",
				       "/sys/class/drm/renderD128" };
	static const char *subs[] = { "",
				      "/",
				      "/dev",
				      "/uevent",
				      "/device",
				      "/device/",
				      "/subsystem",
				      "/power",
				      "/device/drm",
				      "/device/uevent",
				      "/device/modalias",
				      "/device/driver_override",
				      "/device/subsystem",
				      "/device/power",
				      "/device/drm/card0",
				      "/device/drm/renderD128/dev",
				      "/device/drm/card1",
				      "/nonexistent",
				      "/dev/x",
				      "/../renderD128/uevent",
				      "/../../modalias",
				      "/subsystem/version" };
	char p[PATH_MAX];
	int d;
	struct stat st;
	probe_init();
	for (unsigned i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		for (unsigned j = 0; j < sizeof(subs) / sizeof(subs[0]); j++) {
			snprintf(p, sizeof(p), "%s%s", roots[i], subs[j]);
			show_path(p);
		}
		show_dir(roots[i]);
		snprintf(p, sizeof(p), "%s/device", roots[i]);
		show_dir(p);
		snprintf(p, sizeof(p), "%s/device/drm", roots[i]);
		show_dir(p);
		show_realpath(roots[i]);
		show_realpath(p);
		snprintf(p, sizeof(p), "%s/device", roots[i]);
		show_realpath(p);
		snprintf(p, sizeof(p), "%s/device/subsystem", roots[i]);
		show_realpath(p);
		snprintf(p, sizeof(p), "%s/subsystem", roots[i]);
		show_realpath(p);
	}
	show_path("/sys/class/drm");
	show_path("/sys/class/drm/version");
	show_path("/sys/class/drm/card1");
	show_path("/sys/dev/char/226:1");
	show_path("/sys/devices/platform/vgem");
	show_path("/sys/devices/platform/vgem/drm");
	show_path("/sys/devices/platform/vgem/drm/card0/dev");
	show_dir("/sys/class/drm");
	show_dir("/sys/devices/platform/vgem/drm");
	/* The runtime-PM attributes udevadm info -a prints (the device has
	 * no runtime PM). */
	{
		static const char *pm[] = { "async", "control", "runtime_active_kids", "runtime_active_time",
					    "runtime_enabled", "runtime_status", "runtime_suspended_time",
					    "runtime_usage" };
		static const char *dirs[] = { "/sys/devices/platform/vgem/power",
					      "/sys/devices/platform/vgem/drm/card0/power",
					      "/sys/class/drm/renderD128/power" };
		for (unsigned i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			show_dir(dirs[i]);
			for (unsigned j = 0; j < sizeof(pm) / sizeof(pm[0]); j++) {
				snprintf(p, sizeof(p), "%s/%s", dirs[i], pm[j]);
				show_path(p);
			}
		}
	}

	/* Relative to a directory fd. */
	d = open("/sys/class/drm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	out("open /sys/class/drm O_DIRECTORY %s", d < 0 ? errname(errno) : "ok");
	{
		static const struct {
			const char *path;
			int flags;
		} at[] = { { "card0/dev", 0 }, { "card0", AT_SYMLINK_NOFOLLOW }, { "card0", 0 }, { "card0/", 0 } };
		for (unsigned i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			const char *r = rc(fstatat(d, at[i].path, &st, at[i].flags));
			out("fstatat(drm, %s, %s) %s type %s", at[i].path, at[i].flags ? "NOFOLLOW" : "0", r,
			    file_type(st.st_mode));
		}
	}
	{
		char l[256];
		ssize_t n = readlinkat(d, "renderD128", l, sizeof(l) - 1);
		l[n < 0 ? 0 : n] = 0;
		out("readlinkat(drm, renderD128) %s", n < 0 ? errname(errno) : l);
		n = readlinkat(d, "renderD128/device", l, sizeof(l) - 1);
		l[n < 0 ? 0 : n] = 0;
		out("readlinkat(drm, renderD128/device) %s", n < 0 ? errname(errno) : l);
	}
	{
		int c = openat(d, "card0", O_RDONLY | O_DIRECTORY | O_CLOEXEC), u;
		char buf[64];
		ssize_t n;
		out("openat(drm, card0) %s", c < 0 ? errname(errno) : "ok");
		u = openat(c, "dev", O_RDONLY | O_CLOEXEC);
		n = u < 0 ? -1 : read(u, buf, sizeof(buf) - 1);
		buf[n < 0 ? 0 : n] = 0;
		if (n > 0 && buf[n - 1] == '\n')
			buf[n - 1] = 0;
		out("openat(card0, dev) read \"%s\"", buf);
		out("faccessat(card0, device/drm) %s", rc(faccessat(c, "device/drm", F_OK, 0)));
		out("openat(card0, dev, O_DIRECTORY) %s", rc(openat(c, "dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
		out("openat(card0, device/drm/card0/dev, O_NOFOLLOW) %s",
		    rc(u = openat(c, "device/drm/card0/dev", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)));
		out("openat(card0, device, O_NOFOLLOW) %s",
		    openat(c, "device", O_RDONLY | O_NOFOLLOW | O_CLOEXEC) < 0 && errno == ELOOP ? "ELOOP" : "not ELOOP");
		if (u >= 0)
			close(u);
		close(c);
	}
	close(d);
	attr_fd("/sys/dev/char/226:0/dev");
	attr_fd("/sys/dev/char/226:0/uevent");
	attr_fd("/sys/class/drm/renderD128/device/uevent");
	attr_fd("/sys/class/drm/renderD128/device/modalias");
	attr_fd("/sys/class/drm/card0/device/driver_override");
	attr_fd("/sys/class/drm/version");
	/* Opens for writing: root may write the attributes that have a
	 * store method (0644), none may write the others. */
	{
		static const char *w[] = { "/sys/dev/char/226:0/dev", "/sys/dev/char/226:0/uevent",
					   "/sys/class/drm/card0/device/modalias", "/sys/class/drm/version" };
		for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
			int fd = open(w[i], O_WRONLY | O_CLOEXEC);
			out("open %s O_WRONLY %s", w[i], fd < 0 ? errname(errno) : "ok");
			if (fd >= 0)
				close(fd);
			fd = open(w[i], O_RDWR | O_CLOEXEC);
			out("open %s O_RDWR %s", w[i], fd < 0 ? errname(errno) : "ok");
			if (fd >= 0)
				close(fd);
		}
	}
	/* Writing a uevent (udevadm trigger, "echo change > uevent"): the
	 * kernel sends the event; the attribute reads as before. */
	{
		static const char *u[] = { "/sys/class/drm/card0/uevent", "/sys/devices/platform/vgem/uevent" };
		struct stat st;
		char buf[256];
		for (unsigned i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
			int fd = open(u[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			out("write %s: open O_WRONLY|O_CREAT|O_TRUNC %s", u[i], fd < 0 ? errname(errno) : "ok");
			if (fd < 0)
				continue;
			out("write %s: \"change\" %s", u[i], rc(write(fd, "change\n", 7)));
			out("write %s: \"add\" again %s", u[i], rc(write(fd, "add", 3)));
			if (fstat(fd, &st) == 0)
				out("write %s: fstat type %s perm %o size %lld", u[i], file_type(st.st_mode), st.st_mode & 07777,
				    (long long)st.st_size);
			out("write %s: read %s", u[i], rc(read(fd, buf, sizeof(buf))));
			close(fd);
			fd = open(u[i], O_RDONLY | O_CLOEXEC);
			ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
			buf[n < 0 ? 0 : n] = 0;
			out("write %s: reads after \"%s\"", u[i], bars(buf));
			if (fd >= 0)
				close(fd);
		}
	}
	path_fd("/sys/dev/char", "226:0", O_NOFOLLOW);
	path_fd("/sys/dev/char", "226:128", 0);
	path_fd("/sys/class/drm", "renderD128", O_NOFOLLOW);
	path_fd("/sys/class/drm/card0", "dev", O_NOFOLLOW);
	path_fd("/sys/class/drm/card0", "uevent", 0);
	path_fd("/sys/devices/platform/vgem", "drm", O_NOFOLLOW);
	chase("/sys/dev/char/226:0");
	chase("/sys/dev/char/226:128/device/drm");
	chase("/sys/class/drm/card0/subsystem/renderD128/dev");
	chase("/sys/class/drm/renderD128/device/subsystem");
	chase("/sys/devices/platform/vgem/drm/card0/../../modalias");
	chase("/sys/dev/char/226:7");
	libdrm_like("/dev/dri/card0", "renderD");
	libdrm_like("/dev/dri/renderD128", "card");
	return 0;
}
