/* The vgem device's debugfs directory, as DRM test suites and tools read
 * it: /sys/kernel/debug/dri/<minor> links to the device's directory, which
 * holds "name", "clients" and "gem_names". File types, links, listings in
 * readdir order, and the texts as files are opened, masters change, magics
 * are handed out, objects are named and exported, and other processes use
 * the files. The process's own pid, a child's pid, the command name and
 * the caller's uid are printed as <pid>, <child>, <comm>, <uid>; each
 * "clients" line also gives its length (the columns' widths). Golden:
 * golden/debugfs.txt. */
#include "probe.h"
#include <dirent.h>
#include <limits.h>

#define DRI "/sys/kernel/debug/dri"

struct drm_auth { uint32_t magic; };
struct drm_set_version { int32_t di_major, di_minor, dd_major, dd_minor; };
struct drm_gem_flink { uint32_t handle; uint32_t name; };
struct drm_gem_open { uint32_t name; uint32_t handle; uint64_t size; };
#define DRM_IOCTL_GET_MAGIC _IOR('d', 0x02, struct drm_auth)
#define DRM_IOCTL_SET_VERSION _IOWR('d', 0x07, struct drm_set_version)
#define DRM_IOCTL_GEM_FLINK _IOWR('d', 0x0a, struct drm_gem_flink)
#define DRM_IOCTL_GEM_OPEN _IOWR('d', 0x0b, struct drm_gem_open)
#define DRM_IOCTL_DROP_MASTER _IO('d', 0x1f)

static pid_t child_pid;

static void show_path(const char *p)
{
	struct stat st;
	if (lstat(p, &st))
		out("lstat %s: %s", p, errname(errno));
	else
		out("lstat %s: type %s perm %o nlink %lu size %lld", p, file_type(st.st_mode), st.st_mode & 07777,
		    (unsigned long)st.st_nlink, (long long)st.st_size);
	if (stat(p, &st))
		out("stat %s: %s", p, errname(errno));
	else
		out("stat %s: type %s perm %o nlink %lu size %lld", p, file_type(st.st_mode), st.st_mode & 07777,
		    (unsigned long)st.st_nlink, (long long)st.st_size);
	show_link(p);
}

/* The whole text of a file. */
static ssize_t slurp(const char *p, char *buf, size_t cap)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n, at = 0;
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf + at, cap - 1 - at)) > 0)
		at += n;
	if (n < 0)
		at = -errno;
	else
		buf[at] = 0;
	close(fd);
	return at;
}

static const char *who(long pid)
{
	static char b[4][24];
	static int slot;
	char *s = b[slot = (slot + 1) % 4];
	if (pid == getpid())
		return "<pid>";
	if (child_pid && pid == child_pid)
		return "<child>";
	snprintf(s, 24, "%ld", pid);
	return s;
}

/* "clients": the header as it is, then each line's fields, normalised. */
static void show_clients(const char *label, const char *p)
{
	char buf[4096], *line, *save = NULL;
	ssize_t n = slurp(p, buf, sizeof(buf));
	int first = 1;
	if (n < 0) {
		out("%s: clients: %s", label, errname((int)-n));
		return;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char cmd[64], master, auth;
		long pid, uid;
		int dev;
		unsigned long magic;
		if (first) {
			out("%s: clients: header \"%s\"", label, line);
			first = 0;
			continue;
		}
		if (sscanf(line, "%63s %ld %d %c %c %ld %lu", cmd, &pid, &dev, &master, &auth, &uid, &magic) != 7) {
			out("%s: clients: unparsed \"%s\"", label, line);
			continue;
		}
		out("%s: clients: %s %s dev %d master %c auth %c uid %s magic %lu (length %zu)", label,
		    strcmp(cmd, comm) ? cmd : "<comm>", who(pid), dev, master, auth,
		    uid == (long)geteuid() ? "<uid>" : "other", magic, strlen(line));
	}
	if (first)
		out("%s: clients: empty", label);
}

static void show_text(const char *label, const char *p)
{
	char buf[4096];
	ssize_t n = slurp(p, buf, sizeof(buf));
	if (n < 0) {
		out("%s: %s", label, errname((int)-n));
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = '|';
	out("%s: \"%s\"", label, buf);
}

static void show_state(const char *label)
{
	char l[128];
	snprintf(l, sizeof(l), "%s: name", label);
	show_text(l, DRI "/0/name");
	show_clients(label, DRI "/0/clients");
	snprintf(l, sizeof(l), "%s: gem_names", label);
	show_text(l, DRI "/0/gem_names");
}

static uint32_t dumb(int fd, uint32_t width)
{
	struct drm_mode_create_dumb c = { .height = 1, .width = width, .bpp = 32 };
	if (ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c))
		return 0;
	return c.handle;
}

static void tree(void)
{
	static const char *const paths[] = {
		DRI, DRI "/0", DRI "/128", DRI "/vgem", DRI "/1", DRI "/0/name", DRI "/128/clients",
		DRI "/vgem/name", DRI "/vgem/clients", DRI "/vgem/gem_names", DRI "/vgem/other",
		DRI "/0/name/x", DRI "/0/", DRI "/0/..",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		show_path(paths[i]);
	show_dir(DRI);
	show_dir(DRI "/vgem");
	show_dir(DRI "/0");
	show_dir(DRI "/128/");
	{
		int fd = open(DRI "/0", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		out("open 0 O_DIRECTORY %s", fd < 0 ? errname(errno) : "ok");
		if (fd >= 0) {
			struct stat st;
			out("fstatat(dir of 0, \"name\") %s", rc(fstatat(fd, "name", &st, 0)));
			close(fd);
		}
	}
}

int main(void)
{
	int a, b, c, dmabuf, r;
	uint32_t h, h2;
	struct drm_auth auth = { 0 };
	struct drm_gem_flink flink = { 0 };
	struct drm_gem_open gopen = { 0 };
	struct drm_set_version sv = { 1, 4, -1, -1 };
	struct drm_prime_handle prime = { 0 };

	probe_init();
	tree();
	show_state("no client");

	a = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	b = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	c = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	show_state("three files");
	r = ioctl(c, DRM_IOCTL_GET_MAGIC, &auth);
	out("GET_MAGIC on the third %s magic %u", rc(r), auth.magic);
	out("SET_VERSION 1.4 on the master %s", rc(ioctl(a, DRM_IOCTL_SET_VERSION, &sv)));
	show_state("magic, version");

	h = dumb(a, 1024);
	flink.handle = h;
	r = ioctl(a, DRM_IOCTL_GEM_FLINK, &flink);
	out("FLINK %s name %u", rc(r), flink.name);
	show_state("one named object");
	gopen.name = flink.name;
	out("GEM_OPEN on the third %s", rc(ioctl(c, DRM_IOCTL_GEM_OPEN, &gopen)));
	prime.handle = h;
	prime.flags = DRM_CLOEXEC;
	out("PRIME export %s", rc(ioctl(a, DRM_IOCTL_PRIME_HANDLE_TO_FD, &prime)));
	dmabuf = prime.fd;
	show_state("two handles, exported");
	close(dmabuf);
	show_state("dma-buf closed");
	h2 = dumb(a, 2048);
	flink.handle = h2;
	r = ioctl(a, DRM_IOCTL_GEM_FLINK, &flink);
	out("FLINK second %s name %u", rc(r), flink.name);
	{
		struct drm_gem_close gc = { .handle = h };
		out("GEM_CLOSE first on the master %s", rc(ioctl(a, DRM_IOCTL_GEM_CLOSE, &gc)));
	}
	show_state("first held by the third only");
	close(c);
	show_state("third closed");

	out("DROP_MASTER %s", rc(ioctl(a, DRM_IOCTL_DROP_MASTER, 0)));
	show_state("master dropped");

	/* A child's own file, then an ioctl of the child on the render file
	 * it inherited: that file is the child's while the child lives. */
	{
		int p[2], q[2];
		char x;
		if (pipe(p) || pipe(q))
			return 1;
		child_pid = fork();
		if (child_pid == 0) {
			struct drm_version v = { 0 };
			int own = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
			ioctl(b, DRM_IOCTL_VERSION, &v);
			if (write(q[1], "r", 1) != 1 || read(p[0], &x, 1) != 1)
				_exit(1);
			close(own);
			_exit(0);
		}
		if (read(q[0], &x, 1) != 1)
			return 1;
		show_state("child's file, child used the render file");
		if (write(p[1], "g", 1) != 1)
			return 1;
		waitpid(child_pid, NULL, 0);
		show_state("child gone");
		{
			struct drm_version v = { 0 };
			out("VERSION on the render file %s", rc(ioctl(b, DRM_IOCTL_VERSION, &v)));
		}
		show_state("render file used again");
	}
	close(b);
	close(a);
	show_state("all closed");
	out("end");
	return 0;
}
