/* What stat, fstat, fstatat(AT_EMPTY_PATH), statx and the raw fstat system
 * call say about the virtual nodes and the fds they hand out: file type,
 * permission bits, device numbers, size, link count, owner. Golden:
 * golden/stat.txt. */
#include "resv.h"
#include <sys/sysmacros.h>

static void show_stat(const char *label, const struct stat *st)
{
	out("%s: type %s perm %o nlink %lu uid-is-mine %s size %lld blksize %ld rdev %u:%u", label,
	    file_type(st->st_mode), st->st_mode & 07777, (unsigned long)st->st_nlink, yesno(st->st_uid == getuid()),
	    (long long)st->st_size, (long)st->st_blksize, major(st->st_rdev), minor(st->st_rdev));
}

static void show_statx(const char *label, const struct statx *sx)
{
	out("%s: statx type %s perm %o nlink %u size %llu rdev %u:%u", label, file_type(sx->stx_mode),
	    sx->stx_mode & 07777, sx->stx_nlink, (unsigned long long)sx->stx_size, sx->stx_rdev_major,
	    sx->stx_rdev_minor);
}

/* Every way to ask about an open fd. */
static void show_fd(const char *k, int fd)
{
	struct stat a, b, c;
	struct statx x;
	char l[160];
	if (fstat(fd, &a)) {
		out("%s: fstat %s", k, errname(errno));
		return;
	}
	snprintf(l, sizeof(l), "%s: fstat", k);
	show_stat(l, &a);
	if (syscall(SYS_fstat, fd, &b) == 0) {
		snprintf(l, sizeof(l), "%s: raw fstat", k);
		show_stat(l, &b);
		out("%s: raw fstat same inode %s", k, yesno(a.st_ino == b.st_ino && a.st_dev == b.st_dev));
	} else {
		out("%s: raw fstat %s", k, errname(errno));
	}
	if (fstatat(fd, "", &c, AT_EMPTY_PATH) == 0)
		out("%s: fstatat AT_EMPTY_PATH same %s", k,
		    yesno(c.st_ino == a.st_ino && c.st_mode == a.st_mode && c.st_rdev == a.st_rdev &&
			  c.st_size == a.st_size));
	else
		out("%s: fstatat AT_EMPTY_PATH %s", k, errname(errno));
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &x) == 0) {
		snprintf(l, sizeof(l), "%s", k);
		show_statx(l, &x);
		out("%s: statx same inode %s", k, yesno(x.stx_ino == a.st_ino));
	} else {
		out("%s: statx %s", k, errname(errno));
	}
}

static void show_path(const char *p)
{
	struct stat st;
	struct statx x;
	char l[160];
	if (stat(p, &st)) {
		out("stat %s: %s", p, errname(errno));
		return;
	}
	snprintf(l, sizeof(l), "stat %s", p);
	show_stat(l, &st);
	if (lstat(p, &st) == 0)
		out("lstat %s: type %s", p, file_type(st.st_mode));
	if (statx(AT_FDCWD, p, 0, STATX_BASIC_STATS, &x) == 0)
		show_statx(l, &x);
}

int main(void)
{
	static const char *paths[] = { "/dev/dri/card0", "/dev/dri/renderD128", "/dev/udmabuf", "/dev/dma_heap/system",
				       "/dev/dri", "/dev/dma_heap", SW_SYNC };
	int heap, udev, card, render, tl, f, b, m, u;
	probe_init();
	for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		show_path(paths[i]);

	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	render = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	udev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	tl = open_timeline();
	show_fd("card0 fd", card);
	show_fd("renderD128 fd", render);
	show_fd("heap device fd", heap);
	show_fd("udmabuf device fd", udev);
	show_fd("timeline fd", tl);

	f = create_fence(tl, 1);
	show_fd("sync file", f);
	m = merge("m", f, f);
	show_fd("merged sync file", m);
	{
		struct dma_heap_allocation_data d = { .len = 3 * PAGE, .fd_flags = O_RDWR | O_CLOEXEC };
		b = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) ? -errno : (int)d.fd;
	}
	show_fd("heap dma-buf", b);
	{
		int mf = memfd_create("probe", MFD_ALLOW_SEALING | MFD_CLOEXEC);
		struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .size = 2 * PAGE };
		ftruncate(mf, 2 * PAGE);
		fcntl(mf, F_ADD_SEALS, F_SEAL_SHRINK);
		c.memfd = mf;
		u = ioctl(udev, UDMABUF_CREATE, &c);
		close(mf);
	}
	show_fd("udmabuf", u);
	{
		struct drm_mode_create_dumb d = { .height = 4, .width = 1024, .bpp = 32 };
		struct drm_prime_handle p = { .flags = DRM_CLOEXEC | DRM_RDWR, .fd = -1 };
		ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &d);
		p.handle = d.handle;
		ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);
		show_fd("vgem dma-buf", p.fd);
		close(p.fd);
	}
	{
		struct stat x, y;
		fstat(b, &x);
		fstat(u, &y);
		out("two dma-bufs: same st_dev %s", yesno(x.st_dev == y.st_dev));
		fstat(f, &x);
		fstat(m, &y);
		out("two sync files: same st_dev %s", yesno(x.st_dev == y.st_dev));
		fstat(card, &x);
		fstat(render, &y);
		out("card0 and renderD128: same st_dev %s", yesno(x.st_dev == y.st_dev));
	}
	{
		/* Not ours: answered by the kernel alone. */
		int p[2];
		struct stat x;
		pipe(p);
		fstat(p[0], &x);
		out("pipe: type %s", file_type(x.st_mode));
		out("fstat of a closed fd %s", rc(fstat(999, &x)));
		out("raw fstat of a closed fd %s", rc(syscall(SYS_fstat, 999, &x)));
		out("fstat of a bad pointer %s", rc(syscall(SYS_fstat, b, (void *)8)));
		out("statx of a bad pointer %s", rc(statx(b, "", AT_EMPTY_PATH, STATX_BASIC_STATS, (void *)8)));
		out("fstatat of a bad pointer %s", rc(fstatat(b, "", (void *)8, AT_EMPTY_PATH)));
		close(p[0]);
		close(p[1]);
	}
	close(u);
	close(b);
	close(m);
	close(f);
	close(tl);
	close(udev);
	close(heap);
	close(render);
	close(card);
	return 0;
}
