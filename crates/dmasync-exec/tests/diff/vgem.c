/* vgem (/dev/dri/card0, renderD128): GEM objects, PRIME, the vgem fences
 * (VGEM_FENCE_ATTACH/SIGNAL) and the implicit synchronisation of its
 * dma-bufs (resv.h). The 10 s fence expiry is in vgem-expiry.c.
 * Golden: golden/vgem.txt. */
#include "resv.h"

static int card = -1;

static int dumb(int fd, uint32_t width, uint32_t height, uint32_t *handle, uint64_t *size)
{
	struct drm_mode_create_dumb d = { .height = height, .width = width, .bpp = 32 };
	if (ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &d))
		return -errno;
	*handle = d.handle;
	if (size)
		*size = d.size;
	return 0;
}

static int prime_export(int fd, uint32_t handle, uint32_t flags)
{
	struct drm_prime_handle p = { .handle = handle, .flags = flags, .fd = -1 };
	if (ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p))
		return -errno;
	return p.fd;
}

static int new_vgem_buf(void)
{
	uint32_t h = 0;
	int fd;
	if (dumb(card, 1024, 1, &h, NULL)) {
		out("FATAL CREATE_DUMB %s", errname(errno));
		exit(2);
	}
	fd = prime_export(card, h, DRM_CLOEXEC | DRM_RDWR);
	/* The dma-buf keeps the object alive. */
	ioctl(card, DRM_IOCTL_GEM_CLOSE, &(struct drm_gem_close){ .handle = h });
	if (fd < 0) {
		out("FATAL PRIME_HANDLE_TO_FD %s", errname(-fd));
		exit(2);
	}
	return fd;
}

/* ATTACH: the fence id, or -errno. */
static int attach(uint32_t handle, uint32_t flags, uint32_t pad)
{
	struct vgem_fence_attach a = { .handle = handle, .flags = flags, .pad = pad };
	if (ioctl(card, DRM_IOCTL_VGEM_FENCE_ATTACH, &a))
		return -errno;
	return a.out_fence;
}

static const char *signal_fence(uint32_t fence, uint32_t flags)
{
	struct vgem_fence_signal s = { .fence = fence, .flags = flags };
	return rc(ioctl(card, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s));
}

static const char *version_of(int fd)
{
	static char name[4][64];
	static int slot;
	char *n = name[slot = (slot + 1) % 4];
	struct drm_version v;
	memset(&v, 0, sizeof(v));
	memset(n, 0, 64);
	v.name = n;
	v.name_len = 63;
	if (ioctl(fd, DRM_IOCTL_VERSION, &v))
		return errname(errno);
	return n;
}

static void device(void)
{
	int render = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	uint32_t h = 0, h2 = 0;
	uint64_t size = 0;
	int a, b;
	struct stat x, y;

	out("card0: DRM_IOCTL_VERSION name %s", version_of(card));
	{
		/* The DRM file as a file: an event source that has no events. */
		int ep = epoll_create1(EPOLL_CLOEXEC), nb = open("/dev/dri/card0", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
		char c[64];
		out("card0: epoll ADD %s", rc(epoll_ctl(ep, EPOLL_CTL_ADD, card, &ev)));
		out("card0: epoll_wait %s", epoll_now(ep, 0));
		out("card0: poll IN|OUT %s", poll_now(card, POLLIN | POLLOUT, 0));
		out("card0: O_NONBLOCK read %s", rc(read(nb, c, sizeof(c))));
		out("card0: O_NONBLOCK read of 1 byte %s", rc(read(nb, c, 1)));
		out("card0: write %s", rc(write(nb, c, 1)));
		out("card0: F_GETFL access mode %s", (fcntl(card, F_GETFL) & O_ACCMODE) == O_RDWR ? "O_RDWR" : "other");
		out("card0: F_GETFL O_NONBLOCK %s", yesno(fcntl(nb, F_GETFL) & O_NONBLOCK));
		out("card0: lseek %s", rc(lseek(card, 0, SEEK_SET)));
		{
			/* Through /proc the node is opened again: a new DRM file. */
			char path[64];
			int r;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", card);
			r = open(path, O_RDWR | O_CLOEXEC);
			out("card0: reopen through /proc/self/fd %s", rc(r));
			out("card0: the reopened file: DRM_IOCTL_VERSION name %s", version_of(r));
			{
				struct drm_mode_create_dumb d = { .height = 1, .width = 1024, .bpp = 32 };
				out("card0: CREATE_DUMB on the first file %s", rc(ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &d)));
				out("card0: its handle on the reopened file: GEM_CLOSE %s",
				    rc(ioctl(r, DRM_IOCTL_GEM_CLOSE, &(struct drm_gem_close){ .handle = d.handle })));
				out("card0: on the first file: GEM_CLOSE %s",
				    rc(ioctl(card, DRM_IOCTL_GEM_CLOSE, &(struct drm_gem_close){ .handle = d.handle })));
			}
			close(r);
		}
		close(nb);
		close(ep);
	}
	out("open renderD128 %s", rc(render));
	out("renderD128: DRM_IOCTL_VERSION name %s", version_of(render));
	out("CREATE_DUMB 1024x1x32 %s", dumb(card, 1024, 1, &h, &size) ? errname(errno) : "ok");
	out("CREATE_DUMB size %llu", (unsigned long long)size);
	out("CREATE_DUMB second handle differs %s", yesno(dumb(card, 1024, 1, &h2, NULL) == 0 && h2 != h));
	a = prime_export(card, h, DRM_CLOEXEC | DRM_RDWR);
	b = prime_export(card, h, DRM_CLOEXEC);
	out("PRIME export twice %s %s", a >= 0 ? "ok" : errname(-a), b >= 0 ? "ok" : errname(-b));
	fstat(a, &x);
	fstat(b, &y);
	out("PRIME export twice: same inode %s", yesno(x.st_ino == y.st_ino && x.st_dev == y.st_dev));
	out("PRIME export: FD_CLOEXEC %s, access mode %d", yesno(fcntl(a, F_GETFD) & FD_CLOEXEC),
	    fcntl(a, F_GETFL) & O_ACCMODE);
	out("PRIME export without DRM_RDWR: access mode %d", fcntl(b, F_GETFL) & O_ACCMODE);
	{
		struct drm_prime_handle p = { .fd = a };
		out("PRIME import on the same fd %s", rc(ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p)));
		out("PRIME import gives the original handle %s", yesno(p.handle == h));
	}
	if (render >= 0) {
		struct drm_prime_handle p = { .fd = a };
		out("PRIME import on renderD128 %s", rc(ioctl(render, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p)));
		out("PRIME import on renderD128: handle nonzero %s", yesno(p.handle != 0));
	}
	{
		struct drm_prime_handle p = { .fd = -1 };
		out("PRIME import of fd -1 %s", rc(ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p)));
		p.fd = open_timeline();
		out("PRIME import of a timeline %s", rc(ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p)));
		close(p.fd);
	}
	out("PRIME export of handle 999 %s", errname(-prime_export(card, 999, DRM_CLOEXEC)));
	{
		int c = prime_export(card, h, 0x1);
		out("PRIME export flags 0x1 %s", c >= 0 ? "ok" : errname(-c));
		if (c >= 0)
			close(c);
	}
	{
		struct drm_mode_map_dumb m = { .handle = h };
		void *p;
		out("MAP_DUMB %s", rc(ioctl(card, DRM_IOCTL_MODE_MAP_DUMB, &m)));
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, card, m.offset);
		out("mmap of the DRM fd at the dumb offset %s", p == MAP_FAILED ? errname(errno) : "ok");
		if (p != MAP_FAILED)
			munmap(p, size);
		m.handle = 999;
		out("MAP_DUMB of handle 999 %s", rc(ioctl(card, DRM_IOCTL_MODE_MAP_DUMB, &m)));
	}
	out("GEM_CLOSE %s", rc(ioctl(card, DRM_IOCTL_GEM_CLOSE, &(struct drm_gem_close){ .handle = h2 })));
	out("GEM_CLOSE again %s", rc(ioctl(card, DRM_IOCTL_GEM_CLOSE, &(struct drm_gem_close){ .handle = h2 })));
	out("GEM_CLOSE pad 1 %s", rc(ioctl(card, DRM_IOCTL_GEM_CLOSE, &(struct drm_gem_close){ .handle = h, .pad = 1 })));
	close(b);
	close(render);
}

static void fences(void)
{
	uint32_t h = 0;
	int buf, f, r, w;

	dumb(card, 1024, 1, &h, NULL);
	buf = prime_export(card, h, DRM_CLOEXEC | DRM_RDWR);

	out("ATTACH flags 2 %s", errname(-attach(h, 2, 0)));
	out("ATTACH pad 1 %s", errname(-attach(h, 0, 1)));
	out("ATTACH of handle 999 %s", errname(-attach(999, 0, 0)));
	out("SIGNAL of fence 999 %s", signal_fence(999, 0));

	w = attach(h, VGEM_FENCE_WRITE, 0);
	out("ATTACH WRITE %s", w >= 0 ? "ok" : errname(-w));
	out("write fence: poll IN %s, OUT %s", poll_now(buf, POLLIN, 0), poll_now(buf, POLLOUT, 0));
	show_export("write fence: EXPORT READ", buf, DMA_BUF_SYNC_READ);
	out("ATTACH READ beside a pending write fence %s", errname(-attach(h, 0, 0)));
	out("ATTACH WRITE beside a pending write fence %s", errname(-attach(h, VGEM_FENCE_WRITE, 0)));
	out("SIGNAL flags 1 %s", signal_fence(w, 1));
	f = export_sf(buf, DMA_BUF_SYNC_READ);
	out("SIGNAL %s", signal_fence(w, 0));
	out("signalled: poll IN|OUT %s", poll_now(buf, POLLIN | POLLOUT, 0));
	show_file("signalled: the exported sync file", f);
	close(f);
	out("SIGNAL again %s", signal_fence(w, 0));

	r = attach(h, 0, 0);
	out("ATTACH READ %s", r >= 0 ? "ok" : errname(-r));
	out("read fence: poll IN %s, OUT %s", poll_now(buf, POLLIN, 0), poll_now(buf, POLLOUT, 0));
	show_export("read fence: EXPORT WRITE", buf, DMA_BUF_SYNC_WRITE);
	show_export("read fence: EXPORT READ", buf, DMA_BUF_SYNC_READ);
	{
		int r2 = attach(h, 0, 0);
		out("ATTACH READ beside a pending read fence %s", r2 >= 0 ? "ok" : errname(-r2));
		out("ATTACH WRITE beside pending read fences %s", errname(-attach(h, VGEM_FENCE_WRITE, 0)));
		out("two readers: EXPORT WRITE count %d", export_count(buf, DMA_BUF_SYNC_WRITE));
		out("SIGNAL first reader %s", signal_fence(r, 0));
		out("one reader left: poll IN %s, OUT %s", poll_now(buf, POLLIN, 0), poll_now(buf, POLLOUT, 0));
		if (r2 >= 0)
			out("SIGNAL second reader %s", signal_fence(r2, 0));
	}
	out("all signalled: poll IN|OUT %s", poll_now(buf, POLLIN | POLLOUT, 0));
	out("fence ids are reused after signalling: next ATTACH id equals first %s",
	    yesno((f = attach(h, 0, 0)) == w));
	if (f >= 0)
		signal_fence(f, 0);

	/* A sync_file fence imported beside a vgem fence. */
	{
		int tl = open_timeline(), sf = create_fence(tl, 1);
		out("IMPORT WRITE of a sw_sync fence %s", import_sf(buf, DMA_BUF_SYNC_WRITE, sf));
		out("ATTACH READ beside the imported writer %s", errname(-attach(h, 0, 0)));
		inc(tl, 1);
		w = attach(h, VGEM_FENCE_WRITE, 0);
		out("ATTACH WRITE after it signalled %s", w >= 0 ? "ok" : errname(-w));
		if (w >= 0)
			signal_fence(w, 0);
		close(sf);
		close(tl);
	}
	/* Closing the object does not signal its fences; closing the DRM
	 * file does not either (they expire). */
	ioctl(card, DRM_IOCTL_GEM_CLOSE, &(struct drm_gem_close){ .handle = h });
	out("after GEM_CLOSE: ATTACH on the closed handle %s", errname(-attach(h, 0, 0)));
	out("after GEM_CLOSE: the dma-buf still polls IN|OUT %s", poll_now(buf, POLLIN | POLLOUT, 0));
	close(buf);
}

int main(void)
{
	probe_init();
	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	out("open /dev/dri/card0 %s", rc(card));
	if (card < 0)
		return 2;
	device();
	fences();
	resv_suite("vgem", new_vgem_buf);
	out("end");
	return 0;
}
