/* What statfs and fstatfs say of the virtual nodes and of the files made
 * from them: the file system a file is on is how programs tell a dma-buf
 * (DMA_BUF_MAGIC) from a memfd, a sync file (the anonymous inode file
 * system) from a pipe, a sysfs attribute or a debugfs file from a regular
 * file. Printed: the magic, block size, name length, flags; the block
 * and file counts only as zero or not. And what a path below a virtual
 * file is (ENOTDIR) to statfs, stat, open and access. Golden:
 * golden/statfs.txt. */
#include "probe.h"
#include <sys/vfs.h>
#include <sys/statvfs.h>

static void show(const char *label, int r, const struct statfs *s)
{
	if (r) {
		out("%s: %s", label, errname(errno));
		return;
	}
	out("%s: type 0x%lx bsize %ld frsize %ld namelen %ld blocks %s files %s", label, (unsigned long)s->f_type,
	    (long)s->f_bsize, (long)s->f_frsize, (long)s->f_namelen, s->f_blocks ? "some" : "0",
	    s->f_files ? "some" : "0");
}

/* The mount flags, for the file systems that no one mounts (their
 * flags do not depend on a mount table). */
static void show_flags(const char *label, int fd)
{
	struct statfs s;
	if (fstatfs(fd, &s) == 0)
		out("%s: flags 0x%lx fsid %s", label, (unsigned long)s.f_flags,
		    s.f_fsid.__val[0] || s.f_fsid.__val[1] ? "some" : "0");
}

static void by_fd(const char *label, int fd)
{
	struct statfs s;
	int r = fstatfs(fd, &s);
	show(label, r, &s);
}

static void by_path(const char *p)
{
	struct statfs s;
	int r = statfs(p, &s);
	char label[256];
	snprintf(label, sizeof(label), "statfs %s", p);
	show(label, r, &s);
}

/* A path through a file: ENOTDIR, as the walk finds no directory. */
static void below_file(const char *p)
{
	struct stat st;
	out("below a file %s: stat %s, open %s, access %s", p, rc(stat(p, &st)), rc(open(p, O_RDONLY | O_CLOEXEC)),
	    rc(access(p, F_OK)));
}

int main(void)
{
	probe_init();
	static const char *paths[] = { "/dev/dri/card0", "/dev/dri/renderD128", "/dev/dri", "/dev/dma_heap/system",
				       "/dev/dma_heap", "/dev/udmabuf", "/sys/kernel/debug/sync/sw_sync",
				       "/sys/kernel/debug/sync/info", "/sys/kernel/debug/sync",
				       "/sys/class/drm/card0/dev", "/sys/class/drm", "/dev/dri/card1",
				       "/dev/dri/card0/x", "/sys/class/drm/card9" };
	for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		by_path(paths[i]);

	below_file("/dev/dri/card0/x");
	below_file("/dev/dri/renderD128/x/y");
	below_file("/dev/dma_heap/system/x");
	below_file("/sys/kernel/debug/sync/sw_sync/x");
	below_file("/sys/kernel/debug/sync/info/x");
	below_file("/dev/dri/card7/x");

	int card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	int render = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	int udev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	int tl = open_timeline();
	int attr = open("/sys/class/drm/card0/uevent", O_RDONLY | O_CLOEXEC);
	int opath = open("/dev/dri/card0", O_PATH | O_CLOEXEC);
	by_fd("card0 fd", card);
	by_fd("renderD128 fd", render);
	by_fd("heap fd", heap);
	by_fd("udmabuf fd", udev);
	by_fd("timeline fd", tl);
	by_fd("sysfs attribute fd", attr);
	by_fd("card0 O_PATH fd", opath);

	int fence = create_fence(tl, 1);
	by_fd("sync file", fence);
	show_flags("sync file", fence);

	struct dma_heap_allocation_data a = { .len = 8192, .fd_flags = O_RDWR | O_CLOEXEC };
	int hb = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &a) == 0 ? (int)a.fd : -1;
	by_fd("heap dma-buf", hb);
	show_flags("heap dma-buf", hb);

	int mfd = memfd_create("statfs", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	ftruncate(mfd, 8192);
	fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK);
	struct udmabuf_create uc = { .memfd = mfd, .flags = UDMABUF_FLAGS_CLOEXEC, .offset = 0, .size = 8192 };
	int ub = ioctl(udev, UDMABUF_CREATE, &uc);
	by_fd("udmabuf dma-buf", ub);
	by_fd("udmabuf's memfd", mfd);

	struct drm_mode_create_dumb cd = { .height = 16, .width = 16, .bpp = 32 };
	int vb = -1;
	if (ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &cd) == 0) {
		struct drm_prime_handle ph = { .handle = cd.handle, .flags = O_CLOEXEC | O_RDWR };
		if (ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph) == 0)
			vb = ph.fd;
	}
	by_fd("vgem dma-buf", vb);

	{
		struct statvfs v;
		if (fstatvfs(hb, &v) == 0)
			out("heap dma-buf: fstatvfs bsize %lu namemax %lu flag 0x%lx", v.f_bsize, v.f_namemax, v.f_flag);
		else
			out("heap dma-buf: fstatvfs %s", errname(errno));
	}
	out("fstatfs of a closed fd %s", rc(fstatfs(next_fd(), &(struct statfs){ 0 })));
	out("fstatfs of -1 %s", rc(fstatfs(-1, &(struct statfs){ 0 })));
	out("fstatfs of heap dma-buf to a bad address %s", rc(syscall(SYS_fstatfs, hb, dangling())));
	out("statfs of /dev/dri/card0 to a bad address %s", rc(syscall(SYS_statfs, "/dev/dri/card0", dangling())));
	return 0;
}
